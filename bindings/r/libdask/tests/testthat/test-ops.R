test_that("Ops map onto the library's ufuncs", {
  expect_equal(as.matrix(dm + 1), m + 1)
  expect_equal(as.matrix(2 * dm - dm / 3), 2 * m - m / 3)
  expect_equal(as.matrix(dm^2), m^2)
  expect_equal(as.matrix(-dm), -m)
  expect_equal(as.matrix(+dm), m)
  expect_equal(as.matrix((dm * 10) %% 3), (m * 10) %% 3)
  expect_equal(as.matrix((dm * 10) %/% 3), (m * 10) %/% 3)
  expect_equal(as.matrix(dm + dm), m + m)
  expect_equal(as.matrix(dm * m), m * m) # an R matrix operand is wrapped
  expect_identical(as.matrix(dm > 0.5), m > 0.5)
  expect_identical(as.matrix(dm <= 0.5), m <= 0.5)
  expect_identical(as.matrix(dm == dm), m == m)
  expect_identical(as.matrix(dm != 0.5), m != 0.5)
  expect_identical(as.matrix(dm >= 0.2 & dm < 0.7), m >= 0.2 & m < 0.7)
  expect_identical(as.matrix(dm < 0.2 | dm > 0.7), m < 0.2 | m > 0.7)
  expect_identical(as.matrix(!(dm > 0.5)), !(m > 0.5))
})

test_that("a vector of length nrow recycles down the columns as in R", {
  r <- runif(600)
  expect_equal(as.matrix(dm + r), m + r)
  expect_error(dm + runif(7), class = "dask_error")
})

test_that("the exp expression is one fused lazy graph and matches base R", {
  y <- exp(dm) * 2 + 1
  expect_s3_class(y, "dask_array")
  expect_equal(dask_ntasks(y), dask_ntasks(exp(dm)))
  expect_equal(compute(sum(y)), sum(exp(m) * 2 + 1))
})

test_that("Math maps onto the library's ufuncs", {
  p <- m + 0.1
  dp <- dm + 0.1
  for (f in c("exp", "log", "sqrt", "abs", "floor", "ceiling", "sin", "cos", "tan", "tanh",
              "sinh", "cosh", "expm1", "log1p", "log2", "log10", "sign", "asin", "acos", "atan")) {
    fun <- get(f)
    expect_equal(as.matrix(fun(dp - 0.5)), suppressWarnings(fun(p - 0.5)), info = f)
  }
  expect_equal(as.matrix(trunc((dp - 0.5) * 10)), trunc((p - 0.5) * 10))
  expect_equal(as.matrix(log(dp, base = 3)), log(p, base = 3))
  expect_equal(as.matrix(round(dp * 10)), round(p * 10))
  expect_equal(as.vector(round(as_dask_array(c(0.5, 1.5, 2.5, -0.5)))), round(c(0.5, 1.5, 2.5, -0.5)))
  expect_equal(as.vector(cumsum(dv)), cumsum(v))
  expect_equal(as.vector(cumsum(dm)), cumsum(m))
  expect_equal(as.vector(cumprod(as_dask_array(c(1, 2, 3, 4)))), cumprod(c(1, 2, 3, 4)))
  expect_error(gamma(dm), class = "dask_error", regexp = "not available")
  expect_equal(as.matrix(log(dp, 2)), log(p, 2)) # the base by position
  expect_equal(as.matrix(log(dp, 10)), log(p, 10))
})

test_that("Summary maps onto the library's reductions", {
  expect_equal(sum(dm), sum(m))
  expect_equal(prod(dm[1:20, 1]), prod(m[1:20, 1]))
  expect_identical(max(dm), max(m))
  expect_identical(min(dm), min(m))
  expect_identical(range(dm), range(m))
  expect_identical(any(dm > 0.999), any(m > 0.999))
  expect_identical(all(dm > 0), all(m > 0))
  expect_identical(sum(dm > 0.5), sum(m > 0.5))
  expect_equal(mean(dm), mean(m))
  expect_equal(dask_var(dm), var(as.vector(m)))
  expect_equal(dask_sd(dv), sd(v))
  expect_identical(dask_which_max(dm), which.max(m))
  expect_identical(dask_which_min(dv), which.min(v))
  expect_equal(sum(dm, dm), sum(m, m))
})

test_that("integer arrays: integer results where R gives integers, doubles for / and ^", {
  expect_identical(as.matrix(dmi + 1L), mi + 1L)
  expect_identical(as.matrix(dmi * 2L - dmi), mi * 2L - mi)
  expect_equal(as.matrix(dmi + 0.5), mi + 0.5)
  expect_equal(dask_dtype(dmi + 0.5), "float64")
  expect_equal(as.matrix(dmi / 4L), mi / 4L)
  expect_equal(as.matrix(dmi^2L), mi^2L)
  expect_equal(dask_dtype(dmi^2L), "float64")
  expect_identical(as.matrix(dmi %/% 7L), mi %/% 7L)
  expect_identical(as.matrix(dmi %% 7L), mi %% 7L)
  expect_identical(sum(dmi), sum(mi)) # an int64 sum, returned as R's integer
  expect_identical(as.matrix(abs(dmi)), abs(mi))
  expect_equal(compute(colSums(dmi)), colSums(mi))
})

test_that("NA and NaN propagate like base R's (is.na agrees)", {
  x <- c(1, NA, 3, NaN, 5, Inf, -Inf)
  dx <- as_dask_array(x)
  expect_identical(is.na(as.vector(dx + 1)), is.na(x + 1))
  expect_identical(as.vector(is.na(dx)), is.na(x))
  expect_identical(as.vector(is.nan(dx)), is.nan(x) | is.na(x)) # NA is a NaN in the library
  expect_identical(as.vector(is.finite(dx)), is.finite(x))
  expect_identical(as.vector(is.infinite(dx)), is.infinite(x))
  expect_true(is.na(compute(sum(dx))))
  expect_true(is.na(compute(mean(dx))))
  expect_true(is.na(compute(colSums(as_dask_array(matrix(x[1:6], 3)))))[1])
})

test_that("na.rm = TRUE skips NA and NaN as base R does", {
  x <- c(1, NA, 3, NaN, 5, -2)
  dx <- as_dask_array(x)
  expect_equal(compute(sum(dx, na.rm = TRUE)), sum(x, na.rm = TRUE))
  expect_equal(compute(prod(dx, na.rm = TRUE)), prod(x, na.rm = TRUE))
  expect_equal(compute(mean(dx, na.rm = TRUE)), mean(x, na.rm = TRUE))
  expect_equal(compute(max(dx, na.rm = TRUE)), max(x, na.rm = TRUE))
  expect_equal(compute(min(dx, na.rm = TRUE)), min(x, na.rm = TRUE))
  expect_equal(as.vector(compute(range(dx, na.rm = TRUE))), range(x, na.rm = TRUE))
  expect_equal(compute(dask_var(dx, na.rm = TRUE)), var(x, na.rm = TRUE))
  expect_equal(compute(dask_sd(dx, na.rm = TRUE)), sd(x, na.rm = TRUE))
  mna <- m
  mna[sample(length(mna), length(mna) %/% 5)] <- NA
  mna[, 2] <- NA # a column with no number at all
  dmna <- as_dask_array(mna, chunks = c(7, 3))
  expect_equal(compute(colSums(dmna, na.rm = TRUE)), colSums(mna, na.rm = TRUE))
  expect_equal(compute(rowSums(dmna, na.rm = TRUE)), rowSums(mna, na.rm = TRUE))
  expect_equal(compute(colMeans(dmna, na.rm = TRUE)), colMeans(mna, na.rm = TRUE)) # NaN for column 2
  expect_equal(compute(rowMeans(dmna, na.rm = TRUE)), rowMeans(mna, na.rm = TRUE))
  expect_equal(compute(sum(dmna, na.rm = TRUE)), sum(mna, na.rm = TRUE))
  # No number left: base R's -Inf/Inf with its warning.
  na2 <- c(NA_real_, NA_real_)
  expect_warning(r <- max(as_dask_array(na2), na.rm = TRUE), "no non-missing arguments to max")
  expect_identical(r, suppressWarnings(max(na2, na.rm = TRUE)))
  expect_warning(r <- min(as_dask_array(na2), na.rm = TRUE), "no non-missing arguments to min")
  expect_identical(r, suppressWarnings(min(na2, na.rm = TRUE)))
})

test_that("dask_where is an elementwise ifelse", {
  expect_equal(as.matrix(dask_where(dm > 0.5, dm, 0)), ifelse(m > 0.5, m, 0))
  expect_equal(as.matrix(dask_where(dm > 0.5, 1, -dm)), ifelse(m > 0.5, 1, -m))
})

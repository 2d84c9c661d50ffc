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
  # x ^ 0.5 is R's power, not a square root: (-0) ^ 0.5 is +0 and (-Inf) ^ 0.5 is NaN.
  px <- c(-0, 0, 4, -Inf, Inf, NaN)
  expect_identical(1 / as.vector(as_dask_array(px) ^ 0.5), 1 / px ^ 0.5)
  # The inverse hyperbolics, over their whole domains and past them (NaN, as base R's).
  for (f in c("asinh", "acosh", "atanh")) {
    fun <- get(f)
    xs <- c(-2, -1, -0.5, 0, 0.5, 1, 1.5, 10, Inf, -Inf, NaN, NA)
    expect_identical(as.vector(fun(as_dask_array(xs))), suppressWarnings(fun(xs)), info = f)
    expect_identical(as.vector(fun(as_dask_array(1:3))), suppressWarnings(fun(1:3)), info = f)
  }
  expect_equal(as.matrix(trunc((dp - 0.5) * 10)), trunc((p - 0.5) * 10))
  expect_equal(as.matrix(log(dp, base = 3)), log(p, base = 3))
  expect_equal(as.matrix(round(dp * 10)), round(p * 10))
  expect_equal(as.vector(round(as_dask_array(c(0.5, 1.5, 2.5, -0.5)))), round(c(0.5, 1.5, 2.5, -0.5)))
  expect_equal(as.vector(cumsum(dv)), cumsum(v))
  expect_equal(as.vector(cumsum(dm)), cumsum(m))
  expect_equal(as.vector(cumprod(as_dask_array(c(1, 2, 3, 4)))), cumprod(c(1, 2, 3, 4)))
  expect_identical(compute(cummax(dv)), cummax(v))
  expect_identical(compute(cummin(dm)), cummin(m))
  expect_identical(compute(cummax(dmi)), cummax(mi))
  expect_identical(compute(cumsum(dmi)), cumsum(mi))
  expect_identical(compute(cumprod(dmi[1:10, 1])), cumprod(mi[1:10, 1]))
  expect_identical(compute(cumsum(as_dask_array(c(TRUE, FALSE, TRUE)))), cumsum(c(TRUE, FALSE, TRUE)))
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
  expect_identical(as.vector(is.nan(dx)), is.nan(x)) # NA is not NaN
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

test_that("round(x, digits) and signif are base R's numbers exactly", {
  x <- c(0.15, 0.25, 0.35, 2.675, -1.005, 1234.5678, 5e-324, 1e300, NA, Inf)
  dx <- as_dask_array(x, chunks = 3)
  for (d in c(-2, 0, 1, 2, 3, 10)) expect_identical(compute(round(dx, d)), round(x, d), info = d)
  expect_identical(compute(round(dx, digits = 2)), round(x, digits = 2))
  for (d in c(1, 2, 6)) expect_identical(compute(signif(dx, d)), signif(x, d), info = d)
  expect_identical(compute(signif(dx)), signif(x))
  expect_identical(compute(round(dm * 100, 1)), round(m * 100, 1))
  expect_identical(dask_chunks(round(dx, 2)), dask_chunks(dx)) # x's chunks
  expect_identical(compute(round(dmi, 1)), round(mi, 1))
})

test_that("types follow base R: logical and integer arithmetic", {
  l <- m > 0.5
  dl <- as_dask_array(l)
  expect_identical(compute(dl + dl), l + l)
  expect_identical(compute(dl * 2L), l * 2L)
  expect_identical(compute(-dl), -l)
  expect_identical(compute(abs(dl)), abs(l))
  expect_identical(compute(dmi * 2), mi * 2)
  expect_identical(compute(dmi + 1), mi + 1)
  expect_identical(compute(sign(dmi)), sign(mi))
  expect_identical(compute(floor(dmi)), floor(mi))
  expect_identical(compute(round(dmi)), round(mi))
  expect_identical(compute(dmi %/% 7), mi %/% 7)
  expect_identical(compute(dmi > 0 & dmi < 10), mi > 0 & mi < 10)
  expect_identical(compute(dmi & dmi), mi & mi)
  expect_identical(compute(!dmi), !mi)
  # Integer division by zero and overflow are NA, as in R (never NumPy's 0 or a wrapped number).
  expect_identical(compute(as_dask_array(1:3) %/% 0L), suppressWarnings(1:3 %/% 0L))
  expect_identical(compute(as_dask_array(1:3) %% 0L), suppressWarnings(1:3 %% 0L))
  big <- c(.Machine$integer.max, 5L)
  expect_identical(compute(as_dask_array(big) + 1L), suppressWarnings(big + 1L))
  expect_identical(compute(as_dask_array(big) * 2L), suppressWarnings(big * 2L))
  over <- c(1L, .Machine$integer.max, -5L, 3L)
  expect_identical(compute(cumsum(as_dask_array(over))), suppressWarnings(cumsum(over)))
  expect_identical(compute(as_dask_array(-7:7) %% 3L), (-7:7) %% 3L)
  expect_identical(compute(as_dask_array(-7:7) %/% -3L), (-7:7) %/% -3L)
})

test_that("recycling follows R: vectors over arrays and shorter vectors when lengths divide", {
  expect_identical(compute(dm * (1:600)), m * (1:600))
  expect_identical(compute(dm + m[1:1200]), m + m[1:1200]) # a multiple of nrow: two columns
  expect_identical(compute(dm - (1:300)), m - (1:300)) # half a column
  expect_identical(compute((1:4800) / dm), (1:4800) / m)
  expect_identical(compute(da3 + 1:240), a3 + 1:240)
  expect_identical(compute(dv + 1:10), v + 1:10)
  expect_identical(compute((1:10) * dv), (1:10) * v)
  expect_identical(compute(dv + as_dask_array(1:100)), v + 1:100)
  expect_identical(compute(dm + as.vector(m)), m + as.vector(m))
  msg <- tryCatch(m + 1:7, error = conditionMessage, warning = conditionMessage)
  expect_error(dm + 1:7, class = "dask_error")
  msg <- suppressWarnings(tryCatch(m[1:2, 1:2] + 1:5, error = conditionMessage))
  expect_error(dm[1:2, 1:2] + 1:5, msg, fixed = TRUE, class = "dask_error") # longer than the array
  expect_error(dm + matrix(1, 400, 600), "non-conformable arrays", class = "dask_error")
})

test_that("dask_pmax and dask_pmin follow pmax and pmin", {
  expect_identical(compute(dask_pmax(dm, 0.5)), pmax(m, 0.5))
  expect_identical(compute(dask_pmin(dm, dm[, 400:1])), pmin(m, m[, 400:1]))
  expect_identical(compute(dask_pmax(dmi, 0L)), pmax(mi, 0L))
  expect_identical(compute(dask_pmax(dmi, 0)), pmax(mi, 0))
  expect_identical(compute(dask_pmin(dv, 1:1000, 0)), pmin(v, 1:1000, 0))
  x <- c(1, NA, 3)
  expect_identical(is.na(compute(dask_pmax(as_dask_array(x), 2))), is.na(pmax(x, 2)))
  expect_identical(compute(dask_pmax(as_dask_array(x), 2, na.rm = TRUE)), pmax(x, 2, na.rm = TRUE))
})

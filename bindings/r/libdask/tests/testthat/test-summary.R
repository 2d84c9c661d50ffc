# Full reductions give R values (base R's types); partial ones stay lazy; dask_lazy() and
# the option keep full ones lazy.
test_that("full reductions are R values usable in if(), isTRUE() and stopifnot()", {
  expect_identical(if (any(dm > 0.5)) "yes" else "no", if (any(m > 0.5)) "yes" else "no")
  expect_identical(isTRUE(any(dm > 0.5)), isTRUE(any(m > 0.5)))
  expect_silent(stopifnot(all(dm >= 0)))
  expect_null(dim(sum(dm)))
  expect_false(is_dask_array(mean(dm)))
  expect_true(is_dask_array(colSums(dm))) # partial reductions stay lazy
  expect_true(is_dask_array(rowMeans(da3)))
})

test_that("types are base R's: integer sums, logical counts, products in double", {
  l <- m > 0.5
  dl <- as_dask_array(l)
  for (f in c("sum", "prod", "max", "min", "range", "any", "all")) {
    fun <- get(f)
    expect_identical(fun(dmi), fun(mi), info = f)
    expect_identical(fun(dl), fun(l), info = f)
  }
  for (f in c("sum", "max", "min", "range")) expect_identical(get(f)(dm), get(f)(m), info = f)
  expect_equal(prod(dm[1:30, 1]), prod(m[1:30, 1]))
  expect_identical(mean(dmi), mean(mi))
  expect_identical(mean(dl), mean(l))
  over <- c(1e200, 1e200, 0, 1e-200) # R's long double product is 0; doubles overflow first
  expect_identical(prod(as_dask_array(over)), prod(over))
  big <- rep(.Machine$integer.max, 3L) # an integer sum that does not fit: a double in R
  expect_identical(sum(as_dask_array(big)), sum(big))
  neg <- c(-.Machine$integer.max, -5L)
  expect_identical(sum(as_dask_array(neg)), sum(neg))
})

test_that("any() and all() of doubles warn as base R does", {
  x <- c(0, 1.5)
  expect_warning(r <- any(as_dask_array(x)), "coercing argument of type 'double' to logical")
  expect_identical(r, suppressWarnings(any(x)))
  expect_warning(all(as_dask_array(x)), "coercing")
})

test_that("anyNA() looks at the values", {
  x <- c(1, NA, 3)
  expect_identical(anyNA(as_dask_array(x)), anyNA(x))
  expect_identical(anyNA(dm), anyNA(m))
  expect_identical(anyNA(dmi), anyNA(mi))
  expect_identical(anyNA(as_dask_array(c(1, NaN))), anyNA(c(1, NaN)))
})

test_that("empty arrays give base R's answers (and warnings)", {
  e <- numeric(0)
  de <- as_dask_array(e)
  expect_identical(sum(de), sum(e))
  expect_identical(prod(de), prod(e))
  expect_warning(r <- max(de), "no non-missing")
  expect_identical(r, suppressWarnings(max(e)))
  expect_identical(mean(de), mean(e))
  expect_identical(dask_which_max(de), which.max(e))
})

test_that("several arguments: each reduced, then base R's function of the values", {
  expect_identical(max(dm, dv), max(m, v))
  expect_identical(min(dmi, 3L), min(mi, 3L))
  expect_identical(min(dmi, 3), min(mi, 3)) # a double argument: a double result
  expect_identical(range(dv, dmi, -100), range(v, mi, -100))
  expect_equal(sum(dm, 1:10, dmi), sum(m, 1:10, mi))
  expect_identical(sum(dmi, 1L), sum(mi, 1L))
  expect_identical(any(dm > 2, TRUE), any(m > 2, TRUE))
  expect_identical(all(dm > 0, dv > -100), all(m > 0, v > -100))
})

test_that("mean(trim) is base R's trimmed mean, by name or position", {
  expect_equal(mean(dv, trim = 0.2), mean(v, trim = 0.2))
  expect_equal(mean(dv, 0.1), mean(v, 0.1))
  expect_equal(mean(dm, trim = 0.5), mean(m, trim = 0.5)) # the median
  x <- c(1, NA, 100, 3, 4, 2)
  expect_equal(mean(as_dask_array(x), trim = 0.2, na.rm = TRUE), mean(x, trim = 0.2, na.rm = TRUE))
  expect_equal(mean(dm, trim = 0), mean(m))
})

test_that("which.max and which.min: R's positions, skipping NA, with names", {
  x <- c(a = 3, b = NA, c = 7, d = 7, e = -1)
  dx <- as_dask_array(x)
  names(dx) <- names(x)
  expect_identical(dask_which_max(dx), which.max(x))
  expect_identical(dask_which_min(dx), which.min(x))
  y <- c(NA, -Inf, NA, -Inf) # the max is -Inf, after an NA
  expect_identical(dask_which_max(as_dask_array(y)), which.max(y))
  z <- c(NA_real_, NA_real_)
  expect_identical(dask_which_min(as_dask_array(z)), which.min(z))
  expect_identical(dask_which_max(dmi), which.max(mi))
})

test_that("dask_lazy() and the option keep full reductions lazy (0-d dask_arrays)", {
  s <- dask_lazy(sum(dm))
  expect_true(is_dask_array(s))
  expect_null(dim(s))
  expect_equal(compute(s), sum(m))
  r <- dask_lazy(range(dm))
  expect_identical(compute(r), range(m))
  expect_equal(compute(dask_lazy(max(dm, dv))), max(m, v))
  expect_equal(compute(dask_lazy(mean(dv, trim = 0.1))), mean(v, trim = 0.1))
  expect_identical(compute(dask_lazy(max(as_dask_array(c(TRUE, FALSE))))), max(c(TRUE, FALSE)))
  expect_equal(compute(dask_lazy(dask_var(dv))), var(v))
  old <- options(libdask.lazy_reductions = TRUE)
  on.exit(options(old))
  expect_true(is_dask_array(any(dm > 0.5)))
  expect_identical(compute(any(dm > 0.5)), any(m > 0.5))
  options(old)
  expect_false(is_dask_array(sum(dm))) # the option is restored
  # Lazy reductions combine before anything is computed.
  expect_equal(compute(dask_lazy(sum(dm) / length(dm))), mean(m))
})

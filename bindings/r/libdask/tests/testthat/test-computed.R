# Functions that need every value: computed, and base R's answer on the computed values.
test_that("all.equal compares the computed values", {
  expect_identical(all.equal(dm, dm * 2), all.equal(m, m * 2))
  expect_true(all.equal(dm, dm + 0))
  expect_identical(all.equal(dm, m), all.equal(m, m))
  expect_identical(all.equal(dm, m + 1e-3), all.equal(m, m + 1e-3))
  expect_identical(isTRUE(all.equal(dv, dv * 2)), FALSE)
  expect_identical(all.equal(dmi, mi), TRUE)
})

test_that("median, quantile, sort, unique, summary, as.data.frame follow base R", {
  expect_identical(median(dv), median(v))
  expect_identical(median(dmi), median(mi))
  x <- c(3, NA, 1, 2)
  expect_identical(median(as_dask_array(x), na.rm = TRUE), median(x, na.rm = TRUE))
  expect_identical(quantile(dv), quantile(v))
  expect_identical(quantile(dv, c(0.1, 0.9), type = 7), quantile(v, c(0.1, 0.9), type = 7))
  expect_identical(sort(dv), sort(v))
  expect_identical(sort(dmi, decreasing = TRUE), sort(mi, decreasing = TRUE))
  expect_identical(unique(dmi[, 1]), unique(mi[, 1]))
  expect_identical(unique(dmi[1:50, 1:2] %/% 20L), unique(mi[1:50, 1:2] %/% 20L)) # rows of a matrix
  expect_identical(summary(dv), summary(v))
  expect_identical(summary(dm[, 1:3]), summary(m[, 1:3]))
  expect_identical(as.data.frame(dm[1:5, 1:3]), as.data.frame(m[1:5, 1:3]))
  v5 <- v[1:5]
  dv5 <- dv[1:5]
  expect_identical(as.data.frame(dv5)[[1]], as.data.frame(v5)[[1]])
  expect_identical(names(as.data.frame(dv5)), "dv5")
})

test_that("dask_in is x %in% table, lazily; match() refuses a dask_array (no silent answer)", {
  t5 <- c(-50L, 0L, 7L, 50L)
  expect_error(dmi %in% t5, "vector arguments")
  r <- dask_in(dmi, t5)
  expect_true(is_dask_array(r))
  expect_identical(compute(r), array(mi %in% t5, dim(mi)))
  x <- c(1, NA, NaN, 3)
  dx <- as_dask_array(x)
  expect_identical(compute(dask_in(dx, c(NA, 3))), x %in% c(NA, 3)) # NA is told from NaN
  expect_identical(compute(dask_in(dx, numeric(0))), x %in% numeric(0))
  expect_identical(compute(dask_in(dx, as_dask_array(c(3, 1)))), x %in% c(3, 1))
  long <- seq(-50L, 50L, by = 2L) + rep(0:9 * 1000L, each = 51)
  expect_identical(compute(dask_in(dmi, long)), array(mi %in% long, dim(mi)))
})

test_that("which, table and diag work as base R's", {
  expect_identical(dask_which(dv > 1), which(v > 1))
  expect_identical(dask_which(dm > 0.999, arr.ind = TRUE), which(m > 0.999, arr.ind = TRUE))
  expect_identical(table(dmi[, 1] %/% 20L), table(mi[, 1] %/% 20L))
  d <- diag(dm)
  expect_true(is_dask_array(d)) # base R's diag() of a matrix indexes it: lazy here
  expect_identical(compute(d), diag(m))
  sq <- matrix(as.double(1:9), 3, dimnames = list(letters[1:3], letters[1:3]))
  dsq <- as_dask_array(sq)
  dimnames(dsq) <- dimnames(sq)
  expect_identical(compute(diag(dsq)), diag(sq))
})

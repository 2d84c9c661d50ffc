# c(), cbind() and rbind(): lazy joins with base R's shapes, types, recycling and names.
mn <- matrix(as.double(1:6), 2, dimnames = list(c("a", "b"), c("x", "y", "z")))
dmn <- local({ d <- as_dask_array(mn); dimnames(d) <- dimnames(mn); d })
i5 <- 1:5
di5 <- as_dask_array(i5)

test_that("c() flattens in R's order and concatenates lazily", {
  r <- c(dv, 4)
  expect_true(is_dask_array(r))
  expect_identical(compute(r), c(v, 4))
  expect_identical(compute(c(dm, dv)), c(m, v))
  expect_identical(compute(c(da3)), c(a3))
  expect_identical(compute(c(di5, 6L)), c(i5, 6L))
  expect_identical(compute(c(di5, 6)), c(i5, 6)) # R's type promotion
  expect_identical(compute(c(as_dask_array(c(TRUE, FALSE)), 2L)), c(c(TRUE, FALSE), 2L))
  expect_identical(compute(c(di5, NULL, m[1:2, 1:2])), c(i5, NULL, m[1:2, 1:2]))
  expect_identical(compute(c(dask_lazy(sum(di5)), 1L)), c(as.double(sum(i5)), 1L)) # an int64 sum
  expect_identical(compute(c(di5, use.names = FALSE)), c(i5, use.names = FALSE))
})

test_that("c() keeps names as base R makes them", {
  dn <- di5
  names(dn) <- letters[1:5]
  n5 <- stats::setNames(i5, letters[1:5])
  expect_identical(compute(c(dn, 6L)), c(n5, 6L))
  expect_identical(compute(c(dn, z = 6L)), c(n5, z = 6L))
  expect_identical(compute(c(a = di5, b = 7L)), c(a = i5, b = 7L))
  expect_identical(compute(c(dmn, 1)), c(mn, 1)) # a matrix's dimnames are not names
  expect_error(c(dv, "a"), class = "dask_error")
  expect_error(c(dv, list(1)), class = "dask_error")
})

test_that("cbind and rbind of dask_arrays, R matrices and vectors follow base R", {
  m2 <- m[1:6, 1:3]
  d2 <- dm[1:6, 1:3]
  expect_true(is_dask_array(cbind(d2, d2)))
  expect_identical(compute(cbind(d2, d2)), cbind(m2, m2))
  expect_identical(compute(rbind(d2, d2)), rbind(m2, m2))
  expect_identical(compute(cbind(d2, m2)), cbind(m2, m2))
  expect_identical(compute(cbind(m2, d2)), cbind(m2, m2)) # dispatch on any argument
  expect_identical(compute(rbind(m2, d2, 0)), rbind(m2, m2, 0))
  expect_identical(compute(cbind(d2, 1:6)), cbind(m2, 1:6))
  expect_identical(compute(cbind(d2, 1:3)), cbind(m2, 1:3)) # recycled down the rows
  expect_identical(compute(rbind(d2, 7)), rbind(m2, 7))
  expect_identical(compute(cbind(di5, i5 * 2L)), cbind(di5 = i5, i5 * 2L))
  expect_identical(compute(cbind(1:10, di5)), cbind(1:10, di5 = i5)) # vectors: the longest's length
  expect_identical(compute(rbind(di5, 0L, TRUE)), rbind(di5 = i5, 0L, TRUE))
  expect_identical(compute(cbind(da3[, , 1], 1)), cbind(a3[, , 1], 1))
  expect_identical(compute(cbind(dmi[1:4, ], as_dask_array(mi[1:4, ] > 0))), cbind(mi[1:4, ], mi[1:4, ] > 0))
  expect_identical(compute(cbind(da3, 1)), cbind(da3 = a3, 1)) # more than 2 dims: a vector, as in R
  expect_identical(compute(cbind(d2)), cbind(m2))
  expect_identical(compute(cbind(di5)), cbind(di5 = i5))
})

test_that("cbind and rbind: R's errors and warnings", {
  m2 <- m[1:6, 1:3]
  d2 <- dm[1:6, 1:3]
  msg <- tryCatch(cbind(m2, matrix(1, 4, 2)), error = conditionMessage)
  expect_error(cbind(d2, matrix(1, 4, 2)), msg, fixed = TRUE, class = "dask_error")
  msg <- tryCatch(rbind(m2, matrix(1, 2, 4)), error = conditionMessage)
  expect_error(rbind(d2, matrix(1, 2, 4)), msg, fixed = TRUE, class = "dask_error")
  w <- tryCatch(cbind(m2, 1:4), warning = conditionMessage)
  expect_warning(r <- cbind(d2, 1:4), w, fixed = TRUE)
  expect_identical(compute(r), suppressWarnings(cbind(m2, 1:4)))
  w <- tryCatch(cbind(1:6, 1:4), warning = conditionMessage)
  expect_warning(r <- cbind(as_dask_array(1:6), 1:4), w, fixed = TRUE)
  expect_identical(compute(r), suppressWarnings(cbind(1:6, 1:4)))
  expect_warning(r <- cbind(d2, 1:8)) # longer than the rows: cut, with the warning
  expect_identical(compute(r), suppressWarnings(cbind(m2, 1:8)))
  expect_error(cbind(d2, letters[1:6]), class = "dask_error")
})

test_that("cbind and rbind name rows and columns as base R does", {
  vn <- c(p = 1, q = 2)
  dvn <- as_dask_array(vn)
  names(dvn) <- names(vn)
  x <- dvn
  xr <- vn
  expect_identical(compute(cbind(dmn, 1:2)), cbind(mn, 1:2))
  expect_identical(compute(cbind(dmn, q = 1:2)), cbind(mn, q = 1:2))
  expect_identical(compute(cbind(x, dmn)), cbind(x = xr, mn))
  expect_identical(compute(cbind(dmn, x)), cbind(mn, x = xr))
  expect_identical(compute(rbind(dmn, 1:3)), rbind(mn, 1:3))
  expect_identical(compute(rbind(a = dmn, b = 1:3)), rbind(a = mn, b = 1:3))
  expect_identical(compute(cbind(x, 3)), cbind(x = xr, 3))
  expect_identical(compute(cbind(x, x + 0, deparse.level = 2)), cbind(x = xr, `x + 0` = xr + 0))
  expect_identical(compute(cbind(x, x, deparse.level = 0)), cbind(xr, xr, deparse.level = 0))
  expect_identical(compute(rbind(dvn, dvn)), rbind(dvn = vn, dvn = vn))
  expect_identical(compute(cbind(as_dask_array(1:2), m[1:2, 1:2])), cbind(1:2, m[1:2, 1:2]))
})

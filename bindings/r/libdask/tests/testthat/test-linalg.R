test_that("t and %*% match base R", {
  expect_identical(as.matrix(t(dm)), t(m))
  expect_identical(as.matrix(t(dv)), t(v))
  b <- matrix(rnorm(400 * 30), 400, 30)
  expect_equal(as.matrix(dm %*% b), m %*% b)
  expect_equal(as.matrix(dm %*% as_dask_array(b)), m %*% b)
  expect_equal(as.matrix(t(dm) %*% dm), t(m) %*% m)
  expect_equal(as.matrix(dask_crossprod(dm)), crossprod(m))
  w <- runif(400)
  expect_equal(as.matrix(dm %*% w), m %*% w)
  u <- runif(600)
  expect_equal(as.matrix(u %*% dm), u %*% m)
  expect_equal(as.matrix(dv %*% dv), v %*% v)
  expect_error(dm %*% dm, class = "dask_error", regexp = "non-conformable")
})

test_that("aperm, dask_tcrossprod and vectors in cross products match base R", {
  expect_identical(compute(aperm(da3)), aperm(a3))
  expect_identical(compute(aperm(da3, c(2, 3, 1))), aperm(a3, c(2, 3, 1)))
  expect_identical(compute(aperm(da3, c(1, 3, 2))), aperm(a3, c(1, 3, 2)))
  expect_identical(compute(aperm(dm)), aperm(m))
  an <- a3[1:2, 1:3, 1:2]
  dimnames(an) <- list(c("a", "b"), NULL, c("x", "y"))
  dan <- as_dask_array(an)
  dimnames(dan) <- dimnames(an)
  expect_identical(compute(aperm(dan, c(3, 1, 2))), aperm(an, c(3, 1, 2)))
  s <- m[1:50, 1:20]
  ds <- dm[1:50, 1:20]
  expect_equal(compute(dask_tcrossprod(ds)), tcrossprod(s))
  expect_equal(compute(dask_tcrossprod(ds, s)), tcrossprod(s, s))
  expect_equal(compute(dask_crossprod(ds, s)), crossprod(s, s))
  expect_equal(compute(dask_crossprod(dv)), crossprod(v))
  expect_equal(compute(dask_tcrossprod(dv[1:10])), tcrossprod(v[1:10]))
})

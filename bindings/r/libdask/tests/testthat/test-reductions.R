test_that("colSums, rowSums, colMeans, rowMeans match base R", {
  expect_equal(compute(colSums(dm)), colSums(m))
  expect_equal(compute(rowSums(dm)), rowSums(m))
  expect_equal(compute(colMeans(dm)), colMeans(m))
  expect_equal(compute(rowMeans(dm)), rowMeans(m))
  expect_equal(compute(colMeans(exp(dm))), colMeans(exp(m)))
})

test_that("the dims argument works on 3-d arrays as in base R", {
  expect_equal(compute(colSums(da3)), colSums(a3))
  expect_equal(compute(colSums(da3, dims = 2)), colSums(a3, dims = 2))
  expect_equal(compute(rowSums(da3)), rowSums(a3))
  expect_equal(compute(rowMeans(da3, dims = 2)), rowMeans(a3, dims = 2))
  expect_error(colSums(dv), class = "dask_error")
  expect_error(colSums(da3, dims = 3), class = "dask_error")
})

test_that("base R's functions still work on R objects", {
  expect_equal(colSums(m), base::colSums(m))
  expect_equal(rowMeans(m), base::rowMeans(m))
  expect_equal(m %*% t(m[1:5, ]), base::`%*%`(m, t(m[1:5, ])))
})

library(Matrix)

set.seed(5)
sp <- rsparsematrix(200, 150, density = 0.05)
spd <- as.matrix(sp)

test_that("dgCMatrix and dgTMatrix convert both ways", {
  ds <- as_dask_array(sp)
  expect_equal(dim(ds), dim(sp))
  expect_output(print(ds), "sparse 200 x 150 float64")
  back <- as_dgCMatrix(ds)
  expect_s4_class(back, "dgCMatrix")
  expect_identical(as.matrix(back), spd)
  expect_identical(as.matrix(ds), spd)
  tr <- as(sp, "TsparseMatrix")
  dt <- as_dask_array(tr)
  expect_identical(as.matrix(dt), spd)
  bt <- as_dgTMatrix(ds)
  expect_s4_class(bt, "dgTMatrix")
  expect_identical(as.matrix(bt), spd)
  expect_s4_class(compute(ds), "dgCMatrix")
})

test_that("the same generics work on sparse arrays", {
  ds <- as_dask_array(sp)
  expect_equal(as.matrix(ds * 2), spd * 2)
  expect_equal(compute(sum(ds)), sum(spd))
  expect_equal(compute(max(ds)), max(spd))
  expect_equal(as.vector(compute(colSums(ds))), colSums(spd))
  expect_equal(as.vector(compute(rowSums(ds))), rowSums(spd))
  expect_equal(as.matrix(t(ds)), t(spd))
  b <- rsparsematrix(150, 40, density = 0.1)
  expect_equal(as.matrix(ds %*% as_dask_array(b)), spd %*% as.matrix(b))
  # A sparse matrix times a chunked dense array: a chunked product over sparse blocks.
  dense <- matrix(runif(150 * 7), 150, 7)
  expect_equal(as.matrix(ds %*% dense), spd %*% dense)
  left <- matrix(runif(5 * nrow(spd)), 5)
  expect_equal(as.matrix(as_dask_array(left, chunks = c(5, 16)) %*% ds), left %*% spd)
  expect_equal(as.matrix(ds[1:20, 5:9]), spd[1:20, 5:9])
  expect_equal(as.matrix(ds + 1), spd + 1) # a sparse array with fill value 1
  expect_equal(compute(ds + 1), spd + 1) # computed as Matrix's sp + 1 is: dense
  expect_equal(compute(ds * 2), as(sp * 2, "CsparseMatrix"))
  expect_identical(is.matrix(ds), is.matrix(sp))
  expect_identical(is.matrix(ds + 1), is.matrix(compute(ds + 1)))
  # Mixing with a chunked dense array is refused, never silently densified: the message
  # names the densify policy and the explicit conversions.
  expect_error(ds + as_dask_array(spd), class = "dask_error", regexp = "densify policy")
})

test_that("a chunked array converts to a sparse matrix", {
  d <- spd[1:50, 1:40]
  expect_identical(as.matrix(as_dgCMatrix(as_dask_array(d, chunks = c(20, 20)))), d)
})

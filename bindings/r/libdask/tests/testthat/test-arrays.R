test_that("R vectors, matrices and arrays keep R's dims and element order", {
  expect_identical(dim(dm), dim(m))
  expect_identical(dim(da3), dim(a3))
  expect_identical(length(dm), length(m))
  expect_null(dim(dv))
  expect_equal(length(dv), length(v))
  expect_equal(length(dm), length(m))
  expect_equal(dim(da3), dim(a3))
  expect_identical(as.matrix(dm), m)
  expect_identical(as.vector(dv), v)
  expect_identical(as.array(da3), a3)
  expect_identical(as.array(dv), as.array(v))
  expect_identical(as.matrix(dv), as.matrix(v))
})

test_that("chunks are given and reported in R's dim order", {
  expect_equal(dask_chunks(dm), list(c(128, 128, 128, 128, 88), c(100, 100, 100, 100)))
  expect_equal(dask_chunks(rechunk(dm, c(600, 50)))[[2]], rep(50, 8))
  expect_identical(as.matrix(rechunk(dm, c(600, 50))), m)
  expect_equal(dask_chunks(da3)[[3]], c(3, 3, 1))
})

test_that("integer and logical inputs keep their types", {
  expect_equal(dask_dtype(dmi), "int32")
  expect_identical(as.matrix(dmi), mi)
  l <- m > 0.5
  dl <- as_dask_array(l)
  expect_equal(dask_dtype(dl), "logical") # R's three-valued logical (int32), not copied
  expect_identical(as.matrix(dl), l)
  expect_identical(as.vector(as_dask_array(1:10)), 1:10) # a compact (ALTREP) sequence
  expect_equal(dask_dtype(as_dask_array(c(1.5, 2))), "float64")
})

test_that("integer, logical and double NA (and NaN) go in and come back as they were", {
  expect_identical(compute(as_dask_array(c(1L, NA))), c(1L, NA))
  expect_identical(compute(as_dask_array(c(TRUE, NA, FALSE))), c(TRUE, NA, FALSE))
  expect_identical(compute(as_dask_array(matrix(c(NA, TRUE), 1))), matrix(c(NA, TRUE), 1))
  x <- c(1, NA, NaN, Inf)
  expect_identical(compute(as_dask_array(x)), x) # NA_real_'s payload is kept
  expect_identical(is.na(as.vector(as_dask_array(x))), is.na(x))
  expect_identical(as.vector(as_dask_array(x))[c(1, 4)], x[c(1, 4)])
})

test_that("input is not copied and not changed under the library", {
  x <- runif(100)
  dx <- as_dask_array(x)
  x0 <- x
  x[1] <- -1 # R copies on modify: the library's view keeps the old data
  expect_identical(as.vector(dx), x0)
  expect_equal(x[1], -1)
})

test_that("creation functions match their base R counterparts", {
  expect_identical(as.matrix(dask_zeros(c(3, 4))), matrix(0, 3, 4))
  expect_identical(as.matrix(dask_ones(c(3, 4), type = "integer")), matrix(1L, 3, 4))
  expect_identical(as.vector(dask_full(5, 2.5)), rep(2.5, 5))
  u <- as.matrix(dask_runif(c(300, 200), min = 2, max = 3, seed = 7, chunks = c(100, 100)))
  expect_equal(dim(u), c(300, 200))
  expect_true(all(u >= 2 & u < 3))
  expect_equal(mean(u), 2.5, tolerance = 0.01)
  # The same seed gives the same numbers whatever the chunking.
  u2 <- as.matrix(dask_runif(c(300, 200), min = 2, max = 3, seed = 7, chunks = c(300, 50)))
  expect_identical(u, u2)
  z <- as.vector(dask_rnorm(1e5, mean = 1, sd = 2, seed = 3))
  expect_equal(mean(z), 1, tolerance = 0.05)
  expect_equal(sd(z), 2, tolerance = 0.05)
})

test_that("print and format show shape, chunks, type and laziness without computing", {
  expect_match(format(dm), "600 x 400 float64, chunks 128 x 100 \\(5 x 4 blocks\\)")
  y <- exp(dm) + 1
  expect_match(format(y), "lazy \\([0-9]+ tasks\\)")
  expect_output(print(y), "<dask_array> 600 x 400 float64")
  expect_match(format(dask_lazy(sum(dm))), "scalar float64")
  expect_match(format(persist(y)), "computed")
})

test_that("compute and persist give the same values", {
  y <- exp(dm) * 2
  p <- persist(y)
  expect_equal(dask_ntasks(p), 0)
  expect_identical(as.matrix(p), as.matrix(y))
  expect_equal(compute(sum(p)), sum(exp(m) * 2))
  expect_identical(compute(5), 5)
})

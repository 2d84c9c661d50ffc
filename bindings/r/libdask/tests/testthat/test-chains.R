test_that("a loop of 10,000 operations builds, computes and frees", {
  # An iterative algorithm's `x <- x + 1`: a chain of 10,000 lazy operations.
  v <- runif(1000)
  x <- as_dask_array(v, chunks = 300)
  w <- v
  for (i in 1:10000) {
    x <- x + 1
    w <- w + 1
  }
  expect_identical(as.vector(compute(x)), w) # the same additions in the same order
  expect_equal(compute(sum(x)), sum(w))
  expect_type(compute(x), "double")
  # A matrix, with a scalar multiply now and then, against base R's matrix arithmetic.
  m <- matrix(runif(60), 6, 10)
  dm <- as_dask_array(m, chunks = c(4, 5))
  for (i in 1:10000) {
    dm <- if (i %% 1000 == 0) dm * 0.5 else dm + 1
    m <- if (i %% 1000 == 0) m * 0.5 else m + 1
  }
  expect_identical(compute(dm), m)
  before <- libdask:::dc_live()[["array"]]
  rm(x, dm)
  gc()
  gc() # the chains are freed (iteratively, in the library)
  expect_lt(libdask:::dc_live()[["array"]], before)
})

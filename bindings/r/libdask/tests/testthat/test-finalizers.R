test_that("10,000 arrays created and dropped leak neither handles nor R objects", {
  gc()
  before <- libdask:::dc_live()
  for (i in 1:10000) {
    x <- as_dask_array(runif(10))
    y <- x * 2 + 1
  }
  rm(x, y)
  gc()
  gc()
  after <- libdask:::dc_live()
  expect_equal(after[["array"]], before[["array"]])
  expect_equal(after[["r_objects"]], before[["r_objects"]])
})

test_that("futures and their R values are released", {
  gc()
  before <- libdask:::dc_live()
  for (i in 1:200) {
    f <- dask_submit(function(x) x + 1, runif(5))
    value(f)
  }
  rm(f)
  gc()
  gc()
  after <- libdask:::dc_live()
  expect_equal(after[["future"]], before[["future"]])
  expect_equal(after[["r_objects"]], before[["r_objects"]])
})

test_that("the memory of an R vector stays valid while the library needs it", {
  y <- local({
    x <- runif(1e5)
    list(s = sum(x), d = as_dask_array(x) * 1)
  })
  gc()
  expect_equal(compute(sum(y$d)), y$s)
})

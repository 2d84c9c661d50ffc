test_that("dask_submit runs R functions as host tasks; value and resolved", {
  f <- dask_submit(function(a, b) a + b, 1, 2)
  expect_s3_class(f, "dask_future")
  expect_equal(value(f), 3)
  expect_true(resolved(f))
  expect_equal(dask_status(f), "finished")
  g <- dask_submit(function(x) x * 10, f) # a future as an argument: its value
  expect_equal(value(g), 30)
  h <- dask_submit(function(df) summary(lm(y ~ x, df))$r.squared,
                   data.frame(x = 1:10, y = 2 * (1:10) + sin(1:10)))
  expect_equal(value(h), summary(lm(y ~ x, data.frame(x = 1:10, y = 2 * (1:10) + sin(1:10))))$r.squared)
  fs <- lapply(1:5, function(i) dask_submit(function(i) i^2, i))
  expect_equal(unlist(value(fs)), (1:5)^2)
  k <- dask_submit("sum", 1:10)
  expect_equal(value(k), 55L)
  n <- dask_submit(function() NULL)
  expect_null(value(n))
})

test_that("resolved() lets queued host tasks run without blocking", {
  f <- dask_submit(function() 42)
  deadline <- Sys.time() + 10
  while (!resolved(f) && Sys.time() < deadline) Sys.sleep(0.01)
  expect_true(resolved(f))
  expect_equal(value(f), 42)
})

test_that("an R error in the function is a dask_error from value(); dependents fail too", {
  f <- dask_submit(function() stop("bad input"))
  expect_error(value(f), class = "dask_error", regexp = "bad input")
  expect_equal(dask_status(f), "error")
  g <- dask_submit(function(x) x, f)
  expect_error(value(g), class = "dask_error", regexp = "bad input")
})

test_that("cancel stops a future that has not run", {
  f <- dask_submit(function() 1)
  cancel(f)
  expect_equal(dask_status(f), "cancelled")
  expect_error(value(f), class = "dask_error", regexp = "cancel")
})

test_that("host tasks can use dask arrays (chunk work on the pool)", {
  f <- dask_submit(function(x) compute(sum(exp(x))), dm)
  expect_equal(value(f), sum(exp(m)))
})

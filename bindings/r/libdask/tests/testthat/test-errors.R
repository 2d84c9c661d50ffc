test_that("library failures are dask_error conditions with the user's call and status", {
  e <- tryCatch(dm + matrix(1, 3, 3), error = identity)
  expect_s3_class(e, "dask_error")
  expect_equal(conditionMessage(e), tryCatch(m + matrix(1, 3, 3), error = conditionMessage)) # R's message
  expect_equal(e$status, "DASK_ERR_SHAPE")
  expect_equal(deparse(conditionCall(e)), "dm + matrix(1, 3, 3)")
  e <- tryCatch(colSums(da3, dims = 5), error = identity)
  expect_equal(deparse(conditionCall(e)), "colSums(da3, dims = 5)")
  expect_error(as_dask_array("a"), class = "dask_error")
  expect_error(as_dask_array(factor("a")), class = "dask_error")
  expect_error(rechunk(dm, c(0, 1)), class = "dask_error")
  expect_error(dask_runif(c(-1, 2)), class = "dask_error")
})

test_that("a closed handle is a clear error, not a crash", {
  x <- as_dask_array(runif(10))
  y <- x + 1
  close(x)
  expect_true(is_closed(x))
  expect_error(x + 1, class = "dask_error", regexp = "closed")
  expect_error(compute(x), class = "dask_error", regexp = "closed")
  expect_equal(format(x), "<dask_array> (closed)")
  close(x) # twice is harmless
  expect_length(as.vector(y), 10) # arrays made from it live on
  cl <- dask_client(threads = 1)
  close(cl)
  expect_error(compute(y, client = cl), class = "dask_error", regexp = "closed")
  expect_error(libdask:::dc_compute(dm, dm), class = "dask_error", regexp = "expected a dask_client")
})

test_that("error calls show the user's expressions, never pointers", {
  x <- as_dask_array(runif(10))
  close(x)
  for (e in list(tryCatch(sum(x), error = identity), tryCatch(max(x, dm), error = identity),
                 tryCatch(round(x, 2), error = identity))) {
    expect_s3_class(e, "dask_error")
    expect_false(grepl("pointer", paste(deparse(conditionCall(e)), collapse = "")))
  }
  expect_equal(deparse(conditionCall(tryCatch(sum(x), error = identity))), "sum(x)")
  expect_equal(deparse(conditionCall(tryCatch(max(x, dm), error = identity))), "max(x, dm)")
  anon <- function() { z <- as_dask_array(1:3); close(z); z }
  e <- tryCatch(sum(anon()), error = identity)
  expect_match(paste(deparse(conditionCall(e)), collapse = ""), "sum\\(`<dask_array")
  e <- tryCatch(dm[1:3, ] + dm, error = identity)
  expect_equal(conditionMessage(e), tryCatch(m[1:3, ] + m, error = conditionMessage))
  expect_equal(deparse(conditionCall(e)), "dm[1:3, ] + dm")
  e <- tryCatch(dm %*% dm, error = identity)
  expect_equal(conditionMessage(e), tryCatch(m %*% m, error = conditionMessage))
  msg <- tryCatch({ y <- m; dim(y) <- c(5, 5) }, error = conditionMessage)
  expect_error({ y <- dm; dim(y) <- c(5, 5) }, msg, fixed = TRUE, class = "dask_error") # R's dims
})

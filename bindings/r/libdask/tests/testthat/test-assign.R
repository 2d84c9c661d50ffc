# Positional assignment x[i, j] <- v, lazily, against base R's on the same data.
mi_small <- matrix(1:30, 5, 6)
ms <- matrix(as.double(1:30), 5, 6)

assign_both <- function(x, expr_r, expr_d) {
  # Runs the same replacement on an R copy and a dask copy; returns both results.
  list(r = expr_r(x), d = compute(expr_d(as_dask_array(x, chunks = c(2, 4)))))
}

test_that("x[i, j] <- value with runs of positions splices lazily", {
  cases <- list(
    function(x) { x[2:3, 4:6] <- 0; x },
    function(x) { x[1, ] <- 100; x },
    function(x) { x[, 2] <- c(-1, -2, -3, -4, -5); x },
    function(x) { x[5, 6] <- 7; x },
    function(x) { x[1:5, 1:6] <- 9; x },
    function(x) { x[2:4, 3] <- 1:3; x },
    function(x) { x[2:3, 2:5] <- matrix(1:8, 2); x },
    function(x) { x[2:3, 2:5] <- 1:2; x } # recycled over the block
  )
  for (k in seq_along(cases)) {
    r <- assign_both(ms, cases[[k]], cases[[k]])
    expect_identical(r$d, r$r, info = k)
  }
  y <- as_dask_array(ms)
  y[2:3, 4:6] <- 0
  expect_true(is_dask_array(y))
  expect_identical(compute(as_dask_array(ms)), ms) # the original is unchanged
})

test_that("other positions (unordered, repeated, negative, logical) use a mask and takes", {
  cases <- list(
    function(x) { x[c(4, 1), c(6, 2, 3)] <- 0; x },
    function(x) { x[2, c(3, 1, 3)] <- c(10, 20, 30); x }, # the last of a repeated position wins
    function(x) { x[-2, -c(1, 6)] <- -1; x },
    function(x) { x[c(TRUE, FALSE), ] <- 5; x },
    function(x) { x[c(5, 1), c(2, 4)] <- matrix(c(1, 2, 3, 4), 2); x }
  )
  for (k in seq_along(cases)) {
    r <- assign_both(ms, cases[[k]], cases[[k]])
    expect_identical(r$d, r$r, info = k)
  }
})

test_that("one index: R's linear positions; a coordinate matrix; names", {
  cases <- list(
    function(x) { x[c(1, 7, 30)] <- 0; x },
    function(x) { x[3:12] <- -(1:10); x },
    function(x) { x[cbind(c(1, 5), c(2, 6))] <- c(-7, -8); x },
    function(x) { x[] <- 0; x },
    function(x) { x[] <- 1:5; x }
  )
  for (k in seq_along(cases)) {
    r <- assign_both(ms, cases[[k]], cases[[k]])
    expect_identical(r$d, r$r, info = k)
  }
  vn <- c(a = 1, b = 2, c = 3)
  dn <- as_dask_array(vn)
  names(dn) <- names(vn)
  dn["b"] <- 20
  vn["b"] <- 20
  expect_identical(compute(dn), vn)
  x <- v
  dx <- dv
  x[c(10, 3, 999)] <- c(1, 2, 3)
  dx[c(10, 3, 999)] <- c(1, 2, 3)
  expect_identical(compute(dx), x)
})

test_that("the result has the wider type, as in R", {
  r <- assign_both(mi_small, function(x) { x[1, 1] <- 0.5; x }, function(x) { x[1, 1] <- 0.5; x })
  expect_identical(r$d, r$r)
  r <- assign_both(mi_small, function(x) { x[2:3, 2] <- 7L; x }, function(x) { x[2:3, 2] <- 7L; x })
  expect_identical(r$d, r$r)
  r <- assign_both(mi_small, function(x) { x[2, ] <- TRUE; x }, function(x) { x[2, ] <- TRUE; x })
  expect_identical(r$d, r$r)
  l <- ms > 10
  r <- assign_both(l, function(x) { x[1, ] <- 2L; x }, function(x) { x[1, ] <- 2L; x })
  expect_identical(r$d, r$r)
  d <- as_dask_array(ms)
  d[1:2, 1] <- as_dask_array(c(-1, -2)) # a dask_array value
  m2 <- ms
  m2[1:2, 1] <- c(-1, -2)
  expect_identical(compute(d), m2)
})

test_that("R's errors and warnings for bad replacements", {
  d <- as_dask_array(ms)
  msg <- tryCatch({ m2 <- ms; m2[1:2, 1:3] <- 1:4 }, error = conditionMessage)
  expect_error({ d[1:2, 1:3] <- 1:4 }, msg, fixed = TRUE, class = "dask_error")
  msg <- tryCatch({ m2 <- ms; m2[1:3] <- integer(0) }, error = conditionMessage)
  expect_error({ d[1:3] <- integer(0) }, msg, fixed = TRUE, class = "dask_error")
  w <- tryCatch({ m2 <- ms; m2[1:3] <- 1:2 }, warning = conditionMessage)
  expect_warning({ d2 <- d; d2[1:3] <- c(7, 8) }, w, fixed = TRUE)
  m2 <- ms
  suppressWarnings(m2[1:3] <- c(7, 8))
  expect_identical(compute(d2), m2)
  expect_error({ d[6, 1] <- 0 }, class = "dask_error", regexp = "out of bounds")
  expect_error({ d[1, 1] <- "a" }, class = "dask_error")
})

test_that("[[ gives one element as an R value; x[] is x", {
  expect_identical(compute(dm[]), m[])
  expect_identical(dm[[3, 4]], m[[3, 4]])
  expect_identical(dm[[1000]], m[[1000]])
  expect_identical(dmi[[2, 2]], mi[[2, 2]])
  expect_identical(da3[[2, 3, 4]], a3[[2, 3, 4]])
  vn <- c(a = 1, b = 2)
  dn <- as_dask_array(vn)
  names(dn) <- names(vn)
  expect_identical(dn[["b"]], vn[["b"]])
  expect_error(dm[[1:2, 1]], class = "dask_error")
})

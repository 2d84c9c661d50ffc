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

test_that("named arguments are passed by name; futures among them resolve to values", {
  expect_identical(value(dask_submit(paste, "a", "b", sep = "-")), paste("a", "b", sep = "-"))
  expect_identical(value(dask_submit(function(a, b) a - b, b = 1, a = 10)), 10 - 1)
  f <- dask_submit(function() 5)
  expect_identical(value(dask_submit(function(a, b) a - b, b = f, a = 1)), 1 - 5)
  expect_identical(value(dask_submit(seq, 1, 10, by = 3)), seq(1, 10, by = 3))
  q <- quote(a + b) # language objects are values, not evaluated
  expect_identical(value(dask_submit(identity, q)), q)
  expect_null(value(dask_submit(function(x) x, NULL)))
})

test_that("dask_submit() of a function that does not exist is a dask_error", {
  expect_error(dask_submit("nosuchfn"), class = "dask_error")
  expect_error(dask_submit(42), class = "dask_error")
})

test_that("warnings and messages of a task are signalled again by value(), in the caller", {
  f <- dask_submit(function(x) { warning("careful"); message("hello"); x * 2 }, 21)
  seen <- character()
  r <- withCallingHandlers(value(f),
    warning = function(w) { seen <<- c(seen, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { seen <<- c(seen, conditionMessage(m)); invokeRestart("muffleMessage") })
  expect_identical(r, 42)
  expect_identical(seen, c("careful", "hello\n"))
  expect_warning(value(f), "careful")
  expect_silent(suppressMessages(suppressWarnings(value(f))))
  g <- dask_submit(function() as.integer("x")) # a warning from base R itself
  expect_warning(r <- value(g), "NAs introduced by coercion")
  expect_identical(r, suppressWarnings(as.integer("x")))
})

test_that("an error keeps its condition classes and fields; the key is a field", {
  f <- dask_submit(function() {
    stop(structure(class = c("my_error", "error", "condition"),
                   list(message = "custom failure", call = NULL, detail = 42)))
  })
  e <- tryCatch(value(f), error = identity)
  expect_s3_class(e, "my_error")
  expect_s3_class(e, "dask_error")
  expect_identical(conditionMessage(e), "custom failure") # no task key prefix
  expect_identical(e$detail, 42)
  expect_true(is.character(e$key) && nzchar(e$key))
  expect_equal(e$status, "DASK_ERR_TASK")
  expect_error(value(f), class = "my_error")
  # A task that fails because a future it waited for failed raises that error.
  g <- dask_submit(function(x) x, f)
  e2 <- tryCatch(value(g), error = identity)
  expect_s3_class(e2, "my_error")
  expect_identical(conditionMessage(e2), "custom failure")
  h <- dask_submit(function() stop("plain"))
  e3 <- tryCatch(value(h), error = identity)
  expect_identical(conditionMessage(e3), "plain")
  expect_identical(class(e3), c("simpleError", "dask_error", "error", "condition"))
})

test_that("queued R tasks run while R is idle (its event loop), without value() or resolved()", {
  f <- dask_submit(function() 42)
  deadline <- Sys.time() + 10
  while (dask_status(f) == "pending" && Sys.time() < deadline) Sys.sleep(0.05) # idle, as at the prompt
  expect_equal(dask_status(f), "finished")
  expect_equal(value(f), 42)
  # A chain: the second becomes ready when the first finishes, and runs too.
  g <- dask_submit(function() 1)
  h <- dask_submit(function(x) x + 1, g)
  deadline <- Sys.time() + 10
  while (dask_status(h) == "pending" && Sys.time() < deadline) Sys.sleep(0.05)
  expect_equal(dask_status(h), "finished")
  expect_equal(value(h), 2)
})

test_that("a task submitted at an interactive prompt runs while R waits for input", {
  skip_on_os("windows")
  r <- file.path(R.home("bin"), "R")
  libs <- paste(.libPaths(), collapse = ":")
  cmd <- sprintf(paste("(echo 'suppressMessages(library(libdask)); f <- dask_submit(function() 42)';",
                       "sleep 2; echo 'cat(\"STATUS:\", dask_status(f), \"\\\\n\")'; echo 'q(\"no\")') |",
                       "R_LIBS='%s' '%s' --interactive --no-save -q 2>&1"), libs, r)
  out <- system(cmd, intern = TRUE)
  expect_true(any(grepl("^STATUS: finished", out)), info = paste(out, collapse = "\n"))
})

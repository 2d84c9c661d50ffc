# Ctrl-C: SIGINT sent to an Rscript child while it waits on the library must interrupt the
# wait at once (the computation cancelled), and the library must stay usable afterwards.
test_that("SIGINT interrupts a long computation and an R host task", {
  skip_on_os("windows")
  rscript <- file.path(R.home("bin"), "Rscript")
  script <- tempfile(fileext = ".R")
  out <- tempfile()
  writeLines(c(
    "suppressPackageStartupMessages(library(libdask))",
    "x <- dask_runif(c(2e5, 2e5), chunks = c(5000, 5000))",
    "big <- dask_lazy(sum(exp(x)))", # about a minute of work on two cores, in short tasks
    "cat('started\\n')",
    "t0 <- Sys.time()",
    "r <- tryCatch(compute(big), interrupt = function(e) 'interrupted')",
    "cat(r, format(as.numeric(Sys.time() - t0, units = 'secs')), '\\n')",
    "f <- dask_submit(function() { Sys.sleep(60); 1 })",
    "t0 <- Sys.time()",
    "r <- tryCatch(value(f), interrupt = function(e) 'interrupted')",
    "cat(r, dask_status(f), format(as.numeric(Sys.time() - t0, units = 'secs')), '\\n')",
    "cat('after', compute(sum(as_dask_array(1:10))), '\\n')"
  ), script)
  skip_if_not(nzchar(Sys.which("kill")), "no kill command")
  libs <- paste(.libPaths(), collapse = ":")
  cmd <- sprintf("R_LIBS='%s' '%s' '%s' > '%s' 2>&1 & echo $!", libs, rscript, script, out)
  child <- as.integer(system(cmd, intern = TRUE))
  wait_for <- function(pattern, secs) {
    deadline <- Sys.time() + secs
    while (Sys.time() < deadline) {
      if (file.exists(out) && any(grepl(pattern, readLines(out, warn = FALSE)))) return(TRUE)
      Sys.sleep(0.1)
    }
    FALSE
  }
  expect_true(wait_for("started", 60))
  Sys.sleep(1.5)
  system(sprintf("kill -INT %d", child))
  expect_true(wait_for("^interrupted ", 20))
  Sys.sleep(1.5)
  system(sprintf("kill -INT %d", child))
  expect_true(wait_for("^after", 30))
  lines <- readLines(out)
  # 'interrupted' (not a number): the wait was interrupted before the minute of work ended;
  # the host task's future ended as cancelled or failed, not with its value.
  expect_true(any(grepl("^interrupted [0-9.]+", lines)))
  expect_true(any(grepl("^interrupted (error|cancelled)", lines)))
  expect_match(grep("^after", lines, value = TRUE), "after 55")
})

# Forks after a compute (parallel::mclapply, mcparallel): the child has none of the parent's
# threads, and a new pool cannot start safely there: computing in the child is a clear
# dask_error naming the fork, and so is the parent's client; never a hang. Each scenario has
# a deadline, so a hang fails the test instead of hanging the run.
skip_on_os("windows") # no fork

test_that("mclapply children fail clearly after the parent computed (in a child R, under a timeout)", {
  skip_if(!nzchar(Sys.which("timeout")), "no timeout command")
  code <- '
    suppressPackageStartupMessages({ library(libdask); library(parallel) })
    x <- as_dask_array(as.double(1:1000), chunks = 100)
    stopifnot(sum(x) == 500500) # the parent computes: its default client and threads exist
    parent <- dask_default_client()
    msg <- mclapply(1:4, function(i) tryCatch(sum(x * i), dask_error = conditionMessage), mc.cores = 2)
    stopifnot(all(grepl("fork", unlist(msg))))
    msg <- mclapply(1:2, function(i) tryCatch(compute(colSums(matrix(x, 100) > 500)),
                                            dask_error = conditionMessage), mc.cores = 2)
    stopifnot(all(grepl("fork", unlist(msg))))
    # The parent client, passed explicitly: a dask_error naming the fork, at once.
    msg <- mclapply(1:2, function(i) tryCatch(compute(x, client = parent), dask_error = conditionMessage), mc.cores = 2)
    stopifnot(all(grepl("fork", unlist(msg))))
    # Past the R check, the library itself refuses it the same way.
    msg <- mclapply(1:2, function(i) tryCatch(libdask:::dc_compute(parent, x + 1), dask_error = conditionMessage), mc.cores = 2)
    stopifnot(all(grepl("fork", unlist(msg))))
    # The parent goes on: arrays, host tasks (also run from the event loop while idle).
    stopifnot(sum(x * 2) == 1001000)
    f <- dask_submit(function(a) a + 1, 41)
    for (k in 1:200) if (dask_status(f) == "pending") Sys.sleep(0.01)
    stopifnot(value(f) == 42)
    cat("fork: ok\\n")
  '
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  out <- suppressWarnings(system2("timeout", c("120", file.path(R.home("bin"), "Rscript"), "--vanilla", script),
                                  stdout = TRUE, stderr = TRUE,
                                  env = paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep))))
  status <- attr(out, "status")
  expect_true(is.null(status) || status == 0, info = paste(out, collapse = "\n"))
  expect_true("fork: ok" %in% out, info = paste(out, collapse = "\n"))
})

# mcparallel() in this process, polled with a deadline; a hung child is killed.
collect_within <- function(job, seconds) {
  deadline <- Sys.time() + seconds
  while (Sys.time() < deadline) {
    r <- parallel::mccollect(job, wait = FALSE, timeout = 0.2)
    if (!is.null(r)) return(r[[1L]])
  }
  tools::pskill(job$pid, tools::SIGKILL)
  parallel::mccollect(job, wait = FALSE)
  stop("the forked child did not finish within ", seconds, " s (hung)")
}

test_that("mcparallel after a compute: computing in the child and the parent's client fail at once", {
  x <- as_dask_array(as.double(1:100), chunks = 10)
  expect_equal(sum(x), 5050) # computed here first
  parent <- dask_default_client()
  expect_match(collect_within(parallel::mcparallel(
    tryCatch(sum(x * 2), dask_error = conditionMessage)), 60), "fork")
  r <- collect_within(parallel::mcparallel(
    list(pid = Sys.getpid(),
         default = tryCatch(dask_default_client(), dask_error = conditionMessage),
         err = tryCatch(compute(x, client = parent), dask_error = function(e) e))), 60)
  expect_match(r$default, "fork")
  expect_s3_class(r$err, "dask_error")
  expect_match(conditionMessage(r$err), "fork")
  expect_equal(r$err$status, "DASK_ERR_INVALID_HANDLE")
  # A future of the parent, still pending in the child: fails there, never waits.
  f <- dask_submit(function() 1) # runs only when this (the parent's) R thread lets it
  r <- collect_within(parallel::mcparallel(tryCatch(value(f), dask_error = conditionMessage)), 60)
  expect_match(r, "fork")
  expect_false(collect_within(parallel::mcparallel(resolved(f)), 60)) # and is not run there
  expect_equal(value(f), 1) # the parent's future is unaffected
  expect_equal(collect_within(parallel::mcparallel(value(f)), 60), 1) # done before the fork: its value
  r <- collect_within(parallel::mcparallel(tryCatch(dask_default_client(parent), dask_error = conditionMessage)), 60)
  expect_match(r, "forked child")
  expect_match(collect_within(parallel::mcparallel(format(parent)), 60), "forked child")
  expect_identical(dask_default_client(), parent) # the parent keeps its client
  expect_equal(sum(x), 5050)
})

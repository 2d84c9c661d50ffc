# Futures: R functions run as host tasks. dask_submit(fun, ...) returns at once; the call
# runs on R's own thread whenever R waits on the library (value(), compute(), ...) or polls
# (resolved()), since R code can only run there. Arguments that are dask_futures are passed
# as their values, after they finish (so futures chain into graphs). The verbs are those of
# the future package: value(), resolved(), and cancel().

dask_submit <- function(fun, ..., client = NULL) {
  fun <- match.fun(fun)
  dc_submit(.client(client), fun, list(...))
}

value <- function(future, ...) UseMethod("value")
resolved <- function(future, ...) UseMethod("resolved")
cancel <- function(future, ...) UseMethod("cancel")

# The function's result; an R error in it (or in a future it depends on) is a dask_error
# carrying the R message. Interruptible (Ctrl-C cancels the future).
value.dask_future <- function(future, ...) dc_future_value(future)
value.list <- function(future, ...) lapply(future, value)
resolved.dask_future <- function(future, ...) dc_future_resolved(future)
resolved.list <- function(future, ...) vapply(future, resolved, TRUE)
cancel.dask_future <- function(future, ...) invisible(dc_future_cancel(future))
cancel.list <- function(future, ...) invisible(lapply(future, cancel))

# "pending", "running", "finished", "error" or "cancelled".
dask_status <- function(future) dc_future_status(future)

format.dask_future <- function(x, ...) {
  if (dc_is_closed(x)) return("<dask_future> (closed)")
  sprintf("<dask_future> %s", dc_future_status(x))
}

print.dask_future <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

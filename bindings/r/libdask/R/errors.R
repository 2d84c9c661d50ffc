# Conditions. Every failure of the library reaches R as a condition of class `dask_error`
# (also an `error`), carrying the library's message and status name, and reported against
# the call the user made (the outermost libdask function on the stack), not the internals.

.dask_raise <- function(message, status) {
  cond <- structure(
    class = c("dask_error", "error", "condition"),
    list(message = message, call = .user_call(), status = status)
  )
  stop(cond)
}

.user_call <- function() {
  ns <- topenv(environment(.user_call))
  for (i in seq_len(sys.nframe())) {
    f <- sys.function(i)
    if (!is.primitive(f) && identical(topenv(environment(f)), ns)) {
      call <- sys.call(i)
      # A group-generic method (Ops.dask_array, ...) is reported as the operator the user
      # wrote: x + y, exp(x).
      generic <- get0(".Generic", envir = sys.frame(i), inherits = FALSE)
      if (is.character(generic) && is.call(call)) call[[1L]] <- as.name(generic)
      return(call)
    }
  }
  NULL
}

# A usage error of the binding itself (wrong R argument), as a dask_error too.
.dask_stop <- function(...) .dask_raise(paste0(...), "DASK_ERR_INVALID_ARGUMENT")

# Runs an R function as a host task (called from C, on R's thread, inside the library's
# wait). Errors and interrupts are caught here: nothing may unwind through the library.
# Returns list(ok, value or message, interrupted).
.dask_run_host <- function(args) {
  tryCatch(
    list(TRUE, do.call(args[[1L]], args[-1L]), FALSE),
    error = function(e) list(FALSE, conditionMessage(e), FALSE),
    interrupt = function(e) list(FALSE, "interrupted", TRUE)
  )
}

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
      if (is.character(generic) && is.call(call)) {
        call[[1L]] <- as.name(generic)
        call <- .unevaluate(call, sys.frame(sys.parents()[i]))
      }
      return(call)
    }
  }
  NULL
}

# Builtins (sum, max, round, ...) dispatch with their arguments already evaluated, so the
# method's call holds the dask_array objects themselves, not the user's expressions (which R
# does not keep). Each is shown as the name it has in the caller's frame when there is one
# (max(x, y)), else as a description (`<dask_array 3 x 4>`): never as a raw pointer.
.unevaluate <- function(call, env) {
  # Summary methods are called with na.rm = FALSE added.
  if (identical(call$na.rm, FALSE)) call$na.rm <- NULL
  for (k in seq_along(call)[-1L]) {
    a <- call[[k]]
    if (inherits(a, "dask_array")) {
      nm <- dc_binding_name(env, a)
      call[[k]] <- as.name(if (is.null(nm)) .describe(a) else nm)
    }
  }
  call
}

# A usage error of the binding itself (wrong R argument), as a dask_error too.
.dask_stop <- function(...) .dask_raise(paste0(...), "DASK_ERR_INVALID_ARGUMENT")

# The same with another status (e.g. "DASK_ERR_SHAPE" for R's "non-conformable arrays").
.dask_fail <- function(status, ...) .dask_raise(paste0(...), status)

# A warning reported against the user's call, as base R's own warnings are.
.dask_warn <- function(...) {
  warning(structure(class = c("simpleWarning", "warning", "condition"),
                    list(message = paste0(...), call = .user_call())))
}

# Futures: R functions run as host tasks. dask_submit(fun, ...) returns at once; the call
# runs on R's own thread whenever R waits on the library (value(), compute()), polls
# (resolved()) or is idle (at the prompt, in Sys.sleep(): src/eventloop.c), since R code can
# only run there. Arguments that are dask_futures are passed as their values, after they
# finish (so futures chain into graphs); named arguments are passed by name. The verbs are
# those of the future package: value(), resolved(), and cancel().
#
# Conditions, as the future package relays them: warnings and messages signalled by the
# function are caught where it runs and signalled again by value(), in the caller (so its
# withCallingHandlers() and suppressWarnings() see them); an error is raised by value() as
# the original condition object, with its classes and fields, plus class dask_error, the
# library's `status`, and the task's `key`.

dask_submit <- function(fun, ..., client = NULL) {
  label <- if (is.character(fun)) fun else if (is.symbol(substitute(fun))) deparse(substitute(fun)) else "FUN"
  fun <- tryCatch(match.fun(fun), error = function(e) .dask_stop(conditionMessage(e)))
  args <- list(...)
  # What the task records about its run (conditions), shared with the future's R object;
  # the states of the futures it waits for, to find the error that failed it.
  state <- new.env(parent = emptyenv())
  state$deps <- lapply(Filter(function(a) inherits(a, "dask_future"), args), attr, "dask_state")
  call <- list(fun = fun, label = label, names = names(args), state = state)
  f <- dc_submit(.client(client), call, unname(args))
  attr(f, "dask_state") <- state
  attr(f, "dask_pid") <- Sys.getpid()
  f
}

# Runs an R function as a host task (called from C, on R's thread, inside the library's
# wait or R's event loop). Errors and interrupts are caught here: nothing may unwind
# through the library. The call is made with its arguments bound to names (FUN(a1, b = a2)),
# so a condition's call stays short whatever the data. Returns list(ok, value or message,
# interrupted).
.dask_run_host <- function(args) {
  task <- args[[1L]]
  vals <- args[-1L]
  syms <- sprintf("a%d", seq_along(vals))
  if (task$label %in% syms) task$label <- "FUN"
  env <- list2env(stats::setNames(c(list(task$fun), vals), c(task$label, syms)), parent = emptyenv())
  call <- as.call(c(list(as.name(task$label)), lapply(syms, as.name)))
  if (!is.null(task$names)) names(call) <- c("", task$names)
  state <- task$state
  state$conditions <- list()
  keep <- function(cond) state$conditions[[length(state$conditions) + 1L]] <- cond
  withCallingHandlers(
    tryCatch(
      list(TRUE, eval(call, env), FALSE),
      error = function(e) {
        state$condition <- e
        list(FALSE, conditionMessage(e), FALSE)
      },
      interrupt = function(e) list(FALSE, "interrupted", TRUE)),
    warning = function(w) { keep(w); invokeRestart("muffleWarning") },
    message = function(m) { keep(m); invokeRestart("muffleMessage") })
}

value <- function(future, ...) UseMethod("value")
resolved <- function(future, ...) UseMethod("resolved")
cancel <- function(future, ...) UseMethod("cancel")

# The function's result. Interruptible (Ctrl-C cancels the future).
value.dask_future <- function(future, ...) {
  .check_future(future)
  state <- attr(future, "dask_state", exact = TRUE)
  v <- tryCatch(dc_future_value(future), dask_error = function(e) e)
  for (cond in state$conditions) {
    if (inherits(cond, "warning")) warning(cond) else if (inherits(cond, "message")) message(cond)
  }
  if (inherits(v, "dask_error")) stop(.task_error(v, state))
  v
}
value.list <- function(future, ...) lapply(future, value)
resolved.dask_future <- function(future, ...) {
  # In a forked child, only what was done before the fork: the parent's tasks do not run here.
  if (.forked(future)) return(.done_before_fork(future))
  dc_future_resolved(future)
}
resolved.list <- function(future, ...) vapply(future, resolved, TRUE)
cancel.dask_future <- function(future, ...) invisible(dc_future_cancel(future))
cancel.list <- function(future, ...) invisible(lapply(future, cancel))

# Futures in a forked child (parallel::mcparallel): the parent's tasks never run there (the
# library's timed waits would report a timeout again and again), so waiting on one that was
# not done at the fork is a dask_error naming the fork; a finished one gives its value.
.done_before_fork <- function(future) dc_future_status(future) %in% c("finished", "error", "cancelled")
.check_future <- function(future) {
  if (.forked(future) && !.done_before_fork(future))
    .dask_fail("DASK_ERR_INVALID_HANDLE", sprintf(paste0(
      "this dask_future was submitted in process %d and was not done when this forked child ",
      "(process %d) was made: it cannot run here (its client's threads are in the parent)"),
      attr(future, "dask_pid"), Sys.getpid()))
}

# The condition value() raises for the library's error e: the library says "task '<key>'
# failed: <message>"; the key goes to a field, and the R error that failed the task (this
# one's or, for a task that failed because a future it waited for did, that one's) is
# raised as itself, with class dask_error added.
.task_error <- function(e, state) {
  msg <- conditionMessage(e)
  m <- regmatches(msg, regexec("^task '([^']*)' failed: (.*)$", msg))[[1L]]
  key <- if (length(m)) m[2L] else NULL
  if (length(m)) msg <- m[3L]
  orig <- .failed_condition(state, msg)
  if (is.null(orig)) {
    e$message <- msg
    e$key <- key
    return(e)
  }
  extra <- setdiff(class(orig), c("dask_error", "error", "condition"))
  class(orig) <- c(extra, "dask_error", "error", "condition")
  orig$status <- e$status
  orig$key <- key
  orig
}

.failed_condition <- function(state, msg, depth = 0L) {
  if (is.null(state) || depth > 1000L) return(NULL)
  if (!is.null(state$condition) && identical(conditionMessage(state$condition), msg)) return(state$condition)
  for (s in state$deps) {
    c <- .failed_condition(s, msg, depth + 1L)
    if (!is.null(c)) return(c)
  }
  NULL
}

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

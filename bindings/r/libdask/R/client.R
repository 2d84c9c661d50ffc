# Clients: the library's thread pool (and memory manager). Arrays are lazy and need a client
# only when computed; the default client (one thread per core) is started on first use.

.state <- new.env(parent = emptyenv())

dask_client <- function(threads = 0L, memory_limit = 0, spill_dir = NULL) {
  if (!is.numeric(threads) || length(threads) != 1L || is.na(threads) || threads < 0)
    .dask_stop("threads must be a non-negative number (0: one per core)")
  if (!is.numeric(memory_limit) || length(memory_limit) != 1L || is.na(memory_limit) || memory_limit < 0)
    .dask_stop("memory_limit must be a number of bytes (0: no limit)")
  if (!is.null(spill_dir) && (!is.character(spill_dir) || length(spill_dir) != 1L))
    .dask_stop("spill_dir must be a directory name or NULL")
  dc_client_new(as.integer(threads), as.double(memory_limit), spill_dir)
}

dask_default_client <- function(client = NULL) {
  if (!is.null(client)) {
    if (!inherits(client, "dask_client")) .dask_stop("not a dask_client")
    .state$client <- client
  }
  if (is.null(.state$client) || dc_is_closed(.state$client)) .state$client <- dask_client()
  .state$client
}

.client <- function(client) if (is.null(client)) dask_default_client() else client

format.dask_client <- function(x, ...) {
  if (dc_is_closed(x)) return("<dask_client> (closed)")
  sprintf("<dask_client> %d worker threads", dc_client_threads(x))
}

print.dask_client <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

dask_version <- function() {
  v <- dc_version()
  list(version = v[[1L]], abi = as.integer(v[[2L]]))
}

# close() frees a handle now instead of at garbage collection; using it afterwards is a
# dask_error. Closing twice is harmless.
close.dask_array <- function(con, ...) invisible(dc_close(con))
close.dask_client <- function(con, ...) invisible(dc_close(con))
close.dask_future <- function(con, ...) invisible(dc_close(con))

is_closed <- function(x) dc_is_closed(x)

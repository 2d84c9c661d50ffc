# Clients: the library's thread pool (and memory manager). Arrays are lazy and need a client
# only when computed; the default client (one thread per core) is started on first use.
#
# Forks (parallel::mclapply, mcparallel): a forked child has none of the parent's threads, so
# the parent's clients cannot run anything there, and the library refuses to start a new one
# in such a child (the locks' shared state is the parent's: a fresh pool there could hang).
# Each client remembers the process that made it: in a child, the default client is not the
# parent's, and making one fails with the library's dask_error naming the fork, at once.

.state <- new.env(parent = emptyenv())

dask_client <- function(address = NULL, threads = 0L, memory_limit = 0, spill_dir = NULL,
                        ca = NULL, cert = NULL, key = NULL, require_encryption = FALSE) {
  cluster <- NULL
  if (inherits(address, "dask_cluster")) {
    cluster <- address
    address <- NULL
  } else if (!is.null(address) && (!is.character(address) || length(address) != 1L || is.na(address)))
    .dask_stop("address must be a scheduler's address such as \"tcp://host:8786\" or \"tls://host:8786\", a dask_cluster, or NULL (the thread count is threads =)")
  if (!is.numeric(threads) || length(threads) != 1L || is.na(threads) || threads < 0)
    .dask_stop("threads must be a non-negative number (0: one per core)")
  if (!is.numeric(memory_limit) || length(memory_limit) != 1L || is.na(memory_limit) || memory_limit < 0)
    .dask_stop("memory_limit must be a number of bytes (0: no limit)")
  if (!is.null(spill_dir) && (!is.character(spill_dir) || length(spill_dir) != 1L))
    .dask_stop("spill_dir must be a directory name or NULL")
  files <- list(ca = ca, cert = cert, key = key)
  given <- !vapply(files, is.null, TRUE)
  if (any(given) && !all(given))
    .dask_stop("TLS needs all three of ca, cert and key")
  for (nm in names(files)[given])
    if (!is.character(files[[nm]]) || length(files[[nm]]) != 1L || is.na(files[[nm]]))
      .dask_stop(sprintf("%s must be the name of a PEM file", nm))
  if (!is.logical(require_encryption) || length(require_encryption) != 1L || is.na(require_encryption))
    .dask_stop("require_encryption must be TRUE or FALSE")
  tls <- if (all(given)) c(ca, cert, key) else NULL
  cl <- dc_client_new(as.integer(threads), as.double(memory_limit), spill_dir, address, tls,
                      require_encryption, cluster)
  attr(cl, "dask_pid") <- Sys.getpid()
  cl
}

# Whether a client was made in another process (this one is a forked child of it).
.forked <- function(client) {
  pid <- attr(client, "dask_pid", exact = TRUE)
  !is.null(pid) && pid != Sys.getpid()
}

.check_client <- function(client) {
  if (!inherits(client, "dask_client")) .dask_stop("not a dask_client")
  if (.forked(client))
    .dask_fail("DASK_ERR_INVALID_HANDLE", sprintf(paste0(
      "this dask_client was made in process %d and cannot be used in a forked child ",
      "(process %d), which has none of its threads: fork before the first computation, or ",
      "use workers started fresh (parallel::makeCluster(type = \"PSOCK\"))"),
      attr(client, "dask_pid"), Sys.getpid()))
  client
}

dask_default_client <- function(client = NULL) {
  if (!is.null(client)) .state$client <- .check_client(client)
  if (is.null(.state$client) || dc_is_closed(.state$client) || .forked(.state$client))
    .state$client <- .client_default() # the parent's, in a forked child, is dropped (freeing it there is a no-op)
  .state$client
}

# The default client: the cluster at Sys.getenv("DASK_SCHEDULER_ADDRESS") when set (TLS files
# from DASK_TLS_CA, DASK_TLS_CERT, DASK_TLS_KEY: `libdask local-cluster -- Rscript …` sets
# them), else one thread per core here.
.client_default <- function() {
  cl <- dc_client_default()
  attr(cl, "dask_pid") <- Sys.getpid()
  cl
}

.client <- function(client) if (is.null(client)) dask_default_client() else .check_client(client)

format.dask_client <- function(x, ...) {
  if (dc_is_closed(x)) return("<dask_client> (closed)")
  if (.forked(x)) return(sprintf("<dask_client> of process %d (unusable in this forked child)", attr(x, "dask_pid")))
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

# Distributed mode: a cluster on this machine, and named datasets shared by every client of
# one scheduler (a C program, a Julia session, another R session).

dask_local_cluster <- function(n_workers = 2L, threads_per_worker = 1L, memory_limit = 0, tls = FALSE) {
  if (!is.numeric(n_workers) || length(n_workers) != 1L || is.na(n_workers) || n_workers < 1)
    .dask_stop("n_workers must be a number of workers (at least 1)")
  if (!is.numeric(threads_per_worker) || length(threads_per_worker) != 1L || is.na(threads_per_worker) ||
      threads_per_worker < 1)
    .dask_stop("threads_per_worker must be a positive number")
  if (!is.numeric(memory_limit) || length(memory_limit) != 1L || is.na(memory_limit) || memory_limit < 0)
    .dask_stop("memory_limit must be a number of bytes per worker (0: no limit)")
  if (!is.logical(tls) || length(tls) != 1L || is.na(tls))
    .dask_stop("tls must be TRUE or FALSE")
  dc_cluster_local(as.integer(n_workers), as.integer(threads_per_worker), as.double(memory_limit), tls)
}

.count <- function(x, what, min = 0) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < min || x != round(x))
    .dask_stop(sprintf("%s must be a whole number >= %d", what, min))
  as.integer(x)
}

.optional_string <- function(x, what) {
  if (is.null(x)) return(NA_character_)
  if (!is.character(x) || length(x) != 1L || is.na(x) || !nzchar(x))
    .dask_stop(sprintf("%s must be a non-empty string or NULL", what))
  x
}

dask_slurm_cluster <- function(workers = 1L, cpus_per_worker = 1L, mem_per_worker = 2^30,
                               time = "1:00:00", partition = NULL, account = NULL, tls = FALSE,
                               dir = NULL, adapt = NULL, idle_grace = 10, max_pending = 4L) {
  workers <- .count(workers, "workers")
  cpus_per_worker <- .count(cpus_per_worker, "cpus_per_worker", 1)
  if (!is.numeric(mem_per_worker) || length(mem_per_worker) != 1L || is.na(mem_per_worker) ||
      mem_per_worker < 1)
    .dask_stop("mem_per_worker must be a number of bytes per worker (2^30 for 1 GiB)")
  if (!is.logical(tls) || length(tls) != 1L || is.na(tls))
    .dask_stop("tls must be TRUE or FALSE")
  if (!is.null(adapt)) {
    if (!is.numeric(adapt) || length(adapt) != 2L || anyNA(adapt) || any(adapt != round(adapt)) ||
        adapt[1L] < 0 || adapt[2L] < max(adapt[1L], 1))
      .dask_stop("adapt must be c(min, max) with 0 <= min <= max and max >= 1, or NULL")
    adapt <- as.integer(adapt)
  }
  if (!is.numeric(idle_grace) || length(idle_grace) != 1L || is.na(idle_grace) || idle_grace < 0)
    .dask_stop("idle_grace must be a number of seconds")
  max_pending <- .count(max_pending, "max_pending", 1)
  if (!is.null(dir)) dir <- normalizePath(.optional_string(dir, "dir"), mustWork = FALSE)
  strings <- c(.optional_string(time, "time"), .optional_string(partition, "partition"),
               .optional_string(account, "account"), if (is.null(dir)) NA_character_ else dir)
  dc_cluster_slurm(workers, cpus_per_worker, as.double(mem_per_worker), strings, tls, adapt,
                   as.double(idle_grace), max_pending)
}

dask_wait_for_workers <- function(cluster, n, timeout = 120) {
  if (!is.numeric(timeout) || length(timeout) != 1L || is.na(timeout) || timeout < 0)
    .dask_stop("timeout must be a number of seconds")
  invisible(dc_cluster_wait(cluster, .count(n, "n"), as.double(timeout)))
}

dask_adapt <- function(cluster) dc_cluster_adapt(cluster)

dask_cluster_address <- function(cluster) dc_cluster_info(cluster)[[1L]]

dask_cluster_tls_dir <- function(cluster) dc_cluster_info(cluster)[[2L]]

dask_kill_worker <- function(cluster, i) {
  if (!is.numeric(i) || length(i) != 1L || is.na(i) || i < 1)
    .dask_stop("i must be a worker number (1-based)")
  invisible(dc_cluster_kill(cluster, as.integer(i) - 1L))
}

format.dask_cluster <- function(x, ...) {
  if (dc_is_closed(x)) return("<dask_cluster> (closed)")
  sprintf("<dask_cluster> %s", dask_cluster_address(x))
}

print.dask_cluster <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

close.dask_cluster <- function(con, ...) invisible(dc_close(con))

.dataset_name <- function(name) {
  if (!is.character(name) || length(name) != 1L || is.na(name) || !nzchar(name))
    .dask_stop("name must be a non-empty string")
  name
}

dask_publish <- function(x, name, client = NULL) {
  if (!inherits(x, "dask_array")) .dask_stop("x must be a dask_array (as_dask_array() first)")
  if (.is_lgl(x))
    .dask_stop("a logical dask_array cannot be published: other languages have no NA for it (publish as.integer(x) or a comparison's 0/1 instead)")
  invisible(dc_publish(.client(client), x, .dataset_name(name)))
}

dask_get_dataset <- function(name, client = NULL) dc_get_dataset(.client(client), .dataset_name(name))

dask_list_datasets <- function(client = NULL) dc_list_datasets(.client(client))

dask_unpublish <- function(name, client = NULL) invisible(dc_unpublish(.client(client), .dataset_name(name)))

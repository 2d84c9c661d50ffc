# Slurm clusters from R (run by tests/slurm/run.sh on its single-node Slurm): two workers,
# then adaptive c(0, 2), which scales on its own while compute() waits;
# every result against R's own arithmetic.
#   Rscript tests/slurm/slurm.R DIR
library(libdask)
dir <- commandArgs(trailingOnly = TRUE)[1]
fail <- function(...) { cat("FAIL:", ..., "\n"); quit(status = 1) }
m <- matrix(runif(300 * 200), 300, 200)

cluster <- dask_slurm_cluster(workers = 2, mem_per_worker = 2^29, time = "10:00",
                              dir = file.path(dir, "fixed"))
dask_wait_for_workers(cluster, 2)
cl <- dask_client(cluster)
got <- compute(as_dask_array(m, chunks = c(100, 100)) * 2 + 1, client = cl)
if (!identical(got, m * 2 + 1)) fail("the array on two Slurm workers")
e <- tryCatch(dask_adapt(cluster), error = function(e) e)
if (!inherits(e, "error") || !grepl("not adaptive", conditionMessage(e))) fail("a fixed cluster adapted")
close(cl)
close(cluster)

cluster <- dask_slurm_cluster(adapt = c(0, 2), idle_grace = 3, mem_per_worker = 2^29,
                              time = "10:00", dir = file.path(dir, "adaptive"))
cl <- dask_client(cluster)
if (!identical(unname(dask_adapt(cluster)), c(0L, 0L))) fail("jobs with no work")
# The cluster adapts on its own while compute() waits: no job at first, two for the blocks.
got <- compute(as_dask_array(m, chunks = c(100, 100)) - 0.5, client = cl)
if (!identical(got, m - 0.5)) fail("the array on adaptive Slurm workers")
most <- 0L
deadline <- Sys.time() + 120
repeat {
  n <- dask_adapt(cluster)
  most <- max(most, n[["workers"]])
  if (most > 0L && n[["workers"]] == 0L && n[["pending"]] == 0L) break
  if (Sys.time() > deadline) fail("idle workers were not let go: ", n)
  Sys.sleep(0.3)
}
if (most != 2L) fail("saw at most ", most, " workers, not 2")
close(cl)
close(cluster)
e <- tryCatch(dask_slurm_cluster(adapt = c(3, 2)), error = function(e) e)
if (!inherits(e, "error")) fail("adapt = c(3, 2) accepted")
cat("slurm from R: all checks passed\n")

# libdask from R against base R on the same data in the same run: the workloads of
# /work/shared/bench/r_anchor.R (1e8 doubles; best of 3, gc() before each run, as there).
# The libdask timings include wrapping the R vector (no copy) and bringing the result back
# into R; each result is checked against base R's.
#   Rscript benches/r/bench.R [n]      (n: elements, default 1e8; the matrix is sqrt(n)^2)
suppressPackageStartupMessages(library(libdask))

args <- commandArgs(trailingOnly = TRUE)
n <- if (length(args)) as.numeric(args[1]) else 1e8
side <- round(sqrt(n))
best <- function(expr) {
  e <- substitute(expr)
  t <- Inf
  for (i in 1:3) {
    gc()
    t <- min(t, system.time(value <- eval(e, parent.frame()))[["elapsed"]])
  }
  list(t = t, value = value)
}

set.seed(1)
x <- runif(n)
m <- matrix(x, side, side)
cl <- dask_default_client()
cat(sprintf("R %s, libdask %s, %d worker threads, n = %g\n\n", getRversion(),
            dask_version()$version, libdask:::dc_client_threads(cl), n))
cat(sprintf("%-34s %10s %10s %8s  %s\n", "workload", "base R", "libdask", "speedup", "check"))

row <- function(what, base, dask) {
  ok <- isTRUE(all.equal(dask$value, base$value, tolerance = 1e-9, check.attributes = FALSE))
  cat(sprintf("%-34s %9.3fs %9.3fs %7.1fx  %s\n", what, base$t, dask$t, base$t / dask$t,
              if (ok) "same result" else "DIFFERENT RESULT"))
  ok
}

ok <- c(
  row("sum(exp(x) * 2 + 1)",
      best(sum(exp(x) * 2 + 1)),
      best(compute(sum(exp(as_dask_array(x)) * 2 + 1)))),
  row("sum(x + 1)",
      best(sum(x + 1)),
      best(compute(sum(as_dask_array(x) + 1)))),
  row(sprintf("colMeans(exp(m)), %g x %g", side, side),
      best(colMeans(exp(m))),
      best(compute(colMeans(exp(as_dask_array(m)))))),
  row("y[y < 0.9] <- 0; sum(y != 0)",
      best({y <- x; y[y < 0.9] <- 0; sum(y != 0)}),
      best({y <- as_dask_array(x); y[y < 0.9] <- 0; compute(sum(y != 0))}))
)
if (!all(ok)) quit(status = 1)

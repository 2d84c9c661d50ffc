# A tour of libdask's arrays (dask.array) from R, the R twin of examples/c/array_tour.c:
#
#   x <- random 2000 x 1000 matrix in 500 x 500 chunks
#   y <- x; y[x < 0.9] <- 0;  sum(y != 0)
#   sum(exp(y)),  sum(x),  colMeans(x),  max(x)
#   g <- y %*% t(y):  sum(g),  g[1:4, 1:4]
#
# Every result is checked against base R on the same data (x computed once into an R
# matrix); the script stops with an error on any mismatch.
# Run: Rscript examples/r/array_tour.R   (with the libdask R package installed)
suppressPackageStartupMessages(library(libdask))

failures <- 0L
report <- function(what, got, want, seconds = NA) {
  ok <- isTRUE(all.equal(got, want, tolerance = 1e-9, check.attributes = FALSE))
  if (!ok) failures <<- failures + 1L
  fmt <- function(v) if (length(v) == 1L) format(v, digits = 12) else sprintf("[%d values]", length(v))
  cat(sprintf("  %-34s %20s   base R %20s   %-8s%s\n", what, fmt(got), fmt(want),
              if (ok) "ok" else "MISMATCH",
              if (is.na(seconds)) "" else sprintf(" %6.1f ms", seconds * 1e3)))
}
timed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  value <- expr
  list(value = value, seconds = proc.time()[["elapsed"]] - t0)
}

v <- dask_version()
cat(sprintf("libdask %s array tour from R %s\n\n", v$version, getRversion()))
t_all <- proc.time()[["elapsed"]]

x <- dask_runif(c(2000, 1000), seed = 2024, chunks = c(500, 500))
print(x)
r <- timed(as.matrix(x))
X <- r$value
cat(sprintf("  computed into an R matrix in %.1f ms\n\n", r$seconds * 1e3))

cat("y <- x; y[x < 0.9] <- 0\n")
y <- x
y[x < 0.9] <- 0
Y <- X
Y[X < 0.9] <- 0
report("y matches base R's masking", as.matrix(y), Y)
r <- timed(compute(sum(y != 0)))
report("sum(y != 0)", r$value, sum(Y != 0), r$seconds)

# Full reductions give R numbers, computed; dask_lazy() keeps them lazy to inspect first.
e <- dask_lazy(sum(exp(y)))
cat(sprintf("  dask_lazy(sum(exp(y))) is lazy: %s\n", format(e)))
r <- timed(compute(e))
report("sum(exp(y))", r$value, sum(exp(Y)), r$seconds)
cat(sprintf("    (%g tasks, as many as sum(x) has (%g): the mask, the assignment and exp\n     fuse into the per-block sums)\n\n",
            dask_ntasks(e), dask_ntasks(dask_lazy(sum(x)))))

cat("reductions of x\n")
r <- timed(compute(sum(x)))
report("sum(x)", r$value, sum(X), r$seconds)
r <- timed(compute(colMeans(x)))
report("colMeans(x)", r$value, colMeans(X), r$seconds)
r <- timed(compute(rowSums(x)))
report("rowSums(x)", r$value, rowSums(X), r$seconds)
r <- timed(compute(max(x)))
report("max(x)", r$value, max(X), r$seconds)
r <- timed(compute(mean(exp(x) * 2 + 1)))
report("mean(exp(x) * 2 + 1)", r$value, mean(exp(X) * 2 + 1), r$seconds)
cat("\n")

cat("g <- y %*% t(y) (2000 x 2000)\n")
g <- y %*% t(y)
print(g)
r <- timed(compute(sum(g)))
report("sum(g)", r$value, sum(Y %*% t(Y)), r$seconds)
r <- timed(as.matrix(g[1:4, 1:4]))
report("g[1:4, 1:4]", r$value, (Y %*% t(Y))[1:4, 1:4], r$seconds)
print(round(r$value, 3))

cat(sprintf("\n%s (%.2f s in all)\n",
            if (failures) "SOME RESULTS DIFFER FROM BASE R" else "every result matches base R",
            proc.time()[["elapsed"]] - t_all))
if (failures) quit(status = 1)

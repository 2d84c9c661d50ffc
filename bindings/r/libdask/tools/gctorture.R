# PROTECT discipline: the C glue's entry points under gctorture (a garbage collection every
# LIBDASK_GCTORTURE_STEP allocations: 25 by default, which takes ~15 s; 1, a collection at
# every allocation, takes ~5 min and passes too), on small data. Each result is checked
# against base R; an unprotected object would be collected and show up as a crash or a
# wrong value. Run by tools/check.sh, or: Rscript tools/gctorture.R
suppressPackageStartupMessages({
  library(libdask)
  library(Matrix)
})
m <- matrix(as.double(1:12), 3, 4)
sp <- Matrix::sparseMatrix(i = c(1, 3, 2), j = c(1, 2, 4), x = c(1.5, 2, 3), dims = c(3, 4))
cl <- dask_client(threads = 2)
invisible(dask_default_client(cl))
x0 <- as_dask_array(m, chunks = c(2, 2)) # warm up (first use registers the host op, ...)
invisible(compute(sum(x0)))

# GLM data and base R's fit (made before the torture: glm() itself is slow under it).
gx <- cbind(a = c(0.5, -1.2, 0.3, 2.0, -0.7, 1.1, -0.2, 0.9, -1.5, 0.4),
            b = c(1, 0, 1, 1, 0, 0, 1, 0, 1, 1))
gy <- factor(c("y", "n", "n", "y", "n", "y", "y", "n", "n", "y"), levels = c("n", "y"))
gref <- glm(gy ~ gx, family = binomial(), control = glm.control(epsilon = 1e-14))
glink <- predict(gref, data.frame(gx = I(gx[1:4, ])))

checks <- 0L
check <- function(ok, what) {
  if (!isTRUE(ok)) stop("gctorture check failed: ", what)
  checks <<- checks + 1L
}

invisible(gctorture2(step = as.integer(Sys.getenv("LIBDASK_GCTORTURE_STEP", "25"))))
x <- as_dask_array(m, chunks = c(2, 2))
check(identical(as.matrix(x), m), "round trip")
check(isTRUE(all.equal(as.matrix(exp(x) * 2 + 1), exp(m) * 2 + 1)), "fused ufuncs")
check(sum(x) == sum(m), "sum")
check(identical(max(x, 3), max(m, 3)), "max of several")
check(identical(compute(dask_lazy(range(x))), range(m)), "lazy range")
check(identical(compute(colSums(x)), colSums(m)), "colSums")
check(identical(as.matrix(x[2:3, c(4, 1)]), m[2:3, c(4, 1)]), "slice and take")
y <- x
y[y > 6] <- 0
check(identical(as.vector(y[y > 0]), m[m > 0 & m <= 6]), "masked assign and select")
check(identical(as.matrix(t(x) %*% x), t(m) %*% m), "matmul")
check(nchar(format(x)) > 0, "format")
dn <- x
dimnames(dn) <- list(letters[1:3], LETTERS[1:4])
mn <- m
dimnames(mn) <- list(letters[1:3], LETTERS[1:4])
check(identical(compute(t(dn * 2)[c("D", "A"), ]), t(mn * 2)[c("D", "A"), ]), "dimnames")
check(identical(compute(cbind(dn, 1:3)), cbind(mn, 1:3)), "cbind")
check(identical(compute(c(x, 5)), c(m, 5)), "c")
z <- x
z[2:3, c(4, 1)] <- 0
mz <- m
mz[2:3, c(4, 1)] <- 0
check(identical(compute(z), mz), "positional assignment")
check(identical(compute(x + 1:3), m + 1:3), "recycling")
check(identical(compute(round(x / 7, 2)), round(m / 7, 2)), "round digits")
check(identical(as.vector(as_dask_array(c(TRUE, FALSE))), c(TRUE, FALSE)), "logical")
l <- c(TRUE, NA, FALSE)
check(identical(compute(as_dask_array(l) & NA), l & NA), "logical NA, Kleene and")
check(identical(compute(as_dask_array(c(1L, NA)) + 1L), c(1L, NA) + 1L), "integer NA")
check(identical(compute(x > NA), m > NA), "NA comparison")
check(identical(any(x > 11, NA), any(m > 11, NA)), "any with NA")
check(identical(compute(as_dask_array(c(1, NA, 3))[c(1, NA)]), c(1, NA, 3)[c(1, NA)]), "NA index")
f <- dask_submit(function(a, b) a * b, 6, 7)
check(value(f) == 42, "host task")
e <- tryCatch(value(dask_submit(function() stop("no"))), dask_error = conditionMessage)
check(identical(e, "no"), "host task error")
w <- tryCatch(value(dask_submit(function(a, b) { warning("w"); a - b }, b = 1, a = 10)), warning = conditionMessage)
check(identical(w, "w"), "host task warning")
f <- dask_submit(function() 1)
for (i in 1:100) if (dask_status(f) == "pending") Sys.sleep(0.01) # R's event loop runs it
check(dask_status(f) == "finished", "host task while idle")
e <- tryCatch(sum(x + matrix(1, 5, 5)), error = function(e) deparse(conditionCall(e)))
check(identical(e, "x + matrix(1, 5, 5)"), "error call")
e <- tryCatch(x + matrix(1, 5, 5), dask_error = function(e) e$status)
check(identical(e, "DASK_ERR_SHAPE"), "dask_error")
s <- as_dask_array(sp)
check(identical(as.matrix(as_dgCMatrix(s * 2)), as.matrix(sp * 2)), "dgCMatrix")
check(identical(as.matrix(as_dgTMatrix(s)), as.matrix(sp)), "dgTMatrix")
close(x)
check(inherits(tryCatch(x + 1, error = identity), "dask_error"), "closed handle")
check(identical(deparse(conditionCall(tryCatch(sum(x), error = identity))), "sum(x)"), "error call names")
gf <- dask_glm(gx, gy)
check(isTRUE(all.equal(unname(coef(gf)), unname(coef(gref)), tolerance = 1e-6)), "glm coefficients")
check(identical(names(coef(gf)), c("(Intercept)", "a", "b")), "glm names")
check(isTRUE(all.equal(predict(gf, gx[1:4, ]), glink, tolerance = 1e-6)), "glm predict")
check(identical(as.character(predict(gf, gx[1:4, ], type = "class")), unname(ifelse(glink > 0, "y", "n"))), "glm classes")
check(any(grepl("Accuracy", capture.output(print(summary(gf))))), "glm summary")
close(gf)
# Tables: the expression builder, the Arrow columns read into R vectors (the repository's
# fixture, when LIBDASK_HOME names the repository).
people <- file.path(Sys.getenv("LIBDASK_HOME"), "tests", "data", "tables", "people")
if (dir.exists(people)) {
  t <- dask_read_parquet(people, filter = id < 20 & (is.na(name) | name %in% c("ann", "cy")))
  df <- as.data.frame(t)
  ids <- 0:19
  keep <- ids %% 11 == 5 | ids %% 4 %in% c(0, 2)
  check(identical(df$id, as.numeric(ids[keep])), "table filter")
  check(identical(levels(df$name), c("ann", "cy")), "table factor")
  check(inherits(df$ts, "POSIXct") && inherits(df$day, "Date"), "table dates")
  a <- aggregate(subset(t, select = c(name, small)), by = "name", FUN = sum)
  check(identical(a$small, as.integer(tapply(as.integer(ids %% 50 - 25)[keep], df$name, sum))),
        "table aggregate")
}
invisible(gctorture2(0))
cat(sprintf("gctorture: %d checks passed, 0 failed\n", checks))

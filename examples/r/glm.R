# Generalized linear models from R with libdask: dask_glm() with glm()'s feel.
#
#   logistic regression (factor y) of 200,000 x 10, unpenalised: coef, predict, summary
#   the same data as a chunked dask_array: lazy predictions
#   ridge (lambda) and lasso (penalty = "l1"), Poisson regression
#
# Every result is checked against base R on the same data (glm(), lm(), the ridge closed
# form, the lasso's optimality conditions); the script stops with an error on any mismatch.
# Run: Rscript examples/r/glm.R   (with the libdask R package installed)
suppressPackageStartupMessages(library(libdask))

failures <- 0L
report <- function(what, got, want, tolerance = 1e-6) {
  ok <- isTRUE(all.equal(got, want, tolerance = tolerance, check.attributes = FALSE))
  if (!ok) failures <<- failures + 1L
  cat(sprintf("  %-52s %s\n", what, if (ok) "ok" else "MISMATCH"))
}
timed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]
  value <- expr
  list(value = value, seconds = proc.time()[["elapsed"]] - t0)
}

set.seed(2024)
n <- 200000
p <- 10
x <- matrix(rnorm(n * p), n, p, dimnames = list(NULL, sprintf("v%02d", 1:p)))
eta <- drop(0.3 + x %*% seq(-1, 1, length.out = p))
y <- factor(rbinom(n, 1, plogis(eta)), labels = c("no", "yes"))

cat(sprintf("logistic regression, %s x %d\n", format(n, big.mark = ",", scientific = FALSE), p))
f <- timed(dask_glm(x, y, family = binomial()))
g <- timed(glm(y ~ x, family = binomial()))
cat(sprintf("  dask_glm %.2f s, glm %.2f s\n", f$seconds, g$seconds))
fit <- f$value
ref <- g$value
print(fit)
report("coef() equals glm()'s", unname(coef(fit)), unname(coef(ref)))
new <- x[1:5, ]
report("predict(type = \"response\") equals glm()'s", predict(fit, new, type = "response"),
       predict(ref, data.frame(x = I(new)), type = "response"))
print(predict(fit, new, type = "class"))
print(summary(fit))

cat("the same data as a chunked dask_array\n")
dx <- as_dask_array(x, chunks = c(25000, p))
dimnames(dx) <- dimnames(x)
fit_d <- dask_glm(dx, y)
report("coef() equals glm()'s", unname(coef(fit_d)), unname(coef(ref)))
pr <- predict(fit_d, dx, type = "response")
print(pr)
report("lazy predictions equal glm()'s fitted values", compute(pr), fitted(ref))

cat("ridge and lasso (least squares)\n")
yg <- eta + rnorm(n)
z <- cbind(1, x)
ridge <- dask_glm(x, yg, family = gaussian(), lambda = 1e4)
report("ridge equals solve(Z'Z + lambda D, Z'y)", unname(coef(ridge)),
       drop(solve(crossprod(z) + 1e4 * diag(c(0, rep(1, p))), crossprod(z, yg))), 1e-8)
lasso <- dask_glm(x, yg, family = gaussian(), penalty = "l1", lambda = 1.5e5, tol = 1e-9, maxit = 1000)
b <- unname(coef(lasso))
grad <- drop(crossprod(z, drop(z %*% b) - yg))
cat(sprintf("  the lasso keeps %d of %d coefficients\n", sum(b[-1] != 0), p))
report("lasso: |gradient| <= lambda where zero", all(abs(grad[b == 0]) <= 1.5e5 * (1 + 1e-6)), TRUE)
report("lasso: gradient = -lambda sign(b) elsewhere", grad[b != 0][-1], -1.5e5 * sign(b[b != 0][-1]))
unpen <- dask_glm(x, yg, family = gaussian())
report("unpenalised least squares equals lm()", unname(coef(unpen)), unname(coef(lm(yg ~ x))), 1e-8)

cat("Poisson regression\n")
counts <- rpois(n, exp(0.5 * eta))
pois <- dask_glm(x, counts, family = poisson())
report("coef() equals glm(family = poisson())'s", unname(coef(pois)),
       unname(coef(glm(counts ~ x, family = poisson()))))

cat(sprintf("\n%s\n", if (failures) "SOME RESULTS DIFFER FROM BASE R" else "every result matches base R"))
if (failures) quit(status = 1)

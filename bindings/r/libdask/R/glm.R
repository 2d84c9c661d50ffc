# Generalized linear models with the feel of glm(): dask_glm(x, y, family = binomial())
# fits on the library (its Newton, quasi-Newton and proximal solvers run as passes over X's
# row blocks on the client: the local pool or a cluster) and returns an S3 object of class
# "dask_glm" with coef(), predict(), fitted(), print() and summary(). Every number is the
# library's; R's rules decide what the user sees, and are applied here before the library
# is called:
#   - family: a family object, function or name, as glm() takes it; only the canonical links
#     (the library's): binomial("logit"), gaussian("identity"), poisson("log");
#   - y: numeric, logical or factor. A factor's first level is failure and the other
#     success, as in glm(); a factor of more than two levels has one class per level
#     (multinomial). The levels (or y's type) map class predictions back;
#   - NA: host data goes through na.action (getOption("na.action"): na.omit drops the
#     incomplete rows, as glm() does; na.fail errors); dask_arrays go to the library as
#     they are (NA, NaN and Inf in them are its error);
#   - names: coefficients are named "(Intercept)" and colnames(x), or x1, ..., xp.
#
# Layout: the library wants X as n x p in its (row-major) order, which is the transpose of
# an R n x p matrix's dask_array (array.R). See .glm_rows().

.glm_links <- c(binomial = "logit", gaussian = "identity", poisson = "log")
.glm_kind <- c(predict = 0L, proba = 1L, link = 2L) # DASK_GLM_PREDICT, _PROBA, _DECISION_FUNCTION

dask_glm <- function(x, y, family = binomial(), penalty = c("none", "l2", "l1", "elasticnet"),
                     lambda = NULL, C = NULL, alpha = 0.5,
                     solver = c("newton", "lbfgs", "gradient_descent", "proximal_grad", "admm", "cd"),
                     weights = NULL, intercept = TRUE, tol = NULL, maxit = 100L,
                     na.action = getOption("na.action"), client = NULL) {
  call <- match.call()
  # The family as glm() takes it: an object, a function, or a function's name.
  if (is.character(family)) family <- get(family, mode = "function", envir = parent.frame())
  if (is.function(family)) family <- family()
  family <- .glm_family(family)
  strength <- !is.null(lambda) || !is.null(C)
  if (missing(penalty) && strength) penalty <- "l2"
  penalty <- match.arg(penalty)
  if (penalty == "none" && strength)
    .dask_stop("penalty = \"none\" takes no lambda or C (give penalty = \"l2\", \"l1\" or \"elasticnet\")")
  # The default solver: Newton's method (glm()'s IRLS) where it applies; proximal gradient
  # for an L1 part, L-BFGS for several classes (the library's Newton fits two).
  solver_given <- !missing(solver)
  solver <- match.arg(solver)
  if (!solver_given && penalty %in% c("l1", "elasticnet")) solver <- "proximal_grad"
  else if (!solver_given && is.factor(y) && sum(tabulate(y, nlevels(y)) > 0L) > 2L) solver <- "lbfgs"
  .glm_scalar(lambda, "lambda")
  .glm_scalar(C, "C")
  .glm_scalar(alpha, "alpha")
  .glm_scalar(tol, "tol")
  .glm_scalar(maxit, "maxit")
  if (!is.logical(intercept) || length(intercept) != 1L || is.na(intercept))
    .dask_stop("intercept must be TRUE or FALSE")
  if (is.null(tol)) tol <- 1e-8 # glm.control()'s epsilon (glm() measures it on the deviance)

  data <- .glm_data(x, y, weights, family$family, na.action)
  params <- list(family = family$family, penalty = penalty, solver = solver, C = C,
                 lambda = lambda, l1_ratio = alpha, tol = tol, max_iter = maxit,
                 intercept = intercept)
  params <- params[!vapply(params, is.null, TRUE)]
  model <- dc_glm_fit(.client(client), params, data$x, data$y, data$w)
  info <- dc_glm_info(model)

  classes <- info$classes
  labels <- if (!is.null(classes)) .glm_labels(classes, data$response)
  cf <- .glm_coef(info, data$xnames, labels, intercept)
  if (!info$converged)
    .dask_warn(sprintf("the %s solver did not converge in %s iterations (KKT residual %.3g > tol %.3g): raise maxit or tol",
                       solver, format(info$n_iter), info$kkt_residual, tol))
  structure(class = "dask_glm", list(
    coefficients = cf,
    family = family,
    penalty = penalty,
    lambda = if (penalty == "none") 0 else if (!is.null(lambda)) lambda else if (!is.null(C)) 1 / C else 1,
    alpha = if (penalty == "elasticnet") alpha else if (penalty == "l1") 1 else 0,
    solver = solver,
    intercept = intercept,
    converged = info$converged,
    iter = info$n_iter,
    passes = info$passes,
    objective = info$objective,
    kkt_residual = info$kkt_residual,
    tol = tol,
    maxit = maxit,
    nobs = data$n,
    classes = classes,
    class_labels = labels,
    response = data$response,
    xnames = data$xnames,
    named = data$named,
    rownames = data$rownames,
    na.action = data$na.action,
    host = data$host,
    call = call,
    model = model,
    data = list(x = data$x, y = data$y)))
}

# X (an R n x p dask_array) as the library's n x p: a lazy transpose (the library lays each
# row block out in its own order once, when the fit persists X).
.glm_rows <- function(x) dc_transpose(x, NULL)

# A host n x p matrix as a dask_array (no copy) in blocks of whole rows of about 2^21 values
# (16 MiB), so that the passes over a large X run in parallel (the library's automatic
# chunking would keep up to 128 MiB in one block). dask_arrays keep their own chunks.
.glm_host_array <- function(x) {
  d <- dim(x)
  as_dask_array(x, chunks = c(max(1, min(d[1L], floor(2^21 / max(1, d[2L])))), max(1, d[2L])))
}

.glm_family <- function(family) {
  if (!is.list(family) || is.null(family$family) || is.null(family$link))
    .dask_stop("family must be a family object such as binomial(), a family function or its name")
  fam <- family$family
  if (!fam %in% names(.glm_links))
    .dask_stop(sprintf("the %s family is not supported: dask_glm fits binomial(), gaussian() and poisson()", fam))
  if (family$link != .glm_links[[fam]])
    .dask_stop(sprintf(paste0("the %s family's \"%s\" link is not supported: dask_glm fits the canonical links only: ",
                              "binomial(\"logit\"), gaussian(\"identity\"), poisson(\"log\")"),
                       fam, family$link))
  family
}

.glm_scalar <- function(v, what) {
  if (!is.null(v) && (!is.numeric(v) || length(v) != 1L || is.na(v)))
    .dask_stop(what, " must be a single number")
}

# A host x as a double matrix (a data frame of numeric or logical columns, a Matrix, a vector
# as one column), with its column names (NULL when it has none).
.glm_host_x <- function(x, what = "x") {
  if (is.data.frame(x)) {
    ok <- vapply(x, function(col) (is.numeric(col) || is.logical(col)) && !is.object(col), TRUE)
    if (!all(ok)) {
      j <- which(!ok)[1L]
      .dask_stop(sprintf("%s must be numeric: column '%s' is of class %s (make its columns with model.matrix())",
                         what, names(x)[j], class(x[[j]])[1L]))
    }
    x <- as.matrix(x)
  } else if (methods::is(x, "Matrix")) {
    x <- as.matrix(x)
  }
  if (!(is.double(x) || is.integer(x) || is.logical(x)) || is.object(x) && !is.matrix(x) || length(dim(x)) > 2L)
    .dask_stop(what, " must be a numeric matrix, a data frame of numbers or a dask_array")
  if (is.null(dim(x))) x <- matrix(x, ncol = 1L, dimnames = list(names(x), NULL))
  if (!is.double(x)) storage.mode(x) <- "double" # keeps dims and dimnames; NA stays NA
  x
}

# A Matrix sparse matrix as a sparse dask_array, its column names kept.
.glm_sparse_x <- function(x) {
  s <- as_dask_array(x)
  if (!is.null(colnames(x))) s <- .set_dn(s, list(NULL, colnames(x)))
  s
}

# A dask_array x as a 2-d double array (a vector as one column).
.glm_dask_x <- function(x, what = "x") {
  d <- .rdim(x)
  if (length(d) == 1L) x <- .reshape(x, c(d, 1))
  else if (length(d) != 2L) .dask_fail("DASK_ERR_SHAPE", what, " must be 2-d (rows, columns), not of dims ", paste(d, collapse = " x "))
  .as_rtype(x, "double")
}

# y for the library (doubles: values for gaussian and poisson, class labels for binomial),
# and what maps the library's classes back to y's values: list(type, levels).
.glm_response <- function(y, fam) {
  if (is.factor(y)) {
    if (fam != "binomial") .dask_stop("y is a factor: only the binomial family takes one")
    return(list(y = as.double(unclass(y)) - 1, response = list(type = "factor", levels = levels(y))))
  }
  if (!(is.numeric(y) || is.logical(y)) || is.object(y) || (!is.null(dim(y)) && length(dim(y)) != 1L && ncol(y) != 1L))
    .dask_stop("y must be a numeric, logical or factor vector")
  type <- if (is.logical(y)) "logical" else if (is.integer(y)) "integer" else "double"
  y <- as.double(y)
  if (fam == "binomial" && type != "logical" && !all(y %in% c(0, 1, NA)))
    .dask_stop("a numeric y must be 0 or 1 for the binomial family (for several classes give a factor)")
  list(y = y, response = list(type = type, levels = NULL))
}

# Checks, NA handling and conversion of the data of a fit: list(x (the library's n x p),
# y, w (library arrays), n, xnames, named, rownames, na.action, response, host).
.glm_data <- function(x, y, weights, fam, na.action) {
  # A sparse Matrix stays sparse (never densified): it goes to the library as a sparse
  # dask_array, whose stored entries are all the fit reads.
  if (methods::is(x, "sparseMatrix")) x <- .glm_sparse_x(x)
  host <- !inherits(x, "dask_array") && !inherits(y, "dask_array") && !inherits(weights, "dask_array")
  out <- list(host = host, na.action = NULL, rownames = NULL)
  if (host) {
    x <- .glm_host_x(x)
    n <- nrow(x)
    if (NROW(y) != n)
      .dask_fail("DASK_ERR_SHAPE", sprintf("y has %d values but x has %d rows", NROW(y), n))
    if (!is.null(dim(y))) y <- if (is.factor(y)) y else drop(y)
    if (!is.null(weights)) {
      if (!is.numeric(weights) || is.object(weights)) .dask_stop("weights must be a numeric vector")
      if (length(weights) != n)
        .dask_fail("DASK_ERR_SHAPE", sprintf("weights has %d values but x has %d rows", length(weights), n))
    }
    # na.action sees the data as glm()'s model frame: one row per observation.
    rn <- if (!is.null(rownames(x))) rownames(x) else .set_row_names(n)
    mf <- structure(list(y = y, x = x), class = "data.frame", row.names = rn)
    if (!is.null(weights)) mf[["(weights)"]] <- as.double(weights)
    if (is.character(na.action)) na.action <- get(na.action, mode = "function", envir = parent.frame(2L))
    # R's own na.* functions return complete data as it is: skip their passes over it.
    standard <- any(vapply(list(stats::na.omit, stats::na.exclude, stats::na.fail, stats::na.pass),
                           identical, TRUE, na.action))
    if (!is.null(na.action) && !(standard && !anyNA(x) && !anyNA(y) && !anyNA(weights))) {
      mf <- na.action(mf)
      if (!is.data.frame(mf)) .dask_stop("na.action must return the data frame it is given")
      out$na.action <- attr(mf, "na.action")
    }
    out$rownames <- row.names(mf)
    x <- mf$x
    y <- mf$y
    weights <- mf[["(weights)"]]
    n <- nrow(x)
    if (n == 0L) .dask_stop("no observations are left to fit (after na.action)")
    out$named <- !is.null(colnames(x))
    out$xnames <- if (out$named) colnames(x) else paste0("x", seq_len(ncol(x)))
    r <- .glm_response(y, fam)
    if (fam == "binomial") {
      k <- suppressWarnings(range(r$y, na.rm = TRUE))
      if (k[1L] == k[2L])
        .dask_stop(sprintf("y has one class only (%s): a binomial model needs two",
                           format(.glm_labels(k[1L], r$response))))
    }
    out$x <- .glm_rows(.glm_host_array(x))
    out$y <- as_dask_array(r$y)
    out$w <- if (!is.null(weights)) as_dask_array(weights)
    out$response <- r$response
  } else {
    if (inherits(x, "dask_array")) {
      x <- .glm_dask_x(x)
      cn <- .dn(x)[[2L]]
    } else {
      x <- .glm_host_x(x)
      cn <- colnames(x)
      x <- .glm_host_array(x)
    }
    d <- .rdim(x)
    n <- d[1L]
    out$named <- !is.null(cn)
    out$xnames <- if (out$named) cn else paste0("x", seq_len(d[2L]))
    if (inherits(y, "dask_array")) {
      dy <- .rdim(y)
      if (length(dy) == 2L && dy[2L] == 1) y <- .reshape(y, dy[1L])
      else if (length(dy) != 1L) .dask_fail("DASK_ERR_SHAPE", "y must be a vector (1-d), not of dims ", paste(dy, collapse = " x "))
      out$response <- list(type = if (.rtype(y) == "logical") "logical" else "double", levels = NULL)
      y <- .as_rtype(y, "double")
    } else {
      r <- .glm_response(y, fam)
      out$response <- r$response
      y <- as_dask_array(r$y)
    }
    if (length(y) != n)
      .dask_fail("DASK_ERR_SHAPE", sprintf("y has %s values but x has %s rows", format(length(y)), format(n)))
    if (!is.null(weights)) {
      weights <- if (inherits(weights, "dask_array")) .as_rtype(weights, "double") else as_dask_array(as.double(weights))
      if (length(weights) != n)
        .dask_fail("DASK_ERR_SHAPE", sprintf("weights has %s values but x has %s rows", format(length(weights)), format(n)))
    }
    out$x <- .glm_rows(x)
    out$y <- y
    out$w <- weights
  }
  out$n <- n
  out
}

# The library's classes (doubles, increasing) as y's values: factor levels, logicals or
# numbers.
.glm_labels <- function(classes, response) {
  switch(response$type,
    factor = response$levels[classes + 1],
    logical = as.logical(classes),
    integer = as.integer(classes),
    classes)
}

# Named coefficients: a vector ("(Intercept)", then the columns) for a regression or a
# binary model, a (1 + p) x K matrix with one column per class for a multinomial one.
.glm_coef <- function(info, xnames, labels, intercept) {
  cf <- info$coef
  rows <- ncol(cf)
  if (intercept) {
    cf <- rbind(info$intercept, cf)
    rownames(cf) <- c("(Intercept)", xnames)
  } else {
    rownames(cf) <- xnames
  }
  if (rows == 1L) return(cf[, 1L])
  colnames(cf) <- as.character(labels)
  cf
}

predict.dask_glm <- function(object, newdata, type = c("link", "response", "class"), client = NULL, ...) {
  type <- match.arg(type)
  if (type == "class" && is.null(object$classes))
    .dask_stop("type = \"class\" is for binomial models; this one is ", object$family$family)
  if (missing(newdata) || is.null(newdata)) {
    r <- .glm_predict(object, object$data$x, type)
    if (!object$host) return(.glm_lazy_labels(object, r, type))
    r <- .glm_host_result(object, compute(r, client = client), type, object$rownames)
    return(stats::napredict(object$na.action, r))
  }
  if (inherits(newdata, "dask_array")) {
    x <- .glm_newdata_columns(object, .glm_dask_x(newdata, "newdata"), .dn(newdata)[[2L]])
    return(.glm_lazy_labels(object, .glm_predict(object, .glm_rows(x), type), type))
  }
  if (methods::is(newdata, "sparseMatrix")) {
    # Kept sparse: predicted by the library, returned as R values (NA rows are the
    # library's error here: a sparse matrix has no na.action).
    x <- .glm_newdata_columns(object, .glm_dask_x(.glm_sparse_x(newdata), "newdata"), colnames(newdata))
    r <- compute(.glm_predict(object, .glm_rows(x), type), client = client)
    return(.glm_host_result(object, r, type, rownames(newdata)))
  }
  x <- .glm_host_x(newdata, "newdata")
  x <- .glm_newdata_columns(object, x, colnames(x))
  n <- nrow(x)
  rn <- if (!is.null(rownames(x))) rownames(x) else as.character(seq_len(n))
  # As predict.glm(): rows with NA predict NA.
  ok <- stats::complete.cases(x)
  if (!all(ok)) x <- x[ok, , drop = FALSE]
  r <- if (nrow(x) > 0L) compute(.glm_predict(object, .glm_rows(.glm_host_array(x)), type), client = client)
  r <- .glm_host_result(object, r, type, rn[ok])
  if (all(ok)) return(r)
  at <- ifelse(ok, cumsum(ok), NA)
  r <- if (is.matrix(r)) r[at, , drop = FALSE] else r[at]
  if (is.matrix(r)) rownames(r) <- rn else names(r) <- rn
  r
}

# The lazy prediction of `type` for x (the library's n x p): a dask_array of length n, or
# n x K for a multinomial model's link and response.
.glm_predict <- function(object, x, type) {
  multi <- length(object$classes) > 2L
  # A multinomial model's n x K in the library's order is R's K x n: transposed, with the
  # classes as column names.
  by_class <- function(r) .set_dn(t(r), list(NULL, as.character(object$class_labels)))
  if (type == "link") {
    r <- dc_glm_predict(object$model, .glm_kind[["link"]], x)
    return(if (multi) by_class(r) else r)
  }
  if (type == "response" && !is.null(object$classes)) {
    # The class probabilities: the second class's for a binary model.
    r <- dc_glm_predict(object$model, .glm_kind[["proba"]], x)
    return(if (multi) by_class(r) else r[2L, ])
  }
  dc_glm_predict(object$model, .glm_kind[["predict"]], x)
}

# Labels of a lazy class prediction in y's terms: logical, or a factor's level codes
# (as.integer() of the factor) since a dask_array holds no factor.
.glm_lazy_labels <- function(object, r, type) {
  if (type != "class") return(r)
  switch(object$response$type,
    factor = .as_rtype(r + 1, "integer"),
    logical = .as_rtype(r, "logical"),
    integer = .as_rtype(r, "integer"),
    r)
}

# A computed prediction with names (and, for class predictions, y's values and type).
.glm_host_result <- function(object, r, type, rn) {
  multi <- length(object$classes) > 2L
  if (is.null(r)) { # no row to predict
    r <- if (multi && type != "class") matrix(NA_real_, 0L, length(object$classes)) else double()
  }
  if (type == "class") {
    r <- .glm_labels(r, object$response)
    if (object$response$type == "factor") r <- factor(r, levels = object$response$levels)
  }
  if (is.matrix(r)) {
    dimnames(r) <- list(rn, as.character(object$class_labels))
  } else {
    names(r) <- rn
  }
  r
}

# newdata's columns in the model's order: by name when both have names, else by position.
.glm_newdata_columns <- function(object, x, cn) {
  p <- length(object$xnames)
  if (object$named && !is.null(cn) && !identical(cn, object$xnames)) {
    miss <- setdiff(object$xnames, cn)
    if (length(miss))
      .dask_stop("newdata has no column", if (length(miss) > 1L) "s " else " ", paste(sQuote(miss, FALSE), collapse = ", "))
    return(x[, object$xnames, drop = FALSE])
  }
  k <- if (inherits(x, "dask_array")) .rdim(x)[2L] else ncol(x)
  if (k != p)
    .dask_fail("DASK_ERR_SHAPE", sprintf("newdata has %s columns but the model was fitted on %d", format(k), p))
  x
}

fitted.dask_glm <- function(object, ...) predict.dask_glm(object, type = "response", ...)

nobs.dask_glm <- function(object, ...) object$nobs

family.dask_glm <- function(object, ...) object$family

close.dask_glm <- function(con, ...) invisible(dc_close(con$model))

.glm_family_text <- function(x) {
  k <- length(x$class_labels)
  sprintf("%s%s (link: %s)", x$family$family, if (k > 2L) sprintf(", multinomial over %d classes", k) else "",
          x$family$link)
}

.glm_print_coef <- function(cf, digits) {
  if (is.matrix(cf)) print.default(cf, digits = digits, print.gap = 2L)
  else print.default(format(cf, digits = digits), print.gap = 2L, quote = FALSE)
}

.glm_penalty_text <- function(x) {
  if (x$penalty == "none") return("none")
  s <- sprintf("%s, lambda = %s", x$penalty, format(x$lambda, digits = 4))
  if (x$penalty == "elasticnet") s <- sprintf("%s, alpha = %s", s, format(x$alpha, digits = 4))
  s
}

.glm_convergence_text <- function(x) {
  sprintf("%s in %s iterations (%s passes over the data), KKT residual %.3g (tol %.3g)",
          if (x$converged) "converged" else "did NOT converge", format(x$iter), format(x$passes),
          x$kkt_residual, x$tol)
}

.glm_nobs_text <- function(x) {
  s <- format(x$nobs, big.mark = ",", scientific = FALSE)
  na <- if (!is.null(x$na.action)) stats::naprint(x$na.action) else ""
  if (nzchar(na)) paste0(s, " (", na, ")") else s
}

print.dask_glm <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat("\nCall:  ", paste(deparse(x$call), sep = "\n", collapse = "\n"), "\n\n", sep = "")
  cat(sprintf("Family: %s   Penalty: %s   Solver: %s\n\n", .glm_family_text(x),
              .glm_penalty_text(x), x$solver))
  cat(if (length(x$classes) > 2L) "Coefficients (one column per class):\n" else "Coefficients:\n")
  .glm_print_coef(x$coefficients, digits)
  cat(sprintf("\n%s; %s observations\n", .glm_convergence_text(x), .glm_nobs_text(x)))
  if (is_closed(x$model)) cat("(the model was closed)\n")
  invisible(x)
}

# The summary: the fit, and the library's score on the training data (accuracy for a
# binomial model, R-squared for gaussian, D-squared, the deviance explained, for poisson),
# computed on `client`. Penalised fits have no standard errors, and the library gives none.
summary.dask_glm <- function(object, client = NULL, ...) {
  score <- dc_glm_score(.client(client), object$model, object$data$x, object$data$y)
  cf <- object$coefficients
  if (!is.matrix(cf)) cf <- cbind(Estimate = cf)
  structure(class = "summary.dask_glm", list(
    call = object$call, family = object$family, class_labels = object$class_labels,
    penalty = object$penalty,
    lambda = object$lambda, alpha = object$alpha, solver = object$solver,
    coefficients = cf, multinomial = length(object$classes) > 2L,
    converged = object$converged, iter = object$iter, passes = object$passes,
    kkt_residual = object$kkt_residual, tol = object$tol, objective = object$objective,
    score = score,
    score_name = switch(object$family$family, binomial = "Accuracy", gaussian = "R-squared",
                        poisson = "D-squared (deviance explained)"),
    nonzero = sum(cf[rownames(cf) != "(Intercept)", ] != 0),
    n_coef = length(cf[rownames(cf) != "(Intercept)", ]),
    nobs = object$nobs, na.action = object$na.action))
}

print.summary.dask_glm <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat("\nCall:\n", paste(deparse(x$call), sep = "\n", collapse = "\n"), "\n\n", sep = "")
  cat(sprintf("Family: %s\n", .glm_family_text(x)))
  cat(sprintf("Penalty: %s\n", .glm_penalty_text(x)))
  cat(sprintf("Solver: %s, %s\n\n", x$solver, .glm_convergence_text(x)))
  cat(if (x$multinomial) "Coefficients (one column per class):\n" else "Coefficients:\n")
  .glm_print_coef(x$coefficients, digits)
  if (x$penalty %in% c("l1", "elasticnet"))
    cat(sprintf("(%d of %d coefficients non-zero)\n", x$nonzero, x$n_coef))
  cat(sprintf("\nObjective (penalised loss per unit weight): %s\n", format(x$objective, digits = digits + 3L)))
  cat(sprintf("%s on the training data: %s\n", x$score_name, format(x$score, digits = digits + 1L)))
  cat(sprintf("Observations: %s\n\n", .glm_nobs_text(x)))
  invisible(x)
}

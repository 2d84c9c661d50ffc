# c(), cbind() and rbind() with dask_arrays: lazy, as the library's concatenate (dtypes
# promoted as R's c() promotes them: logical < integer < double), with base R's rules for
# shapes, recycling and names. R vectors and matrices among the arguments are wrapped
# without copying.
#
# c() dispatches on its first argument only: c(x, 4) with a dask_array x is this method;
# c(4, x) is base R's (a list). cbind()/rbind() dispatch on any argument.

# Arguments as dask_arrays or R vectors/matrices/arrays; NULL dropped; anything else refused.
.bind_args <- function(args, what) {
  keep <- !vapply(args, is.null, TRUE)
  for (a in args[keep])
    if (!inherits(a, "dask_array") && (!(is.numeric(a) || is.logical(a)) || is.object(a)))
      .dask_stop(what, "() of a dask_array and an object of class ", class(a)[1L], " is not supported")
  args[keep]
}

# The arguments as R's common type (logical < integer < double): converted here, as R
# converts (NA kept), not by the library's promotion (which would turn an integer NA,
# INT32_MIN, into the number -2147483648).
.common_rtype <- function(args) {
  type <- names(.rank)[max(vapply(args, function(a) .rank[[.rtype(a)]], 1L))]
  lapply(args, .as_rtype, type)
}

# The arguments' elements in R's order, joined into one 1-d array (lazy).
.flatten_join <- function(args) {
  parts <- lapply(.common_rtype(args), function(a) .reshape(.operand_array(a), -1))
  if (length(parts) == 1L) parts[[1L]] else dc_join(parts, 0L, FALSE)
}

# Any operand as a dask_array (a single number too).
.operand_array <- function(x) if (inherits(x, "dask_array")) x else as_dask_array(x)

c.dask_array <- function(..., recursive = FALSE, use.names = TRUE) {
  args <- .bind_args(list(...), "c")
  r <- .flatten_join(args)
  if (!isTRUE(use.names)) return(r)
  # Names as base c() makes them (from argument names and element names), worked out on
  # stand-ins of the same lengths, and only when there is a name to keep.
  nms <- lapply(args, function(a) if (length(.rdim_any(a)) <= 1L) .dimnames_of(a)[[1L]])
  if (is.null(names(args)) && all(vapply(nms, is.null, TRUE))) return(r)
  stand <- Map(function(a, nm) { s <- logical(length(a)); names(s) <- nm; s }, args, nms)
  names(stand) <- names(args)
  .set_dn(r, list(names(do.call(base::c, stand))))
}

.rdim_any <- function(x) if (inherits(x, "dask_array")) .rdim(x) else if (is.null(dim(x))) length(x) else dim(x)

cbind.dask_array <- function(..., deparse.level = 1) {
  if (missing(deparse.level)) deparse.level <- .deparse_level(sys.function(sys.parent()), base::cbind, parent.frame())
  .bind(list(...), as.list(substitute(list(...)))[-1L], deparse.level, 2L)
}

rbind.dask_array <- function(..., deparse.level = 1) {
  if (missing(deparse.level)) deparse.level <- .deparse_level(sys.function(sys.parent()), base::rbind, parent.frame())
  .bind(list(...), as.list(substitute(list(...)))[-1L], deparse.level, 1L)
}

# Base R's cbind()/rbind() call their methods without deparse.level: it is in their frame.
.deparse_level <- function(caller, base, env) {
  if (identical(caller, base)) get("deparse.level", envir = env, inherits = FALSE) else 1
}

# cbind (along = 2) and rbind (along = 1) as base R: matrices (2 dims) keep their shape and
# must agree on the other dim; anything else is a vector, recycled (with R's warning when
# fractionally) or cut to that extent; zero-length vectors are dropped.
.bind <- function(args, exprs, deparse.level, along) {
  what <- if (along == 2L) "cbind" else "rbind"
  keep <- !vapply(args, is.null, TRUE)
  tags <- .bind_tags(args, exprs, deparse.level)[keep]
  pos <- which(keep) # argument numbers, for R's messages
  args <- .bind_args(args, what)
  other <- 3L - along # the dim all pieces share: rows for cbind
  rdims <- lapply(args, .rdim_any)
  is_mat <- vapply(rdims, length, 1L) == 2L
  n <- if (any(is_mat)) {
    ext <- vapply(rdims[is_mat], function(d) d[other], 0)
    bad <- which(ext != ext[1L])
    if (length(bad))
      .dask_fail("DASK_ERR_SHAPE", sprintf("number of %s of matrices must match (see arg %d)",
                                           if (along == 2L) "rows" else "columns", pos[is_mat][bad[1L]]))
    ext[1L]
  } else max(vapply(args, length, 0))
  if (n == 0) { # no data: base R's answer on the computed (empty) pieces
    vals <- lapply(args, compute)
    names(vals) <- tags
    return(as_dask_array(do.call(if (along == 2L) base::cbind else base::rbind, c(vals, list(deparse.level = 0)))))
  }
  pieces <- list()
  used <- logical(length(args))
  conv <- .common_rtype(args)
  for (k in seq_along(args)) {
    a <- .operand_array(conv[[k]])
    if (is_mat[k]) {
      pieces[[length(pieces) + 1L]] <- a
    } else {
      len <- length(a)
      if (len == 0) next
      a <- .reshape(a, -1)
      if (len != n) {
        if (n %% len != 0 || len > n)
          .dask_warn(sprintf("number of %s of result is not a multiple of vector length (arg %d)",
                             if (along == 2L) "rows" else "columns", pos[k]))
        a <- dc_take(a, as.double(rep_len(seq_len(len), n) - 1), 0L)
      }
      pieces[[length(pieces) + 1L]] <- .reshape(a, if (along == 2L) c(n, 1) else c(1, n))
    }
    used[k] <- TRUE
  }
  # R dim `along` (2 for cbind) is library axis 2 - along.
  r <- if (length(pieces) == 1L) .clone(pieces[[1L]]) else dc_join(pieces, 2L - along, FALSE)
  .set_dn(r, .bind_dimnames(args[used], tags[used], rdims[used], is_mat[used], n, along))
}

# The names base R gives each argument: its tag, or (deparse.level 1) the symbol it is, or
# (deparse.level 2) its deparsed expression.
.bind_tags <- function(args, exprs, deparse.level) {
  tags <- names(args)
  if (is.null(tags)) tags <- character(length(args))
  for (k in seq_along(args)) {
    if (nzchar(tags[k]) || deparse.level == 0) next
    e <- exprs[[k]]
    if (is.symbol(e) || deparse.level == 2) tags[k] <- paste(deparse(e, nlines = 1L), collapse = "")
  }
  tags
}

# Base R's dimnames of the result, worked out by base R itself on stand-ins: one extent of
# the shared dim for the labels of the joined dim, and the pieces' full extent only when
# some argument labels the shared dim.
.bind_dimnames <- function(args, tags, rdims, is_mat, n, along) {
  bind <- if (along == 2L) base::cbind else base::rbind
  other <- 3L - along
  dns <- lapply(args, .dimnames_of)
  stand <- function(k, extent) {
    if (is_mat[k]) {
      d <- rdims[[k]]
      d[other] <- extent
      dn <- dns[[k]]
      if (!is.null(dn) && extent != n) dn[other] <- list(NULL)
      return(array(NA, d, dn))
    }
    if (extent == n) { s <- logical(length(args[[k]])); if (!is.null(dns[[k]])) names(s) <- dns[[k]][[1L]]; s }
    else NA
  }
  joined <- lapply(seq_along(args), stand, extent = 1)
  names(joined) <- ifelse(is_mat, "", tags)
  lab <- dimnames(do.call(bind, c(joined, list(deparse.level = 0))))[[along]]
  shared <- NULL
  labelled <- vapply(seq_along(args), function(k) {
    dn <- dns[[k]]
    if (is_mat[k]) !is.null(dn) && !is.null(dn[[other]]) else !is.null(dn) && length(args[[k]]) == n
  }, TRUE)
  if (any(labelled)) {
    full <- lapply(seq_along(args), stand, extent = n)
    shared <- dimnames(do.call(bind, c(full, list(deparse.level = 0))))[[other]]
  }
  dn <- list(NULL, NULL)
  dn[along] <- list(lab)
  dn[other] <- list(shared)
  dn
}

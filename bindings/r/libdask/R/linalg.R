# t(), aperm(), %*% and cross products. An R matrix (m x n) is the library's (n x m), so
# t() is the library's transpose and R's A %*% B is the library's B @ A: no data moves for
# layout. Dimnames follow as in base R.

t.dask_array <- function(x) {
  d <- .rdim(x)
  dn <- .dn(x)
  if (length(d) == 1L) return(.set_dn(.reshape(x, c(1, d)), if (!is.null(dn)) list(NULL, dn[[1L]])))
  if (length(d) != 2L) .dask_stop("argument is not a matrix")
  .set_dn(dc_transpose(x, NULL), rev(dn))
}

# aperm(a, perm): R's dim k of the result is dim perm[k] of a. R dim k is library axis
# nd - k, so the library permutation is the reversed R one, mapped.
aperm.dask_array <- function(a, perm = NULL, resize = TRUE, ...) {
  d <- .rdim(a)
  nd <- length(d)
  dn <- .dn(a)
  if (is.null(perm)) perm <- rev(seq_len(nd))
  if (is.character(perm)) {
    perm <- match(perm, names(dn))
    if (anyNA(perm)) .dask_stop("'perm[i]' does not match a dimension name")
  }
  if (length(perm) != nd || !setequal(perm, seq_len(nd))) .dask_stop("'perm' is of wrong length ", length(perm), " (!= ", nd, ")")
  if (!isTRUE(resize)) .dask_stop("aperm(resize = FALSE) is not supported on dask_arrays")
  r <- dc_transpose(a, as.double(nd - rev(perm)))
  .set_dn(r, if (!is.null(dn)) dn[perm])
}

# R's rules for vectors in %*%: a vector is a row or a column, whichever conforms (two
# vectors of one length: the inner product).
`%*%` <- function(x, y) {
  if (!inherits(x, "dask_array") && !inherits(y, "dask_array")) return(base::`%*%`(x, y))
  # R's products are double; integers' and logicals' NA kept.
  x <- .as_rtype(.operand_array(x), "double")
  y <- .as_rtype(.operand_array(y), "double")
  dx <- .rdim(x)
  dy <- .rdim(y)
  if (length(dx) > 2L || length(dy) > 2L) .dask_fail("DASK_ERR_SHAPE", "non-conformable arguments")
  dnx <- if (length(dx) == 2L) .dn(x)
  dny <- if (length(dy) == 2L) .dn(y)
  if (length(dx) == 1L) {
    row <- length(dy) == 1L || dy[1L] == dx || dy[1L] != 1
    dx <- if (row) c(1, dx) else c(dx, 1)
    x <- .reshape(x, dx)
  }
  if (length(dy) == 1L) {
    col <- dx[2L] == dy || dx[2L] != 1
    dy <- if (col) c(dy, 1) else c(1, dy)
    y <- .reshape(y, dy)
  }
  if (dx[2L] != dy[1L]) .dask_fail("DASK_ERR_SHAPE", "non-conformable arguments")
  .set_dn(dc_matmul(y, x), list(dnx[[1L]], dny[[2L]]))
}

# crossprod(x, y) = t(x) %*% y and tcrossprod(x, y) = x %*% t(y), as base R's (which are
# not generic in R 4.2, hence the names).
dask_crossprod <- function(x, y = x) t(.operand_array(x)) %*% y
dask_tcrossprod <- function(x, y = x) x %*% t(.operand_array(y))

# t() and %*%. An R matrix (m x n) is the library's (n x m), so t() is the library's
# transpose and R's A %*% B is the library's B @ A: no data moves for layout.

t.dask_array <- function(x) {
  d <- .rdim(x)
  if (length(d) == 1L) return(.reshape(x, c(1, d))) # R: t(vector) is a 1 x n matrix
  if (length(d) != 2L) .dask_stop("argument is not a matrix")
  dc_transpose(x, NULL)
}

# R's rules for vectors in %*%: a vector is a row or a column, whichever conforms (two
# vectors of one length: the inner product).
`%*%` <- function(x, y) {
  if (!inherits(x, "dask_array") && !inherits(y, "dask_array")) return(base::`%*%`(x, y))
  x <- .operand(x)
  y <- .operand(y)
  dx <- .rdim(x)
  dy <- .rdim(y)
  if (length(dx) > 2L || length(dy) > 2L) .dask_stop("non-conformable arguments")
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
  if (dx[2L] != dy[1L]) .dask_stop("non-conformable arguments")
  dc_matmul(y, x)
}

# crossprod(x, y) = t(x) %*% y, as base R's.
dask_crossprod <- function(x, y = x) t(.operand(x)) %*% y

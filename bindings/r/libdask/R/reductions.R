# colSums, rowSums, colMeans and rowMeans: lazy. Base R's are not generic; the Matrix package
# makes them S4 generics (with base R's as the default), so dask_arrays get methods on those
# same generics: with or without Matrix attached, one colSums() serves R matrices, Matrix
# objects and dask_arrays. R's first `dims` dims are the library's last axes. The result
# keeps the dimnames of the remaining dims, as in R.

# Library axes reduced by col* (over R's first `dims` dims) or row* (over the others).
.margin_axes <- function(x, dims, cols) {
  nd <- length(.rdim(x))
  if (nd < 2L) .dask_stop("'x' must be an array of at least two dimensions")
  if (!is.numeric(dims) || length(dims) != 1L || dims < 1 || dims > nd - 1)
    .dask_stop("invalid 'dims'")
  if (cols) (nd - dims):(nd - 1) else 0:(nd - dims - 1)
}

.margin <- function(x, na.rm, dims, cols, op) {
  # R's colSums() and friends are double; integers' and logicals' NA is kept.
  r <- .reduce(.as_rtype(x, "double"), op, .margin_axes(x, dims, cols), na.rm = na.rm)
  dn <- .dn(x)
  if (is.null(dn)) return(r)
  nd <- length(dn)
  .set_dn(r, if (cols) dn[(dims + 1):nd] else dn[seq_len(dims)])
}

methods::setOldClass("dask_array")
methods::setMethod("colSums", "dask_array", function(x, na.rm = FALSE, dims = 1, ...)
  .margin(x, na.rm, dims, TRUE, "sum"))
methods::setMethod("rowSums", "dask_array", function(x, na.rm = FALSE, dims = 1, ...)
  .margin(x, na.rm, dims, FALSE, "sum"))
methods::setMethod("colMeans", "dask_array", function(x, na.rm = FALSE, dims = 1, ...)
  .margin(x, na.rm, dims, TRUE, "mean"))
methods::setMethod("rowMeans", "dask_array", function(x, na.rm = FALSE, dims = 1, ...)
  .margin(x, na.rm, dims, FALSE, "mean"))

# Computing: a dask_array becomes an R object only here. Results come back in R's layout
# (the library's C order is R's column-major order of the reversed dims) and types: float64,
# float32 and the 64-bit integers as double, int32 and smaller integers as integer, bool as
# logical. A sparse array computes to a Matrix dgCMatrix.

compute <- function(x, ...) UseMethod("compute")
compute.default <- function(x, ...) x

compute.dask_array <- function(x, client = NULL, ...) {
  info <- dc_info(x)
  if (isTRUE(info$sparse) && length(info$shape) == 2L) return(as_dgCMatrix(x, client))
  dc_compute(.client(client), x)
}

as.array.dask_array <- function(x, ...) {
  r <- dc_compute(dask_default_client(), x)
  if (is.null(dim(r))) array(r, length(r)) else r
}

as.matrix.dask_array <- function(x, ...) {
  r <- dc_compute(dask_default_client(), x)
  if (is.null(dim(r))) matrix(r, ncol = 1L) else r
}

as.vector.dask_array <- function(x, mode = "any") as.vector(dc_compute(dask_default_client(), x), mode)
as.double.dask_array <- function(x, ...) as.double(dc_compute(dask_default_client(), x))
as.integer.dask_array <- function(x, ...) as.integer(dc_compute(dask_default_client(), x))
as.logical.dask_array <- function(x, ...) as.logical(dc_compute(dask_default_client(), x))

# Computing: a dask_array becomes an R object only here. Results come back in R's layout
# (the library's C order is R's column-major order of the reversed dims) and types: float64,
# float32 and the 64-bit integers as double, int32 and smaller integers as integer, bool as
# logical; with the array's dimnames (or names). A sparse array with fill value 0 computes
# to a Matrix dgCMatrix; one with another fill value (x + 1) to a dense R matrix, as
# Matrix's own sparse + 1 is dense.

compute <- function(x, ...) UseMethod("compute")
compute.default <- function(x, ...) x

compute.dask_array <- function(x, client = NULL, ...) {
  info <- dc_meta(x)
  r <- if (.computes_to_dgc(info) && length(info$shape) == 2L) as_dgCMatrix(x, client)
       else dc_compute(.client(client), x)
  .label(r, .dn(x))
}

# The as.* conversions are base R's on the computed value (so names and dims follow R).
.computed <- function(x) compute.dask_array(x)
.dense <- function(x) {
  r <- .computed(x)
  if (methods::is(r, "Matrix")) as.matrix(r) else r
}

as.array.dask_array <- function(x, ...) as.array(.dense(x), ...)
as.matrix.dask_array <- function(x, ...) as.matrix(.dense(x), ...)
as.vector.dask_array <- function(x, mode = "any") as.vector(.dense(x), mode)
as.double.dask_array <- function(x, ...) as.double(.dense(x), ...)
as.integer.dask_array <- function(x, ...) as.integer(.dense(x), ...)
as.logical.dask_array <- function(x, ...) as.logical(.dense(x), ...)
as.character.dask_array <- function(x, ...) as.character(.dense(x), ...)

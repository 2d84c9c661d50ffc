# The dask_array class: a lazy, chunked array of the library, seen with R's own dims.
#
# Layout: an R array of dim (d1, ..., dk) is the library array of shape (dk, ..., d1) over
# the same memory (R is column-major, the library row-major), so dims, chunks and axes are
# reversed at this boundary and data is never transposed. A 1-d array is like an R vector
# (no dim); a 0-d array (a full reduction) is like a single number.

.dtypes <- c("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float32", "float64")
.dtype_code <- function(name) {
  code <- match(name, c(.dtypes, "logical", "integer", "double", "numeric"))
  if (is.na(code)) .dask_stop("unknown type '", name, "'")
  c(seq_along(.dtypes), 1L, 4L, 11L, 11L)[code]
}

is_dask_array <- function(x) inherits(x, "dask_array")

as_dask_array <- function(x, chunks = NULL, ...) UseMethod("as_dask_array")

as_dask_array.dask_array <- function(x, chunks = NULL, ...) {
  if (is.null(chunks)) x else rechunk(x, chunks)
}

# Used in place, without a copy: doubles as float64, integers as int32, logicals as R
# logicals (int32, three-valued; see call.R). NA is kept (NA_real_ is a NaN the library
# tells apart from other NaNs; integer and logical NA are INT32_MIN).
as_dask_array.default <- function(x, chunks = NULL, ...) {
  if (!(is.double(x) || is.integer(x) || is.logical(x)) || is.object(x) && !is.matrix(x) && !is.array(x))
    .dask_stop("cannot make a dask_array from an object of class ", class(x)[1L])
  dc_from_r(x, chunks)
}

.shape <- function(dim, chunks) {
  if (!is.numeric(dim) || anyNA(dim) || any(dim < 0)) .dask_stop("dim must be non-negative numbers")
  if (!is.null(chunks) && length(chunks) != length(dim))
    .dask_stop("chunks must have one entry per dimension")
  list(shape = rev(as.double(dim)), chunks = if (is.null(chunks)) NULL else rev(as.double(chunks)))
}

dask_runif <- function(dim, min = 0, max = 1, seed = 1, chunks = NULL) {
  s <- .shape(dim, chunks)
  dc_make(0L, s$shape, s$chunks, as.double(seed), as.double(min), as.double(max), 11L)
}

dask_rnorm <- function(dim, mean = 0, sd = 1, seed = 1, chunks = NULL) {
  s <- .shape(dim, chunks)
  dc_make(1L, s$shape, s$chunks, as.double(seed), as.double(mean), as.double(sd), 11L)
}

dask_full <- function(dim, value, type = "double", chunks = NULL) {
  s <- .shape(dim, chunks)
  code <- .dtype_code(type)
  if (length(value) != 1L) .dask_stop("value must be a single number")
  # NA as an integer or logical: int32's INT32_MIN (an R logical when type is "logical").
  if (is.na(value) && code %in% c(1L, 4L))
    return(.mark(dc_make(2L, s$shape, s$chunks, 0, -2147483648, 0, 4L), code == 1L))
  dc_make(2L, s$shape, s$chunks, 0, as.double(value), 0, code)
}

dask_zeros <- function(dim, type = "double", chunks = NULL) dask_full(dim, 0, type, chunks)
dask_ones <- function(dim, type = "double", chunks = NULL) dask_full(dim, 1, type, chunks)

.info <- function(x) dc_meta(x)
.rdim <- function(x) rev(dc_meta(x)$shape)

# R's dim() is integer; a 1-d array is like a vector (no dim).
dim.dask_array <- function(x) {
  d <- .rdim(x)
  if (length(d) < 2L) NULL else as.integer(d)
}

length.dask_array <- function(x) {
  if (dc_is_closed(x)) return(0L)
  n <- prod(.rdim(x))
  if (n <= .Machine$integer.max) as.integer(n) else n
}

# What compute() gives: a sparse array with fill value 0 is a dgCMatrix (not an R matrix, as
# is.matrix() says of one); others are R vectors (0-d, 1-d) and matrices or arrays.
.computes_to_dgc <- function(info) isTRUE(info$sparse) && identical(info$fill, 0)
is.numeric.dask_array <- function(x) {
  info <- dc_meta(x)
  info$dtype != 1L && !.is_lgl(x) && !.computes_to_dgc(info)
}
is.array.dask_array <- function(x) {
  info <- dc_meta(x)
  length(info$shape) >= 2L && !.computes_to_dgc(info)
}
is.matrix.dask_array <- function(x) {
  info <- dc_meta(x)
  length(info$shape) == 2L && !.computes_to_dgc(info)
}

# dim(x) <- d is the lazy reshape in R's (column-major) order: the library's C order of the
# reversed dims, so no data moves. As in R, it drops dimnames and names.
`dim<-.dask_array` <- function(x, value) {
  n <- length(x)
  if (is.null(value)) return(.reshape(x, n))
  if (!is.numeric(value) || anyNA(value) || any(value < 0))
    .dask_stop("the dims contain missing or negative values")
  if (prod(value) != n)
    .dask_fail("DASK_ERR_SHAPE", sprintf("dims [product %s] do not match the length of object [%s]",
                                         format(prod(value), scientific = FALSE), format(n, scientific = FALSE)))
  .reshape(x, value)
}
# The element type as the library names it ("float64", "int32", "bool", ...), or "logical"
# for an R logical (int32 holding R's three-valued logicals, NA included). "bool" is a
# logical without NA (is.na() gives those); both compute to R logicals.
dask_dtype <- function(x) if (.is_lgl(x)) "logical" else .dtype(x)
.dtype <- function(x) .dtypes[dc_meta(x)$dtype] # the library's type, always

# The block sizes along each of R's dims (a list, one numeric vector per dim).
dask_chunks <- function(x) rev(dc_info(x)$chunks)

# Tasks the array's graph would run after optimisation (0 once computed or persisted).
dask_ntasks <- function(x) dc_info(x)$tasks

rechunk <- function(x, chunks) {
  d <- .rdim(x)
  if (length(chunks) != length(d)) .dask_stop("chunks must have one entry per dimension")
  dc_rechunk(x, rev(as.double(chunks)))
}

persist <- function(x, client = NULL) dc_persist(.client(client), x)

# R dims -> library shape (one entry may be -1).
.reshape <- function(x, dim) dc_reshape(x, rev(as.double(dim)))

# A new handle on the same array, for a result whose R attributes (dimnames) differ: the
# handle is an external pointer, which R never copies, so attributes are set only on new ones.
.clone <- function(x) dc_reshape(x, dc_meta(x)$shape)

# R's type names convert as R does (NA kept: as.integer(NA_real_) is NA, as.logical(2) is
# TRUE, a logical is three-valued); the library's names ("float32", "bool", ...) are the
# library's plain casts.
astype <- function(x, type) {
  if (is.character(type) && length(type) == 1L && type %in% c("logical", "integer", "double", "numeric"))
    return(.as_rtype(x, if (type == "numeric") "double" else type))
  dc_astype(x, .dtype_code(type))
}

# The Matrix package's sparse matrices. A dgCMatrix's slots are, unchanged, the library's
# CSR form of the transposed (row-major) matrix, so conversion copies the slots once and
# never transposes. Sparse dask_arrays take the same generics as dense ones; operations
# whose result would be dense fail with the library's message (no silent densify).

as_dask_array.dgCMatrix <- function(x, chunks = NULL, ...) {
  if (!is.null(chunks)) .dask_stop("sparse matrices are not chunked")
  d <- dim(x)
  dc_sparse_from_csc(x@p, x@i, x@x, d[1L], d[2L])
}

as_dask_array.dgTMatrix <- function(x, chunks = NULL, ...) {
  if (!is.null(chunks)) .dask_stop("sparse matrices are not chunked")
  d <- dim(x)
  dc_sparse_from_triplets(x@i, x@j, x@x, d[1L], d[2L])
}

# Other Matrix sparse matrices (logical, symmetric, ...) go through a dgCMatrix.
as_dask_array.sparseMatrix <- function(x, chunks = NULL, ...) {
  as_dask_array.dgCMatrix(methods::as(methods::as(methods::as(x, "dMatrix"), "generalMatrix"),
                                      "CsparseMatrix"), chunks)
}

as_dgCMatrix <- function(x, client = NULL) {
  s <- dc_sparse_export(.client(client), .operand(x), FALSE)
  methods::new("dgCMatrix", p = s[[1L]], i = s[[2L]], x = as.double(s[[3L]]), Dim = s[[4L]])
}

as_dgTMatrix <- function(x, client = NULL) {
  s <- dc_sparse_export(.client(client), .operand(x), TRUE)
  methods::new("dgTMatrix", i = s[[1L]], j = s[[2L]], x = as.double(s[[3L]]), Dim = s[[4L]])
}

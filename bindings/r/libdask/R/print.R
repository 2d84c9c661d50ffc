# Printing never computes: it shows the shape in R's order, the element type, the chunking
# and whether the array is still lazy (and how many tasks computing it would run).

format.dask_array <- function(x, ...) {
  if (dc_is_closed(x)) return("<dask_array> (closed)")
  info <- dc_info(x)
  d <- rev(info$shape)
  shape <- if (length(d) == 0L) "scalar" else paste(format(d, scientific = FALSE, trim = TRUE), collapse = " x ")
  type <- if (.is_lgl(x)) "logical" else .dtypes[info$dtype]
  if (isTRUE(info$sparse)) {
    dens <- if (prod(d) > 0) 100 * info$nnz / prod(d) else 0
    return(sprintf("<dask_array> sparse %s %s, %s stored (%.3g%%)", shape, type,
                   format(info$nnz, scientific = FALSE), dens))
  }
  ch <- rev(info$chunks)
  blocks <- if (length(ch)) paste(vapply(ch, length, 1L), collapse = " x ") else "1"
  chunk <- if (length(ch)) paste(vapply(ch, function(c) if (length(c)) format(c[1L], scientific = FALSE) else "0", ""), collapse = " x ") else "scalar"
  state <- if (is.na(info$tasks)) "" else if (info$tasks > 0) sprintf(", lazy (%s tasks)", format(info$tasks, scientific = FALSE)) else ", computed"
  if (length(d) == 0L) return(sprintf("<dask_array> scalar %s%s", type, state))
  sprintf("<dask_array> %s %s, chunks %s (%s blocks)%s", shape, type, chunk, blocks, state)
}

print.dask_array <- function(x, ...) {
  cat(format(x), "\n", sep = "")
  invisible(x)
}

str.dask_array <- function(object, ...) cat(format(object), "\n", sep = "")

# A short description for messages: <dask_array 3 x 4>.
.describe <- function(x) {
  if (dc_is_closed(x)) return("<dask_array (closed)>")
  d <- .rdim(x)
  sprintf("<dask_array %s>", if (length(d)) paste(format(d, scientific = FALSE, trim = TRUE), collapse = " x ") else "scalar")
}

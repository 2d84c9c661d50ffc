# Indexing with R's rules (1-based, negative indices exclude, logical indices select, drop =
# TRUE drops extents of 1), done lazily by the library: R's index vector for each dim is
# resolved to positions with seq_len(n)[i] (R's own semantics, so errors match R's), then an
# evenly spaced run becomes one slice and anything else a take along that axis.

.index_spec <- function(pos, n) {
  # One dask_index (kind, start, stop, step, has_start, has_stop) for positions `pos`
  # (1-based) along an axis of extent n, or NULL when they need a take.
  if (length(pos) == 0L) return(c(1, 0, 0, 1, 1, 1))
  step <- if (length(pos) == 1L) 1 else pos[2L] - pos[1L]
  if (step == 0 || (length(pos) > 2L && any(diff(pos) != step))) return(NULL)
  start <- pos[1L] - 1
  stop <- start + step * length(pos)
  if (stop < 0) c(1, start, 0, step, 1, 0) else c(1, start, stop, step, 1, 1)
}

.positions <- function(i, n) {
  if (inherits(i, "dask_array")) .dask_stop("a dask_array index selects with a mask of the same shape: x[mask]")
  pos <- seq_len(n)[i]
  if (anyNA(pos)) .dask_stop("subscript out of bounds")
  pos
}

`[.dask_array` <- function(x, ..., drop = TRUE) {
  nidx <- nargs() - 1L - !missing(drop)
  d <- .rdim(x)
  nd <- length(d)
  if (nidx == 1L && (nd != 1L || inherits(..1, "dask_array") || is.matrix(..1))) {
    i <- ..1
    if (inherits(i, "dask_array") || is.logical(i) && !is.null(dim(i)))
      return(dc_select(dask_default_client(), x, .operand(i)))
    # One index on an n-d array: R's linear (column-major) positions, i.e. the library's
    # flattened C order.
    flat <- .reshape(x, -1)
    return(flat[i])
  }
  if (nidx == 0L) return(x)
  if (nidx != nd) .dask_stop("incorrect number of dimensions")
  args <- as.list(sys.call())[-c(1L, 2L)]
  if (!missing(drop)) args <- args[names(args) != "drop" | is.null(names(args))]
  spec <- matrix(c(1, 0, 0, 1, 0, 0), 6L, nd) # ":" on every library axis
  takes <- list()
  kept <- d
  for (k in seq_len(nd)) {
    if (identical(args[[k]], quote(expr = ))) next
    pos <- .positions(eval(args[[k]], parent.frame()), d[k])
    kept[k] <- length(pos)
    axis <- nd - k # R dim k is library axis nd - k (0-based)
    s <- .index_spec(pos, d[k])
    if (is.null(s)) takes[[length(takes) + 1L]] <- list(pos - 1, axis) else spec[, axis + 1L] <- s
  }
  r <- dc_slice(x, as.double(spec))
  for (t in takes) r <- dc_take(r, as.double(t[[1L]]), as.integer(t[[2L]]))
  if (drop && any(kept == 1L) && nd > 1L) {
    keep <- kept[kept != 1L]
    r <- .reshape(r, if (length(keep)) keep else 1)
  }
  r
}

# Masked assignment, x[mask] <- value (value a number or a dask_array): a new lazy array,
# as R's copy-on-modify semantics expect. Other replacement forms are not supported.
`[<-.dask_array` <- function(x, ..., value) {
  if (nargs() != 3L) .dask_stop("only masked assignment x[mask] <- value is supported on dask_arrays")
  mask <- ..1
  if (!inherits(mask, "dask_array") && !is.logical(mask))
    .dask_stop("only masked assignment x[mask] <- value (a logical mask) is supported on dask_arrays")
  dc_set_where(x, .operand(mask), .operand(value))
}

# Indexing with R's rules (1-based, negative indices exclude, logical indices select, names
# select by dimnames, a matrix of coordinates selects elements, drop = TRUE drops extents of
# 1), done lazily by the library: R's index vector for each dim is resolved to positions with
# seq_len(n)[i] (R's own semantics, so errors match R's), then an evenly spaced run becomes
# one slice and anything else a take along that axis. Dimnames follow the positions.

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

# Positions (1-based) that index i selects along a dim of extent n labelled `names`; with
# `na`, NA in i (numbers or logicals) selects an NA position (R's x[c(1, NA)]).
.positions <- function(i, n, names = NULL, na = FALSE) {
  if (inherits(i, "dask_array")) .dask_stop("a dask_array index selects with a mask of the same shape: x[mask]")
  if (is.factor(i)) i <- as.character(i)
  if (is.character(i)) {
    pos <- match(i, names)
    if (anyNA(pos)) .dask_stop("subscript out of bounds")
    return(pos)
  }
  if (na && anyNA(i) && (is.numeric(i) || is.logical(i))) {
    if (is.numeric(i) && any(i > n, na.rm = TRUE) || is.logical(i) && length(i) > n)
      .dask_stop("subscript out of bounds")
    return(seq_len(n)[i])
  }
  pos <- seq_len(n)[i]
  if (anyNA(pos)) .dask_stop("subscript out of bounds")
  pos
}

# The index arguments of a `[` or `[<-` call (frame `frame` of the method), evaluated in the
# caller; an empty argument (x[1, ]) is NULL.
.index_args <- function(call, env, n) {
  args <- as.list(call)[-c(1L, 2L)]
  if (!is.null(names(args))) args <- args[!names(args) %in% c("drop", "value", "exact")]
  lapply(args[seq_len(n)], function(a) if (identical(a, quote(expr = ))) NULL else list(eval(a, env)))
}

# x[pos_1, ..., pos_k] for positions per R dim (NULL: all), lazy. An NA position gives NA
# (of x's type; a bool x becomes a three-valued logical to hold it).
.subset <- function(x, pos) {
  d <- .rdim(x)
  nd <- length(d)
  nas <- lapply(pos, function(p) if (anyNA(p)) is.na(p))
  for (k in which(!vapply(nas, is.null, TRUE))) pos[[k]][nas[[k]]] <- 1
  spec <- matrix(c(1, 0, 0, 1, 0, 0), 6L, nd) # ":" on every library axis
  takes <- list()
  for (k in seq_len(nd)) {
    if (is.null(pos[[k]])) next
    axis <- nd - k # R dim k is library axis nd - k (0-based)
    s <- .index_spec(pos[[k]], d[k])
    if (is.null(s)) takes[[length(takes) + 1L]] <- list(pos[[k]] - 1, axis) else spec[, axis + 1L] <- s
  }
  r <- dc_slice(x, as.double(spec))
  for (t in takes) r <- dc_take(r, as.double(t[[1L]]), as.integer(t[[2L]]))
  for (k in which(!vapply(nas, is.null, TRUE))) {
    type <- .rtype(r)
    r <- .as_rtype(r, type)
    shape <- rep(1, nd)
    shape[k] <- length(pos[[k]])
    m <- .reshape(dc_astype(as_dask_array(nas[[k]]), 1L), shape)
    r <- .mark(dc_where(m, .na_of(type), r), type == "logical")
  }
  r
}

`[.dask_array` <- function(x, ..., drop = TRUE) {
  nidx <- nargs() - 1L - !missing(drop)
  if (nidx == 0L || nidx == 1L && missing(..1)) return(x) # x[] is x
  d <- .rdim(x)
  nd <- length(d)
  dn <- .dn(x)
  if (nidx == 1L && !missing(..1) && (nd != 1L || inherits(..1, "dask_array") || is.matrix(..1))) {
    i <- ..1
    if (inherits(i, "dask_array") || is.logical(i) && !is.null(dim(i))) {
      mask <- .operand(i)
      if (!identical(as.numeric(.rdim(mask)), as.numeric(d)))
        .dask_fail("DASK_ERR_SHAPE", "a mask must have the dims of the array it selects from")
      r <- .select(x, mask)
      if (nd == 1L && !is.null(dn)) r <- .set_dn(r, list(dn[[1L]][as.vector(compute(mask))]))
      return(r)
    }
    # A matrix with one column per dim: element coordinates (numbers or dimnames).
    if (is.matrix(i) && ncol(i) == nd && (is.numeric(i) || is.character(i)))
      return(.reshape(x, -1)[.linear(i, d, dn)])
    # One index on an n-d array: R's linear (column-major) positions, i.e. the library's
    # flattened C order (no names, as in R).
    return(.reshape(x, -1)[as.vector(i)])
  }
  if (nidx != nd) .dask_stop("incorrect number of dimensions")
  idx <- .index_args(sys.call(), parent.frame(), nd)
  pos <- lapply(seq_len(nd), function(k) if (!is.null(idx[[k]])) .positions(idx[[k]][[1L]], d[k], dn[[k]], na = TRUE))
  kept <- vapply(seq_len(nd), function(k) if (is.null(pos[[k]])) d[k] else length(pos[[k]]), 0)
  r <- .subset(x, pos)
  rdn <- if (!is.null(dn)) lapply(seq_len(nd), function(k) if (is.null(pos[[k]]) || is.null(dn[[k]])) dn[[k]] else dn[[k]][pos[[k]]])
  if (drop && any(kept == 1L) && nd > 1L) {
    keep <- kept != 1L
    r <- .reshape(r, if (any(keep)) kept[keep] else 1)
    # A single element has no names (as in R); otherwise the kept dims keep theirs.
    rdn <- if (!is.null(rdn) && any(keep)) rdn[keep]
  }
  .set_dn(if (identical(r, x)) .clone(r) else r, rdn)
}

# x[mask] in R's order. NA in a logical mask selects an NA, as in R: x is made NA where the
# mask is NA, and elements where the mask is TRUE or NA are selected. A logical x (bool)
# becomes three-valued to hold the NA.
.select <- function(x, mask) {
  if (.rtype(mask) != "logical" || .dtype(mask) == "bool") return(dc_select(dask_default_client(), x, mask))
  type <- .rtype(x)
  x <- .as_rtype(x, type) # a bool x: three-valued
  keep <- .ufunc("not_equal", mask, 0L) # TRUE or NA
  x <- .mark(dc_where(.ufunc("isna", mask), .na_of(type), x), type == "logical")
  dc_select(dask_default_client(), x, keep)
}

# Linear positions (column-major) of the coordinates in the rows of matrix i.
.linear <- function(i, d, dn) {
  if (is.character(i)) i <- vapply(seq_along(d), function(k) .positions(i[, k], d[k], dn[[k]]), numeric(nrow(i)))
  if (anyNA(i) || any(i < 1) || any(t(i) > d)) .dask_stop("subscript out of bounds")
  if (!is.matrix(i)) i <- matrix(i, ncol = length(d))
  as.vector(1 + (i - 1) %*% c(1, cumprod(d)[-length(d)]))
}

# x[[i]], x[[i, j, ...]]: one element, as an R value (computed).
`[[.dask_array` <- function(x, ..., exact = TRUE) {
  d <- .rdim(x)
  n <- nargs() - 1L - !missing(exact)
  idx <- .index_args(sys.call(), parent.frame(), n)
  if (any(vapply(idx, is.null, TRUE))) .dask_stop("invalid subscript: [[ needs every index")
  idx <- lapply(idx, `[[`, 1L)
  if (any(lengths(idx) != 1L)) .dask_stop("attempt to select ", if (any(lengths(idx) > 1L)) "more" else "less", " than one element")
  dn <- .dn(x)
  pos <- if (n == 1L) .positions(idx[[1L]], prod(d), if (length(d) == 1L) dn[[1L]])
         else if (n == length(d)) .linear(matrix(vapply(seq_len(n), function(k) .positions(idx[[k]], d[k], dn[[k]]), 0), 1L), d, dn)
         else .dask_stop("incorrect number of subscripts")
  unname(.value(.reshape(x, -1)[pos]))
}

# Assignment, lazily, as a new array (R's copy-on-modify: the original is unchanged):
#   x[mask] <- value     a logical dask_array or R array of x's dims: the library's masked
#                        assignment;
#   x[i, j, ...] <- value, x[i] <- value   positions as `[` takes them. Runs of consecutive
#                        positions are spliced in with slices and concatenation (no index
#                        arrays); other positions build a mask from per-dim selections and
#                        spread the value with takes.
# As in R, the result's type is the wider of x's and value's (logical < integer < double),
# value is recycled over the selection (an error, or for one index a warning, when its
# length does not divide the selection's), and positions outside x are an error (a
# dask_array does not grow).
`[<-.dask_array` <- function(x, ..., value) {
  nidx <- nargs() - 2L
  d <- .rdim(x)
  nd <- length(d)
  if (!inherits(value, "dask_array") && !((is.numeric(value) || is.logical(value)) && !is.object(value)))
    .dask_stop("a dask_array takes numbers or logicals (or a dask_array), not an object of class ", class(value)[1L])
  dn <- .dn(x)
  type <- names(.rank)[max(.rank[[.rtype(x)]], .rank[[.rtype(value)]])]
  x <- .as_rtype(x, type)
  value <- .as_rtype(value, type)
  if (nidx == 0L || nidx == 1L && missing(..1)) { # x[] <- value: every element, dims kept
    r <- .assign(.reshape(x, -1), list(seq_len(length(x))), value, single = TRUE)
    return(.set_dn(.reshape(r, d), dn))
  }
  if (nidx == 1L) {
    i <- ..1
    if (inherits(i, "dask_array") || is.logical(i) && (!is.null(dim(i)) || length(i) == length(x) && nd > 1L)) {
      s <- .rshape(value)
      scalar <- s$n == 1L && is.null(s$dim)
      # NA in the mask: R leaves those elements alone when value is a single number, and
      # fails ("NAs are not allowed in subscripted assignments") for a longer value (a
      # three-valued mask is then computed to see whether it has NA, as R fails at once).
      if (!scalar && (!inherits(i, "dask_array") && anyNA(i) ||
          inherits(i, "dask_array") && .dtype(i) != "bool" && .value(.reduce(is.na(.kleene(i)), "any"))))
        .dask_stop("NAs are not allowed in subscripted assignments")
      mask <- .bool_mask(i)
      if (!inherits(i, "dask_array") && is.null(dim(i))) mask <- .reshape(mask, d)
      if (!identical(as.numeric(.rdim(mask)), as.numeric(d)))
        .dask_fail("DASK_ERR_SHAPE", "a mask must have the dims of the array it assigns to")
      if (!scalar && !identical(as.numeric(.rdim(.operand(value))), as.numeric(d)))
        .dask_stop("x[mask] <- value takes a single number or an array of x's dims")
      return(.set_dn(dc_set_where(x, mask, .operand(value)), dn))
    }
    if (is.matrix(i) && ncol(i) == nd && nd > 1L && (is.numeric(i) || is.character(i))) {
      pos <- list(.linear(i, d, dn))
    } else {
      pos <- list(.assign_positions(i, prod(d), if (nd == 1L) dn[[1L]], length(value) == 1L))
    }
    flat <- .reshape(x, -1)
    r <- .assign(flat, pos, value, single = TRUE)
    return(.set_dn(if (nd == 1L) r else .reshape(r, d), dn))
  }
  if (nidx != nd) .dask_stop("incorrect number of subscripts")
  idx <- .index_args(sys.call(), parent.frame(), nd)
  pos <- lapply(seq_len(nd), function(k) if (is.null(idx[[k]])) seq_len(d[k]) else .assign_positions(idx[[k]][[1L]], d[k], dn[[k]], length(value) == 1L))
  .set_dn(.assign(x, pos, value, single = FALSE), dn)
}

# NA positions: skipped when the value is a single number, else R's error.
.assign_positions <- function(i, n, names, single) {
  if (is.numeric(i) && any(i > n, na.rm = TRUE) || is.logical(i) && length(i) > n)
    .dask_stop("subscript out of bounds (a dask_array does not grow)")
  if (anyNA(i)) {
    if (!single) .dask_stop("NAs are not allowed in subscripted assignments")
    if (is.logical(i)) i[is.na(i)] <- FALSE else i <- i[!is.na(i)]
  }
  .positions(i, n, names)
}

# x with the block at positions pos (one vector per R dim) replaced by value (recycled).
.assign <- function(x, pos, value, single) {
  block <- lengths(pos)
  nb <- prod(block)
  nv <- length(value)
  if (nb == 0) return(.clone(x))
  if (nv == 0) .dask_stop("replacement has length zero")
  if (nb %% nv != 0) {
    if (!single) .dask_stop("number of items to replace is not a multiple of replacement length")
    .dask_warn("number of items to replace is not a multiple of replacement length")
  }
  scalar <- nv == 1L
  d <- .rdim(x)
  runs <- vapply(pos, function(p) all(diff(p) == 1), TRUE)
  if (all(runs)) {
    v <- if (scalar) .full_like(block, .value_of(value), x) else .recycle(value, nb, block)
    return(.splice(x, pos, v))
  }
  # General positions: a mask from the selected positions of each dim, and value spread over
  # x's shape with takes (the last of repeated positions wins, as in R).
  mask <- NULL
  for (k in seq_along(d)) {
    sel <- logical(d[k])
    sel[pos[[k]]] <- TRUE
    shape <- rep(1, length(d))
    shape[k] <- d[k]
    piece <- .reshape(dc_astype(as_dask_array(sel), 1L), shape)
    mask <- if (is.null(mask)) piece else .ufunc("logical_and", mask, piece)
  }
  if (scalar) return(dc_set_where(x, mask, .value_of(value)))
  v <- .recycle(value, nb, block)
  for (k in seq_along(d)) {
    map <- numeric(d[k])
    map[pos[[k]]] <- seq_along(pos[[k]]) # later positions overwrite earlier ones
    v <- dc_take(v, pmax(map, 1) - 1, as.integer(length(d) - k))
  }
  dc_set_where(x, mask, v)
}

# An array of dims `block` filled with `value`, of x's type (and logical mark).
.full_like <- function(block, value, x) {
  s <- .shape(block, NULL)
  dt <- dc_meta(x)$dtype
  v <- if (is.na(value) && dt != 11L && dt != 10L) -2147483648 else as.double(value) # NA as int32: INT32_MIN
  .mark(dc_make(2L, s$shape, NULL, 0, v, 0, dt), .is_lgl(x))
}

.value_of <- function(v) if (inherits(v, "dask_array")) .value(.reshape(v, -1))[1L] else v[1L]

# value (any shape) recycled in R's order to a block of dims `block` (length nb).
.recycle <- function(value, nb, block) {
  v <- .reshape(.operand_array(value), -1)
  if (length(v) != nb) v <- dc_take(v, as.double(rep_len(seq_len(length(v)), nb) - 1), 0L)
  .reshape(v, block)
}

# y with the block at consecutive positions pos (one run per dim) replaced by v (of the
# block's dims), dim by dim from the last: the part of y before the run, the run (spliced
# along the lower dims), and the part after, joined. y is whole along dims 1..k.
.splice <- function(y, pos, v, k = length(pos)) {
  if (k == 0L) return(v)
  nd <- length(pos)
  p <- pos[[k]]
  n <- .rdim(y)[k]
  along <- function(sel) { q <- rep(list(NULL), nd); q[k] <- list(sel); .subset(y, q) }
  inner <- .splice(along(p), pos, v, k - 1L)
  parts <- list(inner)
  if (p[1L] > 1) parts <- c(list(along(seq_len(p[1L] - 1))), parts)
  if (p[length(p)] < n) parts <- c(parts, list(along((p[length(p)] + 1):n)))
  if (length(parts) == 1L) inner else dc_join(parts, nd - k, FALSE)
}

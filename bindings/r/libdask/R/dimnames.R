# Dimnames and names of dask_arrays. The library has no labels: they are R metadata, kept
# as the attribute "dask_dimnames" (a list with one entry per R dim; a 1-d array's names are
# its single entry) on the R object, and given to the result by compute(). The handle is an
# external pointer, which R never copies, so the attribute is set only on new handles
# (results of operations, or .clone()), never on an array someone else holds.
#
# Operations keep them where base R does: elementwise ops and math, t(), aperm(),
# subsetting, colSums() and friends, %*%, cbind()/rbind(), c() (names).

.dn <- function(x) attr(x, "dask_dimnames", exact = TRUE)

# r must be a new handle (the result of an operation); dn is normalised (all NULL -> NULL).
.set_dn <- function(r, dn) {
  if (!is.null(dn) && all(vapply(dn, is.null, TRUE))) dn <- NULL
  if (!is.null(dn) || !is.null(.dn(r))) attr(r, "dask_dimnames") <- dn
  r
}

# Dimnames (per R dim, as a list) of a dask_array or an R object, NULL when none.
.dimnames_of <- function(x) {
  if (inherits(x, "dask_array")) return(.dn(x))
  if (!is.null(dim(x))) return(dimnames(x))
  if (!is.null(names(x))) list(names(x)) else NULL
}

dimnames.dask_array <- function(x) {
  if (length(.rdim(x)) < 2L) NULL else .dn(x)
}

names.dask_array <- function(x) {
  if (length(.rdim(x)) == 1L) .dn(x)[[1L]] else NULL
}

# As R's dimnames<-: NULL or a list with one entry (NULL or a vector of the extent) per dim.
`dimnames<-.dask_array` <- function(x, value) {
  d <- .rdim(x)
  if (length(d) < 2L) .dask_stop("'dimnames' applied to non-array")
  if (!is.null(value)) {
    if (!is.list(value)) .dask_stop("'dimnames' must be a list")
    if (length(value) != length(d))
      .dask_stop(sprintf("length of 'dimnames' [%d] must match that of 'dims' [%d]", length(value), length(d)))
    for (k in seq_along(value)) {
      v <- value[[k]]
      if (is.null(v)) next
      if (length(v) != d[k]) .dask_stop(sprintf("length of 'dimnames' [%d] not equal to array extent", k))
      value[k] <- list(if (is.factor(v)) as.character(v) else as.character(v))
    }
    if (!is.null(names(value)) && all(names(value) == "")) names(value) <- NULL
  }
  .set_dn(.clone(x), value)
}

# As R's names<- on a vector: shorter names are padded with NA; a matrix's names are not
# supported (they are not its dimnames in R either).
`names<-.dask_array` <- function(x, value) {
  d <- .rdim(x)
  if (length(d) != 1L) .dask_stop("names<- is supported on 1-d dask_arrays only (use dimnames<-)")
  if (!is.null(value)) {
    if (length(value) > d)
      .dask_stop(sprintf("'names' attribute [%d] must be the same length as the vector [%d]", length(value), d))
    value <- as.character(value)
    length(value) <- d
  }
  .set_dn(.clone(x), if (is.null(value)) NULL else list(value))
}

# The dimnames in R form on a computed value r of x.
.label <- function(r, dn) {
  if (is.null(dn)) return(r)
  if (is.null(dim(r)) && !methods::is(r, "Matrix")) names(r) <- dn[[1L]] else dimnames(r) <- dn
  r
}

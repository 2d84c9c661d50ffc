# Functions that need all the values at once (order statistics, tabulation, comparisons of
# whole objects, R's own summaries): methods that compute the array and return base R's
# result on the computed value, so the answer is base R's exactly. They are not lazy.

all.equal.dask_array <- function(target, current, ...) {
  all.equal(compute(target), compute(current), ...)
}

median.dask_array <- function(x, na.rm = FALSE, ...) stats::median(.dense(x), na.rm = na.rm, ...)

quantile.dask_array <- function(x, ...) stats::quantile(.dense(x), ...)

sort.dask_array <- function(x, decreasing = FALSE, ...) sort(.dense(x), decreasing = decreasing, ...)

unique.dask_array <- function(x, incomparables = FALSE, ...) unique(.dense(x), incomparables = incomparables, ...)

summary.dask_array <- function(object, ...) summary(.dense(object), ...)

as.data.frame.dask_array <- function(x, row.names = NULL, optional = FALSE, ...) {
  r <- .dense(x)
  # A vector's column is named after the expression, as base R names it.
  if (is.null(dim(r))) return(as.data.frame(r, row.names = row.names, optional = optional, ...,
                                            nm = paste(deparse(substitute(x), 500L), collapse = " ")))
  as.data.frame(r, row.names = row.names, optional = optional, ...)
}

# which() is not generic: dask_which(x) is which() of the computed logical array.
dask_which <- function(x, arr.ind = FALSE, useNames = TRUE) which(.dense(x), arr.ind = arr.ind, useNames = useNames)

# match() and %in% take vectors only (a dask_array is an external pointer to R: match()
# refuses it before any method could run). dask_in(x, table) is x %in% table, lazily:
# x == t1 | x == t2 | ... over the distinct values of table (a small R vector, or a
# dask_array computed first), a logical without NA. NA and NaN in table need R's match()
# rules (which tell NA from NaN), and a long table many comparisons: then x is computed and
# base R's %in% gives the answer.
dask_in <- function(x, table) {
  x <- .operand_array(x)
  if (inherits(table, "dask_array")) table <- .dense(table)
  if (!(is.numeric(table) || is.logical(table))) .dask_stop("dask_in() takes a numeric or logical table")
  tab <- unique(as.vector(table))
  # Long tables too: one comparison per value would make a long (if fused) chain.
  if (anyNA(tab) || length(tab) > 256L) {
    r <- .dense(x)
    return(.set_dn(as_dask_array(array(r %in% table, .rdim(x))), .dn(x)))
  }
  # %in% is never NA: the library's plain (two-valued) equal and logical_or, in R's type:
  # integers and logicals compare in int32 (INT32_MIN, NA, equals no table value) unless a
  # table value is not an R integer, when x's numbers are compared as doubles (NA kept).
  if (.rtype(x) != "double") {
    if (all(tab == round(tab) & abs(tab) <= .Machine$integer.max)) tab <- as.integer(tab)
    else x <- .as_rtype(x, "double")
  }
  if (!length(tab)) return(.set_dn(.ufunc("logical_and", .ufunc("isnan", x), FALSE), .dn(x)))
  r <- NULL
  for (t in tab) {
    eq <- .ufunc("equal", x, t)
    r <- if (is.null(r)) eq else .ufunc("logical_or", r, eq)
  }
  .set_dn(r, .dn(x))
}

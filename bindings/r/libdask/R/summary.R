# Full reductions: sum, prod, max, min, range, any, all (the Summary group), mean(),
# dask_var() and dask_sd() of a whole array give R values, computed at once, with base R's
# types, as DelayedArray does: so `if (any(x > 0.5))`, isTRUE(all(...)) and stopifnot()
# work. Partial reductions (colSums() and friends) stay lazy. To keep a full reduction lazy
# (a 0-d dask_array, computed later, e.g. with others), evaluate it inside dask_lazy(), or
# set options(libdask.lazy_reductions = TRUE); lazy reductions have the library's types
# (an integer sum is computed as a double).

.lazy <- function() isTRUE(getOption("libdask.lazy_reductions", FALSE))

dask_lazy <- function(expr) {
  old <- options(libdask.lazy_reductions = TRUE)
  on.exit(options(old))
  expr
}

.reduce_codes <- c(sum = 1L, prod = 2L, mean = 3L, min = 4L, max = 5L, var = 6L, sd = 7L,
                   any = 8L, all = 9L, count_nonzero = 10L)

# na.rm = TRUE: the library's NaN-skipping reductions (R's NA_real_ is a NaN to it).
.nan_codes <- c(sum = 11L, prod = 12L, mean = 13L, min = 14L, max = 15L, var = 16L, sd = 17L)

.reduce <- function(x, op, axes = NULL, ddof = 0, na.rm = FALSE) {
  code <- if (isTRUE(na.rm) && !is.na(.nan_codes[op])) .nan_codes[[op]] else .reduce_codes[[op]]
  dc_reduce(x, code, if (is.null(axes)) NULL else as.double(axes), FALSE, ddof)
}

.value <- function(r) dc_compute(dask_default_client(), r)

# A single R value back as a 0-d dask_array (for lazy mode, where a result had to be
# computed in R).
.scalar_array <- function(v) .reshape(as_dask_array(v), numeric(0))

# One array's full reduction `op` (a Summary generic): lazy (the library's types, with the
# casts that keep R's values), or its R value. NA as R: any/all are Kleene's (via the
# kleene_rank order FALSE < NA < TRUE, as a max or min); sums of integers and logicals are
# NA when an element is (na.rm: without those elements); max/min/prod of them go through
# doubles (NA kept), then back to R's type.
.summary1 <- function(x, op, na.rm) {
  type <- .rtype(x)
  if (op == "any" || op == "all") {
    if (type == "double") .dask_warn("coercing argument of type 'double' to logical")
    if (length(x) == 0L && !.lazy()) return(op == "all")
    return(.kleene_quantifier(x, op, na.rm))
  }
  na_int <- type != "double" && .dtype(x) == "int32" # R integers or logicals that may hold NA
  if (.lazy()) {
    if (op == "range")
      return(dc_join(list(.summary1(x, "min", na.rm), .summary1(x, "max", na.rm)), 0L, TRUE))
    if (op == "sum" && na_int) return(.int_sum(x, na.rm))
    if (op == "prod" || na_int) x <- .as_rtype(x, "double")
    r <- .reduce(x, op, na.rm = na.rm)
    if (type != "double" && op %in% c("min", "max")) r <- .as_rtype(r, "integer")
    return(r)
  }
  if (length(x) == 0L) return(get(op, baseenv())(.computed(x), na.rm = na.rm)) # R's empty rules
  switch(op,
    sum = {
      v <- .value(if (na_int) .int_sum(x, na.rm) else .reduce(x, "sum", na.rm = na.rm))
      # R: an integer sum is integer, or double when it does not fit.
      if (type == "double") .na_trumps_nan(v, x)
      else if (is.na(v)) NA_integer_ else if (abs(v) <= .Machine$integer.max) as.integer(v) else v
    },
    prod = {
      # R multiplies in long double, so a product can pass through numbers beyond double's
      # range (and end at 0 or a finite number) where the library's doubles overflow (to
      # Inf, or NaN for Inf * 0): a non-finite product is base R's on the computed values.
      v <- .value(.reduce(.as_rtype(x, "double"), "prod", na.rm = na.rm))
      if (is.finite(v)) v else prod(.dense(x), na.rm = na.rm)
    },
    range = c(.summary1(x, "min", na.rm), .summary1(x, "max", na.rm)),
    max = , min = {
      v <- .value(.reduce(if (na_int) .as_rtype(x, "double") else x, op, na.rm = na.rm))
      if (isTRUE(na.rm) && is.nan(v)) {
        # Nothing but NA: R's answer, -Inf or Inf with its warning.
        .dask_warn(sprintf("no non-missing arguments to %s; returning %s", op, if (op == "max") "-Inf" else "Inf"))
        return(if (op == "max") -Inf else Inf)
      }
      if (type != "double") as.integer(v) else .na_trumps_nan(v, x)
    })
}

# any() and all() with R's NA: the maximum (any) or minimum (all) of kleene_rank (FALSE 0,
# NA 1, TRUE 2), back to a logical; na.rm drops NA (any: only a TRUE counts; all: only a
# FALSE does). A 0-d R logical, or its value.
.kleene_quantifier <- function(x, op, na.rm) {
  r <- .reduce(.ufunc("kleene_rank", .kleene(x)), if (op == "any") "max" else "min")
  r <- if (!isTRUE(na.rm)) .ufunc("kleene_unrank", r)
       else if (op == "any") .ufunc("na_equal", r, 2L) else .ufunc("na_greater_equal", r, 1L)
  r <- .mark(r)
  if (.lazy()) r else .value(r)
}

# The sum of an int32 (R integers or logicals) with R's NA: the sum of the numbers, or NA
# (a double NA: the library's integer sum is int64, computed as a double) when an element is
# NA and na.rm is FALSE. Lazy, 0-d float64.
.int_sum <- function(x, na.rm) {
  isna <- .ufunc("isna", x)
  s <- dc_astype(.reduce(dc_where(isna, 0L, dc_unmark(x)), "sum"), 11L)
  if (isTRUE(na.rm)) s else dc_where(.reduce(isna, "any"), NA_real_, s)
}

# R's sums, products and extremes of doubles give NA rather than NaN when both are among the
# values ("any NA trumps all NaNs" in R's max; R's long double sums end the same way), where
# the library gives whichever NaN it met first: a NaN result is checked for an NA.
.na_trumps_nan <- function(v, x) {
  if (is.nan(v) && .value(.reduce(.ufunc("isna", x), "any"))) NA_real_ else v
}

Summary.dask_array <- function(..., na.rm = FALSE) {
  args <- list(...)
  if (length(args) == 1L) return(.summary1(.operand(args[[1L]]), .Generic, na.rm))
  for (a in args)
    if (!inherits(a, "dask_array") && !(is.numeric(a) || is.logical(a)))
      .dask_stop(.Generic, "() of a dask_array and an object of class ", class(a)[1L], " is not supported")
  if (.lazy()) return(.summary1(.flatten_join(args), .Generic, na.rm))
  # Several arguments: each one's value, then base R's function of them (its types and
  # rules for mixed arguments).
  vals <- lapply(args, function(a) if (inherits(a, "dask_array")) .summary1(a, .Generic, na.rm) else a)
  do.call(get(.Generic, baseenv()), c(vals, list(na.rm = na.rm)))
}

# anyNA() (an internal generic: without this method it is FALSE for any external pointer).
anyNA.dask_array <- function(x, recursive = FALSE) .value(.reduce(is.na(x), "any"))

# mean(x) is the library's; mean(x, trim) (trim > 0) is base R's on the computed values, as
# trimming needs the order statistics.
mean.dask_array <- function(x, trim = 0, na.rm = FALSE, ...) {
  if (!is.numeric(trim) || length(trim) != 1L) .dask_stop("'trim' must be numeric of length one")
  if (!is.na(trim) && trim > 0 || length(x) == 0L) {
    v <- mean(.computed(x), trim = trim, na.rm = na.rm)
    return(if (.lazy()) .scalar_array(v) else v)
  }
  r <- .reduce(.as_rtype(x, "double"), "mean", na.rm = na.rm) # integers' NA kept
  if (.lazy()) r else .na_trumps_nan(.value(r), x)
}

# Variance and standard deviation (sample, as R's var() and sd(): ddof 1) of all elements;
# stats::var and sd are not generic, hence the names.
dask_var <- function(x, na.rm = FALSE) {
  r <- .reduce(.as_rtype(.operand(x), "double"), "var", ddof = 1, na.rm = na.rm)
  if (.lazy()) r else .value(r)
}
dask_sd <- function(x, na.rm = FALSE) {
  r <- .reduce(.as_rtype(.operand(x), "double"), "sd", ddof = 1, na.rm = na.rm)
  if (.lazy()) r else .value(r)
}

# which.min/which.max (not generic in base R): the position (1-based, R's element order) of
# the first smallest or largest element, skipping NA as R does, with its name; always
# computed. NA is moved out of the way (to Inf or -Inf) for the library's arg-reduction; when
# that lands on an NA (every number is then Inf or -Inf, or none), base R decides on the
# computed values.
dask_which_min <- function(x) .which_extreme(.operand(x), FALSE)
dask_which_max <- function(x) .which_extreme(.operand(x), TRUE)

# Integers and logicals that may hold NA (int32) go through doubles, NA kept.
.which_extreme <- function(x, max) {
  if (length(x) == 0L) return(integer(0))
  if (.dtype(x) == "int32") x <- .as_rtype(x, "double")
  y <- if (.rtype(x) == "double") dask_where(is.na(x), if (max) -Inf else Inf, x) else x
  pos <- .value(dc_arg_reduce(y, max)) + 1
  if (.rtype(x) == "double" && is.na(.value(.reshape(x, -1)[pos]))) {
    f <- if (max) which.max else which.min
    return(f(.computed(x)))
  }
  nm <- names(x)
  pos <- as.integer(pos)
  if (!is.null(nm)) names(pos) <- nm[pos]
  pos
}

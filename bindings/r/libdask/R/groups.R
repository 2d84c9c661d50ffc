# R's group generics on dask_arrays: each operator or function is one library ufunc or
# reduction, and the result is a new lazy dask_array (the library fuses elementwise chains,
# so exp(x) * 2 + 1 runs as one pass per block). The R analog of NumPy's __array_ufunc__.
#
# Operands: a dask_array, a single number (a weak scalar: it does not widen the array's
# type, as in NumPy), or an R vector/matrix, which is wrapped without copying. Shapes follow
# NumPy broadcasting on the library's layout, which for an R matrix and a vector of length
# nrow is R's recycling down the columns; other recycling is an error.

.operand <- function(x) {
  if (inherits(x, "dask_array")) return(x)
  if ((is.double(x) || is.integer(x) || is.logical(x)) && length(x) == 1L && is.null(dim(x)))
    return(x)
  as_dask_array(x)
}

.ufunc <- function(name, ...) dc_ufunc(name, lapply(list(...), .operand))

.ops <- c("+" = "add", "-" = "subtract", "*" = "multiply", "/" = "true_divide",
          "^" = "power", "%%" = "remainder", "%/%" = "floor_divide",
          "==" = "equal", "!=" = "not_equal", "<" = "less", ">" = "greater",
          "<=" = "less_equal", ">=" = "greater_equal", "&" = "logical_and", "|" = "logical_or")

.is_intlike <- function(x) {
  if (inherits(x, "dask_array")) dask_dtype(x) %in% .dtypes[1:9] else is.integer(x) || is.logical(x)
}
.as_double <- function(x) {
  if (inherits(x, "dask_array")) astype(x, "float64") else as.double(x)
}

Ops.dask_array <- function(e1, e2) {
  if (nargs() == 1L) {
    return(switch(.Generic,
      "+" = e1,
      "-" = .ufunc("negative", e1),
      "!" = .ufunc("logical_not", e1),
      .dask_stop("unary ", .Generic, " is not defined for dask_arrays")))
  }
  name <- .ops[.Generic]
  if (is.na(name)) .dask_stop(.Generic, " is not defined for dask_arrays")
  # R's ^ gives doubles for integer operands (NumPy's power keeps integers).
  if (.Generic == "^") {
    if (.is_intlike(e1)) e1 <- .as_double(e1)
    if (.is_intlike(e2)) e2 <- .as_double(e2)
  }
  .ufunc(name, e1, e2)
}

.math <- c(abs = "absolute", sign = "sign", sqrt = "sqrt", floor = "floor", ceiling = "ceil",
           trunc = "trunc",
           exp = "exp", expm1 = "expm1", log1p = "log1p", log2 = "log2", log10 = "log10",
           cos = "cos", sin = "sin", tan = "tan", acos = "arccos", asin = "arcsin",
           atan = "arctan", cosh = "cosh", sinh = "sinh", tanh = "tanh")

Math.dask_array <- function(x, ...) {
  switch(.Generic,
    log = {
      base <- list(...)$base
      r <- .ufunc("log", x)
      if (is.null(base)) r else r / log(base)
    },
    round = {
      digits <- if (...length()) ..1 else 0
      if (!identical(as.numeric(digits), 0)) .dask_stop("round() supports only digits = 0 on dask_arrays")
      .ufunc("rint", x) # both round half to even (IEC 60559)
    },
    # R's cumsum/cumprod run over the elements in R's order: the library's C order of the
    # flattened array.
    cumsum = dc_accumulate("add", .reshape(x, -1), 0L),
    cumprod = dc_accumulate("multiply", .reshape(x, -1), 0L),
    {
      name <- .math[.Generic]
      if (is.na(name)) .dask_stop(.Generic, "() is not available for dask_arrays (no such libdask ufunc)")
      .ufunc(name, x)
    })
}

.reduce_codes <- c(sum = 1L, prod = 2L, mean = 3L, min = 4L, max = 5L, var = 6L, sd = 7L,
                   any = 8L, all = 9L, count_nonzero = 10L)

# na.rm = TRUE: the library's NaN-skipping reductions (R's NA_real_ is a NaN to it).
.nan_codes <- c(sum = 11L, prod = 12L, mean = 13L, min = 14L, max = 15L, var = 16L, sd = 17L)

.reduce <- function(x, op, axes = NULL, ddof = 0, na.rm = FALSE) {
  code <- if (isTRUE(na.rm) && !is.na(.nan_codes[op])) .nan_codes[[op]] else .reduce_codes[[op]]
  dc_reduce(x, code, if (is.null(axes)) NULL else as.double(axes), FALSE, ddof)
}

# Reductions are lazy too: sum(x) is a 0-d dask_array; compute() or as.numeric() gives the
# number.
Summary.dask_array <- function(..., na.rm = FALSE) {
  args <- list(...)
  if (length(args) != 1L)
    .dask_stop(.Generic, "() of several arguments is not supported on dask_arrays; combine them first")
  x <- .operand(args[[1L]])
  if (.Generic == "range")
    return(dc_join(list(.reduce(x, "min", na.rm = na.rm), .reduce(x, "max", na.rm = na.rm)), 0L, TRUE))
  .reduce(x, .Generic, na.rm = na.rm)
}

mean.dask_array <- function(x, ..., na.rm = FALSE) {
  .reduce(x, "mean", na.rm = na.rm)
}

is.na.dask_array <- function(x) .ufunc("isnan", x)
is.nan.dask_array <- function(x) .ufunc("isnan", x)
is.finite.dask_array <- function(x) .ufunc("isfinite", x)
is.infinite.dask_array <- function(x) .ufunc("isinf", x)

# ifelse() for dask_arrays: elementwise `yes` where `test`, else `no` (lazy).
dask_where <- function(test, yes, no) dc_where(.operand(test), .operand(yes), .operand(no))

# R's group generics on dask_arrays: each operator or function is one library ufunc (the
# library fuses elementwise chains, so exp(x) * 2 + 1 runs as one pass per block) and the
# result is a new lazy dask_array. The R analog of NumPy's __array_ufunc__.
#
# R's rules, not NumPy's, decide what the user sees, and are applied here before the
# library is called:
#   - types: operands are cast (lazily; casts fuse) so that the result has base R's type:
#     arithmetic on logicals and integers is integer, / and ^ are double, comparisons and
#     & | ! logical, and math functions double except abs() and the cumulative ones;
#   - NA: comparisons are the library's NA-aware ones (na_less, ...: NA when either side is
#     NA or NaN) and & | ! its Kleene logic, giving R logicals (int32, three-valued, marked:
#     call.R); integer arithmetic is the library's R integers (na_add, ...: NA where an
#     operand is, and for overflow and division by zero); conversions to double keep NA
#     (na_as_double);
#   - shapes: arrays must have the same dims ("non-conformable arrays" otherwise); a vector
#     is recycled over an array or a longer vector in R's (column-major) order when its
#     length divides the other's, done with lazy reshapes and the library's broadcasting;
#     fractional recycling (a warning in R) is refused;
#   - dimnames and names are kept as base R keeps them.
# A single number is a weak scalar (it does not widen the array's type beyond R's rule); an
# R vector or matrix operand is wrapped without copying.

.operand <- function(x) {
  if (inherits(x, "dask_array")) return(x)
  if ((is.double(x) || is.integer(x) || is.logical(x)) && length(x) == 1L && is.null(dim(x)))
    return(as.vector(x))
  as_dask_array(x)
}

.ufunc <- function(name, ...) dc_ufunc(name, lapply(list(...), .operand))

# R's type of what an operand computes to: "logical", "integer" or "double".
.int_dtypes <- c("int8", "int16", "int32", "uint8", "uint16")
.rtype <- function(x) {
  if (!inherits(x, "dask_array")) return(if (is.logical(x)) "logical" else if (is.integer(x)) "integer" else "double")
  if (.is_lgl(x)) return("logical")
  dt <- .dtype(x)
  if (dt == "bool") "logical" else if (dt %in% .int_dtypes) "integer" else "double"
}
.rank <- c(logical = 1L, integer = 2L, double = 3L)

# An operand as R's `type`, lazily, converted as R converts (NA stays NA), keeping its labels:
# "double" is float64 (an int32's NA becomes NA_real_: the library's na_as_double, where a
# plain cast would give -2147483648), "integer" int32 (a double's NaN becomes NA), "logical"
# an R logical (int32, three-valued; NaN becomes NA, other numbers TRUE unless 0). R values
# take R's own storage.mode<-.
.as_rtype <- function(x, type) {
  if (!inherits(x, "dask_array")) {
    if (typeof(x) != type) storage.mode(x) <- type # keeps dims; NA stays NA
    return(x)
  }
  have <- .rtype(x)
  dt <- .dtype(x)
  if (have == type && (type == "double" || type == "logical" && .is_lgl(x) || dt == "int32")) return(x)
  r <- switch(type,
    double = if (dt == "int32") .ufunc("na_as_double", x) else dc_astype(x, 11L),
    # R: NaN and numbers outside R's integer range are NA.
    integer = if (dt == "int32") dc_unmark(x)
              else if (have == "double")
                dc_where(.ufunc("logical_and", .ufunc("greater", x, -2147483648), .ufunc("less", x, 2147483648)),
                         dc_astype(x, 4L), NA_integer_)
              else dc_astype(x, 4L),
    logical = .mark(.kleene(x)))
  .set_dn(r, .dn(x))
}

# Any operand as a three-valued logical in int32 (0, 1, INT32_MIN for NA): R's as.logical(),
# for the Kleene ufuncs. R values become R integers (a scalar stays a scalar operand).
.kleene <- function(x) {
  if (!inherits(x, "dask_array")) {
    storage.mode(x) <- "logical"
    storage.mode(x) <- "integer"
    return(x)
  }
  if (.is_lgl(x)) return(x)
  if (.dtype(x) == "bool") dc_astype(x, 4L) else .ufunc("as_kleene", x)
}

# A bool mask of a logical operand: TRUE where it is TRUE (not where it is NA).
.bool_mask <- function(x) {
  x <- .operand(x)
  if (inherits(x, "dask_array") && .dtype(x) == "bool") x else .ufunc("equal", .kleene(x), 1L)
}

# The NA of R's `type` as a library operand: NA_real_ for doubles, INT32_MIN for integers
# and logicals (int32).
.na_of <- function(type) if (type == "double") NA_real_ else NA_integer_

# Where an int32 result must be NA because an operand is (R's integer arithmetic: the
# library's integer kernels treat INT32_MIN as a number): a bool dask_array, TRUE (an NA
# scalar operand: all of it), or NULL (no NA possible).
.na_mask <- function(a, b) {
  m <- NULL
  for (e in list(a, b)) {
    if (!inherits(e, "dask_array")) {
      if (is.na(e)) return(TRUE)
      next
    }
    if (.dtype(e) != "int32") next
    k <- .ufunc("isna", e)
    m <- if (is.null(m)) k else .ufunc("logical_or", m, k)
  }
  m
}

# A binary int32 ufunc with R's NA (for those the library has no na_* kernel of: maximum,
# minimum): op(a, b), NA where a or b is.
.int_na <- function(name) function(a, b) {
  a <- .operand(a)
  b <- .operand(b)
  m <- .na_mask(a, b)
  if (isTRUE(m)) { # an NA scalar: NA throughout (isnan of integers is FALSE)
    arr <- if (inherits(a, "dask_array")) a else b
    return(dc_where(.ufunc("isnan", arr), arr, NA_integer_))
  }
  if (is.null(m)) return(.ufunc(name, a, b))
  dc_where(m, NA_integer_, .ufunc(name, a, b))
}

.ops <- c("+" = "add", "-" = "subtract", "*" = "multiply", "/" = "true_divide",
          "^" = "power", "%%" = "remainder", "%/%" = "floor_divide",
          "==" = "na_equal", "!=" = "na_not_equal", "<" = "na_less", ">" = "na_greater",
          "<=" = "na_less_equal", ">=" = "na_greater_equal", "&" = "kleene_and", "|" = "kleene_or")

Ops.dask_array <- function(e1, e2) {
  if (nargs() == 1L) {
    r <- switch(.Generic,
      "+" = if (.rtype(e1) == "logical") .as_rtype(e1, "integer") else return(e1),
      "-" = if (.rtype(e1) == "double") .ufunc("negative", e1) else .ufunc("na_negative", .as_rtype(e1, "integer")),
      "!" = .mark(.ufunc("kleene_not", .kleene(e1))),
      .dask_stop("unary ", .Generic, " is not defined for dask_arrays"))
    return(.set_dn(r, .dn(e1)))
  }
  name <- .ops[[.Generic]]
  if (is.null(name)) .dask_stop(.Generic, " is not defined for dask_arrays")
  for (e in list(e1, e2))
    if (!inherits(e, "dask_array") && !(is.numeric(e) || is.logical(e)) || is.object(e) && !inherits(e, "dask_array"))
      .dask_stop(.Generic, " of a dask_array and an object of class ", class(e)[1L], " is not supported")
  if (.Generic %in% c("&", "|")) return(.mark(.elementwise(name, .kleene(e1), .kleene(e2))))
  if (.Generic %in% c("==", "!=", "<", ">", "<=", ">=")) {
    type <- .compare_type(e1, e2)
    return(.mark(.elementwise(name, .as_rtype(e1, type), .as_rtype(e2, type))))
  }
  type <- if (.Generic %in% c("/", "^")) "double"
          else names(.rank)[max(2L, .rank[[.rtype(e1)]], .rank[[.rtype(e2)]])]
  e1 <- .as_rtype(e1, type)
  e2 <- .as_rtype(e2, type)
  if (.Generic == "^") return(.elementwise(.r_pow, e1, e2))
  if (.Generic == "%/%" && type == "double") return(.elementwise(.r_floor_divide, e1, e2))
  if (type == "double") return(.elementwise(name, e1, e2))
  # R's integers: the library's na_* kernels (NA in gives NA; so do overflow and %/% or %%
  # by zero, as in R, without R's warning).
  .elementwise(paste0("na_", name), e1, e2)
}

# Elementwise conditions on operands that may be R scalars (then TRUE or FALSE, decided in
# R) or dask_arrays (then bool arrays): for the fix-ups below, which apply R's rules where
# its arithmetic differs from C's.
.cond <- function(name, x, y = NULL) {
  if (!inherits(x, "dask_array") && (is.null(y) || !inherits(y, "dask_array"))) {
    f <- switch(name, equal = `==`, less = `<`, not_equal = `!=`, isinf = is.infinite, isfinite = is.finite)
    return(isTRUE(if (is.null(y)) f(x) else f(x, y)))
  }
  if (is.null(y)) .ufunc(name, x) else .ufunc(name, x, y)
}
.cond_and <- function(a, b) {
  if (isFALSE(a) || isFALSE(b)) return(FALSE)
  if (isTRUE(a)) return(b)
  if (isTRUE(b)) return(a)
  .ufunc("logical_and", a, b)
}
.cond_or <- function(a, b) {
  if (isTRUE(a) || isTRUE(b)) return(TRUE)
  if (isFALSE(a)) return(b)
  if (isFALSE(b)) return(a)
  .ufunc("logical_or", a, b)
}
# r with `value` where cond is TRUE (cond: a bool array, or TRUE/FALSE for all of r).
.replace <- function(r, cond, value) {
  if (isFALSE(cond)) return(r)
  if (isTRUE(cond)) return(dc_where(.ufunc("isnan", r), value, value)) # value throughout (float64)
  dc_where(cond, value, r)
}

# R's x ^ y (R_pow), not C's pow(): 1 when x is 1 or y is 0, also for NA and NaN (1^NA and
# NA^0 are 1 in R); NaN for a negative x to an infinite power and for -Inf to a finite
# non-integer one (C gives numbers).
.r_pow <- function(x, y) {
  x <- .operand(x)
  y <- .operand(y)
  # C's pow (NumPy's power computes x ^ 0.5 as a square root: (-0) ^ 0.5 would be -0).
  r <- .ufunc("c_power", x, y)
  one <- .cond_or(.cond("equal", x, 1), .cond("equal", y, 0))
  yfin <- .cond("isfinite", y)
  nonint <- if (inherits(y, "dask_array")) .cond_and(yfin, .ufunc("not_equal", y, .ufunc("floor", y)))
            else is.finite(y) && y != floor(y)
  nan <- .cond_or(.cond_and(.cond("less", x, 0), .cond("isinf", y)), .cond_and(.cond("equal", x, -Inf), nonint))
  .replace(.replace(r, nan, NaN), one, 1)
}

# R's x %/% y for doubles: x / y where that is not finite (Inf %/% 2 is Inf; C's floor
# division gives NaN), else the floor division.
.r_floor_divide <- function(x, y) {
  q <- .ufunc("true_divide", x, y)
  dc_where(.ufunc("isfinite", q), .ufunc("floor_divide", x, y), q)
}

# The R type a comparison is made in: double when either side is, else integer (logicals
# compare as integers). A whole-number (or NA) double scalar against an integer array
# compares in integers: the same answers, without converting the array.
.compare_type <- function(e1, e2) {
  t1 <- .rtype(e1)
  t2 <- .rtype(e2)
  type <- names(.rank)[max(2L, .rank[[t1]], .rank[[t2]])]
  if (type == "double" && t1 != t2) {
    s <- if (t1 == "double") e1 else e2
    if (!inherits(s, "dask_array") && length(s) == 1L && is.null(dim(s)) &&
        (is.na(s) || is.finite(s) && s == round(s) && abs(s) <= .Machine$integer.max))
      type <- "integer"
  }
  type
}

# R's view of an operand's shape: dims (NULL for vectors and 0-d arrays) and length.
.rshape <- function(x) {
  if (inherits(x, "dask_array")) {
    d <- .rdim(x)
    list(dim = if (length(d) >= 2L) d else NULL, n = prod(d), sparse = isTRUE(dc_meta(x)$sparse))
  } else {
    list(dim = dim(x), n = length(x), sparse = FALSE)
  }
}

# A binary ufunc with R's conformability and recycling rules (see the top of the file).
.elementwise <- function(name, e1, e2) {
  call <- if (is.function(name)) name else function(a, b) .ufunc(name, a, b)
  s1 <- .rshape(e1)
  s2 <- .rshape(e2)
  dn <- .result_dimnames(e1, e2, s1, s2)
  if (s1$n == 1L && is.null(s1$dim) || s2$n == 1L && is.null(s2$dim) || s1$sparse || s2$sparse)
    return(.set_dn(call(e1, e2), dn))
  if (!is.null(s1$dim) && !is.null(s2$dim)) {
    if (!identical(as.numeric(s1$dim), as.numeric(s2$dim))) .dask_fail("DASK_ERR_SHAPE", "non-conformable arrays")
    return(.set_dn(call(e1, e2), dn))
  }
  if (s1$n == 0 || s2$n == 0) .dask_stop("arithmetic with a zero-length operand is not supported on dask_arrays")
  # The longer (or the array) is `big`; `small` is recycled over it.
  swap <- is.null(s1$dim) && (!is.null(s2$dim) || s2$n > s1$n)
  big <- if (swap) s2 else s1
  small <- if (swap) s1 else s2
  if (!is.null(big$dim) && small$n > big$n)
    .dask_fail("DASK_ERR_SHAPE", sprintf("dims [product %s] do not match the length of object [%s]",
                                         format(big$n, scientific = FALSE), format(small$n, scientific = FALSE)))
  if (big$n %% small$n != 0)
    .dask_fail("DASK_ERR_NOT_IMPLEMENTED", "longer object length is not a multiple of shorter object length: ",
               "R recycles fractionally (with a warning); dask_arrays do not")
  d <- if (is.null(big$dim)) big$n else big$dim
  # small covers R's first dims of big (length d1 * ... * dk): give it those dims, and the
  # library broadcasts it over the rest; else view big as a (small$n x rest) matrix.
  k <- match(small$n, cumprod(d))
  if (!is.na(k)) {
    sm <- .reshape(.operand(if (swap) e1 else e2), d[seq_len(k)])
    r <- if (swap) call(sm, e2) else call(e1, sm)
    if (length(d) == 1L && k == 1L) return(.set_dn(r, dn))
    return(.set_dn(if (length(.rdim(r)) != length(d)) .reshape(r, d) else r, dn))
  }
  bg <- .reshape(.operand(if (swap) e2 else e1), c(small$n, big$n / small$n))
  r <- if (swap) call(e1, bg) else call(bg, e2)
  .set_dn(.reshape(r, d), dn)
}

# Base R's labels of e1 op e2: an array's dimnames (the first operand's first), else the
# names of the longer vector (of the first, for equal lengths).
.result_dimnames <- function(e1, e2, s1, s2) {
  dn1 <- .dimnames_of(e1)
  dn2 <- .dimnames_of(e2)
  if (!is.null(s1$dim) || !is.null(s2$dim)) {
    if (!is.null(s1$dim) && !is.null(dn1)) return(dn1)
    if (!is.null(s2$dim)) return(dn2)
    return(NULL)
  }
  if (s1$n == s2$n) return(if (is.null(dn1)) dn2 else dn1)
  if (s1$n > s2$n) dn1 else dn2
}

.math <- c(abs = "absolute", sign = "sign", sqrt = "sqrt", floor = "floor", ceiling = "ceil",
           trunc = "trunc",
           exp = "exp", expm1 = "expm1", log1p = "log1p", log2 = "log2", log10 = "log10",
           cos = "cos", sin = "sin", tan = "tan", acos = "arccos", asin = "arcsin",
           atan = "arctan", cosh = "cosh", sinh = "sinh", tanh = "tanh", asinh = "arcsinh",
           acosh = "arccosh", atanh = "arctanh")

# R's cumulative functions run over the elements in R's order: the library's C order of the
# flattened array. The result is a vector (R drops dims; names are kept). The library
# accumulates with add and multiply only: cummax() and cummin() are base R's on the computed
# values (wrapped as a dask_array again).
.cumulative <- c(cumsum = "add", cumprod = "multiply")

Math.dask_array <- function(x, ...) {
  dn <- .dn(x)
  if (.Generic %in% names(.cumulative)) {
    # R's types: cumprod double; the others integer for logicals and integers. Integer
    # sums accumulate in int64 and come back as int32, NA from the first NA or the first
    # sum beyond R's integers on (R's cumsum; the int64 sum takes NA for a number).
    type <- if (.Generic == "cumprod" || .rtype(x) == "double") "double" else "integer"
    flat <- .reshape(.as_rtype(x, type), -1)
    r <- dc_accumulate(.cumulative[[.Generic]], flat, 0L)
    if (type == "integer") {
      bad <- .ufunc("logical_or", .ufunc("isna", flat),
                    .ufunc("greater", .ufunc("absolute", r), .Machine$integer.max))
      seen <- dc_accumulate("add", dc_astype(bad, 4L), 0L)
      r <- dc_where(.ufunc("greater", seen, 0L), NA_integer_, dc_astype(r, 4L))
    }
    return(.set_dn(r, if (length(.rdim(x)) == 1L) dn))
  }
  if (.Generic %in% c("round", "signif")) return(.round(x, .Generic, ...))
  if (.Generic %in% c("cummax", "cummin")) return(.rewrap(get(.Generic, baseenv())(.computed(x)), x))
  r <- switch(.Generic,
    log = {
      # log(x, base): base by name or position, as base R's log.
      args <- list(...)
      if (length(args) > 1L) .dask_stop("log() takes x and base only")
      base <- if (length(args)) args[[1L]] else exp(1)
      if (!is.numeric(base) || length(base) != 1L) .dask_stop("base must be a single number for dask_arrays")
      r <- .ufunc("log", .as_rtype(x, "double"))
      if (base == exp(1)) r else if (base == 2) .ufunc("log2", .as_rtype(x, "double"))
      else if (base == 10) .ufunc("log10", .as_rtype(x, "double")) else r / log(base)
    },
    # Integers: abs(INT32_MIN), NA, is INT32_MIN again.
    abs = .ufunc("absolute", if (.rtype(x) == "double") x else .as_rtype(x, "integer")),
    {
      name <- .math[.Generic]
      if (is.na(name)) .dask_stop(.Generic, "() is not available for dask_arrays (no such libdask ufunc)")
      .ufunc(name, .as_rtype(x, "double"))
    })
  .set_dn(r, dn)
}

# round(x) (0 digits) is the library's rint (both round half to even, IEC 60559). With
# digits, R's algorithm (R >= 4.0.0) picks the closest representable candidate, which a
# multiply-round-divide does not reproduce in every case: round(x, digits) and signif()
# compute x and apply base R's function, then wrap the result as a dask_array again (with
# x's chunks), so the numbers are base R's exactly.
.round <- function(x, generic, ...) {
  args <- list(...)
  digits <- if (length(args)) args[[1L]] else if (generic == "round") 0 else 6
  if (!is.numeric(digits) || length(digits) != 1L) .dask_stop("digits must be a single number for dask_arrays")
  if (generic == "round" && digits == 0)
    return(.set_dn(.ufunc("rint", .as_rtype(x, "double")), .dn(x)))
  fun <- if (generic == "round") base::round else base::signif
  .rewrap(fun(.computed(x), digits), x)
}

# A computed R value back as a dask_array, with x's chunks when it has x's dims, and its own
# labels (base R's functions keep or drop them).
.rewrap <- function(r, x) {
  if (methods::is(r, "Matrix")) return(as_dask_array(r))
  info <- dc_info(x)
  d <- if (is.null(dim(r))) length(r) else dim(r)
  ch <- rev(info$chunks)
  chunks <- if (length(ch) == length(d) && !isTRUE(info$sparse) && identical(as.numeric(d), rev(info$shape)))
    vapply(ch, function(c) if (length(c)) max(c) else 1, 0)
  .set_dn(as_dask_array(r, chunks = chunks), .dimnames_of(r))
}

# R's NA and NaN: is.na() is true for both in doubles (any NaN), and for NA in integers and
# logicals (INT32_MIN: the library's isna); is.nan() only for NaNs that are not R's NA (isna
# tells NA_real_ from other NaNs by its payload). Two-valued results (bool).
is.na.dask_array <- function(x) {
  r <- if (.rtype(x) == "double") .ufunc("isnan", x)
       else if (.dtype(x) == "int32") .ufunc("isna", x) else .ufunc("isnan", x)
  .set_dn(r, .dn(x))
}
is.nan.dask_array <- function(x) {
  r <- if (.rtype(x) == "double") .ufunc("logical_and", .ufunc("isnan", x), .ufunc("logical_not", .ufunc("isna", x)))
       else .ufunc("isnan", x) # FALSE throughout
  .set_dn(r, .dn(x))
}
is.finite.dask_array <- function(x) {
  r <- if (.dtype(x) == "int32") .ufunc("logical_not", .ufunc("isna", x)) else .ufunc("isfinite", x)
  .set_dn(r, .dn(x))
}
is.infinite.dask_array <- function(x) .set_dn(.ufunc("isinf", .as_rtype(x, "double")), .dn(x))

# pmax/pmin of integers with R's NA: NA where either is (maximum, minimum), or, for na.rm
# (fmax, fmin), each NA replaced by the other operand's value first (NA where both are).
.pextreme_int <- function(name) {
  base <- c(maximum = "maximum", minimum = "minimum", fmax = "maximum", fmin = "minimum")[[name]]
  if (name == base) return(.int_na(name))
  function(a, b) {
    a <- .operand(a)
    b <- .operand(b)
    fill <- function(x, y) {
      if (!inherits(x, "dask_array")) return(if (is.na(x)) y else x)
      if (.dtype(x) != "int32") return(x)
      dc_where(.ufunc("isna", x), y, x)
    }
    a2 <- fill(a, b)
    .ufunc(base, a2, fill(b, a2))
  }
}

# ifelse() for dask_arrays: elementwise `yes` where `test` is TRUE, `no` where FALSE, and NA
# where test is NA (lazy). As ifelse(), the result has test's dims and labels; yes and no
# must conform to test. The result's type is the wider of yes's and no's (ifelse() widens by
# the values it uses, which a lazy result cannot know).
dask_where <- function(test, yes, no) {
  test <- .operand(test)
  st <- .rshape(test)
  for (e in list(yes, no)) {
    s <- .rshape(e)
    scalar <- s$n == 1L && is.null(s$dim)
    if (!scalar && (s$n != st$n || !identical(as.numeric(s$dim), as.numeric(st$dim))))
      .dask_fail("DASK_ERR_SHAPE", "yes and no must be single numbers or have the dims of test")
  }
  type <- names(.rank)[max(.rank[[.rtype(yes)]], .rank[[.rtype(no)]])]
  # Logicals as int32 (three-valued), so that NA fits.
  yes <- .operand(.as_rtype(yes, if (type == "logical") "integer" else type))
  no <- .operand(.as_rtype(no, if (type == "logical") "integer" else type))
  if (inherits(test, "dask_array") && .dtype(test) == "bool" && !.is_lgl(test)) {
    r <- dc_where(test, yes, no)
  } else {
    k <- .kleene(test)
    r <- dc_where(.ufunc("isna", k), .na_of(type), dc_where(.ufunc("equal", k, 1L), yes, no))
  }
  # Two single numbers give the library's float64: back to R's type (exact: whole numbers).
  want <- if (type == "double") "float64" else "int32"
  if (.dtype(r) != want) r <- dc_astype(r, if (type == "double") 11L else 4L)
  .set_dn(.mark(r, type == "logical"), .dn(test))
}

# pmax()/pmin() (not generic in base R): the library's elementwise maximum/minimum, lazily,
# with R's type (the widest argument's), recycling and attributes (the first argument's).
# NA propagates; na.rm = TRUE ignores it where another argument has a number.
dask_pmax <- function(..., na.rm = FALSE) .pextreme(list(...), if (isTRUE(na.rm)) "fmax" else "maximum")
dask_pmin <- function(..., na.rm = FALSE) .pextreme(list(...), if (isTRUE(na.rm)) "fmin" else "minimum")

.pextreme <- function(args, name) {
  if (!length(args)) .dask_stop("no arguments")
  # R: pmax() of logicals is integer.
  type <- names(.rank)[max(2L, vapply(args, function(a) .rank[[.rtype(a)]], 1L))]
  args <- lapply(args, .as_rtype, type)
  op <- if (type == "double") name else .pextreme_int(name)
  r <- args[[1L]]
  for (a in args[-1L]) r <- .elementwise(op, r, a)
  r <- .operand_array(r)
  dn <- .dimnames_of(args[[1L]])
  if (!identical(as.numeric(.rdim_any(args[[1L]])), as.numeric(.rdim(r)))) dn <- .dn(r)
  .set_dn(.clone(r), dn)
}

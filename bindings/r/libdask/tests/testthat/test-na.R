# R's NA, against base R on the same data, value and type (expect_identical): comparisons
# give logicals with NA, & | ! any all are Kleene's, integer arithmetic and sums keep NA,
# NA and NaN are told apart, masks with NA select NA.
xd <- c(1, NA, 3, NaN, -2, 0, Inf, NA, 2.5, -Inf, 4)
xi <- c(1L, NA, 3L, 0L, -2L, NA, 7L, 2L, 5L, -9L, 4L)
xl <- c(TRUE, NA, FALSE, TRUE, NA, FALSE, TRUE, TRUE, FALSE, NA, TRUE)
vecs <- list(double = xd, integer = xi, logical = xl)
dvecs <- lapply(vecs, as_dask_array, chunks = 4)
scalars <- list(2, 2L, 2.5, NA, NA_real_, NA_integer_, NaN, TRUE, FALSE, 0L)

# f applied to dask operands (computed) and to the R ones: identical.
same <- function(f, a, b, info) {
  da <- if (is.null(dvecs[[a]])) a else dvecs[[a]]
  ra <- if (is.null(vecs[[a]])) a else vecs[[a]]
  expect_identical(compute(f(da, b$d)), f(ra, b$r), info = info)
}

test_that("comparisons are NA-aware and give logicals, for every type pair and scalar", {
  for (op in c("==", "!=", "<", "<=", ">", ">=")) {
    f <- get(op)
    for (a in names(vecs)) {
      for (b in names(vecs)) {
        expect_identical(compute(f(dvecs[[a]], dvecs[[b]])), f(vecs[[a]], vecs[[b]]), info = paste(a, op, b))
        expect_identical(compute(f(dvecs[[a]], vecs[[b]])), f(vecs[[a]], vecs[[b]]), info = paste(a, op, "R", b))
      }
      for (s in scalars) {
        info <- paste(a, op, deparse(s))
        expect_identical(compute(f(dvecs[[a]], s)), f(vecs[[a]], s), info = info)
        expect_identical(compute(f(s, dvecs[[a]])), f(s, vecs[[a]]), info = info)
      }
    }
  }
  r <- as_dask_array(xd) > 2
  expect_identical(dask_dtype(r), "logical")
  expect_match(format(r), "logical")
  expect_false(is.numeric(r))
})

test_that("& | ! are Kleene's three-valued logic; numbers are logicals first", {
  for (op in c("&", "|")) {
    f <- get(op)
    for (a in names(vecs)) {
      for (b in names(vecs))
        expect_identical(compute(f(dvecs[[a]], dvecs[[b]])), f(vecs[[a]], vecs[[b]]), info = paste(a, op, b))
      for (s in list(TRUE, FALSE, NA, 0, 2.5, NaN, 0L)) {
        expect_identical(compute(f(dvecs[[a]], s)), f(vecs[[a]], s), info = paste(a, op, deparse(s)))
        expect_identical(compute(f(s, dvecs[[a]])), f(s, vecs[[a]]), info = paste(deparse(s), op, a))
      }
    }
  }
  for (a in names(vecs)) expect_identical(compute(!dvecs[[a]]), !vecs[[a]], info = a)
  dx <- dvecs$double
  expect_identical(compute(dx > 0 & dx < 3 | is.na(dx)), xd > 0 & xd < 3 | is.na(xd))
  expect_identical(compute(!(dx > 2)), !(xd > 2))
})

test_that("any() and all() with NA as base R, with na.rm", {
  cases <- list(c(FALSE, NA), c(TRUE, NA), c(NA, NA), c(TRUE, TRUE), c(FALSE, FALSE),
                c(TRUE, FALSE, NA), NA, xl)
  for (l in cases) {
    dl <- as_dask_array(l)
    for (f in c("any", "all")) for (narm in c(FALSE, TRUE))
      expect_identical(get(f)(dl, na.rm = narm), get(f)(l, na.rm = narm), info = paste(f, deparse(l), narm))
  }
  for (a in names(vecs)) for (f in c("any", "all")) for (narm in c(FALSE, TRUE))
    expect_identical(suppressWarnings(get(f)(dvecs[[a]] > 2, na.rm = narm)), get(f)(vecs[[a]] > 2, na.rm = narm),
                     info = paste(f, a, narm))
  expect_warning(r <- any(dvecs$double), "coercing argument of type 'double' to logical")
  expect_identical(r, suppressWarnings(any(xd)))
  expect_identical(suppressWarnings(all(as_dask_array(c(1, NA)))), suppressWarnings(all(c(1, NA))))
  expect_identical(any(dvecs$integer), any(xi))
  expect_identical(all(dvecs$integer, na.rm = TRUE), all(xi, na.rm = TRUE))
  expect_identical(any(as_dask_array(logical(0))), any(logical(0)))
  expect_identical(all(as_dask_array(logical(0))), all(logical(0)))
  # Lazy: a 0-d logical.
  r <- dask_lazy(any(dvecs$logical))
  expect_true(is_dask_array(r))
  expect_identical(compute(r), any(xl))
  expect_identical(compute(dask_lazy(all(dvecs$logical, na.rm = TRUE))), all(xl, na.rm = TRUE))
})

test_that("sum, prod, max, min, range, mean with NA, with and without na.rm", {
  for (a in names(vecs)) {
    for (f in c("sum", "prod", "max", "min", "range", "mean")) for (narm in c(FALSE, TRUE)) {
      fun <- get(f)
      expect_identical(fun(dvecs[[a]], na.rm = narm), fun(vecs[[a]], na.rm = narm), info = paste(f, a, narm))
      lg <- vecs[[a]] > 2 # logicals with NA, from a comparison
      expect_identical(fun(dvecs[[a]] > 2, na.rm = narm), fun(lg, na.rm = narm), info = paste(f, a, "> 2", narm))
    }
  }
  expect_identical(sum(as_dask_array(c(TRUE, NA))), sum(c(TRUE, NA))) # NA_integer_
  expect_identical(sum(as_dask_array(c(NaN, NA))), sum(c(NaN, NA))) # NA trumps NaN, as in R
  expect_identical(sum(as_dask_array(c(NA, NaN))), sum(c(NA, NaN)))
  expect_identical(max(as_dask_array(c(NaN, NA, 1))), max(c(NaN, NA, 1)))
  expect_identical(min(as_dask_array(c(NaN, 1))), min(c(NaN, 1)))
  expect_identical(mean(as_dask_array(c(NaN, NA))), mean(c(NaN, NA)))
  allna <- c(NA_integer_, NA_integer_)
  expect_warning(r <- max(as_dask_array(allna), na.rm = TRUE), "no non-missing")
  expect_identical(r, suppressWarnings(max(allna, na.rm = TRUE)))
  expect_equal(dask_var(dvecs$integer, na.rm = TRUE), var(xi, na.rm = TRUE))
  expect_identical(dask_var(dvecs$integer), var(xi))
  expect_equal(dask_sd(dvecs$logical, na.rm = TRUE), sd(xl, na.rm = TRUE))
  # Lazy: NA is kept.
  expect_identical(compute(dask_lazy(sum(dvecs$integer))), NA_real_)
  expect_identical(compute(dask_lazy(sum(dvecs$integer, na.rm = TRUE))), as.double(sum(xi, na.rm = TRUE)))
  expect_identical(compute(dask_lazy(max(dvecs$integer))), NA_integer_)
  expect_identical(compute(dask_lazy(max(dvecs$logical, na.rm = TRUE))), max(xl, na.rm = TRUE))
  expect_identical(compute(dask_lazy(mean(dvecs$integer, na.rm = TRUE))), mean(xi, na.rm = TRUE))
})

test_that("arithmetic with NA follows R's types and values", {
  divisor <- c(2L, NA, -3L, 1L, 0L, 4L, NA, -1L, 2L, 0L, 7L)
  dd <- as_dask_array(divisor, chunks = 5)
  for (op in c("+", "-", "*", "/", "^", "%%", "%/%")) {
    f <- get(op)
    for (a in names(vecs)) {
      for (b in names(vecs)) {
        expect_identical(compute(f(dvecs[[a]], dvecs[[b]])), f(vecs[[a]], vecs[[b]]), info = paste(a, op, b))
      }
      expect_identical(compute(f(dvecs[[a]], dd)), f(vecs[[a]], divisor), info = paste(a, op, "divisor"))
      for (s in list(2, 2L, NA, NA_real_, NA_integer_, TRUE, 0.5, 0L, 0)) {
        expect_identical(compute(f(dvecs[[a]], s)), f(vecs[[a]], s), info = paste(a, op, deparse(s)))
        expect_identical(compute(f(s, dvecs[[a]])), f(s, vecs[[a]]), info = paste(deparse(s), op, a))
      }
    }
  }
  for (a in names(vecs)) {
    expect_identical(compute(-dvecs[[a]]), -vecs[[a]], info = a)
    expect_identical(compute(+dvecs[[a]]), +vecs[[a]], info = a)
    expect_identical(compute(abs(dvecs[[a]])), abs(vecs[[a]]), info = a)
    expect_identical(compute(sqrt(abs(dvecs[[a]]))), sqrt(abs(vecs[[a]])), info = a)
    # exp is the library's vectorised kernel, within 2 ulps of the C library's (R's own exp
    # is that one): NA positions and type exactly, values to a few ulps.
    e <- compute(exp(dvecs[[a]]))
    expect_identical(typeof(e), typeof(exp(vecs[[a]])), info = a)
    expect_identical(is.na(e), is.na(exp(vecs[[a]])), info = a)
    expect_equal(e, exp(vecs[[a]]), tolerance = 4 * .Machine$double.eps, info = a)
    expect_identical(compute(cumsum(dvecs[[a]])), cumsum(vecs[[a]]), info = a)
    expect_identical(compute(cumprod(dvecs[[a]])), cumprod(vecs[[a]]), info = a)
    expect_identical(compute(round(dvecs[[a]])), round(vecs[[a]]), info = a)
    expect_identical(compute(sign(dvecs[[a]])), sign(vecs[[a]]), info = a)
  }
  dx <- dvecs$double
  expect_identical(compute((dx > 2) + 1), (xd > 2) + 1)
  expect_identical(compute((dx > 2) + 1L), (xd > 2) + 1L)
  expect_identical(compute((dx > 2) * (dx < 4)), (xd > 2) * (xd < 4))
  expect_identical(compute(dx + NA), xd + NA)
  expect_identical(compute(dx * NA_real_), xd * NA_real_)
  expect_identical(compute(NA > dx), NA > xd)
  expect_identical(compute(dvecs$integer + NA), xi + NA) # all NA_integer_
})

test_that("is.na, is.nan, is.finite, is.infinite and anyNA tell NA from NaN as base R", {
  expect_identical(compute(is.nan(as_dask_array(c(NA, NaN)))), is.nan(c(NA, NaN)))
  for (a in names(vecs)) {
    for (f in c("is.na", "is.nan", "is.finite", "is.infinite"))
      expect_identical(compute(get(f)(dvecs[[a]])), get(f)(vecs[[a]]), info = paste(f, a))
    expect_identical(anyNA(dvecs[[a]]), anyNA(vecs[[a]]), info = a)
    expect_identical(compute(is.na(dvecs[[a]] > 2)), is.na(vecs[[a]] > 2), info = a)
  }
  expect_identical(anyNA(as_dask_array(c(1L, 2L))), FALSE)
  expect_identical(anyNA(as_dask_array(c(NaN, 1))), anyNA(c(NaN, 1)))
  expect_identical(compute(is.na(as_dask_array(c(NA, NaN, 1)) + 1)), is.na(c(NA, NaN, 1) + 1))
  expect_identical(compute(is.nan(as_dask_array(c(NA, NaN, 1)) * 2)), is.nan(c(NA, NaN, 1) * 2))
})

test_that("x[mask] with NA in the mask gives NA there, as base R", {
  for (a in names(vecs)) for (b in names(vecs)) {
    mask <- vecs[[b]] > 2
    expect_identical(compute(dvecs[[a]][dvecs[[b]] > 2]), vecs[[a]][mask], info = paste(a, b))
  }
  expect_identical(compute(dvecs$double[dvecs$logical]), xd[xl])
  expect_identical(compute(dvecs$logical[dvecs$logical]), xl[xl])
  m <- matrix(xd[1:10], 2)
  dm <- as_dask_array(m, chunks = c(1, 3))
  expect_identical(compute(dm[dm > 1]), m[m > 1])
  ml <- matrix(xl[1:10], 2)
  expect_identical(compute(dm[ml]), m[ml]) # an R logical matrix with NA
  vn <- c(a = 1, b = NA, c = 3)
  dn <- as_dask_array(vn)
  names(dn) <- names(vn)
  expect_identical(compute(dn[dn > 2]), vn[vn > 2]) # names NA where the mask is
  # R index vectors with NA: NA there.
  for (a in names(vecs)) {
    expect_identical(compute(dvecs[[a]][xl]), vecs[[a]][xl], info = a)
    expect_identical(compute(dvecs[[a]][c(2, NA, 1)]), vecs[[a]][c(2, NA, 1)], info = a)
  }
  expect_identical(compute(dn[c(NA, 3)]), vn[c(NA, 3)])
  mm <- matrix(xd[1:6], 2, dimnames = list(c("r", "s"), c("u", "v", "w")))
  dmm <- as_dask_array(mm)
  dimnames(dmm) <- dimnames(mm)
  expect_identical(compute(dmm[c(2, NA), ]), mm[c(2, NA), ])
  expect_identical(compute(dmm[, c(TRUE, NA, FALSE)]), mm[, c(TRUE, NA, FALSE)])
  expect_identical(compute(dmm[c(1, NA, 5)]), mm[c(1, NA, 5)])
  ml <- mm > 0
  dml <- dmm > 0
  expect_identical(compute(dml[NA_integer_, ]), ml[NA_integer_, ])
})

test_that("x[mask] <- value with NA in the mask: R's rules (skipped for one value, else an error)", {
  m <- matrix(xd[1:10], 2)
  dm <- as_dask_array(m, chunks = c(1, 3))
  ml <- matrix(xl[1:10], 2)
  # A single value: elements where the mask is NA are left alone.
  d1 <- dm
  d1[d1 > 1] <- 0
  m1 <- m
  m1[m1 > 1] <- 0
  expect_identical(compute(d1), m1)
  d1 <- dm
  d1[ml] <- -5
  m1 <- m
  m1[ml] <- -5
  expect_identical(compute(d1), m1)
  # A longer value: R's error.
  msg <- tryCatch({ m2 <- m; m2[m2 > 1] <- m2 * 2 }, error = conditionMessage)
  expect_error({ d2 <- dm; d2[d2 > 1] <- dm * 2 }, msg, fixed = TRUE, class = "dask_error")
  expect_error({ d2 <- dm; d2[ml] <- dm * 2 }, msg, fixed = TRUE, class = "dask_error")
  # Positions with NA: skipped for one value, an error for more.
  x <- xd
  dx <- dvecs$double
  x[c(1, NA, 3)] <- 0
  dx[c(1, NA, 3)] <- 0
  expect_identical(compute(dx), x)
  x[c(TRUE, NA, FALSE)] <- -1
  dx[c(TRUE, NA, FALSE)] <- -1
  expect_identical(compute(dx), x)
  msg <- tryCatch({ y <- xd; y[c(1, NA)] <- 1:2 }, error = conditionMessage)
  expect_error({ dy <- dvecs$double; dy[c(1, NA)] <- 1:2 }, msg, fixed = TRUE, class = "dask_error")
  mi <- matrix(1:6, 2)
  dmi <- as_dask_array(mi)
  mi[c(1, NA), 2] <- 0L
  dmi[c(1, NA), 2] <- 0L
  expect_identical(compute(dmi), mi)
  d2 <- dm
  d2[!is.na(d2) & d2 > 1] <- 0 # no NA in this mask
  m2 <- m
  m2[!is.na(m2) & m2 > 1] <- 0
  expect_identical(compute(d2), m2)
  d3 <- dm
  d3[is.na(d3)] <- -1
  m3 <- m
  m3[is.na(m3)] <- -1
  expect_identical(compute(d3), m3)
  # NA as the value: R's NA of the array's type.
  for (a in names(vecs)) {
    x <- vecs[[a]]
    dx <- dvecs[[a]]
    x[2:4] <- NA
    dx[2:4] <- NA
    expect_identical(compute(dx), x, info = a)
    y <- vecs[[a]]
    dy <- dvecs[[a]]
    y[c(TRUE, FALSE)] <- NA
    dy[as_dask_array(c(TRUE, FALSE)[rep(1:2, length.out = length(y))])] <- NA
    expect_identical(compute(dy), y, info = a)
  }
  l <- c(TRUE, FALSE, TRUE)
  dl <- as_dask_array(l)
  dl[2] <- NA
  l[2] <- NA
  expect_identical(compute(dl), l)
})

test_that("dask_where gives NA where the test is NA, like ifelse", {
  dx <- dvecs$double
  expect_identical(compute(dask_where(dx > 2, dx, 0)), ifelse(xd > 2, xd, 0))
  expect_identical(compute(dask_where(dvecs$logical, 1L, 0L)), ifelse(xl, 1L, 0L))
  expect_identical(compute(dask_where(dvecs$logical, TRUE, FALSE)), ifelse(xl, TRUE, FALSE))
  expect_identical(compute(dask_where(dvecs$integer, 1, -1)), ifelse(xi, 1, -1))
  expect_identical(compute(dask_where(is.na(dx), 0, dx)), ifelse(is.na(xd), 0, xd))
})

test_that("partial reductions, pmax/pmin, which.max/min, c, cbind and %in% keep NA as R", {
  mi <- matrix(xi[1:10], 2)
  ml <- matrix(xl[1:10], 2)
  dmi <- as_dask_array(mi, chunks = c(1, 2))
  dml <- as_dask_array(ml, chunks = c(2, 2))
  for (narm in c(FALSE, TRUE)) {
    expect_identical(compute(colSums(dmi, na.rm = narm)), colSums(mi, na.rm = narm))
    expect_identical(compute(rowSums(dml, na.rm = narm)), rowSums(ml, na.rm = narm))
    expect_identical(compute(colMeans(dml, na.rm = narm)), colMeans(ml, na.rm = narm))
  }
  for (narm in c(FALSE, TRUE)) {
    expect_identical(compute(dask_pmax(dvecs$integer, 2L, na.rm = narm)), pmax(xi, 2L, na.rm = narm))
    expect_identical(compute(dask_pmin(dvecs$integer, rev(xi), na.rm = narm)), pmin(xi, rev(xi), na.rm = narm))
    expect_identical(compute(dask_pmax(dvecs$logical, FALSE, na.rm = narm)), pmax(xl, FALSE, na.rm = narm))
    expect_identical(compute(dask_pmax(dvecs$integer, dvecs$double, na.rm = narm)), pmax(xi, xd, na.rm = narm))
  }
  for (a in names(vecs)) {
    expect_identical(dask_which_max(dvecs[[a]]), which.max(vecs[[a]]), info = a)
    expect_identical(dask_which_min(dvecs[[a]]), which.min(vecs[[a]]), info = a)
  }
  expect_identical(compute(c(dvecs$integer, dvecs$double)), c(xi, xd))
  expect_identical(compute(c(dvecs$logical, dvecs$integer)), c(xl, xi))
  expect_identical(compute(c(dvecs$logical, NA, TRUE)), c(xl, NA, TRUE))
  expect_identical(compute(cbind(dmi, ml)), cbind(mi, ml))
  expect_identical(compute(rbind(dml, ml)), rbind(ml, ml))
  expect_identical(compute(dask_in(dvecs$integer, c(1, 3))), xi %in% c(1, 3))
  expect_identical(compute(dask_in(dvecs$double, c(1, 3))), xd %in% c(1, 3))
  expect_identical(compute(dask_in(dvecs$logical, TRUE)), xl %in% TRUE)
  expect_identical(compute(dask_in(dvecs$integer, c(1.5, -2))), xi %in% c(1.5, -2))
  expect_identical(compute(dask_in(dvecs$integer, NA)), xi %in% NA)
  mm <- matrix(c(1L, NA, 3L, 4L), 2)
  expect_identical(compute(as_dask_array(mm) %*% mm), mm %*% mm)
  expect_identical(compute(t(dml)), t(ml))
  expect_identical(compute(dml[2, ]), ml[2, ])
  expect_identical(dml[[1, 2]], ml[[1, 2]])
})

test_that("R logicals are three-valued arrays: creation and conversion", {
  expect_identical(compute(dask_full(3, NA, "logical")), rep(NA, 3))
  expect_identical(compute(dask_full(c(2, 2), NA, "integer")), matrix(NA_integer_, 2, 2))
  expect_identical(compute(astype(dvecs$double, "integer")), suppressWarnings(as.integer(xd)))
  expect_identical(compute(astype(dvecs$integer, "logical")), as.logical(xi))
  expect_identical(compute(astype(dvecs$double, "logical")), as.logical(xd))
  expect_identical(compute(astype(dvecs$logical, "double")), as.double(xl))
  expect_identical(compute(astype(dvecs$integer, "double")), as.double(xi))
  expect_identical(as.vector(dvecs$logical), xl)
  expect_identical(compute(persist(dvecs$logical)), xl)
  expect_identical(compute(rechunk(dvecs$logical, 5)), xl)
  l <- as_dask_array(c(a = TRUE, b = NA))
  names(l) <- c("a", "b")
  expect_identical(compute(!l), !c(a = TRUE, b = NA))
})

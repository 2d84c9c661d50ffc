# dim(), predicates, and dimnames/names kept as base R keeps them.
mn <- matrix(as.double(1:12), 3, 4, dimnames = list(c("a", "b", "c"), c("w", "x", "y", "z")))
dmn <- local({ d <- as_dask_array(mn); dimnames(d) <- dimnames(mn); d })
vn <- c(p = 1.5, q = -2, r = 3)
dvn <- local({ d <- as_dask_array(vn); names(d) <- names(vn); d })

test_that("dim() and length() are integers, as base R's", {
  expect_identical(dim(dm), dim(m))
  expect_identical(dim(da3), dim(a3))
  expect_identical(dim(dv), dim(v))
  expect_identical(length(dv), length(v))
  expect_identical(nrow(dm), nrow(m))
  expect_identical(ncol(dm), ncol(m))
})

test_that("is.numeric, is.array and is.matrix say what base R says of the computed value", {
  l <- m > 0.5
  for (pair in list(list(dm, m), list(dv, v), list(da3, a3), list(dmi, mi),
                    list(as_dask_array(l), l), list(dask_lazy(sum(dm)), sum(m)))) {
    expect_identical(is.numeric(pair[[1]]), is.numeric(pair[[2]]))
    expect_identical(is.array(pair[[1]]), is.array(pair[[2]]))
    expect_identical(is.matrix(pair[[1]]), is.matrix(pair[[2]]))
  }
})

test_that("dimnames and names are set, read and computed with the values", {
  expect_identical(dimnames(dmn), dimnames(mn))
  expect_identical(rownames(dmn), rownames(mn))
  expect_identical(colnames(dmn), colnames(mn))
  expect_identical(compute(dmn), mn)
  expect_identical(as.matrix(dmn), as.matrix(mn))
  expect_identical(names(dvn), names(vn))
  expect_identical(compute(dvn), vn)
  expect_null(names(dmn))
  expect_null(dimnames(as_dask_array(mn))) # the original handle is unchanged
  d2 <- dmn
  dimnames(d2) <- NULL
  expect_identical(compute(d2), unname(mn))
  expect_identical(dimnames(dmn), dimnames(mn)) # copy-on-modify: dmn keeps its names
  m2 <- mn
  dimnames(m2) <- list(NULL, letters[1:4])
  d3 <- dmn
  dimnames(d3) <- list(NULL, letters[1:4])
  expect_identical(compute(d3), m2)
  v2 <- vn
  names(v2) <- c("x", "y") # shorter names are padded with NA
  dv2 <- dvn
  names(dv2) <- c("x", "y")
  expect_identical(compute(dv2), v2)
  expect_error(dimnames(dm) <- list(1:3), class = "dask_error", regexp = "must match")
  expect_error(dimnames(dmn) <- list(1:2, NULL), class = "dask_error", regexp = "not equal to array extent")
})

test_that("operations keep dimnames where base R keeps them", {
  expect_identical(compute(dmn * 2 + 1), mn * 2 + 1)
  expect_identical(compute(2 - dmn), 2 - mn)
  expect_identical(compute(-dmn), -mn)
  expect_identical(compute(dmn > 5), mn > 5)
  expect_equal(compute(exp(dmn)), exp(mn))
  expect_equal(compute(sqrt(dvn + 3)), sqrt(vn + 3))
  expect_identical(compute(is.na(dmn)), is.na(mn))
  expect_identical(compute(dmn + dmn), mn + mn)
  expect_identical(compute(dmn + unname(mn)), mn + unname(mn))
  expect_identical(compute(unname(mn) + dmn), unname(mn) + mn)
  expect_identical(compute(dvn * c(1, 2, 3)), vn * c(1, 2, 3))
  expect_identical(compute(t(dmn)), t(mn))
  expect_identical(compute(t(dvn)), t(vn))
  expect_identical(compute(dmn[2:3, ]), mn[2:3, ])
  expect_identical(compute(dmn[2, ]), mn[2, ])
  expect_identical(compute(dmn[, "x"]), mn[, "x"])
  expect_identical(compute(dmn[c("c", "a"), c("z", "w")]), mn[c("c", "a"), c("z", "w")])
  expect_identical(compute(dmn[2, 3]), mn[2, 3])
  expect_identical(compute(dmn[2, 3, drop = FALSE]), mn[2, 3, drop = FALSE])
  expect_identical(compute(dvn[c("r", "p")]), vn[c("r", "p")])
  expect_identical(compute(dvn[-1]), vn[-1])
  expect_identical(compute(dvn[dvn > 0]), vn[vn > 0])
  expect_identical(compute(dmn[5:7]), mn[5:7])
  expect_identical(compute(cumsum(dvn)), cumsum(vn))
  expect_identical(compute(cumsum(dmn)), cumsum(mn))
  expect_identical(compute(round(dmn / 7, 2)), round(mn / 7, 2))
  expect_identical(compute(colSums(dmn)), colSums(mn))
  expect_identical(compute(rowMeans(dmn)), rowMeans(mn))
  expect_identical(compute(dmn %*% t(dmn)), mn %*% t(mn))
  mi2 <- matrix(1:6, 2, dimnames = list(c("a", "b"), NULL))
  di2 <- as_dask_array(mi2)
  dimnames(di2) <- dimnames(mi2)
  di2[1, 2] <- 0.5 # the type widens; the labels stay
  mi2[1, 2] <- 0.5
  expect_identical(compute(di2), mi2)
  di3 <- di2
  di3[di3 > 3] <- 0
  mi3 <- mi2
  mi3[mi3 > 3] <- 0
  expect_identical(compute(di3), mi3)
  expect_identical(compute(dask_pmax(dmn, 5)), pmax(mn, 5))
  expect_identical(compute(aperm(dmn)), aperm(mn))
})

test_that("dim<- reshapes lazily in R's order and drops dimnames", {
  x <- dm
  dim(x) <- c(400, 600)
  y <- m
  dim(y) <- c(400, 600)
  expect_identical(compute(x), y)
  expect_identical(dim(x), dim(y))
  x <- da3
  dim(x) <- c(24, 70)
  y <- a3
  dim(y) <- c(24, 70)
  expect_identical(compute(x), y)
  x <- dmn
  dim(x) <- NULL
  y <- mn
  dim(y) <- NULL
  expect_identical(compute(x), y)
  x <- dv
  dim(x) <- c(10, 100)
  y <- v
  dim(y) <- c(10, 100)
  expect_identical(compute(x), y)
  x <- dmn
  dim(x) <- c(4, 3)
  y <- mn
  dim(y) <- c(4, 3)
  expect_identical(compute(x), y)
  expect_error({ x <- dm; dim(x) <- c(7, 7) }, class = "dask_error",
               regexp = tryCatch({ y <- m; dim(y) <- c(7, 7) }, error = function(e) "dims \\[product 49\\]"))
})

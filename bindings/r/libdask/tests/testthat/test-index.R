test_that("slices, single positions and drop follow R", {
  expect_identical(as.matrix(dm[1:10, ]), m[1:10, ])
  expect_identical(as.matrix(dm[, 5:60]), m[, 5:60])
  expect_identical(as.matrix(dm[seq(2, 600, by = 7), seq(400, 1, by = -3)]), m[seq(2, 600, by = 7), seq(400, 1, by = -3)])
  expect_identical(as.vector(dm[3, ]), m[3, ])
  expect_identical(as.vector(dm[, 3]), m[, 3])
  expect_identical(as.vector(dm[3, 4]), m[3, 4])
  expect_identical(as.matrix(dm[3, , drop = FALSE]), m[3, , drop = FALSE])
  expect_identical(as.vector(dv[100:1]), v[100:1])
  expect_identical(as.array(da3[2:5, , 3]), a3[2:5, , 3])
  expect_identical(as.array(da3[, 2, ]), a3[, 2, ])
})

test_that("other index vectors (unordered, negative, logical) are takes", {
  i <- c(5, 1, 100, 2, 2)
  expect_identical(as.matrix(dm[i, ]), m[i, ])
  expect_identical(as.matrix(dm[-(1:590), -1]), m[-(1:590), -1])
  keep <- rep(c(TRUE, FALSE, FALSE), length.out = 400)
  expect_identical(as.matrix(dm[1:4, keep]), m[1:4, keep])
  expect_identical(as.vector(dv[c(10, 3, 7)]), v[c(10, 3, 7)])
  expect_identical(as.vector(dm[c(1, 601, 240000)]), m[c(1, 601, 240000)]) # linear positions
  expect_error(dm[601, 1], class = "dask_error", regexp = "out of bounds")
  expect_error(dm[1, 2, 3], class = "dask_error", regexp = "dimensions")
})

test_that("masks select and assign (x[x > a] and x[x < a] <- 0)", {
  expect_identical(as.vector(dm[dm > 0.9]), m[m > 0.9])
  expect_identical(as.vector(dm[m > 0.9]), m[m > 0.9]) # an R logical matrix as the mask
  y <- dm
  y[y < 0.9] <- 0
  m2 <- m
  m2[m2 < 0.9] <- 0
  expect_identical(as.matrix(y), m2)
  expect_equal(compute(sum(y != 0)), sum(m2 != 0))
  expect_identical(as.matrix(dm), m) # the original is unchanged
  z <- dm
  z[dm > 0.5] <- dm * 2
  m3 <- m
  m3[m > 0.5] <- (m * 2)[m > 0.5]
  expect_equal(as.matrix(z), m3)
})

test_that("a coordinate matrix selects elements, as in R", {
  i <- cbind(c(1, 600, 3), c(400, 1, 5))
  expect_identical(compute(dm[i]), m[i])
  j <- cbind(c(2, 24), c(10, 1), c(7, 3))
  expect_identical(compute(da3[j]), a3[j])
})

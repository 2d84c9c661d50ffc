library(testthat)
library(libdask)

test_check("libdask")

# Reads what tests/cross/datasets.c published and publishes an R matrix for it.
library(libdask)
addr <- Sys.getenv("DASK_SCHEDULER_ADDRESS")
cl <- if (nzchar(Sys.getenv("DASK_TLS_CA"))) {
  dask_client(addr, ca = Sys.getenv("DASK_TLS_CA"), cert = Sys.getenv("DASK_TLS_CERT"), key = Sys.getenv("DASK_TLS_KEY"))
} else dask_client(addr)
check <- function(ok, what) {
  cat(if (ok) "ok  " else "FAIL", what, "\n")
  if (!ok) quit(status = 1)
}
check(all(c("from_c_f64", "from_c_i32") %in% dask_list_datasets(client = cl)), "C's datasets are listed")
f <- dask_get_dataset("from_c_f64", client = cl)
k <- dask_get_dataset("from_c_i32", client = cl)
# C's row-major 3 x 4 [i][j] = 4i + j (+ 0.5) is R's 4 x 3 matrix, column-major.
check(identical(dim(f), c(4L, 3L)), "dims reversed")
check(identical(compute(f, client = cl), matrix(0:11 + 0.5, 4, 3)), "float64 values, as R's double matrix")
check(identical(compute(k, client = cl), matrix(-6:5, 4, 3)), "int32 values, as R's integer matrix")
dask_publish(as_dask_array(matrix(as.double(1:6), 2, 3)), "from_r", client = cl)
close(cl)

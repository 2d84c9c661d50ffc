# The .Call wrappers: thin, and the only place the compiled routines are named. Shapes, axes
# and chunks here are in the library's (row-major) order; the callers reverse R's dims.
#
# R logicals: an int32 array holding 0, 1 and INT32_MIN (NA), R's own layout of logical
# vectors, marked on its R handle by the attribute "dask_logical" (R metadata, like the
# dimnames: set only on new handles). Operations that keep the elements (reshape, slice,
# take, transpose, rechunk, persist, select, masked assignment, and joins of logicals) keep
# the mark; compute() gives a logical vector for a marked array.
.is_lgl <- function(x) isTRUE(attr(x, "dask_logical", exact = TRUE))
.mark <- function(r, logical = TRUE) {
  if (logical) attr(r, "dask_logical") <- TRUE
  r
}
dc_close <- function(x) .Call(C_dk_close, x)
dc_is_closed <- function(x) .Call(C_dk_is_closed, x)
dc_live <- function() .Call(C_dk_live_counts)
dc_version <- function() .Call(C_dk_version)
dc_compute <- function(client, x) .Call(C_dk_compute, client, x, .is_lgl(x))
dc_persist <- function(client, x) .mark(.Call(C_dk_persist, client, x), .is_lgl(x))
dc_from_r <- function(x, chunks) .mark(.Call(C_dk_from_r, x, chunks), is.logical(x))
dc_make <- function(kind, shape, chunks, seed, a, b, dtype)
  .Call(C_dk_make, kind, shape, chunks, seed, a, b, dtype)
dc_info <- function(x) .Call(C_dk_info, x)
dc_meta <- function(x) .Call(C_dk_meta, x)
dc_ufunc <- function(name, args) .Call(C_dk_ufunc, name, args)
dc_reduce <- function(x, op, axes, keepdims, ddof) .Call(C_dk_reduce, x, op, axes, keepdims, ddof)
dc_arg_reduce <- function(x, max) .Call(C_dk_arg_reduce, x, max)
dc_accumulate <- function(name, x, axis) .Call(C_dk_accumulate, name, x, axis)
dc_where <- function(cond, a, b) .Call(C_dk_where, cond, a, b)
dc_set_where <- function(x, mask, value) .mark(.Call(C_dk_set_where, x, mask, value), .is_lgl(x))
dc_select <- function(client, x, mask) .mark(.Call(C_dk_select, client, x, mask), .is_lgl(x))
dc_astype <- function(x, dtype) .Call(C_dk_astype, x, dtype)
# A new handle on x's elements without the logical mark (the int32 as R integers).
dc_unmark <- function(x) .Call(C_dk_reshape, x, dc_meta(x)$shape)
dc_matmul <- function(a, b) .Call(C_dk_matmul, a, b)
dc_transpose <- function(x, perm) .mark(.Call(C_dk_transpose, x, perm), .is_lgl(x))
dc_slice <- function(x, index) .mark(.Call(C_dk_slice, x, index), .is_lgl(x))
dc_take <- function(x, indices, axis) .mark(.Call(C_dk_take, x, indices, axis), .is_lgl(x))
dc_reshape <- function(x, shape) .mark(.Call(C_dk_reshape, x, shape), .is_lgl(x))
dc_rechunk <- function(x, chunks) .mark(.Call(C_dk_rechunk, x, chunks), .is_lgl(x))
dc_join <- function(arrays, axis, stack)
  .mark(.Call(C_dk_join, arrays, axis, stack), all(vapply(arrays, .is_lgl, TRUE)))
dc_client_new <- function(threads, memory_limit, spill_dir, address, tls, require_encryption, cluster)
  .Call(C_dk_client_new, threads, memory_limit, spill_dir, address, tls, require_encryption, cluster)
dc_client_default <- function() .Call(C_dk_client_default)
dc_cluster_local <- function(n_workers, threads, memory_limit, tls)
  .Call(C_dk_cluster_local, n_workers, threads, memory_limit, tls)
dc_cluster_info <- function(cluster) .Call(C_dk_cluster_info, cluster)
dc_cluster_kill <- function(cluster, index) .Call(C_dk_cluster_kill, cluster, index)
dc_publish <- function(client, x, name) .Call(C_dk_publish, client, x, name)
dc_get_dataset <- function(client, name) .Call(C_dk_get_dataset, client, name)
dc_list_datasets <- function(client) .Call(C_dk_list_datasets, client)
dc_unpublish <- function(client, name) .Call(C_dk_unpublish, client, name)
dc_client_threads <- function(client) .Call(C_dk_client_threads, client)
dc_submit <- function(client, fun, args) .Call(C_dk_submit, client, fun, args)
dc_future_value <- function(f) .Call(C_dk_future_value, f)
dc_future_resolved <- function(f) .Call(C_dk_future_resolved, f)
dc_future_status <- function(f) .Call(C_dk_future_status, f)
dc_future_cancel <- function(f) .Call(C_dk_future_cancel, f)
dc_sparse_from_csc <- function(p, i, x, nrow, ncol) .Call(C_dk_sparse_from_csc, p, i, x, nrow, ncol)
dc_sparse_from_triplets <- function(i, j, x, nrow, ncol)
  .Call(C_dk_sparse_from_triplets, i, j, x, nrow, ncol)
dc_sparse_export <- function(client, x, triplets) .Call(C_dk_sparse_export, client, x, triplets)
dc_binding_name <- function(env, obj) .Call(C_dk_binding_name, env, obj)
dc_glm_fit <- function(client, params, x, y, w) .Call(C_dk_glm_fit, client, params, x, y, w)
dc_glm_info <- function(model) .Call(C_dk_glm_info, model)
dc_glm_predict <- function(model, kind, x) .Call(C_dk_glm_predict, model, kind, x)
dc_glm_score <- function(client, model, x, y) .Call(C_dk_glm_score, client, model, x, y)

"""
    LibDask

Dask's parallel-computing core (libdask, a Rust library with a C ABI) from Julia: a local
thread pool running task graphs, futures that Julia tasks await without blocking, lazy
chunked and sparse arrays whose broadcasts and reductions run as fused native kernels,
lazy tables read from Parquet.
All the work happens in the library; this package only translates.
"""
module LibDask

using Dates, Libdl, LinearAlgebra, SparseArrays, Statistics

export Client, DaskError, Future, DaskArray, default_client, submit, scatter, cancel,
       persist, chunks, memory_stats, register_op, Op, sparse_coo, coo, nbytes, tensordot,
       LocalCluster, SlurmCluster, wait_for_workers, adapt_step!, publish_dataset, get_dataset, list_datasets, unpublish_dataset,
       LogisticRegression, LinearRegression, PoissonRegression, fit, coef, intercept, classes,
       predict, predict_proba, decision_function, score, fitinfo,
       DaskTable, DaskExpr, read_parquet, write_parquet, read_csv, write_csv, col, between, select, groupby, combine

include("library.jl")

"""The raw C functions (generated from include/dask.h by gen/generate.jl)."""
module CAPI
    import ..LibDask: libdask
    include("capi.jl")
end
using .CAPI: dask_client, dask_future, dask_array, dask_value, dask_ufunc, dask_operand,
             dask_index, dask_arg, dask_config, dask_buffer_view, dask_memory_stats

include("errors.jl")
include("handles.jl")
include("hostrefs.jl")
include("values.jl")
include("client.jl")
include("futures.jl")
include("progress.jl")
include("tasks.jl")
include("arrays.jl")
include("broadcast.jl")
include("promotion.jl")
include("reductions.jl")
include("linalg.jl")
include("indexing.jl")
include("joins.jl")
include("sparse.jl")
include("cluster.jl")
include("glm.jl")
include("tables.jl")

function __init__()
    load_library()
    init_hostrefs()
    init_futures()
    init_tasks()
end

end # module

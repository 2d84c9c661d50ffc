//! C ABI: task graphs and submission (compute, submit, scatter, map).

use super::client::{dask_client, SendPtr};
use super::future::{dask_future, future_arg, future_list, put_futures};
use super::handle::{self, handle_type, Shell};
use super::op::dask_op_id;
use super::value::{dask_value, value_arg};
use super::{c_str, dask_status, guard, guard_void, out, slice};
use crate::error::{Error, Result};
use crate::runtime::{op_by_id, Arg, Graph, OpId, Operation, ProgressFn, Task, TaskId};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// A task graph under construction. Opaque. Not thread-safe: build a graph from one thread
/// at a time.
pub struct dask_graph(Shell<Graph>);
handle_type!(dask_graph, Graph, 0x6461_736b_6772_6170, "dask_graph");

/// Kinds of task argument (`dask_arg.kind`).
#[allow(non_camel_case_types)]
pub type dask_arg_kind = u32;
/// A literal value (`dask_arg.value`; the task keeps its own reference).
pub const DASK_ARG_VALUE: dask_arg_kind = 1;
/// The result of the task of this graph with index `dask_arg.task`.
pub const DASK_ARG_TASK: dask_arg_kind = 2;
/// The result of the task of this graph with key `dask_arg.key` (resolved at compute time).
pub const DASK_ARG_KEY: dask_arg_kind = 3;
/// The result of an earlier future (`dask_arg.future`), e.g. scattered data.
pub const DASK_ARG_FUTURE: dask_arg_kind = 4;

/// One task argument; set `kind` and the matching field, leave the others zero.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_arg {
    pub kind: dask_arg_kind,
    pub task: usize,
    pub key: *const c_char,
    pub value: *const dask_value,
    pub future: *const dask_future,
}

/// Reports progress: `done` of `total` tasks finished. Called from pool threads, serialised,
/// at most ~1000 times per computation, the last time with `done == total`. Once every output
/// future of the computation is done (or `dask_future_cancel` returned for the ones cancelled),
/// no further call is made, so `ctx` may be freed then; futures freed before they are done
/// leave their running tasks to finish later: keep `ctx` until `dask_client_free` in that case.
#[allow(non_camel_case_types)]
pub type dask_progress_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, done: usize, total: usize)>;

fn progress_of(f: dask_progress_fn, ctx: *mut c_void) -> Option<ProgressFn> {
    let ctx = SendPtr(ctx);
    f.map(|f| {
        Arc::new(move |done, total| {
            let ctx = &ctx;
            // SAFETY: the caller promised a function callable from pool threads with `ctx`.
            unsafe { f(ctx.0, done, total) }
        }) as ProgressFn
    })
}

fn operation(op: dask_op_id) -> Result<Operation> {
    Ok(Operation::Registered(op_by_id(OpId(op))?))
}

/// Converts C arguments; `allow_deps` is false where no graph exists (single submit).
///
/// # Safety
/// `args` holds `n` valid `dask_arg`s whose pointers are valid.
unsafe fn convert_args(args: *const dask_arg, n: usize, allow_deps: bool) -> Result<Vec<Arg>> {
    // SAFETY: per the contract.
    let args = unsafe { slice(args, n, "args") }?;
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let arg = match a.kind {
                // SAFETY: per the contract.
                DASK_ARG_VALUE => Arg::Value(unsafe { value_arg(a.value) }?.clone()),
                DASK_ARG_FUTURE => Arg::Future(unsafe { future_arg(a.future) }?.clone()),
                DASK_ARG_TASK if allow_deps => {
                    Arg::Task(TaskId(u32::try_from(a.task).map_err(|_| {
                        Error::invalid(format!("args[{i}].task is out of range"))
                    })?))
                }
                DASK_ARG_KEY if allow_deps => Arg::Key(unsafe { c_str(a.key, "key") }?.into()),
                DASK_ARG_TASK | DASK_ARG_KEY => {
                    return Err(Error::invalid(format!(
                        "args[{i}] refers to a graph task, but there is no graph here: use a future"
                    )))
                }
                k => {
                    return Err(Error::invalid(format!(
                        "args[{i}].kind {k} is not a DASK_ARG_* kind"
                    )))
                }
            };
            Ok(arg)
        })
        .collect()
}

/// Creates an empty graph, owned by the caller (`dask_graph_free`). Any thread.
///
/// # Safety
/// `out_graph` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_graph_new(out_graph: *mut *mut dask_graph) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_graph, "out_graph") }?;
        *slot = handle::new_handle(Graph::new());
        Ok(())
    })
}

/// Frees a graph (and the references its tasks hold). NULL is a no-op. Ownership of the graph ends
/// here; the value and future handles the caller passed as arguments stay owned by the caller.
/// Any thread, but not while another thread uses the graph.
///
/// # Safety
/// `graph` is NULL or a graph handle not in use elsewhere.
#[no_mangle]
pub unsafe extern "C" fn dask_graph_free(graph: *mut dask_graph) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(graph) })
}

/// Adds a task: operation `op` applied to `n_args` arguments. `key` (copied) may be NULL for
/// an anonymous task; keys are unique within a graph. The task's index (for `DASK_ARG_TASK`
/// and the outputs of `dask_client_compute`) goes to `*out_index` (may be NULL). Arguments
/// are referenced, not copied; the caller keeps its own handles. Build a graph from
/// one thread at a time (different graphs may be built on different threads at once).
///
/// # Safety
/// `graph` is a live graph; `args` holds `n_args` valid arguments; `key` is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn dask_graph_add_task(
    graph: *mut dask_graph,
    key: *const c_char,
    op: dask_op_id,
    args: *const dask_arg,
    n_args: usize,
    out_index: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let g = unsafe { handle::get_mut(graph) }?;
        let task = Task::new(operation(op)?, unsafe { convert_args(args, n_args, true) }?);
        let id = if key.is_null() {
            g.add(task)
        } else {
            g.add_keyed(unsafe { c_str(key, "key") }?, task)?
        };
        if let Some(slot) = unsafe { out_index.as_mut() } {
            *slot = id.index();
        }
        Ok(())
    })
}

/// The index of the task with `key` (`DASK_ERR_NOT_FOUND` if none). `key` is read during the call
/// only; writes `*out_index` only, nothing to free. Use a graph from one thread at a time.
///
/// # Safety
/// `graph` is a live graph; `key` a string; `out_index` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_graph_index_of(
    graph: *const dask_graph,
    key: *const c_char,
    out_index: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let g = unsafe { handle::get(graph) }?;
        let key = unsafe { c_str(key, "key") }?;
        let id = g
            .id_of(key)
            .ok_or_else(|| Error::NotFound(format!("no task with key '{key}' in the graph")))?;
        *unsafe { out(out_index, "out_index") }? = id.index();
        Ok(())
    })
}

/// The number of tasks in the graph. Writes `*out_len` only; nothing to free. Use a graph from
/// one thread at a time.
///
/// # Safety
/// `graph` is a live graph; `out_len` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_graph_len(
    graph: *const dask_graph,
    out_len: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        *unsafe { out(out_len, "out_len") }? = unsafe { handle::get(graph) }?.len();
        Ok(())
    })
}

/// Attaches a progress callback to the computation of this graph (NULL `fn` removes it);
/// see `dask_progress_fn` for how long `ctx` must stay valid. `fn` and `ctx` are kept by the
/// graph, and its computation (`dask_client_compute`) takes them over; `fn` is then called from
/// pool threads. Use a graph from one thread at a time.
///
/// # Safety
/// `graph` is a live graph; `fn` is NULL or callable from pool threads with `ctx`.
#[no_mangle]
pub unsafe extern "C" fn dask_graph_set_progress(
    graph: *mut dask_graph,
    func: dask_progress_fn,
    ctx: *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let g = unsafe { handle::get_mut(graph) }?;
        match progress_of(func, ctx) {
            Some(p) => g.set_progress(p),
            None => g.clear_progress(),
        }
        Ok(())
    })
}

/// Computes the graph's tasks needed for `outputs` (task indices; the rest is culled) and
/// writes one new future per output to `out_futures` (an array of `n_outputs`, each owned by
/// the caller). The graph's tasks move into the computation: the graph is empty afterwards,
/// also on error, and may be reused or freed. A cycle, a missing key or a bad output index is
/// reported (`DASK_ERR_GRAPH`) before anything runs. Thread-safe for the client.
///
/// # Safety
/// `client` and `graph` are live; `outputs` holds `n_outputs` indices; `out_futures` has room
/// for `n_outputs` pointers.
#[no_mangle]
pub unsafe extern "C" fn dask_client_compute(
    client: *const dask_client,
    graph: *mut dask_graph,
    outputs: *const usize,
    n_outputs: usize,
    out_futures: *mut *mut dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        // Taken first, so the graph is empty afterwards whatever fails below.
        let g = std::mem::take(unsafe { handle::get_mut(graph) }?);
        let outs = unsafe { slice(outputs, n_outputs, "outputs") }?;
        if n_outputs > 0 && out_futures.is_null() {
            return Err(Error::NullArgument("out_futures is NULL".into()));
        }
        let ids = outs
            .iter()
            .map(|&o| {
                u32::try_from(o)
                    .map(TaskId)
                    .map_err(|_| Error::Graph(format!("output {o} is out of range")))
            })
            .collect::<Result<Vec<_>>>()?;
        let futures = c.compute(g, &ids)?;
        // SAFETY: per the contract, room for `n_outputs` pointers.
        unsafe { put_futures(futures, out_futures) };
        Ok(())
    })
}

/// Submits one task (`args` may be values or futures) and writes its future (owned by the
/// caller). Thread-safe.
///
/// # Safety
/// `client` is live; `args` holds `n_args` valid arguments; `out_future` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_submit(
    client: *const dask_client,
    op: dask_op_id,
    args: *const dask_arg,
    n_args: usize,
    out_future: *mut *mut dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let slot = unsafe { out(out_future, "out_future") }?;
        let task = Task::new(operation(op)?, unsafe {
            convert_args(args, n_args, false)
        }?);
        *slot = handle::new_handle(c.submit(task)?);
        Ok(())
    })
}

/// Puts a value into the client's store once and writes a future on it (owned by the
/// caller); tasks given that future read the value by reference, never a copy. The caller
/// keeps its own value handle. Thread-safe.
///
/// # Safety
/// `client` and `value` are live; `out_future` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_scatter(
    client: *const dask_client,
    value: *const dask_value,
    out_future: *mut *mut dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let v = unsafe { value_arg(value) }?.clone();
        let slot = unsafe { out(out_future, "out_future") }?;
        *slot = handle::new_handle(c.scatter(v)?);
        Ok(())
    })
}

/// Runs `op(item, shared[0], …, shared[n_shared-1])` for each of the `n_items` items in
/// parallel and writes one future per item to `out_futures` (array of `n_items`, owned by
/// the caller). Shared futures (e.g. scattered arrays) are passed by reference to every task,
/// never copied. `progress` (may be NULL) reports items finished. Thread-safe.
///
/// # Safety
/// `client` is live; `items` holds `n_items` values; `shared` holds `n_shared` futures;
/// `out_futures` has room for `n_items` pointers; `progress` is NULL or callable from pool
/// threads with `progress_ctx` (valid as `dask_progress_fn` says).
#[no_mangle]
pub unsafe extern "C" fn dask_client_map(
    client: *const dask_client,
    op: dask_op_id,
    items: *const *const dask_value,
    n_items: usize,
    shared: *const *const dask_future,
    n_shared: usize,
    progress: dask_progress_fn,
    progress_ctx: *mut c_void,
    out_futures: *mut *mut dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let items = unsafe { slice(items, n_items, "items") }?
            .iter()
            .map(|&v| unsafe { value_arg(v) }.cloned())
            .collect::<Result<Vec<_>>>()?;
        let shared = unsafe { future_list(shared, n_shared) }?;
        if n_items > 0 && out_futures.is_null() {
            return Err(Error::NullArgument("out_futures is NULL".into()));
        }
        let futures = c.map(
            &operation(op)?,
            items,
            &shared,
            progress_of(progress, progress_ctx),
        )?;
        // SAFETY: per the contract, room for `n_items` pointers.
        unsafe { put_futures(futures, out_futures) };
        Ok(())
    })
}

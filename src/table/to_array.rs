//! Numeric columns of a table as a chunked 2-D dense array (rows × columns), the input of the
//! GLMs: one row block per partition, so the array's row chunks follow the partitions.
//!
//! Partition sizes are often unknown until computed (after a filter), and an array needs its
//! chunks, so `to_array` computes the blocks now, as Dask's `to_dask_array(lengths=True)`
//! does, and the array holds them in the store (where they spill like any block); only
//! the row counts come back to the caller.
//!
//! Types follow NumPy: the columns' common type unless one is asked for. A null becomes NaN
//! in a float array; an integer or boolean array cannot hold one, so it is an error naming
//! the column, as is a value the asked type cannot hold.

use super::lazy::{Node, NodeArg};
use super::Table;
use crate::array::{Array, Chunks};
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, Client, OpDef, Operation, Task};
use crate::value::{register_params, Buffer, DType, Element, Params, ParamsWriter, Value, B8};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array as _, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_schema::DataType;
use std::sync::{Arc, LazyLock};

/// The dtype an array holds a column of type `t` in (`None`: not a number).
pub(crate) fn dtype_of(t: &DataType) -> Option<DType> {
    Some(match t {
        DataType::Boolean => DType::Bool,
        DataType::Int8 => DType::Int8,
        DataType::Int16 => DType::Int16,
        DataType::Int32 => DType::Int32,
        DataType::Int64 => DType::Int64,
        DataType::UInt8 => DType::UInt8,
        DataType::UInt16 => DType::UInt16,
        DataType::UInt32 => DType::UInt32,
        DataType::UInt64 => DType::UInt64,
        DataType::Float32 => DType::Float32,
        DataType::Float64 => DType::Float64,
        _ => return None,
    })
}

/// What a `table.to_block` task makes: `columns` as a block of `dtype`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlockParams {
    pub columns: Vec<String>,
    pub dtype: DType,
}

impl Params for BlockParams {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.to_block"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.usize(self.columns.len());
        self.columns.iter().for_each(|c| w.str(c));
        w.dtype(self.dtype);
    }
}

/// Column `values` (already of `T`'s Arrow type) into column `j` of the row-major `out`
/// with `ncols` columns; a null is `null` or, without one, an error.
fn fill<T: ArrowPrimitiveType, E: Element>(
    out: &mut [E],
    ncols: usize,
    j: usize,
    values: &ArrayRef,
    convert: impl Fn(T::Native) -> E,
    null: Option<E>,
) -> std::result::Result<(), usize> {
    let a = values.as_primitive::<T>();
    for (i, v) in a.values().iter().enumerate() {
        out[i * ncols + j] = if a.is_null(i) {
            null.ok_or(i)?
        } else {
            convert(*v)
        };
    }
    Ok(())
}

/// The block of one partition.
fn to_block(p: &BlockParams, batch: &RecordBatch) -> std::result::Result<Buffer, String> {
    let rows = batch.num_rows();
    let ncols = p.columns.len();
    let mut block = Buffer::zeros(p.dtype, &[rows, ncols]).map_err(|e| e.to_string())?;
    for (j, name) in p.columns.iter().enumerate() {
        let column = batch
            .column_by_name(name)
            .ok_or_else(|| format!("no column {name:?}"))?;
        let target = match p.dtype {
            DType::Bool => DataType::Boolean,
            DType::Int8 => DataType::Int8,
            DType::Int16 => DataType::Int16,
            DType::Int32 => DataType::Int32,
            DType::Int64 => DataType::Int64,
            DType::UInt8 => DataType::UInt8,
            DType::UInt16 => DataType::UInt16,
            DType::UInt32 => DataType::UInt32,
            DType::UInt64 => DataType::UInt64,
            DType::Float32 => DataType::Float32,
            DType::Float64 => DataType::Float64,
        };
        let cast =
            arrow_cast::cast(column, &target).map_err(|e| format!("column {name:?}: {e}"))?;
        if cast.null_count() > column.null_count() {
            return Err(format!(
                "column {name:?} holds values a {} array cannot hold",
                p.dtype.name()
            ));
        }
        let res = match p.dtype {
            DType::Bool => {
                let b = cast.as_boolean();
                let out = block.as_mut_slice::<B8>().map_err(|e| e.to_string())?;
                (0..rows).try_for_each(|i| {
                    if b.is_null(i) {
                        return Err(i);
                    }
                    out[i * ncols + j] = B8(b.value(i) as u8);
                    Ok(())
                })
            }
            DType::Int8 => fill::<Int8Type, i8>(slice(&mut block)?, ncols, j, &cast, |v| v, None),
            DType::Int16 => {
                fill::<Int16Type, i16>(slice(&mut block)?, ncols, j, &cast, |v| v, None)
            }
            DType::Int32 => {
                fill::<Int32Type, i32>(slice(&mut block)?, ncols, j, &cast, |v| v, None)
            }
            DType::Int64 => {
                fill::<Int64Type, i64>(slice(&mut block)?, ncols, j, &cast, |v| v, None)
            }
            DType::UInt8 => fill::<UInt8Type, u8>(slice(&mut block)?, ncols, j, &cast, |v| v, None),
            DType::UInt16 => {
                fill::<UInt16Type, u16>(slice(&mut block)?, ncols, j, &cast, |v| v, None)
            }
            DType::UInt32 => {
                fill::<UInt32Type, u32>(slice(&mut block)?, ncols, j, &cast, |v| v, None)
            }
            DType::UInt64 => {
                fill::<UInt64Type, u64>(slice(&mut block)?, ncols, j, &cast, |v| v, None)
            }
            DType::Float32 => {
                fill::<Float32Type, f32>(slice(&mut block)?, ncols, j, &cast, |v| v, Some(f32::NAN))
            }
            DType::Float64 => {
                fill::<Float64Type, f64>(slice(&mut block)?, ncols, j, &cast, |v| v, Some(f64::NAN))
            }
        };
        res.map_err(|i| {
            format!(
                "column {name:?} has a null (row {i} of its partition), which an array of \
                 {} cannot hold (ask for a float array: nulls become NaN)",
                p.dtype.name()
            )
        })?;
    }
    Ok(block)
}

fn slice<E: Element>(b: &mut Buffer) -> std::result::Result<&mut [E], String> {
    b.as_mut_slice::<E>().map_err(|e| e.to_string())
}

pub(crate) struct ArrayOps {
    pub block: &'static OpDef,
    pub rows: &'static OpDef,
}

static OPS: LazyLock<ArrayOps> = LazyLock::new(|| {
    register_params("table.to_block", |r| {
        let columns = (0..r.count()?)
            .map(|_| r.str().map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        let dtype = r.dtype()?;
        Ok(Arc::new(BlockParams { columns, dtype }))
    });
    ArrayOps {
        block: register_builtin("table.to_block", |inputs| {
            let (Some(p), Some(Value::Table(batch))) = (
                inputs.first().and_then(|v| v.params::<BlockParams>()),
                inputs.get(1).map(|v| &**v),
            ) else {
                return Err("table.to_block: takes its parameters and a partition".into());
            };
            to_block(p, batch).map(|b| Arc::new(Value::Buffer(b)))
        }),
        rows: register_builtin("table.block_rows", |inputs| match inputs {
            [v] => match &**v {
                Value::Buffer(b) => Ok(Arc::new(Value::Int(b.shape()[0] as i64))),
                other => Err(format!("table.block_rows: a {}", other.kind_name())),
            },
            _ => Err("table.block_rows: takes one block".into()),
        }),
    }
});

pub(crate) fn array_ops() -> &'static ArrayOps {
    &OPS
}

impl Table {
    /// Numeric (and boolean) `columns` as a 2-D array, a row block per partition, of their
    /// common type (NumPy's promotion) or `dtype`. Computed now: the blocks stay in the
    /// store, held by the array (see the module notes).
    pub fn to_array(
        &self,
        columns: &[&str],
        dtype: Option<DType>,
        client: &Client,
    ) -> Result<Array> {
        let fail = |m: String| Error::invalid(format!("to_array: {m}"));
        if columns.is_empty() {
            return Err(fail("no columns given".into()));
        }
        let mut types = Vec::new();
        for c in columns {
            let f = self
                .schema()
                .field_with_name(c)
                .map_err(|_| fail(format!("no column {c:?}")))?;
            types.push(dtype_of(f.data_type()).ok_or_else(|| {
                fail(format!(
                    "column {c:?} is {}, not a number or boolean",
                    f.data_type()
                ))
            })?);
        }
        let dtype = match dtype {
            Some(d) => d,
            None => crate::ufunc::promote::promote_all(&types)
                .ok_or_else(|| fail("the columns have no common type".into()))?,
        };
        let params = BlockParams {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            dtype,
        };
        let params = NodeArg::Value(Arc::new(Value::Params(Arc::new(params))));
        // Only those columns: a partition read from a file reads no others.
        let mut used: Vec<&str> = Vec::with_capacity(columns.len());
        for c in columns {
            if !used.contains(c) {
                used.push(c);
            }
        }
        let narrowed = self.select(&used)?;
        let inputs: Vec<NodeArg> = if self.num_partitions() == 0 {
            let empty = RecordBatch::new_empty(self.schema().clone());
            vec![NodeArg::Value(Arc::new(Value::Table(empty)))]
        } else {
            narrowed
                .parts()
                .iter()
                .map(|p| NodeArg::Node(p.node().clone()))
                .collect()
        };
        let ops = array_ops();
        let blocks: Vec<Arc<Node>> = inputs
            .into_iter()
            .map(|i| Node::new(ops.block, vec![params.clone(), i]))
            .collect();
        let (mut g, block_ids) = super::lazy::lower_all(&blocks);
        let row_ids: Vec<_> = block_ids
            .iter()
            .map(|&b| {
                g.add(Task::new(
                    Operation::Registered(ops.rows),
                    vec![crate::runtime::Arg::Task(b)],
                ))
            })
            .collect();
        let outputs: Vec<_> = block_ids.iter().chain(&row_ids).copied().collect();
        let mut futures = client.compute(g, &outputs)?;
        let counts = futures.split_off(block_ids.len());
        let rows = counts
            .iter()
            .map(|f| {
                f.result()?
                    .as_i64()
                    .map(|n| n as usize)
                    .ok_or_else(|| Error::invalid("a block's row count is not a number"))
            })
            .collect::<Result<Vec<usize>>>()?;
        let total: usize = rows.iter().sum();
        let chunks = Chunks::from_sizes(&[total, columns.len()], vec![rows, vec![columns.len()]])?;
        Array::from_futures(dtype, chunks, futures)
    }
}

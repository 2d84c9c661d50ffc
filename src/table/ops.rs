//! The table operations a partition's chain of tasks is made of (besides its source):
//! registered by name, so they run in any process the partition travels to.

use super::agg::{decode_agg, decode_distinct, AggSpec, DistinctSpec, AGG_TAG, DISTINCT_TAG};
use super::eval::evaluate_filter;
use super::expr::{decode_filter, Expr, FilterParams};
use super::reduce;
use crate::runtime::{register_builtin, OpDef};
use crate::value::{register_params, Params, ParamsWriter, Value};
use arrow_array::RecordBatch;
use std::sync::{Arc, LazyLock};

static FILTER: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.filter", decode_filter);
    register_builtin("table.filter", |inputs| {
        let (Some(FilterParams(expr)), Some(Value::Table(batch))) = (
            inputs.first().and_then(|v| v.params::<FilterParams>()),
            inputs.get(1).map(|v| &**v),
        ) else {
            return Err("table.filter: takes a filter and a table partition".into());
        };
        let keep = evaluate_filter(expr, batch).map_err(|e| format!("filter {expr}: {e}"))?;
        arrow_select::filter::filter_record_batch(batch, &keep)
            .map(|b| Arc::new(Value::Table(b)))
            .map_err(|e| format!("filter {expr}: {e}"))
    })
});

pub(crate) fn filter_op() -> &'static OpDef {
    *FILTER
}

/// A computed column (`Table::with_column`): its name and expression.
#[derive(Debug)]
pub(crate) struct WithColumnParams(pub String, pub Expr);

impl Params for WithColumnParams {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.with_column"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.str(&self.0);
        self.1.encode(w)
    }
}

/// `batch` with `name` set to `values`: replaced where it is a column, else appended.
pub(crate) fn with_column(
    batch: &RecordBatch,
    name: &str,
    values: arrow_array::ArrayRef,
) -> std::result::Result<RecordBatch, String> {
    let schema = batch.schema();
    let field = arrow_schema::Field::new(name, values.data_type().clone(), true);
    let mut fields: Vec<arrow_schema::Field> =
        schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = batch.columns().to_vec();
    match schema.index_of(name) {
        Ok(i) => {
            fields[i] = field;
            columns[i] = values;
        }
        Err(_) => {
            fields.push(field);
            columns.push(values);
        }
    }
    RecordBatch::try_new_with_options(
        Arc::new(arrow_schema::Schema::new(fields)),
        columns,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| e.to_string())
}

static WITH_COLUMN: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.with_column", |r| {
        let name = r.str()?.to_string();
        Ok(Arc::new(WithColumnParams(name, Expr::decode(r)?)))
    });
    register_builtin("table.with_column", |inputs| {
        let (Some(WithColumnParams(name, expr)), Some(Value::Table(batch))) = (
            inputs.first().and_then(|v| v.params::<WithColumnParams>()),
            inputs.get(1).map(|v| &**v),
        ) else {
            return Err("table.with_column: takes a column and a table partition".into());
        };
        let values = super::compute::evaluate(expr, batch)
            .map_err(|e| format!("column '{name}' = {expr}: {e}"))?;
        with_column(batch, name, values).map(|b| Arc::new(Value::Table(b)))
    })
});

pub(crate) fn with_column_op() -> &'static OpDef {
    *WITH_COLUMN
}

/// A partition given as a value (`Table::from_batches`): the task hands it on.
static VALUE: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_builtin("table.value", |inputs| match inputs {
        [v] if matches!(&**v, Value::Table(_)) => Ok(v.clone()),
        _ => Err("table.value: takes one table partition".into()),
    })
});

pub(crate) fn value_op() -> &'static OpDef {
    *VALUE
}

/// All partitions joined into one, in order (`Table::submit`): the rows a host collects.
static CONCAT: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_builtin("table.concat", |inputs| {
        let batches = inputs
            .iter()
            .map(|v| match &**v {
                Value::Table(b) => Ok(b.clone()),
                other => Err(format!(
                    "table.concat: takes table partitions, not {}",
                    other.kind_name()
                )),
            })
            .collect::<Result<Vec<_>, String>>()?;
        let Some(first) = batches.first() else {
            return Err("table.concat: takes at least one partition".into());
        };
        arrow_select::concat::concat_batches(&first.schema(), &batches)
            .map(table)
            .map_err(|e| format!("table.concat: {e}"))
    })
});

pub(crate) fn concat_op() -> &'static OpDef {
    *CONCAT
}

/// The first rows of a partition (`Table::head`).
#[derive(Debug)]
pub(crate) struct HeadParams(pub u64);

impl Params for HeadParams {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.head"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.u64(self.0);
    }
}

static HEAD: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.head", |r| Ok(Arc::new(HeadParams(r.u64()?))));
    register_builtin("table.head", |inputs| {
        let (HeadParams(rows), tables) = params_and_tables::<HeadParams>("table.head", inputs)?;
        let [batch] = &tables[..] else {
            return Err("table.head: takes one partition".into());
        };
        Ok(table(
            batch.slice(0, (*rows).min(batch.num_rows() as u64) as usize),
        ))
    })
});

pub(crate) fn head_op() -> &'static OpDef {
    *HEAD
}

/// Some columns of a partition, by name, in the order given (`Table::select`).
#[derive(Debug)]
pub(crate) struct SelectParams(pub Vec<String>);

impl Params for SelectParams {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.select"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.usize(self.0.len());
        self.0.iter().for_each(|c| w.str(c));
    }
}

/// The positions of `columns` in `schema`; an unknown name is an error listing the columns.
pub(crate) fn column_indices(
    schema: &arrow_schema::Schema,
    columns: &[String],
) -> Result<Vec<usize>, String> {
    columns
        .iter()
        .map(|c| {
            schema.index_of(c).map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                format!("no column {c:?} (the table has {})", names.join(", "))
            })
        })
        .collect()
}

static SELECT: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.select", |r| {
        let columns = (0..r.count()?)
            .map(|_| r.str().map(str::to_string))
            .collect::<crate::error::Result<Vec<_>>>()?;
        Ok(Arc::new(SelectParams(columns)))
    });
    register_builtin("table.select", |inputs| {
        let (SelectParams(columns), tables) =
            params_and_tables::<SelectParams>("table.select", inputs)?;
        let [batch] = &tables[..] else {
            return Err("table.select: takes one partition".into());
        };
        let idx = column_indices(&batch.schema(), columns)?;
        batch.project(&idx).map(table).map_err(|e| e.to_string())
    })
});

pub(crate) fn select_op() -> &'static OpDef {
    *SELECT
}

/// The operations of an aggregation (see `reduce`).
pub(crate) struct AggOps {
    pub partial: &'static OpDef,
    pub merge: &'static OpDef,
    pub finish: &'static OpDef,
    pub distinct: &'static OpDef,
}

/// `inputs` as the parameters of type `P` then table partitions.
fn params_and_tables<'a, P: Params>(
    op: &str,
    inputs: &'a [Arc<Value>],
) -> Result<(&'a P, Vec<RecordBatch>), String> {
    let params = inputs
        .first()
        .and_then(|v| v.params::<P>())
        .ok_or_else(|| format!("{op}: takes its parameters first"))?;
    let tables = inputs[1..]
        .iter()
        .map(|v| match &**v {
            Value::Table(b) => Ok(b.clone()),
            other => Err(format!(
                "{op}: takes table partitions, not {}",
                other.kind_name()
            )),
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((params, tables))
}

fn table(b: RecordBatch) -> Arc<Value> {
    Arc::new(Value::Table(b))
}

static AGG: LazyLock<AggOps> = LazyLock::new(|| {
    register_params(AGG_TAG, decode_agg);
    register_params(DISTINCT_TAG, decode_distinct);
    AggOps {
        partial: register_builtin("table.agg_partial", |inputs| {
            let (spec, tables) = params_and_tables::<AggSpec>("table.agg_partial", inputs)?;
            let [batch] = &tables[..] else {
                return Err("table.agg_partial: takes one partition".into());
            };
            reduce::partial(spec, batch).map(table)
        }),
        merge: register_builtin("table.agg_merge", |inputs| {
            let (spec, tables) = params_and_tables::<AggSpec>("table.agg_merge", inputs)?;
            reduce::merge(spec, &tables).map(table)
        }),
        finish: register_builtin("table.agg_final", |inputs| {
            let (spec, tables) = params_and_tables::<AggSpec>("table.agg_final", inputs)?;
            let Some((state, distinct)) = tables.split_first() else {
                return Err("table.agg_final: takes the merged state".into());
            };
            reduce::finish(spec, state, distinct).map(table)
        }),
        distinct: register_builtin("table.distinct", |inputs| {
            let (spec, tables) = params_and_tables::<DistinctSpec>("table.distinct", inputs)?;
            reduce::distinct_rows(spec, &tables).map(table)
        }),
    }
});

pub(crate) fn agg_ops() -> &'static AggOps {
    &AGG
}

pub(crate) fn register_ops() {
    let _ = filter_op();
    let _ = with_column_op();
    let _ = value_op();
    let _ = concat_op();
    let _ = head_op();
    let _ = select_op();
    let _ = agg_ops();
    let _ = super::to_array::array_ops();
    super::sort::register_ops();
}

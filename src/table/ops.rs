//! The table operations a partition's chain of tasks is made of (besides its source):
//! registered by name, so they run in any process the partition travels to.

use super::eval::evaluate_filter;
use super::expr::{decode_filter, FilterParams};
use crate::runtime::{register_builtin, OpDef};
use crate::value::{register_params, Value};
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

pub(crate) fn register_ops() {
    let _ = filter_op();
}

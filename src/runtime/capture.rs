//! Task capture: with `DASK_CAPTURE_TASKS=<dir>` in the environment, the runtime writes the
//! library tasks it runs — each as a task message with its input values, followed by its
//! result — to files in `<dir>`. `dask replay-tasks <dir>` decodes them in a fresh process,
//! runs them there and checks every result is identical: the proof that every kind of task
//! the library makes can travel to another process.
//!
//! At most `DASK_CAPTURE_PER_OP` (default 200) tasks of each operation are kept, and none
//! whose values take more than 16 MiB. Without the variable, the cost is one load per task.

use super::op::Operation;
use crate::protocol::{encode, encode_task, Compression, WireArg, WireTask};
use crate::value::Value;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock};

const MAX_VALUE_BYTES: usize = 16 << 20;

struct Capture {
    file: Mutex<std::fs::File>,
    per_op: usize,
    counts: Mutex<HashMap<String, usize>>,
}

static CAPTURE: LazyLock<Option<Capture>> = LazyLock::new(|| {
    let dir = std::env::var_os("DASK_CAPTURE_TASKS")?;
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).ok()?;
    let name = format!(
        "tasks-{}-{}.bin",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let file = std::fs::File::create(dir.join(name)).ok()?;
    let per_op = std::env::var("DASK_CAPTURE_PER_OP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    Some(Capture {
        file: Mutex::new(file),
        per_op,
        counts: Mutex::new(HashMap::new()),
    })
});

/// Records a finished library task (see the module doc); anything that cannot be encoded
/// is skipped.
pub(crate) fn record(
    op: &Operation,
    key: impl FnOnce() -> String,
    inputs: &[Arc<Value>],
    result: &Arc<Value>,
) {
    let Some(capture) = CAPTURE.as_ref() else {
        return;
    };
    let Operation::Registered(def) = op else {
        return;
    };
    if !def.is_library() {
        return;
    }
    let bytes: usize = inputs.iter().map(|v| v.nbytes()).sum::<usize>() + result.nbytes();
    if bytes > MAX_VALUE_BYTES {
        return;
    }
    {
        let mut counts = capture.counts.lock();
        let n = counts.entry(def.name().to_string()).or_default();
        if *n >= capture.per_op {
            return;
        }
        *n += 1;
    }
    let task = WireTask {
        key: key(),
        op: def.name().to_string(),
        args: inputs.iter().map(|v| WireArg::Value(v.clone())).collect(),
    };
    let (Ok(t), Ok(r)) = (
        encode_task(&task, Compression::None),
        encode(result, Compression::None).map(|e| e.to_vec()),
    ) else {
        return;
    };
    let mut file = capture.file.lock();
    let _ = file
        .write_all(&(t.len() as u64).to_le_bytes())
        .and_then(|_| file.write_all(&t))
        .and_then(|_| file.write_all(&(r.len() as u64).to_le_bytes()))
        .and_then(|_| file.write_all(&r));
}

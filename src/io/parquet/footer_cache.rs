//! Parsed footers, kept for later reads of the same files: a table's partitions, and
//! later tables over the same dataset, do not parse a footer again.
//!
//! An entry is used only when the file's footer bytes are still the very bytes it was
//! parsed from (read again each time: a few KiB from the page cache), so a file rewritten
//! in place — even at the same size within one mtime tick — is parsed afresh; comparing
//! size and mtime alone could hand out a stale footer and read the wrong bytes silently.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::ParquetMetaDataReader;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// Footer bytes held in all (the parsed form takes a few times as much); the least
/// recently used files are forgotten first. Footers are a few KiB: this keeps thousands.
const CAPACITY_BYTES: usize = 32 << 20;
/// Footers larger than this are parsed each time instead of held.
const LARGEST_HELD: usize = 4 << 20;

struct Entry {
    footer: Arc<[u8]>,
    meta: ArrowReaderMetadata,
    used: u64,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<PathBuf, Entry>,
    clock: u64,
    /// Footer bytes of all entries.
    held: usize,
}

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Default::default);

/// The footer of the open file `file` (at `path`), parsed, from the cache when its bytes
/// are unchanged.
pub(crate) fn load(path: &Path, file: &File) -> Result<ArrowReaderMetadata> {
    let at = || path.display();
    let corrupt =
        |why: String| Error::Corrupt(format!("{}: not a readable Parquet file: {why}", at()));
    let len = file
        .metadata()
        .map_err(|e| Error::Io(format!("{}: {e}", at())))?
        .len();
    if len < 12 {
        return Err(corrupt(format!(
            "{len} bytes, too short for a Parquet file"
        )));
    }
    let mut tail = [0u8; 8];
    file.read_exact_at(&mut tail, len - 8)
        .map_err(|e| Error::Io(format!("{}: {e}", at())))?;
    if &tail[4..] != b"PAR1" {
        return Err(corrupt("no Parquet magic at its end".into()));
    }
    let size = u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")) as u64;
    if size + 12 > len {
        return Err(corrupt(format!(
            "a footer of {size} bytes in a file of {len}"
        )));
    }
    let mut footer = vec![0u8; size as usize];
    file.read_exact_at(&mut footer, len - 8 - size)
        .map_err(|e| Error::Io(format!("{}: {e}", at())))?;
    {
        let mut cache = CACHE.lock();
        cache.clock += 1;
        let now = cache.clock;
        if let Some(e) = cache.entries.get_mut(path) {
            if *e.footer == *footer {
                e.used = now;
                return Ok(e.meta.clone());
            }
        }
    }
    let parsed =
        ParquetMetaDataReader::decode_metadata(&footer).map_err(|e| corrupt(e.to_string()))?;
    let meta = ArrowReaderMetadata::try_new(Arc::new(parsed), ArrowReaderOptions::new())
        .map_err(|e| corrupt(e.to_string()))?;
    if footer.len() <= LARGEST_HELD {
        let mut cache = CACHE.lock();
        if let Some(old) = cache.entries.remove(path) {
            cache.held -= old.footer.len();
        }
        while cache.held + footer.len() > CAPACITY_BYTES {
            let Some(oldest) = cache
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            if let Some(e) = cache.entries.remove(&oldest) {
                cache.held -= e.footer.len();
            }
        }
        let used = cache.clock;
        cache.held += footer.len();
        cache.entries.insert(
            path.to_path_buf(),
            Entry {
                footer: footer.into(),
                meta: meta.clone(),
                used,
            },
        );
    }
    Ok(meta)
}

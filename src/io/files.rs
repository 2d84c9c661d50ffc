//! The files a reader's `paths` name: files as given, directories searched (all levels,
//! sorted) for files of the format's extensions, and glob patterns (`data/*.csv`,
//! `logs/2024-0[1-6]/*.parquet`) expanded as a shell would. Names starting with `_` or `.`
//! (metadata, hidden and temporary files) are skipped inside directories.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A file to read and, when it was found under a directory given, that directory (the
/// directories between it and the file are hive keys).
pub(crate) type Listed = (PathBuf, Option<PathBuf>);

fn is_pattern(p: &Path) -> bool {
    p.to_string_lossy().contains(['*', '?', '['])
}

/// Lists `paths` (see the module notes); `what` names the format in errors, `extensions`
/// are the file name endings searched for in directories.
pub(crate) fn list(paths: &[PathBuf], what: &str, extensions: &[&str]) -> Result<Vec<Listed>> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() && is_pattern(p) {
            let pattern = p.to_string_lossy();
            let matches = glob::glob(&pattern)
                .map_err(|e| Error::invalid(format!("the pattern {pattern}: {e}")))?;
            let mut found = Vec::new();
            for m in matches {
                let m = m.map_err(|e| Error::Io(format!("{pattern}: {e}")))?;
                if m.is_file() {
                    found.push(m);
                }
            }
            if found.is_empty() {
                return Err(Error::NotFound(format!("{pattern}: no file matches")));
            }
            found.sort();
            files.extend(found.into_iter().map(|f| (f, None)));
            continue;
        }
        let meta =
            std::fs::metadata(p).map_err(|e| Error::NotFound(format!("{}: {e}", p.display())))?;
        if !meta.is_dir() {
            files.push((p.clone(), None));
            continue;
        }
        let mut found = Vec::new();
        let mut dirs = vec![p.clone()];
        while let Some(d) = dirs.pop() {
            let entries = std::fs::read_dir(&d)
                .map_err(|e| Error::Io(format!("cannot list {}: {e}", d.display())))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::Io(format!("{}: {e}", d.display())))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('_') || name.starts_with('.') {
                    continue;
                }
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if extensions.iter().any(|e| name.ends_with(e)) {
                    found.push(path);
                }
            }
        }
        if found.is_empty() {
            return Err(Error::NotFound(format!(
                "{}: a directory without {what} files",
                p.display()
            )));
        }
        found.sort();
        files.extend(found.into_iter().map(|f| (f, Some(p.clone()))));
    }
    if files.is_empty() {
        return Err(Error::invalid(format!("no {what} paths given")));
    }
    Ok(files)
}

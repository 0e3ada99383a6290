//! Local files and folders (recursive, sorted, with include/exclude globs).

use super::{FetchFailure, Fetched, Filter, Input};
use std::path::Path;

fn fingerprint(meta: &std::fs::Metadata) -> String {
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    format!("size={} mtime={mtime}", meta.len())
}

/// Lists the files of a path. A folder is walked recursively without following symlinks.
pub fn fetch(path: &Path, include: &[String], exclude: &[String]) -> Fetched {
    let mut out = Fetched::default();
    let uri = path.display().to_string();
    let filter = match Filter::new(include, exclude) {
        Ok(f) => f,
        Err(e) => {
            out.failures.push(FetchFailure { uri, message: format!("invalid include/exclude glob: {e}") });
            return out;
        }
    };
    if path.is_file() {
        match std::fs::metadata(path) {
            Ok(meta) => out.inputs.push(Input {
                uri: uri.clone(),
                local: path.to_path_buf(),
                name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(uri),
                fingerprint: fingerprint(&meta),
                in_folder: false,
                final_uri: None,
            }),
            Err(e) => out.failures.push(FetchFailure { uri, message: format!("cannot read: {e}") }),
        }
        return out;
    }
    let walker = walkdir::WalkDir::new(path).follow_links(false).sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e.path().map(|p| p.display().to_string()).unwrap_or_else(|| uri.clone());
                out.failures.push(FetchFailure { uri: at, message: format!("cannot list: {e}") });
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(path).unwrap_or(entry.path()).to_string_lossy().replace('\\', "/");
        if rel.split('/').any(|seg| seg.starts_with('.')) || !filter.accepts(&rel) {
            continue;
        }
        match entry.metadata() {
            Ok(meta) => out.inputs.push(Input {
                uri: entry.path().display().to_string(),
                local: entry.path().to_path_buf(),
                name: entry.file_name().to_string_lossy().into_owned(),
                fingerprint: fingerprint(&meta),
                in_folder: true,
                final_uri: None,
            }),
            Err(e) => out.failures.push(FetchFailure { uri: entry.path().display().to_string(), message: format!("cannot read: {e}") }),
        }
    }
    out
}

//! The export's manifest: every file under `export/` with its size and sha256, written to
//! `cache/export-manifest.json` when the export finishes. `dasynth push` compares the folder
//! with it, so an export edited by hand since `dasynth export` is caught before anything is
//! uploaded.

use dasynth_core::export::{ExportManifest, ManifestFile};
use rayon::prelude::*;
use std::path::Path;

/// Lists and hashes every file under `dir` (paths relative to it, `/`-separated, sorted).
pub fn build(dir: &Path) -> std::io::Result<ExportManifest> {
    let mut paths = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::other)?;
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir).map_err(std::io::Error::other)?;
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            paths.push((rel, entry.path().to_path_buf()));
        }
    }
    let files = paths
        .into_par_iter()
        .map(|(path, full)| {
            let (sha256, bytes) = dasynth_core::ids::sha256_file(&full)?;
            Ok(ManifestFile { path, bytes, sha256 })
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(ExportManifest { files })
}

/// How the folder differs from its manifest: files changed, added or removed since export.
pub fn differences(expected: &ExportManifest, actual: &ExportManifest) -> Vec<String> {
    let want: std::collections::BTreeMap<&str, &ManifestFile> = expected.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let have: std::collections::BTreeMap<&str, &ManifestFile> = actual.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut out = Vec::new();
    for (p, f) in &want {
        match have.get(p) {
            None => out.push(format!("{p} was removed")),
            Some(g) if g.sha256 != f.sha256 => out.push(format!("{p} was changed")),
            _ => {}
        }
    }
    for p in have.keys() {
        if !want.contains_key(p) {
            out.push(format!("{p} was added"));
        }
    }
    out
}

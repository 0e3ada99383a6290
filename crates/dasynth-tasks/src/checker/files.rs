//! File answers (charts): the named file must have been written under `outputs/`, be a real
//! image when it can be looked at, and the data the chart shows must match the ground truth.
//!
//! The chart's data is read from the answer like a table answer's (see [`super::table`]); when
//! the answer shows none, from a data file beside the chart (`counts.png` → `counts.csv` or
//! `counts.json`, or any CSV/JSON file under `outputs/` the answer names) when `outputs_dir` is
//! given; a one-row ground truth may be stated in prose. No data at all is `Unextractable`.

use super::AnswerCheck;
use super::extract::Answer;
use super::spec::CheckerSpec;
use super::table::{self, Grid};
use serde_json::Value;
use std::path::Path;

/// The written file that is the one asked for (same name, or ending in `/name`).
pub fn written<'a>(files: &'a [String], want: &str) -> Option<&'a String> {
    files.iter().find(|f| *f == want || f.ends_with(&format!("/{want}")))
}

/// Why a file on disk is not the image its name says, if it is not.
pub fn not_an_image(path: &Path) -> Option<String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Some(format!("cannot read {}: {e}", path.display())),
    };
    if bytes.is_empty() {
        return Some(format!("{} is empty", path.display()));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let head = &bytes[..bytes.len().min(1024)];
    let ok = match ext.as_str() {
        "png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        "jpg" | "jpeg" => head.starts_with(&[0xff, 0xd8, 0xff]),
        "gif" => head.starts_with(b"GIF8"),
        "pdf" => head.starts_with(b"%PDF"),
        "svg" => head.windows(4).any(|w| w == b"<svg"),
        _ => true,
    };
    (!ok).then(|| format!("{} is not a {} file", path.display(), ext.to_ascii_uppercase()))
}

fn sidecar(files: &[String], chart: &str, outputs_dir: &Path) -> Option<Grid> {
    let stem = chart.rsplit_once('.').map_or(chart, |(s, _)| s);
    ["csv", "json"]
        .iter()
        .map(|ext| format!("{stem}.{ext}"))
        .filter(|name| files.contains(name))
        .find_map(|name| table::file_grid(&outputs_dir.join(name)))
}

pub fn check_file(spec: &CheckerSpec, truth: &Value, answer: &Answer, files: &[String], outputs_dir: Option<&Path>) -> AnswerCheck {
    let Some(want) = spec.file.as_deref() else { return AnswerCheck::wrong("the checker names no file", None) };
    let Some(chart) = written(files, want) else {
        let list = if files.is_empty() { "none".to_string() } else { files.join(", ") };
        return AnswerCheck::wrong(format!("the file outputs/{want} was not written (written: {list})"), None);
    };
    if let Some(why) = outputs_dir.and_then(|dir| not_an_image(&dir.join(chart))) {
        return AnswerCheck::wrong(why, None);
    }
    let Some((cols, rows)) = table::truth_table(truth) else {
        return AnswerCheck::wrong("the ground truth is not a table (columns and rows)", None);
    };
    let grid = table::find_grid(answer, &table::TruthShape::of(&cols, &rows), files, outputs_dir)
        .or_else(|| outputs_dir.and_then(|dir| sidecar(files, chart, dir)));
    match grid {
        Some(g) => table::compare(spec, &g, truth),
        None => table::one_row_facts(spec, &cols, &rows, answer).unwrap_or_else(|| {
            AnswerCheck::unextractable(format!(
                "outputs/{want} was written, but the answer shows none of the data it plots (a table, or a CSV beside the chart)"
            ))
        }),
    }
}

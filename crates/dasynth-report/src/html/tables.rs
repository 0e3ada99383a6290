//! The Tables section: profile highlights of every crawled table (rows, columns, duplicate
//! rows, quality flags) with the tasks and trajectories made from it.

use crate::charts::group_digits;
use crate::html::escape::{esc, pct};
use dasynth_core::report::Report;
use std::fmt::Write;

/// Most tables listed in the page (all are in `report.json`).
const MAX_TABLES: usize = 2000;

pub(crate) fn tables(r: &Report) -> String {
    let mut s = String::from(r#"<section id="tables"><h2>Tables</h2>"#);
    if r.tables.is_empty() {
        s.push_str(r#"<p class="muted">No crawled tables yet.</p></section>"#);
        return s;
    }
    s.push_str(r#"<div class="scrollx"><table class="t sortable"><thead><tr><th>table</th><th>source</th><th>format</th><th class="n">rows</th><th class="n">columns</th><th class="n">duplicate rows</th><th>table flags</th><th>column flags (columns)</th><th class="n">tasks</th><th class="n">trajectories</th><th class="n">accepted</th></tr></thead><tbody>"#);
    let opt = |v: Option<u64>| v.map_or_else(|| "–".to_string(), group_digits);
    for t in r.tables.iter().take(MAX_TABLES) {
        let flags: Vec<String> = t.column_flags.iter().map(|(k, v)| format!("{k} ({v})")).collect();
        let accepted = (t.trajectories > 0).then(|| t.accepted as f64 / t.trajectories as f64);
        let _ = write!(
            s,
            r#"<tr><td title="{id}">{name}{unprofiled}</td><td>{source}</td><td>{format}</td><td class="n" data-v="{rows_v}">{rows}</td><td class="n" data-v="{cols_v}">{cols}</td><td class="n" data-v="{dup_v}">{dup}</td><td>{tflags}</td><td>{cflags}</td><td class="n">{tasks}</td><td class="n">{trajs}</td><td class="n" data-v="{acc_v}">{acc}</td></tr>"#,
            id = esc(&t.id),
            name = esc(&t.name),
            unprofiled = if t.profiled { "" } else { r#" <span class="muted small">(not profiled)</span>"# },
            source = esc(&t.source),
            format = esc(t.format.as_deref().unwrap_or("?")),
            rows_v = t.rows.unwrap_or(0),
            rows = opt(t.rows),
            cols_v = t.columns.unwrap_or(0),
            cols = opt(t.columns),
            dup_v = t.duplicate_rows.unwrap_or(0),
            dup = opt(t.duplicate_rows),
            tflags = esc(&t.quality_flags.join(", ")),
            cflags = esc(&flags.join(", ")),
            tasks = t.tasks,
            trajs = t.trajectories,
            acc_v = accepted.unwrap_or(-1.0),
            acc = if t.trajectories > 0 { format!("{} ({})", t.accepted, pct(accepted)) } else { "–".into() },
        );
    }
    s.push_str("</tbody></table></div>");
    if r.tables.len() > MAX_TABLES {
        let _ = write!(s, r#"<p class="muted">{} more tables in report.json.</p>"#, r.tables.len() - MAX_TABLES);
    }
    s.push_str("</section>");
    s
}

//! `report/report.md`: the report's headline figures as Markdown, for a pull request or the
//! dataset card: the funnel, weak spots, rejection reasons, replay classes, cost by teacher,
//! time by stage and the groups of the main breakdowns.

use crate::charts::group_digits;
use crate::html::escape::pct;
use dasynth_core::report::{Breakdown, Report};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Most rows of one breakdown in the Markdown (the page and `report.json` have all).
const MAX_ROWS: usize = 15;

/// A table cell: pipes escaped, line breaks and markup-looking text kept inert.
fn cell(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(one_line.len());
    for c in one_line.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# dasynth report: {}\n", cell(&r.run));
    let _ = writeln!(s, "Generated {}.\n", cell(&r.generated_at));
    if !r.missing.is_empty() {
        let _ = writeln!(s, "> **Stages not run yet:** {}. The figures cover what exists.\n", cell(&r.missing.join(", ")));
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "> **Could not read everything** ({} problems; see `report.json` `notes`).\n", r.notes.len());
    }
    if !r.funnel.is_empty() {
        s.push_str("## Funnel\n\n| step | count | share | dropped |\n|---|---:|---|---|\n");
        for f in &r.funnel {
            let dropped: Vec<String> = f.dropped.iter().map(|(k, v)| format!("{} {}", cell(k), group_digits(*v))).collect();
            let share = f.share.map_or_else(String::new, |sh| format!("{} of {}", pct(Some(sh)), cell(&f.share_of)));
            let _ = writeln!(s, "| {} | {} | {} | {} |", cell(&f.step), group_digits(f.count), share, dropped.join("; "));
        }
        s.push('\n');
    }
    let o = &r.quality.overall;
    if o.verdicts > 0 || o.answers_checked > 0 {
        s.push_str("## Quality\n\n");
        let share = |n: u64, of: u64| pct((of > 0).then(|| n as f64 / of as f64));
        let _ = writeln!(
            s,
            "- accepted: {} of {} verdicts ({})",
            group_digits(o.accepted),
            group_digits(o.verdicts),
            share(o.accepted, o.verdicts)
        );
        let _ = writeln!(
            s,
            "- answer accuracy: {} of {} checked ({})",
            o.answers_passed,
            o.answers_checked,
            share(o.answers_passed, o.answers_checked)
        );
        if o.reports > 0 {
            let _ = writeln!(s, "- claims grounded in outputs (mean over {} reports): {}", o.reports, pct(o.mean_grounded_share));
        }
        if let Some(j) = o.mean_judge_score {
            let _ = writeln!(s, "- judge score (mean over {} reports): {j:.2} / 5", o.judged);
        }
        if o.verdicts > 0 {
            let _ = writeln!(s, "- format errors: {}", group_digits(o.format_errors));
        }
        s.push('\n');
        counts(&mut s, "Rejection reasons", &o.reasons);
        counts(&mut s, "Replay classes", &o.replay);
    }
    if !r.weak_spots.is_empty() {
        s.push_str("## Weak spots\n\n| dimension | group | problem | rate | whole run | of |\n|---|---|---|---:|---:|---:|\n");
        for w in &r.weak_spots {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&w.dimension),
                cell(&w.value),
                cell(&w.problem),
                pct(Some(w.rate)),
                pct(Some(w.overall_rate)),
                w.n
            );
        }
        s.push('\n');
    }
    for dim in ["family", "teacher", "template"] {
        if let Some(b) = r.quality.breakdowns.iter().find(|b| b.dimension == dim) {
            breakdown(&mut s, b);
        }
    }
    if let Some(p) = &r.pass_rates {
        let _ = writeln!(
            s,
            "## Student pass rates\n\n{} tasks, {} samples, mean pass rate {:.3}; never solved {}, always solved {}.\n",
            p.tasks, p.samples, p.mean_pass_rate, p.never_solved, p.always_solved
        );
        for (what, groups) in [("family", &p.by_family), ("stage", &p.by_stage), ("template", &p.by_template)] {
            if groups.is_empty() {
                continue;
            }
            let _ = writeln!(s, "| {what} | tasks | mean pass rate |\n|---|---:|---:|");
            for g in groups {
                let _ = writeln!(s, "| {} | {} | {:.3} |", cell(&g.value), g.tasks, g.mean_pass_rate);
            }
            s.push('\n');
        }
    }
    if !r.teachers.is_empty() {
        s.push_str("## Cost by teacher\n\n| teacher | model | trajectories | input tokens | output tokens | cost $ |\n|---|---|---:|---:|---:|---:|\n");
        for t in &r.teachers {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.4} |",
                cell(&t.teacher),
                cell(&t.model),
                t.trajectories,
                group_digits(t.input_tokens),
                group_digits(t.output_tokens),
                t.cost_usd
            );
        }
        s.push('\n');
    }
    if !r.stage_times.is_empty() {
        s.push_str("## Time by stage\n\n| stage | seconds |\n|---|---:|\n");
        for t in &r.stage_times {
            let _ = writeln!(s, "| {} | {:.1} |", cell(&t.stage), t.seconds);
        }
        s.push('\n');
    }
    if !r.crawl_failures.is_empty() {
        let _ = writeln!(s, "{} crawl inputs failed; see the page's Overview.\n", r.crawl_failures.len());
    }
    s.push_str("The full report with the trajectory browser is `index.html` beside this file; every figure is in `report.json`.\n");
    s
}

fn counts(s: &mut String, title: &str, counts: &BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    let mut items: Vec<(&String, &u64)> = counts.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let _ = writeln!(
        s,
        "**{title}:** {}\n",
        items.iter().map(|(k, v)| format!("{} {}", cell(k), group_digits(**v))).collect::<Vec<_>>().join(", ")
    );
}

fn breakdown(s: &mut String, b: &Breakdown) {
    if b.groups.len() < 2 {
        return;
    }
    let _ = writeln!(
        s,
        "## By {}\n\n| {} | trajectories | accepted | answers right | hallucinated |\n|---|---:|---:|---:|---:|",
        b.dimension, b.dimension
    );
    for g in b.groups.iter().take(MAX_ROWS) {
        let share = |n: u64, of: u64| pct((of > 0).then(|| n as f64 / of as f64));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            cell(&g.value),
            g.trajectories,
            share(g.accepted, g.verdicts),
            share(g.answers_passed, g.answers_checked),
            share(g.replay.get("hallucinated").copied().unwrap_or(0), g.verdicts)
        );
    }
    if b.groups.len() > MAX_ROWS {
        let _ = writeln!(s, "\n{} more in `report.json`.", b.groups.len() - MAX_ROWS);
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_cannot_break_tables_or_inject_markup() {
        assert_eq!(super::cell("a|b\n<script>`x`"), "a\\|b &lt;script&gt;'x'");
    }
}

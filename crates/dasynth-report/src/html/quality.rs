//! The Quality section: headline shares, weak spots, rejection reasons, replay classes, format
//! and style issues, judge scores, every breakdown as a sortable table, the per-trajectory
//! distributions and the student's pass rates.

use crate::charts::{Bar, group_digits, hbars, histogram, stack};
use crate::html::escape::{esc, pct};
use dasynth_core::report::{Breakdown, GroupFigures, Report};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Most groups of one dimension shown (largest first; all are in `report.json`).
const MAX_GROUPS: usize = 200;

pub(crate) fn quality(r: &Report) -> String {
    let q = &r.quality;
    let o = &q.overall;
    let mut s = String::from(r#"<section id="quality"><h2>Quality</h2>"#);
    if o.trajectories == 0 {
        s.push_str(r#"<p class="muted">No trajectories yet.</p></section>"#);
        return s;
    }
    if o.verdicts == 0 {
        s.push_str(r#"<div class="warn">No verdicts yet (<code>verify</code> has not run): only the trajectories' own answer checks and shapes are shown.</div>"#);
    }
    s.push_str(r#"<div class="cards">"#);
    let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    let cards: [(String, &str); 6] = [
        (pct(share(o.accepted, o.verdicts)), "accepted"),
        (pct(share(o.answers_passed, o.answers_checked)), "answer accuracy"),
        (pct(share(o.replay.get("consistent").copied().unwrap_or(0), o.verdicts)), "replays consistent"),
        (pct(o.mean_grounded_share), "claims grounded (reports)"),
        (o.mean_judge_score.map_or_else(|| "–".into(), |j| format!("{j:.2} / 5")), "judge score"),
        (if o.verdicts > 0 { group_digits(o.format_errors) } else { "–".into() }, "format errors"),
    ];
    for (v, k) in cards {
        let _ = write!(s, r#"<div class="card"><div class="v">{}</div><div class="k">{}</div></div>"#, esc(&v), esc(k));
    }
    s.push_str("</div>");
    weak_spots(&mut s, r);
    s.push_str(r#"<div class="grid2">"#);
    counts(&mut s, "Rejection reasons", &o.reasons, "bar-bad", "rejected trajectories");
    counts(&mut s, "Replay classes", &o.replay, "bar", "trajectories");
    counts(&mut s, "How trajectories ended", &q.finishes, "bar", "trajectories");
    counts(&mut s, "Format errors", &q.format_issues, "bar-bad", "trajectories");
    counts(&mut s, "Style signals (not rejected)", &q.style_issues, "bar-warn", "trajectories");
    if !q.judge_dimensions.is_empty() {
        let bars: Vec<Bar> =
            q.judge_dimensions.iter().map(|(k, v)| Bar { label: k.clone(), value: *v, text: format!("{v:.2}"), class: "bar" }).collect();
        let _ = write!(s, "<div><h3>Judge scores (mean, 1–5, {} reports)</h3>{}</div>", group_digits(o.judged), hbars(&bars, "score"));
    }
    s.push_str("</div>");
    s.push_str("<h3>Breakdowns</h3><p class=\"muted small\">Every figure by group; click a column to sort. A task over several tables counts under each of its tables.</p>");
    for b in &q.breakdowns {
        breakdown(&mut s, b);
    }
    distributions(&mut s, r);
    pass_rates(&mut s, r);
    s.push_str("</section>");
    s
}

fn weak_spots(s: &mut String, r: &Report) {
    s.push_str("<h3>Weak spots</h3>");
    if r.weak_spots.is_empty() {
        s.push_str(r#"<p class="muted">No group fails a check markedly more often than the run as a whole.</p>"#);
        return;
    }
    s.push_str(r#"<p class="muted small">Groups (and teacher pairs) with a problem at least 10 points more often than the whole run, and unlikely to be chance; the strongest evidence first.</p><table class="t sortable"><thead><tr><th>dimension</th><th>group</th><th>problem</th><th class="n">rate</th><th class="n">whole run</th><th class="n">of</th></tr></thead><tbody>"#);
    for w in &r.weak_spots {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n" data-v="{}">{}</td><td class="n" data-v="{}">{}</td><td class="n">{}</td></tr>"#,
            esc(&w.dimension),
            esc(&w.value),
            esc(&w.problem),
            w.rate,
            pct(Some(w.rate)),
            w.overall_rate,
            pct(Some(w.overall_rate)),
            group_digits(w.n)
        );
    }
    s.push_str("</tbody></table>");
}

fn counts(s: &mut String, title: &str, counts: &BTreeMap<String, u64>, class: &'static str, axis: &str) {
    if counts.is_empty() {
        return;
    }
    let mut items: Vec<(&String, &u64)> = counts.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let bars: Vec<Bar> = items.into_iter().map(|(k, v)| Bar::count(k.clone(), *v, class)).collect();
    let _ = write!(s, "<div><h3>{}</h3>{}</div>", esc(title), hbars(&bars, axis));
}

fn breakdown(s: &mut String, b: &Breakdown) {
    if b.groups.is_empty() {
        return;
    }
    let open = if b.dimension == "family" || b.dimension == "teacher" { " open" } else { "" };
    let _ = write!(
        s,
        r#"<details{open}><summary>by {} ({} groups)</summary><div class="scrollx"><table class="t sortable"><thead><tr><th>{}</th><th class="n">trajectories</th><th class="n">verdicts</th><th class="n">accepted</th><th></th><th class="n">answers right</th><th class="n">consistent</th><th class="n">hallucinated</th><th class="n">broken</th><th class="n">nondeterministic</th><th class="n">format errors</th><th class="n">grounded</th><th class="n">judge</th><th class="n">score</th><th>top reasons</th></tr></thead><tbody>"#,
        esc(&b.dimension),
        b.groups.len(),
        esc(&b.dimension)
    );
    for g in b.groups.iter().take(MAX_GROUPS) {
        row(s, g);
    }
    s.push_str("</tbody></table></div>");
    if b.groups.len() > MAX_GROUPS {
        let _ = write!(s, r#"<p class="muted small">{} smaller groups are in report.json.</p>"#, b.groups.len() - MAX_GROUPS);
    }
    s.push_str("</details>");
}

fn row(s: &mut String, g: &GroupFigures) {
    let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
    let replay = |class: &str| share(g.replay.get(class).copied().unwrap_or(0), g.verdicts);
    let cell = |v: Option<f64>| format!(r#"<td class="n" data-v="{}">{}</td>"#, v.unwrap_or(-1.0), pct(v));
    let mut reasons: Vec<(&String, &u64)> = g.reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let top: Vec<String> = reasons.iter().take(3).map(|(k, v)| format!("{k} {v}")).collect();
    let rejected = g.verdicts - g.accepted;
    let _ = write!(
        s,
        r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td>{}<td>{}</td>{}{}{}{}{}<td class="n">{}</td>{}<td class="n" data-v="{}">{}</td><td class="n" data-v="{}">{}</td><td>{}</td></tr>"#,
        esc(&g.value),
        g.trajectories,
        g.verdicts,
        cell(share(g.accepted, g.verdicts)),
        stack(
            &[(g.accepted, "bar-ok"), (rejected, "bar-bad"), (g.trajectories - g.verdicts, "bar-none")],
            &format!("{} accepted, {} rejected, {} without verdict", g.accepted, rejected, g.trajectories - g.verdicts)
        ),
        cell(share(g.answers_passed, g.answers_checked)),
        cell(replay("consistent")),
        cell(replay("hallucinated")),
        cell(replay("broken")),
        cell(replay("nondeterministic")),
        g.format_errors,
        cell(g.mean_grounded_share),
        g.mean_judge_score.unwrap_or(-1.0),
        g.mean_judge_score.map_or_else(|| "–".into(), |j| format!("{j:.2}")),
        g.mean_score.unwrap_or(-1.0),
        g.mean_score.map_or_else(|| "–".into(), |j| format!("{j:.2}")),
        esc(&top.join(", "))
    );
}

fn distributions(s: &mut String, r: &Report) {
    if r.distributions.iter().all(|d| d.n == 0) {
        return;
    }
    s.push_str(r#"<h3>Per trajectory</h3><div class="grid2">"#);
    for d in &r.distributions {
        if d.n == 0 {
            continue;
        }
        let title = d.name.replace('_', " ");
        let _ = write!(
            s,
            r#"<div><div class="small muted">{}: mean {:.1}, median {}, p90 {}, max {}</div>{}</div>"#,
            esc(&title),
            d.mean,
            d.median,
            d.p90,
            d.max,
            histogram(d, &format!("{title} per trajectory"))
        );
    }
    s.push_str("</div>");
}

fn pass_rates(s: &mut String, r: &Report) {
    let Some(p) = &r.pass_rates else { return };
    let _ = write!(
        s,
        r#"<h3>Student pass rates</h3><p>{} tasks, {} samples, mean pass rate {}; never solved: {}, always solved: {}.</p><div class="grid2"><div>"#,
        group_digits(p.tasks),
        group_digits(p.samples),
        pct(Some(p.mean_pass_rate)),
        group_digits(p.never_solved),
        group_digits(p.always_solved)
    );
    let bars: Vec<Bar> =
        p.histogram.iter().map(|b| Bar::count(format!("{:.0}–{:.0}%", b.lo * 100.0, b.hi * 100.0), b.count, "bar")).collect();
    s.push_str(&hbars(&bars, "tasks"));
    s.push_str("</div><div>");
    for (what, groups) in [("family", &p.by_family), ("stage", &p.by_stage), ("template", &p.by_template)] {
        if groups.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            r#"<table class="t sortable"><thead><tr><th>{what}</th><th class="n">tasks</th><th class="n">mean pass rate</th></tr></thead><tbody>"#
        );
        for g in groups {
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n" data-v="{}">{}</td></tr>"#,
                esc(&g.value),
                g.tasks,
                g.mean_pass_rate,
                pct(Some(g.mean_pass_rate))
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</div></div>");
}

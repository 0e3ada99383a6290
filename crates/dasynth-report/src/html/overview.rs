//! The Overview section: which stages ran, the funnel with its drop reasons, cost and tokens by
//! teacher, time by stage, the crawl's failed inputs and the run's settings.

use crate::charts::{Bar, group_digits, hbars};
use crate::html::escape::{esc, pct};
use dasynth_core::report::Report;
use std::fmt::Write;

/// Most crawl failures listed in the page (all are in `report.json`).
const MAX_FAILURES: usize = 500;

pub(crate) fn overview(r: &Report) -> String {
    let mut s = String::from(r#"<section id="overview"><h2>Overview</h2>"#);
    if !r.missing.is_empty() {
        let _ = write!(
            s,
            r#"<div class="warn"><strong>Stages not run yet:</strong> {}. This report shows what the run folder holds so far.</div>"#,
            esc(&r.missing.join(", "))
        );
    }
    if !r.notes.is_empty() {
        s.push_str(r#"<div class="warn"><strong>Could not read everything:</strong><ul class="small">"#);
        for n in &r.notes {
            let _ = write!(s, "<li>{}</li>", esc(n));
        }
        s.push_str("</ul></div>");
    }
    s.push_str(r#"<div class="chips">"#);
    for p in &r.stages {
        let _ = write!(
            s,
            r#"<span class="{}" title="{}">{} {}</span>"#,
            if p.present { "yes" } else { "no" },
            esc(&p.detail),
            if p.present { "✓" } else { "✗" },
            esc(&p.stage)
        );
    }
    s.push_str("</div>");
    cards(&mut s, r);
    funnel(&mut s, r);
    s.push_str(r#"<div class="grid2">"#);
    teachers(&mut s, r);
    stage_times(&mut s, r);
    s.push_str("</div>");
    failures(&mut s, r);
    if let Some(settings) = &r.settings {
        let _ = write!(
            s,
            r#"<h3>Settings</h3><details><summary>dasynth.toml of this run (header values and proxies redacted)</summary><pre class="settings">{}</pre></details>"#,
            esc(settings)
        );
    }
    s.push_str("</section>");
    s
}

fn card(s: &mut String, value: &str, key: &str) {
    let _ = write!(s, r#"<div class="card"><div class="v">{}</div><div class="k">{}</div></div>"#, esc(value), esc(key));
}

fn cards(s: &mut String, r: &Report) {
    s.push_str(r#"<div class="cards">"#);
    for step in &r.funnel {
        let value = match (step.step.as_str(), step.share) {
            ("accepted", Some(share)) => format!("{} ({})", group_digits(step.count), pct(Some(share))),
            _ => group_digits(step.count),
        };
        card(s, &value, &step.step);
    }
    let cost: f64 = r.teachers.iter().map(|t| t.cost_usd).sum();
    let tokens: u64 = r.teachers.iter().map(|t| t.input_tokens + t.output_tokens).sum();
    if !r.teachers.is_empty() {
        card(s, &format!("${cost:.2}"), "teacher cost");
        card(s, &group_digits(tokens), "tokens");
    }
    let seconds: f64 = r.stage_times.iter().map(|t| t.seconds).sum();
    if seconds > 0.0 {
        card(s, &format!("{seconds:.0} s"), "time in stages");
    }
    s.push_str("</div>");
}

fn funnel(s: &mut String, r: &Report) {
    if r.funnel.is_empty() {
        return;
    }
    s.push_str("<h3>Funnel</h3>");
    let bars: Vec<Bar> = r
        .funnel
        .iter()
        .map(|f| Bar {
            label: f.step.clone(),
            value: f.count as f64,
            text: match f.share {
                Some(share) => format!("{} · {} {}", group_digits(f.count), pct(Some(share)), f.share_of),
                None => group_digits(f.count),
            },
            class: if f.step == "accepted" { "bar-ok" } else { "bar" },
        })
        .collect();
    s.push_str(&hbars(&bars, "items"));
    s.push_str(r#"<table class="t"><thead><tr><th>step</th><th class="n">count</th><th>share</th><th>why items of the previous step did not get here</th></tr></thead><tbody>"#);
    for f in &r.funnel {
        let drops: Vec<String> = f.dropped.iter().map(|(k, v)| format!("{k}: {}", group_digits(*v))).collect();
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="n">{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&f.step),
            group_digits(f.count),
            f.share.map_or_else(String::new, |sh| format!("{} of {}", pct(Some(sh)), esc(&f.share_of))),
            esc(&drops.join("; "))
        );
    }
    s.push_str("</tbody></table>");
}

fn teachers(s: &mut String, r: &Report) {
    if r.teachers.is_empty() {
        return;
    }
    s.push_str(r#"<div><h3>Cost and tokens by teacher</h3><table class="t sortable"><thead><tr><th>teacher</th><th>model</th><th class="n">trajectories</th><th class="n">input tokens</th><th class="n">output tokens</th><th class="n">cost $</th><th class="n">cached turns</th><th class="n">wall s</th></tr></thead><tbody>"#);
    for t in &r.teachers {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n" data-v="{}">{}</td><td class="n" data-v="{}">{}</td><td class="n">{:.4}</td><td class="n">{}</td><td class="n">{:.1}</td></tr>"#,
            esc(&t.teacher),
            esc(&t.model),
            t.trajectories,
            t.input_tokens,
            group_digits(t.input_tokens),
            t.output_tokens,
            group_digits(t.output_tokens),
            t.cost_usd,
            t.cached_turns,
            t.wall_seconds
        );
    }
    s.push_str("</tbody></table>");
    let bars: Vec<Bar> = r
        .teachers
        .iter()
        .map(|t| Bar {
            label: format!("{} ({})", t.teacher, t.model),
            value: (t.input_tokens + t.output_tokens) as f64,
            text: format!("{} tokens · ${:.2}", group_digits(t.input_tokens + t.output_tokens), t.cost_usd),
            class: "bar",
        })
        .collect();
    s.push_str(&hbars(&bars, "tokens"));
    s.push_str("</div>");
}

fn stage_times(s: &mut String, r: &Report) {
    if r.stage_times.is_empty() {
        return;
    }
    s.push_str("<div><h3>Time by stage</h3>");
    let bars: Vec<Bar> = r
        .stage_times
        .iter()
        .map(|t| {
            let counts = match (t.kept, t.dropped) {
                (Some(k), Some(d)) => format!(" · {} kept, {} dropped", group_digits(k), group_digits(d)),
                (Some(k), None) => format!(" · {} kept", group_digits(k)),
                _ => String::new(),
            };
            Bar { label: t.stage.clone(), value: t.seconds, text: format!("{:.1} s{counts}", t.seconds), class: "bar" }
        })
        .collect();
    s.push_str(&hbars(&bars, "seconds"));
    s.push_str("</div>");
}

fn failures(s: &mut String, r: &Report) {
    if r.crawl_failures.is_empty() {
        return;
    }
    let _ = write!(
        s,
        r#"<h3>Crawl failures ({})</h3><div class="scrollx"><table class="t sortable"><thead><tr><th>input</th><th>source</th><th>where</th><th>why</th></tr></thead><tbody>"#,
        group_digits(r.crawl_failures.len() as u64)
    );
    for f in r.crawl_failures.iter().take(MAX_FAILURES) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(&f.source),
            esc(&f.uri),
            esc(f.error.lines().next().unwrap_or_default())
        );
    }
    s.push_str("</tbody></table></div>");
    if r.crawl_failures.len() > MAX_FAILURES {
        let _ = write!(s, r#"<p class="muted">{} more in report.json.</p>"#, r.crawl_failures.len() - MAX_FAILURES);
    }
}

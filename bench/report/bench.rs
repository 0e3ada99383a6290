//! The report at scale: writes a synthetic run of N trajectories (50,000 by default) with
//! verdicts, renders the report, and measures in headless Chromium how long the page takes to
//! become interactive from `file://`, how long a filter and a deep link take, and how big the
//! page is.
//!
//! ```sh
//! cargo run --release -p dasynth-report --example report-bench -- --n 50000 --repeat 5
//! ```
//!
//! Prints one JSON object on stdout (the figures in BENCHMARKS.md).

#[path = "../../crates/dasynth-report/tests/support/mod.rs"]
mod support;

use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Silent;
use serde_json::json;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn main() {
    let n = arg("--n", 50_000);
    let repeat = arg("--repeat", 5).max(1);
    let dir = tempfile::tempdir().expect("temporary folder");
    let run = RunDir::new(dir.path().join("run"));

    let t = Instant::now();
    let planted = support::synth::write(&run, n);
    let synth_s = t.elapsed().as_secs_f64();
    let jsonl_bytes: u64 =
        std::fs::read_dir(run.trajectories_dir()).expect("trajectories").flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum();

    let mut render_s = Vec::new();
    let mut report = None;
    for _ in 0..repeat {
        let t = Instant::now();
        report = Some(dasynth_report::report(&run, &dasynth_report::ReportOptions::default(), &Silent).expect("report"));
        render_s.push(t.elapsed().as_secs_f64());
    }
    let Some(outcome) = report else { return };
    let b = &outcome.report.browser;

    let mut browser = json!(null);
    if let Some(chromium) = support::cdp::find_chromium() {
        let url = format!("file://{}", run.report_html().display());
        let mut page = support::cdp::Browser::launch(&chromium);
        page.viewport(1400, 1000, false);
        let (mut ready, mut wall, mut filter, mut deep) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..repeat {
            page.navigate("about:blank");
            let t = Instant::now();
            page.navigate(&url);
            page.wait_for("document.documentElement?.dataset.ready === '1'", Duration::from_secs(60));
            wall.push(t.elapsed().as_secs_f64() * 1000.0);
            ready.push(page.eval("window.dasynthReadyMs").as_f64().unwrap_or(f64::NAN));
            // A filter over every row, timed inside the page.
            filter.push(
                page.eval("(() => { const s = document.getElementById('f-status'); const t = performance.now(); s.value = '1'; s.dispatchEvent(new Event('change')); const ms = performance.now() - t; s.value = ''; s.dispatchEvent(new Event('change')); return ms; })()")
                    .as_f64()
                    .unwrap_or(f64::NAN),
            );
            // Opening a trajectory by its link: inflate its block and render it.
            let js = format!(
                "new Promise(done => {{ const t = performance.now(); location.hash = 't={}'; const check = () => {{ const h = document.querySelector('#viewer .kv'); if (h && !document.getElementById('viewer').hidden) done(performance.now() - t); else requestAnimationFrame(check); }}; check(); }})",
                planted.hallucinated
            );
            deep.push(page.eval(&js).as_f64().unwrap_or(f64::NAN));
        }
        page.drain(Duration::from_millis(200));
        browser = json!({
            "interactive_ms_median": median(ready.clone()),
            "interactive_ms": ready,
            "navigate_to_ready_wall_ms_median": median(wall),
            "filter_ms_median": median(filter),
            "deep_link_open_ms_median": median(deep),
            "console_errors": page.errors().len(),
        });
    }
    let result = json!({
        "trajectories": n,
        "trajectories_jsonl_bytes": jsonl_bytes,
        "synthesize_s": synth_s,
        "render_s_median": median(render_s.clone()),
        "render_s": render_s,
        "page_bytes": b.page_bytes,
        "complete": b.complete,
        "cut": b.cut,
        "messages_left_out": b.messages_left_out,
        "tightest_cut_chars": b.tightest_cut_chars,
        "browser": browser,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap_or_default());
}

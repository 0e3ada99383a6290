//! The report page in headless Chromium, opened from `file://`: no console errors, no network
//! requests, the browser filters 50,000 trajectories, deep links open a trajectory, markup in an
//! answer does not run, and screenshots are kept for a person to look at. Skipped (with a
//! notice) when Chromium is not installed; `scripts/test` installs it.

mod support;

use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Silent;
use dasynth_report::{ReportOptions, report};
use serde_json::Value;
use std::time::Duration;
use support::cdp::{Browser, find_chromium};

const READY: &str = "!!document.documentElement && document.documentElement.dataset.ready === '1'";
const VIEWER_OPEN: &str = "!document.getElementById('viewer').hidden && !!document.querySelector('#viewer .kv')";

fn select(b: &mut Browser, id: &str, label_prefix: &str) {
    let js = format!(
        "(() => {{ const s = document.getElementById('{id}'); const o = Array.from(s.options).find(o => o.text.startsWith('{label_prefix} (')); s.value = o.value; s.dispatchEvent(new Event('change')); return o.text; }})()"
    );
    b.eval(&js);
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn count_text(b: &mut Browser) -> String {
    b.eval("document.getElementById('count').textContent").as_str().unwrap_or_default().to_string()
}

#[test]
fn the_page_works_offline_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        eprintln!("SKIPPED: no chromium on PATH (install Debian's `chromium`, or set DASYNTH_TEST_CHROMIUM)");
        return;
    };
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    eprintln!("screenshots: {}", shots.display());

    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let n = 50_000;
    let planted = support::synth::write(&run, n);
    let r = report(&run, &ReportOptions::default(), &Silent).unwrap().report;
    let url = format!("file://{}", run.report_html().display());

    let mut b = Browser::launch(&chromium);
    b.viewport(1400, 1000, false);
    b.navigate(&url);
    b.wait_for(READY, Duration::from_secs(30));
    let ready_ms = b.eval("window.dasynthReadyMs").as_f64().unwrap_or(f64::NAN);
    eprintln!("interactive after {ready_ms:.0} ms ({} bytes, {n} trajectories)", r.browser.page_bytes);
    assert!(ready_ms < 10_000.0, "the page took {ready_ms} ms to become interactive");
    b.screenshot(&shots.join("1-overview-light.png"));
    assert_eq!(count_text(&mut b), "50,000 of 50,000 trajectories");

    // Filter: rejected trajectories of one teacher.
    let gpt = r.quality.breakdowns.iter().find(|x| x.dimension == "teacher").unwrap().groups.iter().find(|g| g.value == "gpt-x").unwrap();
    select(&mut b, "f-teacher", "gpt-x");
    select(&mut b, "f-status", "rejected");
    let expected = format!("{} of 50,000 trajectories", grouped(gpt.verdicts - gpt.accepted));
    assert_eq!(count_text(&mut b), expected);
    let rows = b.eval("document.querySelectorAll('#spacer .row').length").as_u64().unwrap_or(0);
    assert!(rows > 10 && rows < 200, "only the visible rows are drawn ({rows})");
    let first_teacher = b.eval("document.querySelector('#spacer .row span:nth-child(4)').textContent");
    assert_eq!(first_teacher, Value::from("gpt-x"));
    b.eval("document.getElementById('browser').scrollIntoView()");
    b.screenshot(&shots.join("2-browser-filtered.png"));
    // Free text narrows to one trajectory; sorting by score works on what is shown.
    b.eval("(() => { for (const s of document.querySelectorAll('#browser select')) s.value = ''; const t = document.getElementById('f-text'); t.value = arguments_key; t.dispatchEvent(new Event('input')); })()".replace("arguments_key", &format!("'{}'", planted.markup_answer)).as_str());
    assert_eq!(count_text(&mut b), "1 of 50,000 trajectories");
    b.eval("(() => { const t = document.getElementById('f-text'); t.value = ''; t.dispatchEvent(new Event('input')); document.querySelector('.gridhead span[data-col=\"score\"]').click(); })()");
    let first_score = b.eval("document.querySelector('#spacer .row span:nth-child(8)').textContent");
    assert_eq!(first_score, Value::from("0.30"), "ascending score puts a rejected trajectory first");

    // A deep link opens a trajectory on a fresh load. At 50,000 trajectories the page budget
    // leaves the messages out; the verdict with the replay mismatch side by side stays.
    open_mismatch_by_deep_link(&mut b, &url, &planted.hallucinated);
    b.screenshot(&shots.join("3-trajectory-50k-mismatch.png"));
    b.drain(Duration::from_millis(300));
    assert_no_errors_or_requests(&mut b, &url);

    // The trajectory view itself, on a run small enough that the page keeps the messages.
    let small = RunDir::new(dir.path().join("small"));
    let planted = support::synth::write(&small, 2_000);
    report(&small, &ReportOptions::default(), &Silent).unwrap();
    let url = format!("file://{}", small.report_html().display());
    // Deep link on the small run: tags styled, code highlighted, answer Markdown rendered.
    open_mismatch_by_deep_link(&mut b, &url, &planted.hallucinated);
    assert!(b.eval("document.querySelectorAll('#viewer .part.code .tok-kw').length > 0") == Value::Bool(true), "code highlighted");
    assert!(b.eval("document.querySelectorAll('#viewer .part.answer table').length > 0") == Value::Bool(true), "answer markdown rendered");
    b.screenshot(&shots.join("3-trajectory-mismatch.png"));

    // An answer with markup is shown as text and runs nothing.
    b.eval(&format!("location.hash = 't={}'", planted.markup_answer));
    b.wait_for(
        &format!(
            "document.querySelector('#viewer h2') && document.querySelector('#viewer h2').textContent === '{}'",
            planted.markup_answer
        ),
        Duration::from_secs(10),
    );
    b.drain(Duration::from_millis(300));
    assert_eq!(b.eval("typeof window.__pwned"), Value::from("undefined"));
    let answer_text = b.eval("document.querySelector('#viewer .part.answer').textContent");
    // Shown as text (`__..__` in it reads as Markdown emphasis, which is fine).
    let answer_text = answer_text.as_str().unwrap_or_default();
    assert!(answer_text.contains("<script>window.") && answer_text.contains("</script><img src=x onerror="), "{answer_text}");
    assert_eq!(b.eval("document.querySelectorAll('#viewer img[src=\"x\"], #viewer script').length"), Value::from(0));
    b.screenshot(&shots.join("4-trajectory-markup-answer.png"));

    // A 3 MB output is cut, and the cut is marked.
    b.eval(&format!("location.hash = 't={}'", planted.huge_output));
    b.wait_for(&format!("document.querySelector('#viewer h2').textContent === '{}'", planted.huge_output), Duration::from_secs(10));
    assert!(b.eval("document.querySelectorAll('#viewer .cutmark').length > 0") == Value::Bool(true));

    // Dark mode.
    b.viewport(1400, 1000, true);
    b.eval(&format!("location.hash = 't={}'", planted.hallucinated));
    b.wait_for(&format!("document.querySelector('#viewer h2').textContent === '{}'", planted.hallucinated), Duration::from_secs(10));
    b.screenshot(&shots.join("5-trajectory-dark.png"));
    b.eval("document.querySelector('#viewer .close').click()");
    b.eval("document.getElementById('quality').scrollIntoView()");
    b.screenshot(&shots.join("6-quality-dark.png"));

    b.drain(Duration::from_millis(300));
    assert_no_errors_or_requests(&mut b, &format!("file://{}", dir.path().display()));
}

/// Loads the page afresh at `#t=<key>` of a hallucinated trajectory: the viewer opens on it
/// with the replay's differences marked.
fn open_mismatch_by_deep_link(b: &mut Browser, url: &str, key: &str) {
    b.navigate("about:blank");
    b.navigate(&format!("{url}#t={key}"));
    b.wait_for(READY, Duration::from_secs(30));
    b.wait_for(VIEWER_OPEN, Duration::from_secs(10));
    let title = b.eval("document.querySelector('#viewer h2').textContent");
    assert_eq!(title, Value::from(key));
    assert!(b.eval("document.querySelectorAll('#viewer table.diff mark.del').length > 0") == Value::Bool(true), "differences marked");
}

fn assert_no_errors_or_requests(b: &mut Browser, page_url: &str) {
    let errors = b.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let foreign: Vec<String> =
        b.requests().into_iter().filter(|u| !u.starts_with(page_url) && !u.starts_with("data:") && u != "about:blank").collect();
    assert!(foreign.is_empty(), "network requests: {foreign:#?}");
}

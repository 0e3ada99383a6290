//! End-to-end tests of `dasynth report`: the demo run made by `dasynth generate` (which writes
//! the report last), a run folder with only some stages, `--open` without a desktop opener,
//! and a folder that is not a run.

mod common;

use common::*;
use dasynth_core::report::Report;

fn report_json(run: &std::path::Path) -> Report {
    let bytes = std::fs::read(run.join("report").join("report.json")).expect("report.json");
    serde_json::from_slice(&bytes).expect("report.json is a Report")
}

#[test]
fn generate_on_demo_data_ends_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let cfg = dir.path().join("dasynth.toml");
    std::fs::write(&cfg, "[tasks]\nper-table = 3\n").unwrap();
    let demo = repo().join("sources/demo/seattle-weather.csv");
    let o = dasynth(&["generate", s(&demo), "--out", s(&run), "--config", s(&cfg)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("report:"), "{}", stderr(&o));
    let r = report_json(&run);
    let steps: Vec<&str> = r.funnel.iter().map(|f| f.step.as_str()).collect();
    assert_eq!(&steps[..3], ["tables", "tasks", "trajectories"]);
    assert_eq!(r.funnel[0].count, 1);
    assert!(r.browser.trajectories > 0 && r.browser.trajectories == r.funnel[2].count);
    assert_eq!(r.browser.complete, r.browser.trajectories, "a demo run fits the page whole");
    assert!(r.teachers.iter().any(|t| t.teacher == "reference"));
    assert!(r.stage_times.iter().any(|t| t.stage == "crawl") && r.stage_times.iter().any(|t| t.stage == "trajectories"));
    let page = std::fs::read_to_string(run.join("report").join("index.html")).unwrap();
    assert!(page.contains("Content-Security-Policy") && page.contains(r#"id="summary""#));
    let md = std::fs::read_to_string(run.join("report").join("report.md")).unwrap();
    assert!(md.contains("## Funnel"), "{md}");
}

#[test]
fn report_of_a_crawled_run_names_the_missing_stages_and_open_prints_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = dasynth(&["crawl", s(&repo().join("sources/demo/seattle-weather.csv")), "--out", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // No desktop opener on PATH: --open prints where the page is.
    let o = dasynth_in(&repo(), &["report", s(&run), "--open"], &[("PATH", "/nonexistent")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), run.join("report").join("index.html").display().to_string());
    assert!(stderr(&o).contains("stages not run yet: profile, tasks, trajectories, verify"), "{}", stderr(&o));
    assert_eq!(report_json(&run).missing, ["profile", "tasks", "trajectories", "verify"]);
}

#[test]
fn report_of_a_folder_that_is_no_run_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["report", s(&dir.path().join("missing"))]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing") && stderr(&o).contains("run folder") && stderr(&o).contains("hint:"), "{}", stderr(&o));
}

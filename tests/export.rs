//! End to end: `dasynth generate` on the demo tables ends with an export that Python's
//! `datasets` loads; `dasynth push --dry-run` prints the plan; `dasynth push` to the fake Hub,
//! killed mid-upload and rerun, publishes files identical to the export.

mod common;

use common::*;
use dasynth_testkit::hub::{FakeHub, FaultKind, Step};
use std::time::Duration;

#[test]
fn generate_exports_and_push_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = dasynth(&["generate", "--quiet", "--out", s(&run)]);
    assert!(code(&o) <= 1, "{}", stderr(&o));
    let export = run.join("export");
    assert!(export.join("README.md").is_file() && export.join("data/sft").is_dir(), "{}", stderr(&o));

    let o = dasynth(&["export", s(&run), "--formats", "sft,rl"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!export.join("data/sharegpt").exists());

    let o = dasynth(&["push", s(&run), "--repo", "test-user/demo", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("lfs") && stdout(&o).contains("README.md"), "{}", stdout(&o));

    let hub = FakeHub::start();
    let url = hub.url();
    let env = [("HF_ENDPOINT", url.as_str()), ("HF_TOKEN", FakeHub::TOKEN), ("HF_HUB_DISABLE_XET", "1")];
    let o = dasynth_in(
        &repo(),
        &["push", s(&run), "--repo", "test-user/demo"],
        &[("HF_ENDPOINT", url.as_str()), ("HF_TOKEN", "hf_bad_secret")],
    );
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("401") && !stderr(&o).contains("hf_bad_secret"), "{}", stderr(&o));

    hub.fail(Step::LfsPut, FaultKind::Hang, 1);
    let mut child =
        std::process::Command::new(bin()).args(["push", s(&run), "--repo", "test-user/demo", "--quiet"]).envs(env).spawn().unwrap();
    assert!(hub.wait_for(Step::LfsPut, 1, Duration::from_secs(60)));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(hub.commits("test-user/demo").is_empty());
    let o = dasynth_in(&repo(), &["push", s(&run), "--repo", "test-user/demo"], &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let files = hub.files("test-user/demo", "main");
    for entry in walk(&export) {
        let rel = entry.strip_prefix(&export).unwrap().to_string_lossy().replace('\\', "/");
        assert_eq!(files.get(&rel), Some(&std::fs::read(&entry).unwrap()), "{rel}");
    }
    let o = dasynth_in(&repo(), &["push", s(&run), "--repo", "test-user/demo"], &env);
    assert!(stderr(&o).contains("nothing to commit"), "{}", stderr(&o));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

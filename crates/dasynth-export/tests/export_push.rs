//! Export a fixture run folder, load every config with Python's `datasets`, `pyarrow` and
//! `pandas`; push it to the fake Hub through every failure the Hub can throw (including a push
//! killed mid-upload), and download it back with `huggingface_hub`.

mod fixture;

use dasynth_core::config::{ExportFormat, ExportSettings, PushSettings};
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::{Reporter, Silent};
use dasynth_export::hub::{HubError, Token};
use dasynth_export::push::{PushError, PushRequest, push};
use dasynth_testkit::hub::{FakeHub, FaultKind, Step};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

fn python() -> String {
    std::env::var("DASYNTH_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name)
}

fn run_python(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = std::process::Command::new(python());
    cmd.args(args).env("HF_HUB_DISABLE_XET", "1").env("HF_HUB_DISABLE_TELEMETRY", "1").env_remove("HF_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run python");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} failed:\n{text}", args[0]);
    text
}

#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Reporter for Notes {
    fn note(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

fn export(root: &Path, s: &ExportSettings) -> dasynth_export::ExportOutcome {
    dasynth_export::export(&RunDir::new(root), s, &Silent).expect("export")
}

#[test]
fn by_stage_writes_every_config_again_per_curriculum_stage_and_each_loads() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(dir.path(), 4, 2, 200, true);
    let s = ExportSettings { formats: vec![ExportFormat::Sft, ExportFormat::Rl], by_stage: true, ..Default::default() };
    let out = export(dir.path(), &s);
    let st = &out.stats;
    let total = |name: &str| -> u64 { st.by_config.get(name).map_or(0, |c| c.rows.values().sum()) };
    for f in ["sft", "rl"] {
        let stages: Vec<&String> = st.by_config.keys().filter(|k| k.starts_with(&format!("{f}-stage-"))).collect();
        assert_eq!(stages.len(), 2, "{f}: {:?}", st.by_config.keys().collect::<Vec<_>>());
        assert_eq!(stages.iter().map(|k| total(k)).sum::<u64>(), total(f), "{f}: the stages partition the config");
        assert!(stages.iter().all(|k| total(k) > 0));
    }
    let export_dir = out.dir.expect("exported");
    let card = std::fs::read_to_string(export_dir.join("README.md")).unwrap();
    assert!(card.contains("- config_name: sft-stage-1") && card.contains("- config_name: rl-stage-2"), "{card}");
    // Every stage config loads with `datasets` as the card declares it.
    let mut expected_rows = serde_json::Map::new();
    let mut columns = serde_json::Map::new();
    for (name, c) in &st.by_config {
        let f = if name.starts_with("sft") { ExportFormat::Sft } else { ExportFormat::Rl };
        expected_rows.insert(name.clone(), serde_json::to_value(&c.rows).unwrap());
        let names: Vec<String> = dasynth_export::formats::schema(f).iter_names().map(|n| n.to_string()).collect();
        columns.insert(name.clone(), names.into());
    }
    let expected = serde_json::json!({"rows": expected_rows, "columns": columns, "license": "other"});
    let exp_path = dir.path().join("expected.json");
    std::fs::write(&exp_path, expected.to_string()).unwrap();
    let text = run_python(&[script("check_export.py").to_str().unwrap(), export_dir.to_str().unwrap(), exp_path.to_str().unwrap()], &[]);
    assert!(text.contains("all ok"), "{text}");
}

#[test]
fn every_config_loads_in_datasets_pyarrow_and_pandas() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture::write(dir.path(), 6, 2, 400, true);
    let out = export(dir.path(), &ExportSettings::default());
    let st = &out.stats;
    assert_eq!(st.selected_by, "verdicts");
    assert_eq!(st.trajectories_exported as usize, fx.accepted);
    assert_eq!(st.dropped_by_reason["not_accepted"] as usize, fx.trajectories - fx.accepted);
    assert_eq!(st.dropped_by_reason["unreadable"], 1, "the torn line");
    assert_eq!(st.rl_tasks as usize, fx.tasks - 1, "the open task has no ground truth");
    assert_eq!(st.rl_dropped_by_reason["no_ground_truth"], 1);
    let export_dir = out.dir.expect("exported");
    // Every config has every row once.
    let mut expected_rows = serde_json::Map::new();
    let mut columns = serde_json::Map::new();
    for f in ExportFormat::ALL {
        let c = &st.by_config[f.name()];
        let total: u64 = c.rows.values().sum();
        let want = match f {
            _ if f.is_rl() => st.rl_tasks,
            // The fixture has no student samples: the config is not written.
            ExportFormat::SftStudent => st.student_trajectories_exported,
            _ => st.trajectories_exported,
        };
        assert_eq!(total, want, "{}", f.name());
        if total == 0 {
            assert!(!export_dir.join("data").join(f.name()).exists(), "{}", f.name());
            continue;
        }
        expected_rows.insert(f.name().into(), serde_json::to_value(&c.rows).unwrap());
        let names: Vec<String> = dasynth_export::formats::schema(f).iter_names().map(|n| n.to_string()).collect();
        columns.insert(f.name().into(), names.into());
    }
    assert!(st.by_config["sft"].rows.len() >= 2, "at least two splits: {:?}", st.by_config["sft"]);
    let expected = serde_json::json!({"rows": expected_rows, "columns": columns, "license": "other"});
    let exp_path = dir.path().join("expected.json");
    std::fs::write(&exp_path, expected.to_string()).unwrap();
    let text = run_python(&[script("check_export.py").to_str().unwrap(), export_dir.to_str().unwrap(), exp_path.to_str().unwrap()], &[]);
    assert!(text.contains("all ok"), "{text}");
    // The card names every source table's licence and the teacher.
    let card = std::fs::read_to_string(export_dir.join("README.md")).unwrap();
    for want in ["sales", "CC0-1.0", "MIT", "reference-solutions", "license: other", "num_examples:"] {
        assert!(card.contains(want), "card lacks {want}:\n{card}");
    }
    assert!(export_dir.join("reward.py").is_file());
    // The catalog written by the same writer reads in pandas without the Arrow dtype backend.
    let code = format!(
        "import pandas as pd; df = pd.read_parquet({:?}); print(df['warnings'].dtype, df['provenance'].dtype, list(df['provenance'][0][0]))",
        dir.path().join("catalog.parquet").display().to_string()
    );
    let text = run_python(&["-c", &code], &[]);
    assert!(text.starts_with("object object ['source', 'uri', 'licence']"), "{text}");
}

#[test]
fn without_verdicts_the_answer_check_chooses_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture::write(dir.path(), 2, 1, 100, false);
    let notes = Notes::default();
    let s = ExportSettings { formats: vec![ExportFormat::Sft], ..Default::default() };
    let out = dasynth_export::export(&RunDir::new(dir.path()), &s, &notes).unwrap();
    assert_eq!(out.stats.selected_by, "answer-check");
    assert_eq!(out.stats.trajectories_exported as usize, fx.accepted);
    assert!(notes.0.lock().unwrap().iter().any(|n| n.contains("verdicts.parquet") && n.contains("hint:")));
    assert!(!out.dir.unwrap().join("data/rl").exists());
}

#[test]
fn an_empty_accepted_set_exports_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(dir.path(), 1, 1, 100, false);
    // Every trajectory fails its check.
    let path = RunDir::new(dir.path()).trajectories_dir().join("reference.jsonl");
    let text = std::fs::read_to_string(&path).unwrap().replace("\"passed\":true", "\"passed\":false");
    std::fs::write(&path, text).unwrap();
    let out = export(dir.path(), &ExportSettings::default());
    assert!(out.dir.is_none());
    let why = out.empty.unwrap();
    assert!(why.contains("none of the") && why.contains("answer_check_failed"), "{why}");
    assert!(!dir.path().join("export").exists());
}

#[test]
fn large_exports_stream_into_bounded_shards() {
    let dir = tempfile::tempdir().unwrap();
    // ~60 KB per trajectory, ~250 accepted: several 1 MiB shards per split.
    fixture::write(dir.path(), 30, 6, 10_000, true);
    let s = ExportSettings { formats: vec![ExportFormat::Sft], shard_bytes: 60_000, row_group_bytes: 50_000, ..Default::default() };
    let out = export(dir.path(), &s);
    let c = &out.stats.by_config["sft"];
    assert!(c.files >= 3, "{c:?}");
    let train: Vec<String> = std::fs::read_dir(out.dir.unwrap().join("data/sft"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("train-"))
        .collect();
    let n = train.len();
    assert!(n >= 2, "{train:?}");
    for name in &train {
        assert!(name.ends_with(&format!("-of-{n:05}.parquet")), "{name}");
    }
    // Reruns give the same files.
    let first = dasynth_export::manifest::build(&dir.path().join("export")).unwrap();
    export(dir.path(), &s);
    assert_eq!(first, dasynth_export::manifest::build(&dir.path().join("export")).unwrap());
}

fn request<'a>(run: &'a RunDir, hub: &FakeHub, settings: &'a PushSettings, token: &str) -> PushRequest<'a> {
    PushRequest { run, settings, message: Some("test push".into()), endpoint: hub.url(), token: Some(Token::new(token)) }
}

fn settings(repo: &str) -> PushSettings {
    PushSettings { repo: Some(repo.into()), ..Default::default() }
}

#[test]
fn push_resumes_after_every_failure_and_never_commits_twice() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(dir.path(), 4, 2, 300, true);
    export(dir.path(), &ExportSettings::default());
    let run = RunDir::new(dir.path());
    let hub = FakeHub::start();
    hub.multipart(4 << 10, 4 << 10);
    let repo = "test-user/agents";
    let s = settings(repo);

    // A bad token: the step is named, the token is not.
    let e = push(&request(&run, &hub, &s, "hf_wrong_secret"), &Silent).unwrap_err().to_string();
    assert!(e.contains("401") && !e.contains("hf_wrong_secret"), "{e}");
    // Someone else's namespace.
    let e = push(&request(&run, &hub, &settings("someone-else/agents"), FakeHub::TOKEN), &Silent).unwrap_err().to_string();
    assert!(e.contains("403") && e.contains("create repository"), "{e}");

    // The connection drops in the middle of an LFS upload.
    hub.fail(Step::LfsPart, FaultKind::DropAfter(1000), 1);
    let e = push(&request(&run, &hub, &s, FakeHub::TOKEN), &Silent).unwrap_err();
    assert!(matches!(e, PushError::Hub(HubError::Network { .. })), "{e}");
    assert!(e.to_string().contains("LFS multipart upload") && !e.to_string().contains("X-Amz-Signature"), "{e}");
    assert!(hub.commits(repo).is_empty(), "nothing half-committed");
    let stored = hub.lfs_objects();

    // A conflict at commit time.
    hub.fail(Step::Commit, FaultKind::Status(409), 1);
    let e = push(&request(&run, &hub, &s, FakeHub::TOKEN), &Silent).unwrap_err().to_string();
    assert!(e.contains("commit") && e.contains("409") && e.contains("rerun"), "{e}");
    assert!(hub.lfs_objects() > stored, "the rerun uploaded what was missing");
    let puts = hub.hits(Step::LfsPut) + hub.hits(Step::LfsPart);

    // Commits the Hub finds too large are split.
    hub.limit_commit_operations(8);
    let out = push(&request(&run, &hub, &s, FakeHub::TOKEN), &Silent).unwrap();
    assert_eq!(hub.hits(Step::LfsPut) + hub.hits(Step::LfsPart), puts, "no LFS object sent twice");
    assert!(out.lfs_present > 0);
    assert!(out.commits.len() >= 2, "{:?}", hub.commits(repo));
    let files = hub.files(repo, "main");
    let local = dasynth_export::manifest::build(&run.export_dir()).unwrap();
    for f in &local.files {
        assert_eq!(dasynth_core::ids::sha256_hex(&files[&f.path]), f.sha256, "{}", f.path);
    }
    // Nothing changed: no commit.
    let commits = hub.commits(repo).len();
    let again = push(&request(&run, &hub, &s, FakeHub::TOKEN), &Silent).unwrap();
    assert!(again.commits.is_empty() && hub.commits(repo).len() == commits);

    // An export edited by hand is refused before anything is sent.
    std::fs::write(run.export_dir().join("README.md"), "edited").unwrap();
    let e = push(&request(&run, &hub, &s, FakeHub::TOKEN), &Silent).unwrap_err().to_string();
    assert!(e.contains("README.md was changed") && e.contains("dasynth export"), "{e}");
}

/// The child side of the kill test: pushes and hangs in an LFS upload until killed.
#[test]
#[ignore = "run by push_killed_mid_upload_finishes_on_rerun as a child process"]
fn push_child() {
    let (Ok(root), Ok(endpoint)) = (std::env::var("PUSH_CHILD_RUN"), std::env::var("PUSH_CHILD_ENDPOINT")) else { return };
    let run = RunDir::new(root);
    let s = settings("test-user/killed");
    let req = PushRequest { run: &run, settings: &s, message: None, endpoint, token: Some(Token::new(FakeHub::TOKEN)) };
    let _ = push(&req, &Silent);
}

#[test]
fn push_killed_mid_upload_finishes_on_rerun_and_downloads_identical() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(dir.path(), 4, 2, 300, true);
    export(dir.path(), &ExportSettings::default());
    let run = RunDir::new(dir.path());
    let hub = FakeHub::start();
    // The first LFS upload completes, the second hangs until the child is killed.
    hub.fail_after(Step::LfsPut, 1, FaultKind::Hang, 1);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "push_child", "--ignored", "--nocapture"])
        .env("PUSH_CHILD_RUN", dir.path())
        .env("PUSH_CHILD_ENDPOINT", hub.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(hub.wait_for(Step::LfsPut, 2, Duration::from_secs(120)), "the child never reached its second upload");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(hub.commits("test-user/killed").is_empty(), "nothing committed by the killed push");
    let s = settings("test-user/killed");
    let out = push(&request(&run, &hub, &s, FakeHub::TOKEN), &Silent).unwrap();
    assert!(out.lfs_present >= 1, "the object uploaded before the kill is not sent again");
    assert_eq!(hub.commits("test-user/killed").len(), 1);
    let dest = dir.path().join("download");
    let text = run_python(
        &[script("download.py").to_str().unwrap(), "test-user/killed", run.export_dir().to_str().unwrap(), dest.to_str().unwrap()],
        &[("HF_ENDPOINT", &hub.url()), ("HF_HOME", dir.path().join("hf-home").to_str().unwrap())],
    );
    assert!(text.contains("files identical"), "{text}");
}

//! End-to-end tests of trajectory generation: the offline reference teacher, the agent loop
//! against the fake OpenAI-compatible server (faults, bad keys, dead endpoints), and kill -9
//! then resume.

mod common;

use common::*;
use dasynth_agent::reference_teacher::shape::shape;
use dasynth_agent::store::read_all;
use dasynth_core::trajectory::{Finish, Trajectory};
use dasynth_fakellm::{FakeConfig, FakeLlm, Fault, Reply, Responder};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run folder with a handful of tasks over one small table.
fn tasks_run(dir: &Path) -> std::path::PathBuf {
    tasks_run_with(dir, "6")
}

fn tasks_run_with(dir: &Path, per_table: &str) -> std::path::PathBuf {
    let run = dir.join("run");
    let o = dasynth(&["crawl", s(&repo().join("sources/demo/seattle-weather.csv")), "--out", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["profile", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&[
        "tasks",
        s(&run),
        "-q",
        "--per-table",
        per_table,
        "--family",
        "data-question-answering",
        "--family",
        "data-analysis",
        "--family",
        "data-insight",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    run
}

fn config(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// A scripted teacher: first a code turn, then an answer that quotes the output.
fn teacher() -> Responder {
    Responder::func(|s| {
        let last = s.last_user();
        if last.contains("<Execute>") {
            let out = last.lines().nth(1).unwrap_or("").to_string();
            Reply::text(format!("<Analyze>The output is {out}.</Analyze>\n<Answer>{out}</Answer>")).with_usage(100, 20)
        } else {
            Reply::text("<Analyze>Load the data.</Analyze>\n<Code>\n```python\nimport pandas as pd\nprint(len(pd.read_csv('seattle-weather.csv')))\n```\n").with_usage(80, 30)
        }
    })
}

fn teacher_toml(url: &str, extra: &str) -> String {
    format!(
        "[[teacher]]\nkind = \"openai\"\nbase-url = \"{url}\"\nmodel = \"fake-model\"\nname = \"fake\"\nprice-input-per-mtok = 1.0\nprice-output-per-mtok = 2.0\n{extra}\n[trajectories]\nconcurrency = 4\n"
    )
}

fn by_key(ts: Vec<Trajectory>) -> BTreeMap<String, Trajectory> {
    ts.into_iter().map(|t| (t.key.clone(), t)).collect()
}

#[test]
fn generate_on_demo_data_writes_reference_trajectories_that_pass() {
    let dir = tempfile::tempdir().unwrap();
    let run = tasks_run(dir.path());
    let o = dasynth(&["trajectories", s(&run)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ts = read_all(&run.join("trajectories"));
    let tasks = dasynth_tasks::read_tasks(&dasynth_core::layout::RunDir::new(&run)).unwrap();
    assert_eq!(ts.len(), tasks.len());
    for t in &ts {
        assert_eq!(t.finish, Finish::Answer, "{}: {}", t.task_id, t.finish_detail);
        assert_eq!(t.passed, Some(true), "{}: {}", t.task_id, t.check_detail);
        assert_eq!(t.teacher, "reference");
        // DeepAnalyze's shape: every <Execute> is followed by a turn that begins with <Analyze>.
        for w in t.messages.windows(2) {
            if w[0].role == "execute" {
                assert!(w[0].content.starts_with("<Execute>\n"));
                assert!(w[1].role == "assistant" && w[1].content.starts_with("<Analyze>"), "{:?}", w[1]);
            }
        }
        assert!(t.messages.last().unwrap().content.contains("<Answer>"));
        assert_analyst_shape(t);
    }
    let cells: usize = ts.iter().map(|t| shape(t).code_cells).sum();
    // A look at the data, the computation, and a check of the result where one fits: the demo
    // run averages 3.1 cells (bench/heldout measures it); these six question-answering tasks
    // have fewer checks.
    assert!(ts.iter().all(|t| shape(t).code_cells >= 2), "a trajectory computes without looking first");
    assert!(cells * 2 >= 5 * ts.len(), "{cells} code cells in {} trajectories", ts.len());
    // A second run finds everything done and redoes nothing.
    let o = dasynth(&["trajectories", s(&run)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("0 written to {}", run.join("trajectories").display())), "{}", stderr(&o));
    assert_eq!(read_all(&run.join("trajectories")).len(), ts.len());
}

/// A reference trajectory looks at the data before computing, and every number it states in
/// `<Understand>` or `<Answer>` is one a cell printed.
fn assert_analyst_shape(t: &Trajectory) {
    let sh = shape(t);
    assert!(sh.explores_first, "{}: the first cell does not look at the data", t.task_id);
    assert!(sh.unsupported.is_empty(), "{}: numbers no output shows: {:?}\n{:#?}", t.task_id, sh.unsupported, t.messages);
}

/// Every family on the raw penguins table, every trajectory with a mistake (a wrongly cased
/// column name, an unparsed date, a text column averaged) and its fix.
#[test]
fn reference_trajectories_explore_recover_and_state_only_numbers_from_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = dasynth(&["crawl", s(&repo().join("sources/demo/penguins_raw.csv")), "--out", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["profile", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["tasks", s(&run), "-q", "--per-table", "40", "--check-solutions"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cfg = config(dir.path(), "mistakes.toml", "[trajectories]\nreference-mistakes = 1.0\n");
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ts = read_all(&run.join("trajectories"));
    assert!(ts.len() >= 20, "{} trajectories", ts.len());
    let mut recovered = 0;
    for t in &ts {
        assert_eq!(t.finish, Finish::Answer, "{}: {}", t.task_id, t.finish_detail);
        assert_eq!(t.passed, Some(true), "{}: {}", t.task_id, t.check_detail);
        assert_analyst_shape(t);
        recovered += usize::from(shape(t).recovered);
    }
    assert!(recovered * 2 > ts.len(), "{recovered} of {} trajectories recover from a mistake", ts.len());
    let solutions = dasynth_tasks::read_tasks(&dasynth_core::layout::RunDir::new(&run)).unwrap();
    assert!(solutions.iter().all(|t| !t.solution.contains("keep_default_na") && !t.solution.contains("sqlite3")));
}

#[test]
fn trajectories_without_tasks_say_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["trajectories", s(dir.path())]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no tasks at") && stderr(&o).contains("dasynth tasks"), "{}", stderr(&o));
}

#[test]
fn agent_loop_runs_code_and_survives_injected_faults() {
    let dir = tempfile::tempdir().unwrap();
    let run = tasks_run(dir.path());
    let srv = FakeLlm::start(FakeConfig {
        responder: teacher(),
        latency: Duration::from_millis(5),
        fault_rate: 0.3,
        faults: vec![
            Fault::RateLimited { retry_after: Some("0".into()) },
            Fault::ServerError,
            Fault::Truncated,
            Fault::InvalidJson,
            Fault::Overloaded,
        ],
        seed: 3,
        ..Default::default()
    });
    let cfg = config(dir.path(), "dasynth.toml", &teacher_toml(&srv.url(), ""));
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    let ts = read_all(&run.join("trajectories"));
    assert!(!ts.is_empty(), "{}", stderr(&o));
    for t in &ts {
        assert_eq!(t.finish, Finish::Answer, "{}", t.finish_detail);
        assert_eq!(t.teacher, "fake");
        let exec = t.messages.iter().find(|m| m.role == "execute").expect("an execute turn");
        assert!(exec.content.contains("1461"), "the sandbox ran the model's code: {}", exec.content);
        assert_eq!(t.answer.as_deref(), Some("1461"));
        assert_eq!((t.input_tokens, t.output_tokens), (180, 50));
        assert!((t.cost_usd - (180.0 + 100.0) / 1e6).abs() < 1e-12, "{}", t.cost_usd);
    }
    let stats = srv.stats();
    assert!(stats.count(429) + stats.count(500) > 0, "faults were injected: {stats:?}");
    assert!(stderr(&o).contains("spend: $"), "{}", stderr(&o));
}

#[test]
fn questioner_writes_open_tasks_and_inspector_judges_every_llm_trajectory() {
    let dir = tempfile::tempdir().unwrap();
    let run = tasks_run_with(dir.path(), "2");
    let srv = FakeLlm::start(FakeConfig {
        responder: Responder::func(|s| {
            let last = s.last_user();
            if last.contains("You design data-science tasks") {
                Reply::text(
                    "Here it is:\n{\"instruction\": \"Report how many rows the table has.\", \"checklist\": [\"states the row count\"]}",
                )
            } else if last.contains("You inspect the work") {
                let ok = last.contains("1461");
                Reply::text(format!("{{\"accept\": {ok}, \"reasons\": [\"row count {}\"]}}", if ok { "stated" } else { "missing" }))
            } else if last.contains("<Execute>") {
                let out = last.lines().nth(1).unwrap_or("").to_string();
                Reply::text(format!("<Analyze>Done.</Analyze>\n<Answer>{out}</Answer>"))
            } else {
                Reply::text(
                    "<Analyze>Count.</Analyze>\n<Code>\n```python\nimport pandas as pd\nprint(len(pd.read_csv('seattle-weather.csv')))\n```\n",
                )
            }
        }),
        ..Default::default()
    });
    let extra = "[trajectories]\nquestioner = \"fake\"\ninspector = \"fake\"\nquestions-per-table = 2\n";
    let toml = teacher_toml(&srv.url(), "").replace("[trajectories]\n", extra);
    let cfg = config(dir.path(), "roles.toml", &toml);
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    assert!(stderr(&o).contains("questions: 2 open task(s) from fake"), "{}", stderr(&o));
    let questions: Vec<dasynth_tasks::task::Task> = dasynth_parquet::read_rows(&run.join("questions.parquet")).unwrap();
    assert_eq!(questions.len(), 2);
    assert!(questions.iter().all(|q| q.template == "roles/questioner" && q.ground_truth.contains("states the row count")));
    let ts = read_all(&run.join("trajectories"));
    for q in &questions {
        let t = ts.iter().find(|t| t.task_id == q.id).expect("a trajectory for the open task");
        let i = t.inspection.as_ref().expect("inspected");
        assert!(i.accepted && t.passed == Some(true), "{:?} {:?}", i, t.passed);
    }
    // Template tasks are inspected too; the inspector rejects answers without the count.
    assert!(ts.iter().all(|t| t.inspection.is_some()));
    assert!(ts.len() > questions.len());
    // A rerun reads questions.parquet and redoes nothing.
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    assert!(!stderr(&o).contains("questions: 2 open"), "{}", stderr(&o));
    assert_eq!(read_all(&run.join("trajectories")).len(), ts.len());
}

#[test]
fn bad_keys_unknown_models_and_dead_endpoints_stop_the_run_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = tasks_run(dir.path());
    // The key's variable is not set: nothing starts.
    let cfg = config(dir.path(), "nokey.toml", &teacher_toml("http://127.0.0.1:9/v1", "api-key-env = \"DASYNTH_TEST_NO_SUCH_KEY\""));
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("DASYNTH_TEST_NO_SUCH_KEY"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("sk-"), "{}", stderr(&o));

    // A wrong key: the endpoint answers 401; the run stops early and says why.
    let srv = FakeLlm::start(FakeConfig { responder: teacher(), valid_keys: Some(vec!["right".into()]), ..Default::default() });
    let cfg = config(dir.path(), "badkey.toml", &teacher_toml(&srv.url(), "api-key-env = \"DASYNTH_TEST_KEY\""));
    let o = dasynth_in(&repo(), &["trajectories", s(&run), "--config", s(&cfg)], &[("DASYNTH_TEST_KEY", "sk-wrong-secret")]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("stopped early") && stderr(&o).contains("authentication failed"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("sk-wrong-secret"), "the key leaked: {}", stderr(&o));
    assert!(read_all(&run.join("trajectories")).is_empty());

    // An unknown model.
    let srv = FakeLlm::start(FakeConfig { responder: teacher(), unknown_models: vec!["fake-model".into()], ..Default::default() });
    let cfg = config(dir.path(), "model.toml", &teacher_toml(&srv.url(), ""));
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown model"), "{}", stderr(&o));

    // Nothing listens: the run ends quickly with the endpoint named, never hangs.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let cfg = config(dir.path(), "dead.toml", &teacher_toml(&url, "max-retries = 1\ntimeout-secs = 2"));
    let started = Instant::now();
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(started.elapsed() < Duration::from_secs(90), "took {:?}", started.elapsed());
    assert!(stderr(&o).contains("stopped early") && stderr(&o).contains(&format!("127.0.0.1:{port}")), "{}", stderr(&o));
}

#[test]
fn kill_nine_then_resume_equals_an_uninterrupted_run_and_repays_nothing_cached() {
    let dir = tempfile::tempdir().unwrap();
    let run = tasks_run_with(dir.path(), "12");
    let clean = dir.path().join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    for f in ["catalog.parquet", "profiles", "tables", "tasks.parquet", "tasks"] {
        let _ = Command::new("cp").args(["-r", s(&run.join(f)), s(&clean)]).status();
    }
    let slow = || FakeConfig { responder: teacher(), latency: Duration::from_millis(300), ..Default::default() };

    // Uninterrupted.
    let srv = FakeLlm::start(slow());
    let cfg = config(dir.path(), "clean.toml", &teacher_toml(&srv.url(), ""));
    let o = dasynth(&["trajectories", s(&clean), "--config", s(&cfg), "-q"]);
    assert_eq!(code(&o), 1, "answers are wrong on purpose, so the check fails: {}", stderr(&o));
    let want = by_key(read_all(&clean.join("trajectories")));
    let clean_hits = srv.stats().hits;
    assert!(want.len() >= 4, "{}", want.len());

    // Killed with SIGKILL once two trajectories are stored, then resumed.
    let srv = FakeLlm::start(slow());
    let cfg = config(dir.path(), "kill.toml", &teacher_toml(&srv.url(), ""));
    let mut child = Command::new(bin())
        .args(["trajectories", s(&run), "--config", s(&cfg), "-q"])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while read_all(&run.join("trajectories")).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = read_all(&run.join("trajectories")).len();
    assert!(before >= 2 && before < want.len(), "killed after {before} of {}", want.len());
    let o = dasynth(&["trajectories", s(&run), "--config", s(&cfg), "-q"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let got = by_key(read_all(&run.join("trajectories")));
    assert_eq!(got.len(), want.len(), "nothing lost, nothing duplicated");
    for (k, t) in &want {
        let g = &got[k];
        assert_eq!(g.messages, t.messages, "{k}");
        assert_eq!((g.answer.clone(), g.finish, g.passed), (t.answer.clone(), t.finish, t.passed));
    }
    // Calls finished before the kill came from the cache; at most the ones in flight (4) were paid twice.
    let hits = srv.stats().hits;
    assert!(hits <= clean_hits + 4, "{hits} requests against {clean_hits} for an uninterrupted run");
}

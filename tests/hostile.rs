//! End to end through the binary: one writer per run folder, the hostile corpus crawled with
//! its readers in `dasynth inspect-worker` child processes, and redirects into private
//! networks refused with the final URL of every download recorded.
//!
//! `DASYNTH_TEST_BIN` names the binary to test when set (a private copy, where several clones
//! share one target folder); else the one cargo built for this test.

mod common;
use common::{catalog, code, s, stderr};
use dasynth_core::catalog::Status;
use dasynth_core::layout::RunDir;
use dasynth_core::lock::RunLock;
use dasynth_testkit::{Reply, TestServer, hostile};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn command(args: &[&str]) -> Command {
    let bin = std::env::var("DASYNTH_TEST_BIN").unwrap_or_else(|_| common::bin().to_string());
    let mut cmd = Command::new(bin);
    cmd.current_dir(common::repo()).args(args).env_remove("RUST_LOG").env_remove("DASYNTH_CONFIG").env_remove("HF_TOKEN");
    cmd
}

fn dasynth(args: &[&str]) -> Output {
    command(args).output().expect("run dasynth")
}

fn good_csv(dir: &Path) -> String {
    let path = dir.join("good.csv");
    std::fs::write(&path, "a,b\n1,x\n2,y\n").expect("good.csv");
    path.display().to_string()
}

#[test]
fn a_second_writer_exits_2_naming_the_first_or_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let csv = good_csv(dir.path());
    let held = RunLock::acquire(&RunDir::new(&run), false).unwrap();
    let pid = format!("pid {}", std::process::id());
    for args in [
        vec!["crawl", "--quiet", "--out", s(&run), &csv],
        vec!["profile", "--quiet", s(&run)],
        vec!["tasks", "--quiet", s(&run)],
        vec!["trajectories", "--quiet", s(&run)],
        vec!["generate", "--quiet", "--out", s(&run), &csv],
    ] {
        let o = dasynth(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(&pid) && stderr(&o).contains("--wait"), "{args:?}: {}", stderr(&o));
    }
    assert!(!run.join("catalog.parquet").exists(), "nothing was written while the folder was held");

    let mut waiting = command(&["crawl", "--quiet", "--wait", "--out", s(&run), &csv]).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(waiting.try_wait().unwrap().is_none(), "--wait blocks while the folder is held");
    drop(held);
    let o = waiting.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(catalog(&run).len(), 1);
}

#[test]
fn the_hostile_corpus_crawls_to_one_failed_row_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let files = hostile::write_all(&input);
    let run = dir.path().join("run");
    let started = Instant::now();
    let o = dasynth(&["crawl", "--quiet", "--out", s(&run), s(&input)]);
    let elapsed = started.elapsed();
    assert_eq!(code(&o), 1, "some inputs failed → exit 1\n{}", stderr(&o));
    let cat = catalog(&run);
    assert_eq!(cat.len(), files.len(), "{cat:#?}");
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap();
        let e = cat.iter().find(|e| e.uri.contains(name)).unwrap_or_else(|| panic!("{name}: {cat:#?}"));
        assert_eq!(e.status, Status::Failed, "{e:#?}");
        assert!(e.error.as_deref().is_some_and(|m| m.contains(name)), "{e:#?}");
    }
    assert!(elapsed < Duration::from_secs(120), "{elapsed:?}");
}

#[test]
fn a_reader_that_aborts_fails_in_its_child_process_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    hostile::spanning_xlsx(&input);
    good_csv(&input);
    // With the cell limit lifted, calamine asks for 512 GiB and its process aborts.
    let config = dir.path().join("dasynth.toml");
    std::fs::write(&config, "[crawl]\nmax-cells = 9000000000000000000\ninspect-memory-bytes = 1073741824\n").unwrap();
    let run = dir.path().join("run");
    let o = dasynth(&["crawl", "--quiet", "--config", s(&config), "--out", s(&run), s(&input)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let cat = catalog(&run);
    let span = cat.iter().find(|e| e.uri.ends_with("span.xlsx")).unwrap();
    let err = span.error.as_deref().unwrap_or_default();
    assert!(err.contains("memory cap of 1073741824 bytes (crawl.inspect-memory-bytes)"), "{err}");
    assert!(cat.iter().any(|e| e.uri.ends_with("good.csv") && e.status == Status::Ok), "{cat:#?}");
}

#[test]
fn redirects_into_private_networks_are_refused_and_final_urls_recorded() {
    let (origin, other) = (TestServer::start(), TestServer::start());
    other.route("/t.csv", vec![Reply::ok(b"a,b\n1,x\n".to_vec())]);
    origin.route("/r.csv", vec![Reply::status(302).header("Location", &other.url("/t.csv"))]);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = dasynth(&["crawl", "--quiet", "--out", s(&run), &origin.url("/r.csv")]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let cat = catalog(&run);
    let err = cat[0].error.as_deref().unwrap_or_default();
    assert!(err.contains("refused a redirect") && err.contains("crawl.allow-private-redirects"), "{err}");
    assert_eq!(other.hits("/t.csv"), 0);

    let config = dir.path().join("dasynth.toml");
    std::fs::write(&config, "[crawl]\nallow-private-redirects = true\n").unwrap();
    let run = dir.path().join("run2");
    let o = dasynth(&["crawl", "--quiet", "--config", s(&config), "--out", s(&run), &origin.url("/r.csv")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cat = catalog(&run);
    assert_eq!(cat[0].uri, origin.url("/r.csv"));
    assert_eq!(cat[0].final_uri.as_deref(), Some(other.url("/t.csv").as_str()), "{cat:#?}");
}

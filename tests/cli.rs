//! The command line itself: help, exit codes, configuration errors, settings.

mod common;
use common::*;

#[test]
fn help_lists_every_subcommand_with_a_description() {
    let o = dasynth(&["--help"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for cmd in ["generate", "crawl", "profile", "schemas"] {
        let line = text.lines().find(|l| l.trim_start().starts_with(cmd)).unwrap_or_else(|| panic!("{cmd} missing in:\n{text}"));
        assert!(line.trim().len() > cmd.len() + 10, "{cmd} has no description: {line}");
    }
}

#[test]
fn unknown_flag_exits_2() {
    let o = dasynth(&["crawl", "--no-such-flag"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--no-such-flag"), "{}", stderr(&o));
}

#[test]
fn missing_source_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["crawl", "no/such/file.csv", "--out", s(dir.path())]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no/such/file.csv"), "{}", stderr(&o));
}

#[test]
fn unknown_config_key_is_named_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dasynth.toml"), "[crawl]\nhttp-retrys = 2\n").unwrap();
    let o = dasynth_in(dir.path(), &["--show-settings"], &[]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("http-retrys") && err.contains("dasynth.toml"), "{err}");
}

#[test]
fn show_settings_merges_file_env_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dasynth.toml"), "out = \"from-file\"\n[crawl]\nhttp-retries = 5\nmax-columns = 99\n").unwrap();
    let o = dasynth_in(dir.path(), &["--show-settings", "crawl", "--out", "from-flag"], &[("DASYNTH_HTTP_RETRIES", "9")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let settings: dasynth_core::config::Settings = toml::from_str(&stdout(&o)).unwrap();
    assert_eq!(settings.out, std::path::PathBuf::from("from-flag"));
    assert_eq!(settings.crawl.http_retries, 9);
    assert_eq!(settings.crawl.max_columns, 99);
}

#[test]
fn bad_environment_value_is_named() {
    let o = dasynth(&["--show-settings"]);
    assert_eq!(code(&o), 0);
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth_in(dir.path(), &["--show-settings"], &[("DASYNTH_MAX_TABLE_BYTES", "lots")]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("DASYNTH_MAX_TABLE_BYTES"), "{}", stderr(&o));
}

#[test]
fn missing_catalog_gives_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["profile", s(dir.path())]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("hint: run `dasynth crawl"), "{}", stderr(&o));
}

#[test]
fn schemas_command_writes_the_committed_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["schemas", "--out", s(dir.path())]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for (name, _) in dasynth_core::schemas::all() {
        let ours = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let committed = std::fs::read_to_string(repo().join("schemas").join(name)).unwrap();
        assert_eq!(ours, committed, "{name}");
    }
}

#[test]
fn sandbox_run_executes_python_against_a_data_folder() {
    let data = fixtures().join("good");
    let o = dasynth(&["sandbox", "run", "-q", "-c", "import pandas as pd; print(pd.read_csv('people.csv').shape)", "--data", s(&data)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "(20, 7)");
    let o = dasynth(&["sandbox", "run", "-q", "--json", "-c", "open('/etc/passwd').read()"]);
    assert_eq!(code(&o), 1, "a failing cell exits 1");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(summary["status"], "error");
    assert!(summary["stderr"].as_str().unwrap().contains("FileNotFoundError"));
    let o = dasynth(&["sandbox", "run", "-q", "--timeout", "1", "-c", "while True: pass"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("deadline"), "{}", stderr(&o));
}

#[test]
fn the_binary_works_in_an_empty_folder_outside_the_repository() {
    // The folder holds nothing: the templates and the demo tables come from the binary. The
    // configuration (a few tasks, to keep the test short) sits outside the folder.
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("empty");
    std::fs::create_dir(&work).unwrap();
    let config = dir.path().join("small.toml");
    std::fs::write(&config, "[tasks]\nmax-tasks = 6\n").unwrap();
    let env = [("DASYNTH_CONFIG", s(&config))];

    let o = dasynth_in(&work, &["templates", "check"], &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("problem(s)") && !stderr(&o).contains(" 0 ok"), "{}", stderr(&o));

    let o = dasynth_in(&work, &["generate", "--out", "run"], &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let run = work.join("run");
    let catalog = catalog(&run);
    assert!(catalog.iter().filter(|e| e.status == dasynth_core::catalog::Status::Ok).count() >= 20, "{}", stderr(&o));
    let tasks = dasynth_tasks::read_tasks(&dasynth_core::layout::RunDir::new(&run)).unwrap();
    assert_eq!(tasks.len(), 6);
    let trajectories = dasynth_agent::store::read_all(&run.join("trajectories"));
    assert_eq!(trajectories.len(), 6);
    assert!(trajectories.iter().all(|t| t.passed == Some(true)), "{:?}", trajectories.iter().map(|t| &t.check_detail).collect::<Vec<_>>());
}

#[test]
fn the_old_generate_section_is_read_with_a_deprecation_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("old.toml");
    std::fs::write(&cfg, "[generate]\nconcurrency = 7\n").unwrap();
    let o = dasynth(&["--config", s(&cfg), "--show-settings"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("[trajectories]") && stdout(&o).contains("concurrency = 7"), "{}", stdout(&o));
    assert!(stderr(&o).contains("[generate]") && stderr(&o).contains("[trajectories]"), "{}", stderr(&o));
    std::fs::write(&cfg, "[generate]\nconcurrency = 7\n[trajectories]\nconcurrency = 8\n").unwrap();
    let o = dasynth(&["--config", s(&cfg), "--show-settings"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("both [generate] and [trajectories]"), "{}", stderr(&o));
}

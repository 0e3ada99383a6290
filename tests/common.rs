//! Helpers shared by the end-to-end tests: run the real `dasynth` binary, read what it wrote.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: `DASYNTH_TEST_BIN` (a private copy, safe from a rebuild of a shared
/// target folder while the tests run), else the one cargo built with the tests.
pub fn bin() -> String {
    std::env::var("DASYNTH_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_dasynth").to_string())
}

pub fn repo() -> PathBuf {
    dasynth_testkit::repo_root()
}

pub fn fixtures() -> PathBuf {
    dasynth_testkit::fixtures()
}

/// Runs dasynth in `cwd` with the given arguments and extra environment.
pub fn dasynth_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.current_dir(cwd).args(args).env_remove("RUST_LOG").env_remove("DASYNTH_CONFIG").env_remove("HF_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run dasynth")
}

pub fn dasynth(args: &[&str]) -> Output {
    dasynth_in(&repo(), args, &[])
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn catalog(run: &Path) -> Vec<dasynth_core::catalog::CatalogEntry> {
    dasynth_sources::catalog_io::read(&run.join("catalog.parquet")).expect("catalog")
}

pub fn profile(run: &Path, id: &str) -> dasynth_core::profile::TableProfile {
    let bytes = std::fs::read(run.join("profiles").join(format!("{id}.json"))).expect("profile file");
    serde_json::from_slice(&bytes).expect("profile json")
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

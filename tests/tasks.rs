//! End-to-end tests of the task stage: templates are linted, bound to the demo data's profiles,
//! and every reference solution agrees with the ground truth computed in Rust.

mod common;

use common::*;
use dasynth_tasks::task::Task;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn crawl_and_profile(out: &Path) {
    crawl_and_profile_from(&repo().join("sources/demo.toml"), out);
}

fn crawl_and_profile_from(source: &Path, out: &Path) {
    let o = dasynth(&["crawl", s(source), "--out", s(out), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["profile", s(out), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// A run folder under `dir`, crawled and profiled from one CSV table `name` holding `csv`.
fn run_of_one_table(dir: &Path, name: &str, csv: &str) -> std::path::PathBuf {
    let tables = dir.join("tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::write(tables.join(name), csv).unwrap();
    let run = dir.join("run");
    crawl_and_profile_from(&tables, &run);
    run
}

fn read_tasks(run: &Path) -> Vec<Task> {
    dasynth_tasks::read_tasks(&dasynth_core::layout::RunDir::new(run)).expect("tasks.parquet")
}

#[test]
fn shipped_templates_pass_the_linter_and_cover_every_family() {
    let o = dasynth(&["templates", "check"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let (ok, errors) = dasynth_tasks::lint::load_checked(&repo().join("templates"));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(ok.len() >= 40, "only {} templates", ok.len());
    let families: BTreeSet<_> = ok.iter().map(|t| t.spec.family).collect();
    assert_eq!(families.len(), 8, "{families:?}");
}

#[test]
fn broken_templates_are_named_with_file_and_line_and_the_rest_still_render() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    // One good template copied from the shipped set, three broken ones.
    let good = "data-question-answering/mean-of-column.j2";
    std::fs::create_dir_all(templates.join("data-question-answering")).unwrap();
    std::fs::copy(repo().join("templates").join(good), templates.join(good)).unwrap();
    let head = "{#---\nfamily = \"data-question-answering\"\nstage = 1\ndifficulty = \"easy\"\nanswer = \"number\"\n[tables.df]\n[columns.num]\nsemantic = [\"numeric\"]\n---#}\n";
    let write =
        |name: &str, body: &str| std::fs::write(templates.join("data-question-answering").join(name), format!("{head}{body}")).unwrap();
    write("syntax.j2", "{% block prompt %}{{ num }{% endblock %}\n");
    write(
        "missing-column.j2",
        "{% block prompt %}x{% endblock %}\n{% block truth %}\nSELECT AVG(price) FROM df{% endblock %}\n{% block solution %}answer = 1{% endblock %}\n",
    );
    write(
        "unknown-role.j2",
        "{% block prompt %}{{ cat }}{% endblock %}\n{% block truth %}SELECT 1{% endblock %}\n{% block solution %}answer = 1{% endblock %}\n",
    );
    let o = dasynth(&["templates", "check", s(&templates)]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("syntax.j2:10:"), "{out}");
    assert!(out.contains("missing-column.j2:11:") && out.contains("price"), "{out}");
    assert!(out.contains("unknown-role.j2:10:") && out.contains("`cat`"), "{out}");

    let run = dir.path().join("run");
    crawl_and_profile(&run);
    let o = dasynth(&["tasks", s(&run), "--templates", s(&templates)]);
    assert_eq!(code(&o), 1, "broken templates make the stage report problems: {}", stderr(&o));
    assert!(stderr(&o).contains("template skipped"), "{}", stderr(&o));
    let tasks = read_tasks(&run);
    assert!(!tasks.is_empty());
    assert!(tasks.iter().all(|t| t.template == "data-question-answering/mean-of-column"));
}

#[test]
fn demo_tasks_cover_every_family_and_every_reference_solution_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    crawl_and_profile(&run);
    let o = dasynth(&["tasks", s(&run), "--check-solutions"]);
    let report = std::fs::read_to_string(run.join("stats/solutions.json")).unwrap_or_default();
    assert_eq!(code(&o), 0, "{}\n{report}", stderr(&o));
    let tasks = read_tasks(&run);
    let families: BTreeSet<&str> = tasks.iter().map(|t| t.family.as_str()).collect();
    assert_eq!(families.len(), 8, "{families:?}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    // The only failures allowed are modeling tasks whose data does not let a model beat the
    // baseline; `--check-solutions` drops them from tasks.parquet.
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    assert!(failures.iter().all(|f| f["reason"].as_str().is_some_and(|r| r.contains("does not beat the baseline"))), "{report:#}");
    assert_eq!(report["checked"].as_u64(), Some((tasks.len() + failures.len()) as u64));
    // Counts per family and per drop reason are saved in the run folder and printed.
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("stats/tasks.json")).unwrap()).unwrap();
    let by_family: BTreeMap<String, u64> = serde_json::from_value(stats["by_family"].clone()).unwrap();
    assert_eq!(by_family.values().sum::<u64>(), tasks.len() as u64);
    assert!(stats["dropped_by_reason"].as_object().is_some_and(|m| !m.is_empty()), "{stats:#}");
    assert!(stderr(&o).contains("by family:") && stderr(&o).contains("dropped:"), "{}", stderr(&o));
    // Every task is grounded: the prompt is DeepAnalyze's, the files exist, the truth is JSON.
    for t in &tasks {
        assert!(t.prompt.starts_with("# Instruction\n") && t.prompt.contains("\n# Data\nFile 1: {\"name\": "), "{}", t.prompt);
        for f in t.files() {
            assert!(run.join(&f.path).exists(), "{} lacks {}", t.id, f.path);
        }
        assert!(!t.ground_truth_value().is_null(), "{}", t.id);
        assert!(dasynth_tasks::task::TaskExt::checker_spec(t).is_some());
    }
    // Deterministic for a seed; another seed gives other tasks.
    let again = dir.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    for f in ["catalog.parquet", "profiles", "tables"] {
        let _ = std::process::Command::new("cp").args(["-r", s(&run.join(f)), s(&again)]).status();
    }
    let o = dasynth(&["tasks", s(&again), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ids = |ts: &[Task]| ts.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
    // The same tasks, less those `--check-solutions` dropped above.
    let dropped: BTreeSet<&str> = failures.iter().filter_map(|f| f["task"].as_str()).collect();
    let kept: Vec<String> = ids(&read_tasks(&again)).into_iter().filter(|id| !dropped.contains(id.as_str())).collect();
    assert_eq!(kept, ids(&tasks));
    let o = dasynth(&["tasks", s(&again), "-q", "--seed", "7"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_ne!(ids(&read_tasks(&again)), ids(&tasks));
}

#[test]
fn per_table_quota_and_family_filter_hold() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    crawl_and_profile(&run);
    let o = dasynth(&["tasks", s(&run), "-q", "--per-table", "3", "--family", "data-cleaning", "--family", "data-analysis"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let tasks = read_tasks(&run);
    assert!(!tasks.is_empty());
    let mut per_table: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tasks {
        assert!(t.family == "data-cleaning" || t.family == "data-analysis", "{}", t.family);
        *per_table.entry(t.table_id_list()[0].clone()).or_default() += 1;
    }
    assert!(per_table.values().all(|&n| n <= 3), "{per_table:?}");
    let o = dasynth(&["tasks", s(&run), "--family", "data-cooking"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("data-cooking") && stderr(&o).contains("data-cleaning"), "{}", stderr(&o));
}

#[test]
fn a_histogram_whose_values_sit_on_a_bin_edge_is_dropped() {
    // `on_edge`: k / 40 for k in 0..=40, so 0.3 sits on the edge 0 + 3 * 0.1 (its bin depends on
    // the last bit of a parse); `spread`: the square roots of 1..=41, on no inner edge.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("on_edge,spread\n");
    for k in 0..=40 {
        csv.push_str(&format!("{},{}\n", k as f64 / 40.0, ((k + 1) as f64).sqrt()));
    }
    let run = run_of_one_table(dir.path(), "measures.csv", &csv);
    let o = dasynth(&["tasks", s(&run), "-q", "--per-table", "100", "--family", "visualization"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let columns: BTreeSet<String> = read_tasks(&run)
        .iter()
        .filter(|t| t.template == "visualization/histogram")
        .map(|t| serde_json::from_str::<serde_json::Value>(&t.bindings).unwrap()["columns"]["num"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(columns.contains("spread") && !columns.contains("on_edge"), "{columns:?}");
}

#[test]
fn ground_truths_are_the_same_to_the_last_bit_on_every_run() {
    // 60,000 rows in 3 groups: the size at which polars' group-by would add partial sums in the
    // order its threads finish.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("grade,price,weight,depth\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..60_000u64 {
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1_000_000_007) as f64 / 7.0
        };
        csv.push_str(&format!("{},{},{},{}\n", ["low", "mid", "high"][(i % 3) as usize], next(), next() / 3.0, next() / 11.0));
    }
    let run = run_of_one_table(dir.path(), "lots.csv", &csv);
    let mut first: Option<BTreeMap<String, String>> = None;
    for _ in 0..4 {
        let o = dasynth(&["tasks", s(&run), "-q", "--per-table", "100"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let truths: BTreeMap<String, String> = read_tasks(&run).into_iter().map(|t| (t.id, t.ground_truth)).collect();
        assert!(truths.len() > 10, "{truths:?}");
        match &first {
            None => first = Some(truths),
            Some(f) => assert_eq!(f, &truths),
        }
    }
}

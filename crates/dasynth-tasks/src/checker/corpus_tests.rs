//! The labelled corpus in `tests/checker/` (written by `make_corpus.py`): the checker's
//! precision and recall on it, the corpus being current, and `python/reward.py` agreeing with
//! [`check_answer`] on every case.

use super::{Case, Outcome, REWARD_PY, check_answer};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Precision and recall (positive = pass) must both reach this.
const GOAL: f64 = 0.995;

fn corpus_dir() -> PathBuf {
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from);
    crate_dir.join("../../tests/checker")
}

/// The cases, with `outputs_dir` made absolute.
fn cases() -> Vec<Case> {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("corpus.jsonl")).expect("tests/checker/corpus.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut c: Case = serde_json::from_str(l).expect("a corpus line");
            c.outputs_dir = c.outputs_dir.map(|d| dir.join(d));
            c
        })
        .collect()
}

fn outcome(c: &Case) -> Outcome {
    let spec = c.spec(0).unwrap_or_else(|e| panic!("{:?}: {e}", c.id));
    check_answer(&spec, &c.truth, &c.answer, &c.files, c.outputs_dir.as_deref()).outcome
}

#[derive(Default)]
struct Tally {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
}

impl Tally {
    fn add(&mut self, expected: bool, got: bool) {
        match (expected, got) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

#[test]
fn the_corpus_covers_every_answer_type() {
    let cases = cases();
    assert!(cases.len() >= 2000, "only {} cases", cases.len());
    for t in ["number", "integer", "string", "set", "list", "table", "file", "report", "metric"] {
        for e in [Outcome::Pass, Outcome::Wrong, Outcome::Unextractable] {
            let n = cases.iter().filter(|c| c.answer_type == t && c.expected == Some(e)).count();
            assert!(n >= 10, "{t}: only {n} cases expected to be {}", e.name());
        }
    }
}

#[test]
fn precision_and_recall_on_the_corpus() {
    let mut all = Tally::default();
    let mut by_type: BTreeMap<String, Tally> = BTreeMap::new();
    let mut misses: BTreeMap<(String, String, &'static str, &'static str), Vec<String>> = BTreeMap::new();
    let mut three_way = 0;
    let cases = cases();
    let started = std::time::Instant::now();
    let outcomes: Vec<Outcome> = cases.iter().map(outcome).collect();
    let elapsed = started.elapsed();
    for (c, &got) in cases.iter().zip(&outcomes) {
        let expected = c.expected.expect("every corpus case is labelled");
        all.add(expected == Outcome::Pass, got == Outcome::Pass);
        by_type.entry(c.answer_type.clone()).or_default().add(expected == Outcome::Pass, got == Outcome::Pass);
        if got == expected {
            three_way += 1;
        } else {
            let key = (c.answer_type.clone(), c.variation.clone().unwrap_or_default(), expected.name(), got.name());
            misses.entry(key).or_default().push(c.id.clone().unwrap_or_default());
        }
    }
    println!("answer type   cases  precision  recall");
    for (t, s) in &by_type {
        println!("{t:<12} {:>6}  {:>8.2}%  {:>6.2}%", s.tp + s.fp + s.fn_ + s.tn, 100.0 * s.precision(), 100.0 * s.recall());
    }
    println!(
        "all          {:>6}  {:>8.2}%  {:>6.2}%   (outcome exactly as labelled: {three_way} of {})",
        cases.len(),
        100.0 * all.precision(),
        100.0 * all.recall(),
        cases.len()
    );
    println!("checked {} answers in {:.0} ms", cases.len(), elapsed.as_secs_f64() * 1000.0);
    if !misses.is_empty() {
        println!("\nmisses by variation (answer type, variation, expected, got: cases):");
        for ((t, v, e, g), ids) in &misses {
            println!("  {t} {v} expected {e} got {g}: {}", ids.join(" "));
        }
    }
    for (t, s) in &by_type {
        assert!(s.precision() >= GOAL && s.recall() >= GOAL, "{t}: precision {:.4}, recall {:.4}", s.precision(), s.recall());
    }
    assert!(all.precision() >= GOAL && all.recall() >= GOAL);
}

/// The Python the cross-checks use, or `None` (with a notice) when `DASYNTH_TEST_PYTHON` is unset.
fn python() -> Option<PathBuf> {
    match std::env::var_os("DASYNTH_TEST_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!("skipped: set DASYNTH_TEST_PYTHON (scripts/test does) to run the Python side");
            None
        }
    }
}

fn run_python(python: &Path, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new(python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().expect("python output");
    writer.join().expect("writer thread").expect("write to python");
    assert!(out.status.success(), "python {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn reward_py_agrees_with_check_answer_on_every_case() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("reward.py");
    std::fs::write(&script, REWARD_PY).expect("write reward.py");
    let cases = cases();
    let input: String = cases.iter().map(|c| serde_json::to_string(c).expect("case") + "\n").collect();
    let out = run_python(&python, &[script.to_str().expect("utf-8 path")], input.as_bytes());
    let results: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("a result line")).collect();
    assert_eq!(results.len(), cases.len());
    let mut disagree = Vec::new();
    for (c, r) in cases.iter().zip(&results) {
        let rust = outcome(c);
        let py = r["outcome"].as_str().unwrap_or_default();
        let score = r["score"].as_f64().unwrap_or(f64::NAN);
        if py != rust.name() || score != if rust == Outcome::Pass { 1.0 } else { 0.0 } {
            disagree.push(format!(
                "{}: check_answer {}, reward.py {py} ({score}): {}",
                c.id.as_deref().unwrap_or("?"),
                rust.name(),
                r["reason"]
            ));
        }
    }
    assert!(disagree.is_empty(), "{} of {} cases disagree:\n{}", disagree.len(), cases.len(), disagree.join("\n"));
}

/// A colon inside a value is not a lead-in ("3:Lg" stays whole), while "The top two: A and B"
/// still drops its lead-in; check_answer and reward.py agree on each.
#[test]
fn colons_inside_values_are_not_lead_ins() {
    let cases: Vec<Case> = [
        (r#"["3:Lg", "Ab"]"#, "3:Lg, Ab", Outcome::Pass),
        (r#"["3:Lg", "Ab"]"#, "The groups are 3:Lg and Ab.", Outcome::Pass),
        (r#"["10:30", "11:45"]"#, "Peaks at 10:30 and 11:45", Outcome::Pass),
        (r#"["Biscoe", "Dream"]"#, "The top two: Biscoe and Dream", Outcome::Pass),
        (r#"["3:Lg", "Ab"]"#, "3:Xy, Ab", Outcome::Wrong),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (truth, answer, expected))| Case {
        id: Some(format!("colon-{i}")),
        answer_type: "set".into(),
        truth: serde_json::from_str(truth).expect("truth"),
        checker: serde_json::json!({}),
        answer: answer.into(),
        files: Vec::new(),
        outputs_dir: None,
        expected: Some(expected),
        variation: None,
    })
    .collect();
    for c in &cases {
        assert_eq!(outcome(c), c.expected.expect("labelled"), "check_answer on {:?}", c.answer);
    }
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("reward.py");
    std::fs::write(&script, REWARD_PY).expect("write reward.py");
    let input: String = cases.iter().map(|c| serde_json::to_string(c).expect("case") + "\n").collect();
    let out = run_python(&python, &[script.to_str().expect("utf-8 path")], input.as_bytes());
    for (c, line) in cases.iter().zip(out.lines()) {
        let r: serde_json::Value = serde_json::from_str(line).expect("a result line");
        assert_eq!(r["outcome"].as_str(), Some(c.expected.expect("labelled").name()), "reward.py on {:?}: {r}", c.answer);
    }
}

#[test]
fn reward_py_scores_deepanalyze_format_failures_minus_one() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("reward.py"), REWARD_PY).expect("write reward.py");
    let check = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
from reward import compute_score
gt = json.dumps({"answer_type": "number", "truth": 4201.75, "checker": {"decimals": 2}})
ok = "<Analyze>plan</Analyze>\n<Code>\n```python\nprint(1)\n```\n</Code>\n<Execute>1</Execute>\n<Analyze>done</Analyze>\n<Answer>The mean is 4,201.75 g.</Answer>"
assert compute_score("d", ok, gt)["score"] == 1.0
assert compute_score("d", ok.replace("4,201.75", "4,100"), gt)["score"] == 0.0
assert compute_score("d", ok.replace("4,201.75 g", "unknown"), gt)["outcome"] == "unextractable"
for bad in [ok.replace("<Analyze>plan</Analyze>", "").replace("<Analyze>done</Analyze>", ""),
            ok.replace("<Answer>", "").replace("</Answer>", ""),
            ok + "\n<Answer>again</Answer>",
            ok.replace("```python", "```"),
            ok.replace("</Answer>", "<Code>x</Code></Answer>")]:
    r = compute_score("d", bad, gt)
    assert r["score"] == -1.0 and r["outcome"] == "format", (bad, r)
spec = {"answer_type": "file", "truth": {"columns": ["k", "n"], "rows": [["a", 1], ["b", 2]]}, "checker": {"file": "c.png"}}
made = "<Analyze>x</Analyze><Code>\n```python\nplt.savefig('outputs/c.png')\n```\n</Code><Answer>\n| k | n |\n|---|---|\n| a | 1 |\n| b | 2 |\n</Answer>"
assert compute_score("d", made, json.dumps(spec))["score"] == 1.0
assert compute_score("d", made, json.dumps(spec), {"files": []})["score"] == 0.0
print("ok")
"#;
    let out = run_python(&python, &["-c", check, dir.path().to_str().expect("utf-8 path")], b"");
    assert_eq!(out.trim(), "ok");
}

#[test]
fn the_committed_corpus_is_what_the_generator_writes() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let generator = corpus_dir().join("make_corpus.py");
    run_python(&python, &[generator.to_str().expect("utf-8 path"), dir.path().to_str().expect("utf-8 path")], b"");
    let committed = std::fs::read(corpus_dir().join("corpus.jsonl")).expect("corpus");
    let fresh = std::fs::read(dir.path().join("corpus.jsonl")).expect("generated corpus");
    assert!(
        committed == fresh,
        "tests/checker/corpus.jsonl is stale\nhint: run `python3 tests/checker/make_corpus.py` and commit the result"
    );
    let fresh_files = walk(&dir.path().join("outputs"));
    for entry in &fresh_files {
        let rel = entry.strip_prefix(dir.path()).expect("inside");
        let have = std::fs::read(corpus_dir().join(rel)).unwrap_or_default();
        assert!(have == std::fs::read(entry).expect("generated file"), "tests/checker/{} is stale", rel.display());
    }
    let committed_files = walk(&corpus_dir().join("outputs"));
    assert_eq!(committed_files.len(), fresh_files.len(), "tests/checker/outputs holds files the generator no longer writes");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

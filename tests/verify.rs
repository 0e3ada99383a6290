//! End-to-end tests of `dasynth verify` on a real demo run: planted faults (an edited
//! `<Execute>` number, a wrong final answer, a report with invented figures, an unclosed tag, a
//! duplicated trajectory, a task whose prompt copies a benchmark question) are each rejected
//! with the right reason while every untouched trajectory is accepted; bad folders and flags
//! exit 2 naming what is wrong.

mod common;

use common::*;
use dasynth_core::trajectory::{Trajectory, trajectory_key};
use dasynth_core::verdict::{Reason, ReplayClass, Verdict, VerifyStats};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn demo_run(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    let demo = repo().join("sources/demo");
    let o = dasynth(&["crawl", s(&demo.join("seattle-weather.csv")), s(&demo.join("penguins_raw.csv")), "--out", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["profile", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let families = ["--family", "data-question-answering", "--family", "open-ended-research", "--family", "data-insight"];
    let mut args = vec!["tasks", s(&run), "-q", "--per-table", "10"];
    args.extend(families);
    let o = dasynth(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["trajectories", s(&run), "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    run
}

fn set_answer(t: &mut Trajectory, text: &str) {
    t.answer = Some(text.to_string());
    let last = t.messages.iter_mut().rev().find(|m| m.role == "assistant").unwrap();
    let start = last.content.find("<Answer>").unwrap() + "<Answer>".len();
    let end = last.content.rfind("</Answer>").unwrap();
    last.content.replace_range(start..end, &format!("\n{text}\n"));
}

#[test]
fn verify_rejects_each_planted_fault_with_its_reason_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let run = demo_run(dir.path());
    let mut files: Vec<PathBuf> = std::fs::read_dir(run.join("trajectories")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let file = files.remove(0);
    let mut ts: Vec<Trajectory> = std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tasks: BTreeMap<String, dasynth_core::task::Task> =
        dasynth_tasks::read_tasks(&dasynth_core::layout::RunDir::new(&run)).unwrap().into_iter().map(|t| (t.id.clone(), t)).collect();
    let kind = |t: &Trajectory| tasks[&t.task_id].answer_type.clone();
    let mut expect: BTreeMap<String, Reason> = BTreeMap::new();
    let mut free: Vec<usize> = (0..ts.len()).collect();
    let mut take = |pred: &dyn Fn(&Trajectory) -> bool, ts: &[Trajectory]| -> usize {
        let p = free.iter().position(|&i| pred(&ts[i])).expect("a trajectory to plant a fault in");
        free.remove(p)
    };

    // An edited <Execute> number: the last whole number of the first output, plus one.
    let i = take(&|t| kind(t) == "integer", &ts);
    let m = ts[i].messages.iter_mut().find(|m| m.role == "execute" && m.content.bytes().any(|b| b.is_ascii_digit())).unwrap();
    let b = m.content.as_bytes();
    let end = (0..b.len()).rev().find(|&k| b[k].is_ascii_digit()).unwrap();
    let start = (0..=end).rev().take_while(|&k| b[k].is_ascii_digit()).last().unwrap();
    let n: u64 = m.content[start..=end].parse().unwrap();
    m.content.replace_range(start..=end, &(n + 1).to_string());
    expect.insert(ts[i].key.clone(), Reason::ReplayHallucinated);
    // A wrong final answer.
    let i = take(&|t| kind(t) == "number" || kind(t) == "integer", &ts);
    set_answer(&mut ts[i], "The result is 987654321.");
    expect.insert(ts[i].key.clone(), Reason::AnswerWrong);
    // A report with invented figures (the report with the fewest figures of its own).
    let fewest = (0..ts.len())
        .filter(|&k| kind(&ts[k]) == "report")
        .min_by_key(|&k| dasynth_tasks::checker::numbers::scan(ts[k].answer.as_deref().unwrap_or_default()).len())
        .unwrap();
    let fewest_key = ts[fewest].key.clone();
    let i = take(&|t| t.key == fewest_key, &ts);
    let report = format!("{}\nOver the period the total reached 987654.321, up 55.5% on the year before.", ts[i].answer.clone().unwrap());
    set_answer(&mut ts[i], &report);
    expect.insert(ts[i].key.clone(), Reason::UngroundedClaims);
    // An unclosed tag.
    let i = take(&|_| true, &ts);
    let first = ts[i].messages.iter_mut().find(|m| m.role == "assistant").unwrap();
    first.content = first.content.replacen("</Analyze>", "", 1);
    expect.insert(ts[i].key.clone(), Reason::Format);
    // A task whose prompt copies a benchmark question (one no other task's prompt resembles).
    let lone = |t: &Trajectory| {
        let p = dir.path().join("probe.jsonl");
        std::fs::write(&p, serde_json::json!({"question": tasks[&t.task_id].instruction}).to_string()).unwrap();
        let b = dasynth_verify::decontaminate::Benchmarks::load(&[p], 8).unwrap();
        tasks.values().filter(|x| b.check(&x.instruction, 0.5).is_some()).count() == 1
    };
    let i = take(&lone, &ts);
    let bench = dir.path().join("bench.jsonl");
    let row = serde_json::json!({"question": tasks[&ts[i].task_id].instruction});
    std::fs::write(&bench, format!("{{\"question\": \"How tall is the tallest building in Paris?\"}}\n{row}\n")).unwrap();
    expect.insert(ts[i].key.clone(), Reason::Contaminated);
    // A duplicated trajectory.
    let i = take(&|_| true, &ts);
    let mut dup = ts[i].clone();
    dup.sample = 1;
    dup.key = trajectory_key(&dup.task_id, &dup.teacher, 1);
    expect.insert(dup.key.clone(), Reason::NearDuplicate);
    let original = ts[i].key.clone();
    ts.push(dup);
    std::fs::write(&file, ts.iter().map(|t| serde_json::to_string(t).unwrap() + "\n").collect::<String>()).unwrap();

    let cfg = dir.path().join("verify.toml");
    std::fs::write(&cfg, format!("[verify]\ndecontaminate = [{:?}]\n", s(&bench))).unwrap();
    let o = dasynth(&["verify", s(&run), "--config", s(&cfg)]);
    assert_eq!(code(&o), 1, "dropped trajectories are problems found: {}", stderr(&o));
    assert!(stderr(&o).contains("verify:") && stderr(&o).contains("replay_hallucinated 1"), "{}", stderr(&o));
    let vs: Vec<Verdict> = dasynth_parquet::read_rows(&run.join("verdicts.parquet")).unwrap();
    assert_eq!(vs.len(), ts.len());
    for v in &vs {
        match expect.get(&v.key) {
            Some(r) => assert!(!v.accepted && v.reasons.contains(r), "{} should be rejected for {r}: {:?}", v.key, v.reasons),
            None => assert!(v.accepted, "{} ({}) is untouched but rejected: {:?}", v.key, v.template, v.reasons),
        }
    }
    let edited = vs.iter().find(|v| v.reasons.contains(&Reason::ReplayHallucinated)).unwrap();
    assert_eq!(edited.replay, ReplayClass::Hallucinated);
    assert!(!edited.mismatches.is_empty() && !edited.mismatches[0].diff.is_empty());
    let dup = vs.iter().find(|v| v.reasons.contains(&Reason::NearDuplicate)).unwrap();
    assert_eq!(dup.duplicate_of.as_deref(), Some(original.as_str()));
    let stats: VerifyStats = serde_json::from_slice(&std::fs::read(run.join("stats/verify.json")).unwrap()).unwrap();
    assert_eq!(stats.kept + stats.dropped, vs.len() as u64);
    assert_eq!(stats.dropped_by_reason.values().sum::<u64>(), vs.iter().map(|v| v.reasons.len() as u64).sum::<u64>());

    // A rerun takes every verdict over.
    let o = dasynth(&["verify", s(&run), "--config", s(&cfg)]);
    assert!(stderr(&o).contains(&format!("({} reused, 0 cells replayed)", vs.len())), "{}", stderr(&o));
}

#[test]
fn verify_names_a_missing_run_folder_and_a_bad_shard() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["verify", s(&dir.path().join("nowhere"))]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nowhere") && stderr(&o).contains("hint:"), "{}", stderr(&o));
    let o = dasynth(&["verify", s(dir.path())]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no trajectories at") && stderr(&o).contains("dasynth trajectories"), "{}", stderr(&o));
    let o = dasynth(&["verify", s(dir.path()), "--shard", "3/2"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("3/2") && stderr(&o).contains("hint:"), "{}", stderr(&o));
}

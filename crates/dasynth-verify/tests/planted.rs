//! The verify stage over a small real run built through the libraries (crawl, profile, tasks,
//! reference trajectories in the sandbox): faults planted in the trajectories are each rejected
//! with the right reason, every untouched trajectory is accepted, a rerun reuses every verdict,
//! and bad input becomes verdicts with reasons.

use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Silent;
use dasynth_core::trajectory::{Trajectory, trajectory_key};
use dasynth_core::verdict::{Reason, ReplayClass, Verdict};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn demo_run(dir: &Path) -> (RunDir, Settings) {
    let repo = dasynth_testkit::repo_root();
    let run = RunDir::new(dir.join("run"));
    let mut s = Settings { out: run.root().to_path_buf(), ..Default::default() };
    s.tasks.templates = Some(repo.join("templates"));
    s.tasks.per_table = 10;
    s.tasks.families = ["data-question-answering", "open-ended-research", "data-insight"].map(String::from).to_vec();
    let sources = ["seattle-weather.csv", "penguins_raw.csv"].map(|f| repo.join("sources/demo").join(f).display().to_string());
    let specs = dasynth_sources::spec::expand(&sources).unwrap();
    dasynth_sources::crawl(&specs, &s.crawl, &run, &dasynth_sources::isolate::Isolation::InProcess, &Silent).unwrap();
    dasynth_profile::profile_run(&run, &s.profile, &Silent).unwrap();
    dasynth_tasks::build_tasks(&run, &s.tasks, &Silent).unwrap();
    let out = dasynth_agent::trajectories::run_stage(&s, &Silent).unwrap();
    assert!(out.stats.written > 10, "{:?}", out.stats);
    (run, s)
}

fn trajectory_file(run: &RunDir) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(run.trajectories_dir()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 1);
    files.remove(0)
}

fn read(file: &Path) -> Vec<Trajectory> {
    std::fs::read_to_string(file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn write(file: &Path, ts: &[Trajectory], extra: &str) {
    let mut text: String = ts.iter().map(|t| serde_json::to_string(t).unwrap() + "\n").collect();
    text.push_str(extra);
    std::fs::write(file, text).unwrap();
}

fn verdicts(run: &RunDir) -> BTreeMap<String, Verdict> {
    dasynth_parquet::read_rows::<Verdict>(&run.verdicts()).unwrap().into_iter().map(|v| (v.key.clone(), v)).collect()
}

/// Replaces the last `<Answer>` body of a trajectory (record and message).
fn set_answer(t: &mut Trajectory, text: &str) {
    t.answer = Some(text.to_string());
    let last = t.messages.iter_mut().rev().find(|m| m.role == "assistant").unwrap();
    let s = last.content.find("<Answer>").unwrap() + "<Answer>".len();
    let e = last.content.rfind("</Answer>").unwrap();
    last.content.replace_range(s..e, &format!("\n{text}\n"));
}

/// Adds one to the last whole number of the first `<Execute>` that has one.
fn edit_execute_number(t: &mut Trajectory) -> bool {
    for m in t.messages.iter_mut().filter(|m| m.role == "execute") {
        let b = m.content.as_bytes();
        let Some(end) = (0..b.len()).rev().find(|&i| b[i].is_ascii_digit()) else { continue };
        let start = (0..=end).rev().take_while(|&i| b[i].is_ascii_digit()).last().unwrap();
        let n: u64 = m.content[start..=end].parse().unwrap();
        m.content.replace_range(start..=end, &(n + 1).to_string());
        return true;
    }
    false
}

/// Whether a task's instruction, as a benchmark question, matches no other task.
fn only_match(dir: &Path, tasks: &BTreeMap<String, dasynth_core::task::Task>, id: &str) -> bool {
    let p = dir.join("probe.jsonl");
    std::fs::write(&p, serde_json::json!({"question": tasks[id].instruction}).to_string()).unwrap();
    let b = dasynth_verify::decontaminate::Benchmarks::load(&[p], 8).unwrap();
    tasks.values().filter(|t| b.check(&t.instruction, 0.5).is_some()).count() == 1
}

/// The first trajectory not used yet that fits.
fn pick(ts: &[Trajectory], used: &mut Vec<usize>, pred: impl Fn(&Trajectory) -> bool) -> usize {
    let i = (0..ts.len()).find(|i| !used.contains(i) && pred(&ts[*i])).expect("a trajectory to plant a fault in");
    used.push(i);
    i
}

#[test]
fn planted_faults_are_rejected_with_their_reason_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (run, mut s) = demo_run(dir.path());
    let file = trajectory_file(&run);
    let mut ts = read(&file);
    let tasks: BTreeMap<String, dasynth_core::task::Task> =
        dasynth_tasks::read_tasks(&run).unwrap().into_iter().map(|t| (t.id.clone(), t)).collect();
    let answer_type = |t: &Trajectory| tasks[&t.task_id].answer_type.clone();
    let mut used: Vec<usize> = Vec::new();
    let mut expect: BTreeMap<String, Reason> = BTreeMap::new();

    // An edited <Execute> number.
    let i = pick(&ts, &mut used, |t| {
        answer_type(t) == "integer" && t.messages.iter().any(|m| m.role == "execute" && m.content.bytes().any(|b| b.is_ascii_digit()))
    });
    assert!(edit_execute_number(&mut ts[i]));
    expect.insert(ts[i].key.clone(), Reason::ReplayHallucinated);
    // A wrong final answer.
    let i = pick(&ts, &mut used, |t| answer_type(t) == "number" || answer_type(t) == "integer");
    set_answer(&mut ts[i], "The result is 987654321.");
    expect.insert(ts[i].key.clone(), Reason::AnswerWrong);
    // A report with invented figures.
    // The report with the fewest claims, so two invented figures weigh more than the threshold allows.
    let fewest = (0..ts.len())
        .filter(|&i| answer_type(&ts[i]) == "report")
        .min_by_key(|&i| dasynth_verify::grounding::claims(ts[i].answer.as_deref().unwrap_or_default()).len())
        .expect("a report task");
    let i = pick(&ts, &mut used, |t| t.key == ts[fewest].key);
    let report = format!("{}\nOver the period the total reached 987654.321, up 55.5% on the year before.", ts[i].answer.clone().unwrap());
    set_answer(&mut ts[i], &report);
    expect.insert(ts[i].key.clone(), Reason::UngroundedClaims);
    // An unclosed tag.
    let i = pick(&ts, &mut used, |_| true);
    let first = ts[i].messages.iter_mut().find(|m| m.role == "assistant").unwrap();
    first.content = first.content.replacen("</Analyze>", "", 1);
    expect.insert(ts[i].key.clone(), Reason::Format);
    // A task whose prompt copies a benchmark question (one no other task's prompt resembles).
    let lone = |t: &Trajectory| only_match(dir.path(), &tasks, &t.task_id);
    let i = pick(&ts, &mut used, lone);
    let copied = tasks[&ts[i].task_id].instruction.clone();
    let bench = dir.path().join("questions.jsonl");
    std::fs::write(
        &bench,
        format!(
            "{}\n{}\n",
            serde_json::json!({"question": "Which country has the highest GDP per capita in the 2019 World Bank data?"}),
            serde_json::json!({"question": copied})
        ),
    )
    .unwrap();
    s.verify.decontaminate = vec![bench];
    let contaminated_task = ts[i].task_id.clone();
    for t in ts.iter().filter(|t| t.task_id == contaminated_task) {
        expect.insert(t.key.clone(), Reason::Contaminated);
    }
    // A duplicated trajectory: another sample of an untouched one, word for word.
    let i = pick(&ts, &mut used, |t| t.task_id != contaminated_task);
    let mut dup = ts[i].clone();
    dup.sample = 1;
    dup.key = trajectory_key(&dup.task_id, &dup.teacher, 1);
    expect.insert(dup.key.clone(), Reason::NearDuplicate);
    let original = ts[i].key.clone();
    ts.push(dup);
    write(&file, &ts, "");

    let out = dasynth_verify::verify(&run, &s, None, &Silent).unwrap();
    let vs = verdicts(&run);
    assert_eq!(vs.len(), ts.len());
    for v in vs.values() {
        match expect.get(&v.key) {
            Some(reason) => {
                assert!(!v.accepted, "{} should be rejected for {reason}: {v:#?}", v.key);
                assert!(v.reasons.contains(reason), "{} should be rejected for {reason}, got {:?}: {v:#?}", v.key, v.reasons);
            }
            None => assert!(v.accepted, "{} ({}) is untouched but rejected: {:?} {v:#?}", v.key, v.template, v.reasons),
        }
    }
    let edited = vs.values().find(|v| v.reasons.contains(&Reason::ReplayHallucinated)).unwrap();
    assert_eq!(edited.replay, ReplayClass::Hallucinated);
    assert!(edited.mismatches[0].diff.contains("-") && edited.mismatches[0].diff.contains("+"), "{:?}", edited.mismatches);
    let report = vs.values().find(|v| v.reasons.contains(&Reason::UngroundedClaims)).unwrap();
    assert!(report.ungrounded_claims.iter().any(|c| c.contains("987654.321")), "{:?}", report.ungrounded_claims);
    let dupv = vs.values().find(|v| v.reasons.contains(&Reason::NearDuplicate)).unwrap();
    assert_eq!(dupv.duplicate_of.as_deref(), Some(original.as_str()));
    let cont = vs.values().find(|v| v.reasons.contains(&Reason::Contaminated)).unwrap();
    assert!(cont.contaminated_by.as_deref().unwrap().contains("questions.jsonl"));
    // The counts add up.
    let st = &out.stats;
    assert_eq!(st.kept + st.dropped, st.verdicts);
    assert_eq!(st.dropped_by_reason.values().sum::<u64>(), vs.values().map(|v| v.reasons.len() as u64).sum::<u64>());
    assert_eq!(st.kept as usize, vs.values().filter(|v| v.accepted).count());
    assert!(st.by_replay.get("consistent").copied().unwrap_or(0) > 5, "{:?}", st.by_replay);

    // A rerun verifies nothing again and writes the same verdicts.
    let again = dasynth_verify::verify(&run, &s, None, &Silent).unwrap();
    assert_eq!(again.stats.reused, again.stats.verdicts);
    assert_eq!(again.stats.cells_replayed, 0);
    assert_eq!(verdicts(&run), vs);

    // Shards verify their share of the tasks; a run without --shard merges them.
    std::fs::remove_file(run.verdicts()).unwrap();
    let mut shard_total = 0;
    for index in 0..2 {
        let o = dasynth_verify::verify(&run, &s, Some(dasynth_verify::Shard { index, count: 2 }), &Silent).unwrap();
        shard_total += o.stats.verdicts;
    }
    assert_eq!(shard_total as usize, vs.len());
    let merged = dasynth_verify::verify(&run, &s, None, &Silent).unwrap();
    assert_eq!(merged.stats.reused, merged.stats.verdicts);
    assert_eq!(verdicts(&run), vs);
}

#[test]
fn bad_input_is_a_verdict_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (run, s) = demo_run(dir.path());
    let file = trajectory_file(&run);
    let mut ts = read(&file);
    let tasks = dasynth_tasks::read_tasks(&run).unwrap();
    let penguin: Vec<&dasynth_core::task::Task> = tasks.iter().filter(|t| t.files().iter().any(|f| f.name == "penguins_raw.csv")).collect();
    assert!(!penguin.is_empty());
    let mut unknown = ts[0].clone();
    unknown.task_id = "no-such-task".into();
    unknown.key = "unknown-task".into();
    let weather = ts.iter().position(|t| !penguin.iter().any(|p| p.id == t.task_id)).unwrap();
    let mut no_longer_runs = ts[weather].clone();
    let first = no_longer_runs.messages.iter_mut().find(|m| m.role == "assistant" && m.content.contains("<Code>")).unwrap();
    first.content = "<Analyze>a</Analyze>\n<Code>\n```python\nraise RuntimeError('this no longer runs')\n```\n</Code>".into();
    no_longer_runs.key = "no-longer-runs".into();
    ts.extend([unknown, no_longer_runs]);
    // A torn line and a record with missing fields.
    write(&file, &ts, "{\"key\": \"partial\", \"task_id\": \"x\"}\n{\"key\":\"torn\",\"task_");
    // The penguin table is gone: its file and the workspaces of its tasks.
    for t in &penguin {
        let _ = std::fs::remove_dir_all(run.workspace(&t.id));
        for f in t.files() {
            let _ = std::fs::remove_file(run.resolve(&f.path));
        }
    }

    dasynth_verify::verify(&run, &s, None, &Silent).unwrap();
    let vs = verdicts(&run);
    let reasons = |k: &str| vs.get(k).unwrap_or_else(|| panic!("no verdict for {k}: {:?}", vs.keys())).reasons.clone();
    assert_eq!(reasons("unknown-task"), vec![Reason::UnknownTask]);
    assert!(reasons("no-longer-runs").contains(&Reason::ReplayBroken), "{:?}", vs["no-longer-runs"]);
    assert!(vs["no-longer-runs"].replay_detail.contains("this no longer runs"), "{}", vs["no-longer-runs"].replay_detail);
    assert_eq!(reasons("partial"), vec![Reason::Unreadable]);
    let torn = vs.values().find(|v| v.key.starts_with("unreadable-")).expect("a verdict for the torn line");
    assert_eq!(torn.reasons, vec![Reason::Unreadable]);
    let penguin_ids: Vec<&str> = penguin.iter().map(|t| t.id.as_str()).collect();
    for v in vs.values().filter(|v| penguin_ids.contains(&v.task_id.as_str()) && v.key != "no-longer-runs") {
        assert_eq!(v.replay, ReplayClass::Broken, "{v:#?}");
        assert!(v.reasons.contains(&Reason::ReplayBroken));
    }
    // A folder that is not a run folder is an error naming it.
    let e = dasynth_verify::verify(&RunDir::new(dir.path().join("nothing")), &s, None, &Silent).unwrap_err().to_string();
    assert!(e.contains("nothing") && e.contains("hint:"), "{e}");
}

#[test]
fn the_judge_scores_reports_through_the_cache_and_rejects_low_scores() {
    use dasynth_fakellm::{FakeConfig, FakeLlm, Reply, Responder};
    let dir = tempfile::tempdir().unwrap();
    let (run, s) = demo_run(dir.path());
    // The first report asked about scores low, the others well (the cache keeps each reply).
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let srv = FakeLlm::start(FakeConfig {
        responder: Responder::func(move |r| {
            let prompt = r.last_user();
            assert!(prompt.contains("You grade a data analysis report"), "{prompt}");
            let score = if asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 { 2 } else { 4 };
            Reply::text(format!(
                "```json\n{{\"usefulness\": {score}, \"richness\": {score}, \"soundness\": {score}, \"interpretability\": {score}, \"readability\": {score}}}\n```"
            ))
        }),
        ..Default::default()
    });
    let toml = format!(
        "[[teacher]]\nkind = \"reference\"\n\n[[teacher]]\nkind = \"openai\"\nbase-url = \"{}\"\nmodel = \"fake-judge\"\nname = \"judge\"\n\n[verify]\njudge = \"judge\"\n",
        srv.url()
    );
    let o = dasynth_core::config::Options::from_toml(&toml, Path::new("judge.toml")).unwrap();
    let mut js = Settings::resolve(&o, &|_: &str| None, &dasynth_core::config::Overrides::default()).unwrap();
    js.out = s.out.clone();
    js.tasks = s.tasks.clone();
    let out = dasynth_verify::verify(&run, &js, None, &Silent).unwrap();
    assert_eq!(out.incomplete, 0);
    let vs = verdicts(&run);
    let reports: Vec<&Verdict> = vs.values().filter(|v| v.answer_type == "report").collect();
    assert!(reports.len() >= 2, "{} reports", reports.len());
    for v in &reports {
        let j = v.judge.as_ref().expect("judged");
        assert_eq!(v.reasons.contains(&Reason::JudgeLow), j.mean() < 3.0, "{v:#?}");
    }
    assert!(reports.iter().any(|v| v.reasons == vec![Reason::JudgeLow]));
    assert!(reports.iter().any(|v| v.accepted));
    assert!(vs.values().filter(|v| v.answer_type != "report").all(|v| v.judge.is_none()));
    let asked = srv.stats().hits;
    // Dropping the verdicts makes every check run again; the judge's replies come from the cache.
    std::fs::remove_file(run.verdicts()).unwrap();
    dasynth_verify::verify(&run, &js, None, &Silent).unwrap();
    assert_eq!(srv.stats().hits, asked);
    assert_eq!(verdicts(&run), vs);
}

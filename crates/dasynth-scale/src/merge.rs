//! Checking that every shard of a run completed, and adding up their counters.

use crate::ScaleError;
use crate::claim::read_marker;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::shard::{Shard, ShardMarker};
use std::collections::{BTreeMap, BTreeSet};

/// The stages that run per shard, in pipeline order.
pub const SHARDED_STAGES: [Stage; 3] = [Stage::Trajectories, Stage::Verify, Stage::Sample];

/// A sharded run whose shards all completed.
#[derive(Debug)]
pub struct MergePlan {
    /// Every sharded stage that ran: N of its `I/N` split (the teachers' stages and the
    /// student's may be split differently), and the completion markers of all N shards.
    pub stages: BTreeMap<Stage, (u32, Vec<ShardMarker>)>,
}

impl MergePlan {
    /// N of a stage's split, when the stage ran sharded.
    pub fn count(&self, stage: Stage) -> Option<u32> {
        self.stages.get(&stage).map(|(n, _)| *n)
    }

    /// Items the shards of a stage hold (trajectories, verdicts, samples).
    pub fn items(&self, stage: Stage) -> u64 {
        self.stages.get(&stage).map_or(0, |(_, m)| m.iter().map(|m| m.items).sum())
    }
}

/// Parses `<stage>-shard-I-of-N.<kind>.json` back into its parts.
fn parse_marker_name(name: &str) -> Option<(Stage, &str, Shard)> {
    let stem = name.strip_suffix(".json")?;
    let (stem, kind) = stem.rsplit_once('.')?;
    let at = stem.find("-shard-")?;
    let stage = Stage::ALL.into_iter().find(|s| s.name() == &stem[..at])?;
    Some((stage, kind, Shard::from_file_stem(&stem[at + 1..])?))
}

/// Parses `shard-I-of-N.<ext>`.
fn parse_shard_file(name: &str) -> Option<Shard> {
    Shard::from_file_stem(name.split('.').next()?)
}

/// The names in `dir`, sorted; none when it cannot be read.
fn sorted_names(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn who(m: &ShardMarker) -> String {
    format!("pid {} on {}, started {}", m.pid, m.host, m.started)
}

/// Checks that every shard of every sharded stage that ran has completed, once, and that no
/// file of another split lies beside them. Names every problem at once.
pub fn check(run: &RunDir) -> Result<MergePlan, ScaleError> {
    let dir = run.shards_dir();
    let mut claims: BTreeMap<(Stage, Shard), ShardMarker> = BTreeMap::new();
    let mut done: BTreeMap<(Stage, Shard), ShardMarker> = BTreeMap::new();
    for name in sorted_names(&dir) {
        let Some((stage, kind, shard)) = parse_marker_name(&name) else { continue };
        let path = dir.join(&name);
        let Some(marker) = read_marker(&path)? else { continue };
        if marker.shard() != shard || marker.stage != stage.name() {
            return Err(ScaleError::Marker { path, message: format!("it names shard {} of {}", marker.shard(), marker.stage) });
        }
        match kind {
            "claim" => claims.insert((stage, shard), marker),
            "done" => done.insert((stage, shard), marker),
            _ => None,
        };
    }
    if !done.keys().chain(claims.keys()).any(|(stage, _)| SHARDED_STAGES.contains(stage)) {
        return Err(ScaleError::NotSharded { run: run.root().to_path_buf() });
    }
    let mut problems = Vec::new();
    // The teachers' stages (trajectories and the verify of them) share one split; the
    // student's sampling has its own.
    let group = |stage: Stage| if stage == Stage::Sample { Stage::Sample } else { Stage::Trajectories };
    let mut counts: BTreeMap<Stage, u32> = BTreeMap::new();
    for lead in [Stage::Trajectories, Stage::Sample] {
        let of_group = || claims.keys().chain(done.keys()).filter(|(s, _)| group(*s) == lead);
        let splits: BTreeSet<u32> = of_group().map(|(_, sh)| sh.count).collect();
        if splits.len() > 1 {
            let list: Vec<String> = splits.iter().map(u32::to_string).collect();
            problems.push(format!(
                "{} shards of different splits in one folder (N = {}); a run is split one way: remove the other split's files",
                lead.name(),
                list.join(", ")
            ));
        }
        // The split with the most markers is the run's.
        if let Some(n) = splits.iter().copied().max_by_key(|n| of_group().filter(|(_, s)| s.count == *n).count()) {
            counts.insert(lead, n);
        }
    }
    let mut stages = BTreeMap::new();
    for stage in SHARDED_STAGES {
        let Some(&count) = counts.get(&group(stage)) else { continue };
        if !claims.keys().chain(done.keys()).any(|(s, sh)| *s == stage && sh.count == count) {
            continue;
        }
        let mut markers = Vec::new();
        for shard in Shard::all_of(count) {
            let key = (stage, shard);
            match (claims.get(&key), done.get(&key)) {
                (None, None) => problems.push(format!("shard {shard} ({stage}) never ran")),
                (Some(c), None) => problems
                    .push(format!("shard {shard} ({stage}) started but did not complete ({}): it failed, or is still running", who(c))),
                (Some(c), Some(d)) if c.token != d.token => problems.push(format!(
                    "shard {shard} ({stage}) ran twice at once: completed by {}, claimed again by {}",
                    who(d),
                    who(c)
                )),
                (_, Some(d)) => markers.push(d.clone()),
            }
        }
        stages.insert(stage, (count, markers));
    }
    // Trajectory files of a shard outside this split would be merged silently.
    for (lead, dir, label) in [
        (Stage::Trajectories, run.trajectories_dir(), "trajectories"),
        (Stage::Sample, run.student_trajectories_dir(), "student/trajectories"),
    ] {
        let Some(&count) = counts.get(&lead) else { continue };
        for name in sorted_names(&dir) {
            if let Some(s) = parse_shard_file(&name).filter(|s| s.count != count) {
                problems.push(format!("{label}/{name} belongs to shard {s}, not to this {count}-way split"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(ScaleError::Incomplete { run: run.root().to_path_buf(), problems });
    }
    Ok(MergePlan { stages })
}

/// Adds two counters documents: numbers are summed, maps merged key by key, and any other
/// value (a reason a shard stopped) kept from the first that has one.
fn add(into: &mut serde_json::Value, other: &serde_json::Value) {
    use serde_json::Value;
    match (into, other) {
        (Value::Number(a), Value::Number(b)) => {
            let sum = match (a.as_u64(), b.as_u64()) {
                (Some(x), Some(y)) => Value::from(x + y),
                _ => Value::from(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0)),
            };
            *a = match sum {
                Value::Number(n) => n,
                _ => return,
            };
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(slot) => add(slot, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot @ Value::Null, v) => *slot = v.clone(),
        _ => {}
    }
}

/// Writes `stats/<stage>.json` as the sum of the shards' `stats/<stage>-shard-I-of-N.json`
/// (times are summed too: shard-seconds, not wall-clock time).
pub fn sum_stats(run: &RunDir, stage: Stage, count: u32) -> Result<(), ScaleError> {
    let mut total = serde_json::Value::Null;
    for shard in Shard::all_of(count) {
        let path = run.stats_shard(stage, shard);
        let bytes = std::fs::read(&path).map_err(ScaleError::io("read the shard's counters", &path))?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ScaleError::Marker { path: path.clone(), message: e.to_string() })?;
        add(&mut total, &v);
    }
    dasynth_core::atomic::write_json_atomic(&run.stats(stage), &total)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::ShardRun;

    fn complete(run: &RunDir, stage: Stage, shard: Shard) {
        let r = ShardRun::claim(run, stage, shard).unwrap();
        r.complete(1, &[]).unwrap();
    }

    fn problems(run: &RunDir) -> String {
        match check(run) {
            Err(e @ ScaleError::Incomplete { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_run_merges_and_missing_or_crashed_shards_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert!(matches!(check(&run), Err(ScaleError::NotSharded { .. })));
        complete(&run, Stage::Trajectories, Shard::new(0, 3).unwrap());
        complete(&run, Stage::Trajectories, Shard::new(2, 3).unwrap());
        // Shard 1 crashes after its claim.
        drop(ShardRun::claim(&run, Stage::Trajectories, Shard::new(1, 3).unwrap()).unwrap());
        complete(&run, Stage::Verify, Shard::new(0, 3).unwrap());
        let msg = problems(&run);
        assert!(msg.contains("shard 1/3 (trajectories) started but did not complete"), "{msg}");
        assert!(msg.contains("shard 1/3 (verify) never ran") && msg.contains("shard 2/3 (verify) never ran"), "{msg}");
        assert!(!msg.contains("0/3"), "{msg}");
        assert!(msg.contains("hint:"), "{msg}");
        for i in 0..3 {
            let shard = Shard::new(i, 3).unwrap();
            complete(&run, Stage::Trajectories, shard);
            complete(&run, Stage::Verify, shard);
        }
        let plan = check(&run).unwrap();
        assert_eq!((plan.count(Stage::Trajectories), plan.count(Stage::Sample)), (Some(3), None));
        assert_eq!(plan.stages[&Stage::Trajectories].1.len(), 3);
        assert_eq!(plan.stages[&Stage::Verify].1.len(), 3);
        // The student's sampling may be split another way; its shards are checked on their own.
        complete(&run, Stage::Sample, Shard::new(0, 2).unwrap());
        let msg = problems(&run);
        assert!(msg.contains("shard 1/2 (sample) never ran") && !msg.contains("different splits"), "{msg}");
        complete(&run, Stage::Sample, Shard::new(1, 2).unwrap());
        let plan = check(&run).unwrap();
        assert_eq!((plan.count(Stage::Trajectories), plan.count(Stage::Sample)), (Some(3), Some(2)));
        assert_eq!(plan.items(Stage::Sample), 2);
    }

    #[test]
    fn two_runs_of_one_shard_and_files_of_another_split_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        for i in 0..2 {
            complete(&run, Stage::Trajectories, Shard::new(i, 2).unwrap());
        }
        check(&run).unwrap();
        // Shard 1 claimed again by a machine whose lock this one does not see.
        let claim = run.shard_claim(Stage::Trajectories, Shard::new(1, 2).unwrap());
        let mut m = read_marker(&claim).unwrap().unwrap();
        m.token = "other".into();
        m.host = "node-7".into();
        dasynth_core::atomic::write_json_atomic(&claim, &m).unwrap();
        std::fs::create_dir_all(run.trajectories_dir()).unwrap();
        std::fs::write(run.trajectories_shard(Shard::new(3, 4).unwrap()), b"").unwrap();
        let msg = problems(&run);
        assert!(msg.contains("shard 1/2 (trajectories) ran twice at once") && msg.contains("node-7"), "{msg}");
        assert!(msg.contains("shard-0003-of-0004.jsonl belongs to shard 3/4"), "{msg}");
        // A marker of another split is named too.
        complete(&run, Stage::Trajectories, Shard::new(0, 5).unwrap());
        assert!(problems(&run).contains("different splits"));
    }

    #[test]
    fn shard_counters_are_summed() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let docs = [
            serde_json::json!({"written": 2, "by_finish": {"answer": 2}, "cost_usd": 0.5, "stopped": null}),
            serde_json::json!({"written": 3, "by_finish": {"answer": 1, "error": 2}, "cost_usd": 0.25, "stopped": "budget"}),
        ];
        for (i, d) in docs.iter().enumerate() {
            dasynth_core::atomic::write_json_atomic(&run.stats_shard(Stage::Trajectories, Shard::new(i as u32, 2).unwrap()), d).unwrap();
        }
        sum_stats(&run, Stage::Trajectories, 2).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(run.stats(Stage::Trajectories)).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"written": 5, "by_finish": {"answer": 3, "error": 2}, "cost_usd": 0.75, "stopped": "budget"}));
    }
}

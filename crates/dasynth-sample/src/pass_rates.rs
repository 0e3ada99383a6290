//! `student/pass_rates.parquet`: per task, how many of the current variant's samples verify
//! accepted.

use dasynth_core::task::Task;
use dasynth_core::verdict::{PassRate, Verdict};
use dasynth_parquet::{DataType, Field, Schema};
use std::collections::{HashMap, HashSet};

/// The Parquet schema of a [`PassRate`] row.
pub fn pass_rate_schema() -> Schema {
    use DataType::{Float64, String as Str, UInt32};
    Schema::from_iter(
        [
            ("task_id", Str),
            ("family", Str),
            ("stage", UInt32),
            ("template", Str),
            ("n", UInt32),
            ("passed", UInt32),
            ("pass_rate", Float64),
            ("mean_turns", Float64),
            ("mean_tokens", Float64),
        ]
        .into_iter()
        .map(|(n, dt)| Field::new(n.into(), dt)),
    )
}

/// One row per task with at least one sample among `keys` (the current variant's trajectory
/// keys), in task order. Verdicts of other keys (another variant's samples) are left out.
pub fn pass_rates(tasks: &[Task], verdicts: &[Verdict], keys: &HashSet<String>) -> Vec<PassRate> {
    let mut by_task: HashMap<&str, Vec<&Verdict>> = HashMap::new();
    for v in verdicts.iter().filter(|v| keys.contains(&v.key)) {
        by_task.entry(v.task_id.as_str()).or_default().push(v);
    }
    tasks
        .iter()
        .filter_map(|t| {
            let vs = by_task.get(t.id.as_str())?;
            let n = vs.len() as u32;
            let passed = vs.iter().filter(|v| v.accepted).count() as u32;
            let mean = |f: fn(&Verdict) -> f64| vs.iter().map(|v| f(v)).sum::<f64>() / f64::from(n);
            Some(PassRate {
                task_id: t.id.clone(),
                family: t.family.clone(),
                stage: t.stage,
                template: t.template.clone(),
                n,
                passed,
                pass_rate: f64::from(passed) / f64::from(n),
                mean_turns: mean(|v| f64::from(v.turns)),
                mean_tokens: mean(|v| v.output_tokens as f64),
            })
        })
        .collect()
}

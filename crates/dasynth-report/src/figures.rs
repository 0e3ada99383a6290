//! The overview figures of the report: which stages ran, the funnel, cost by teacher, time by
//! stage, the crawl's failures, the student's pass rates and the tables' profile highlights.
//! Quality figures per group live in [`crate::breakdown`], histograms in
//! [`crate::distribution`].

use crate::facts::{Facts, Status};
use crate::inputs::Inputs;
use crate::stream::StreamSummary;
use dasynth_core::layout::Stage;
use dasynth_core::report::{
    Bucket, CrawlFailure, FunnelStep, PassRateGroup, PassRates, StagePresence, StageTime, TableHighlight, TeacherCost,
};
use dasynth_core::trajectory::Trajectory;
use dasynth_core::verdict::{ReplayClass, Verdict};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Sums by (teacher, model), in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct TeacherSums {
    order: Vec<(String, String)>,
    sums: HashMap<(String, String), TeacherCost>,
}

impl TeacherSums {
    pub fn add(&mut self, t: &Trajectory) {
        let id = (t.teacher.clone(), t.model.clone());
        let c = self.sums.entry(id.clone()).or_insert_with(|| {
            self.order.push(id);
            TeacherCost { teacher: t.teacher.clone(), model: t.model.clone(), ..Default::default() }
        });
        c.trajectories += 1;
        c.input_tokens += t.input_tokens;
        c.output_tokens += t.output_tokens;
        c.cost_usd += t.cost_usd;
        c.cached_turns += t.turns.iter().filter(|x| x.cached).count() as u64;
        c.wall_seconds += t.wall_ms / 1000.0;
    }

    pub fn into_vec(mut self) -> Vec<TeacherCost> {
        self.order.iter().filter_map(|id| self.sums.remove(id)).collect()
    }
}

/// Counts of verdict details that facts do not carry (format and style issues, judge
/// dimensions), over the verdicts of the trajectories read.
#[derive(Debug, Default)]
pub(crate) struct VerdictDetails {
    pub format_issues: BTreeMap<String, u64>,
    pub style_issues: BTreeMap<String, u64>,
    judge_sums: BTreeMap<&'static str, f64>,
    judged: u64,
}

impl VerdictDetails {
    pub fn add(&mut self, v: &Verdict) {
        for i in &v.format_issues {
            *self.format_issues.entry(i.clone()).or_default() += 1;
        }
        for i in &v.style_issues {
            *self.style_issues.entry(i.clone()).or_default() += 1;
        }
        if let Some(j) = &v.judge {
            self.judged += 1;
            for (name, score) in [
                ("usefulness", j.usefulness),
                ("richness", j.richness),
                ("soundness", j.soundness),
                ("interpretability", j.interpretability),
                ("readability", j.readability),
            ] {
                *self.judge_sums.entry(name).or_default() += score;
            }
        }
    }

    pub fn judge_means(&self) -> BTreeMap<String, f64> {
        if self.judged == 0 {
            return BTreeMap::new();
        }
        self.judge_sums.iter().map(|(k, v)| (k.to_string(), v / self.judged as f64)).collect()
    }
}

/// Which parts of the run folder exist, and the stages whose output is missing.
pub(crate) fn stages(inputs: &Inputs, stream: &StreamSummary, trajectories: usize) -> (Vec<StagePresence>, Vec<String>) {
    let count = |n: usize, what: &str| format!("{n} {what}");
    let parts = [
        (
            "crawl",
            inputs.catalog.is_some(),
            inputs.catalog.as_ref().map_or_else(
                || "no catalog.parquet".to_string(),
                |_| format!("{} tables, {} failed inputs", inputs.ok_tables().count(), inputs.failed_inputs().count()),
            ),
        ),
        (
            "profile",
            !inputs.profiles.is_empty(),
            if inputs.profiles_present { count(inputs.profiles.len(), "profiles") } else { "no profiles/".to_string() },
        ),
        (
            "tasks",
            inputs.tasks.is_some(),
            inputs.tasks.as_ref().map_or_else(|| "no tasks.parquet".to_string(), |t| count(t.len(), "tasks")),
        ),
        (
            "trajectories",
            stream.present && trajectories > 0,
            if stream.present { format!("{trajectories} trajectories in {} files", stream.files) } else { "no trajectories/".to_string() },
        ),
        (
            "verify",
            inputs.verdicts.is_some(),
            inputs.verdicts.as_ref().map_or_else(|| "no verdicts.parquet".to_string(), |v| count(v.len(), "verdicts")),
        ),
        (
            "sample",
            inputs.pass_rates.is_some(),
            inputs.pass_rates.as_ref().map_or_else(
                || "no student/pass_rates.parquet (optional)".to_string(),
                |p| count(p.len(), "tasks with student pass rates"),
            ),
        ),
    ];
    let mut presence = Vec::new();
    let mut missing = Vec::new();
    for (stage, present, detail) in parts {
        if !present && stage != "sample" {
            missing.push(stage.to_string());
        }
        presence.push(StagePresence { stage: stage.to_string(), present, detail });
    }
    (presence, missing)
}

/// Tables → tasks → trajectories → replayed → accepted → exported.
pub(crate) fn funnel(inputs: &Inputs, facts: &[Facts]) -> Vec<FunnelStep> {
    let mut steps = Vec::new();
    let share = |part: usize, whole: usize| (whole > 0).then(|| part as f64 / whole as f64);

    let tables: Vec<&str> = inputs.ok_tables().map(|e| e.id.as_str()).collect();
    let failed = inputs.failed_inputs().count();
    let mut dropped = BTreeMap::new();
    if failed > 0 {
        dropped.insert("input failed to crawl".to_string(), failed as u64);
    }
    steps.push(FunnelStep {
        step: "tables".into(),
        count: tables.len() as u64,
        share: share(tables.len(), tables.len() + failed),
        share_of: "crawled inputs read".into(),
        dropped,
    });

    if let Some(tasks) = &inputs.tasks {
        let with_task: HashSet<&str> = tasks.values().flat_map(|t| t.table_ids.iter().map(String::as_str)).collect();
        let tables_with_task = tables.iter().filter(|id| with_task.contains(*id)).count();
        let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
        let without = tables.len() - tables_with_task;
        if without > 0 {
            dropped.insert("table got no task".into(), without as u64);
        }
        let unprofiled = tables.iter().filter(|id| !inputs.profiles.contains_key(**id)).count();
        if inputs.profiles_present && unprofiled > 0 {
            dropped.insert("table not profiled".into(), unprofiled as u64);
        }
        if let Some(stats) = inputs.stats.get(&Stage::Tasks) {
            for (reason, n) in reasons_of(stats) {
                dropped.insert(format!("task dropped: {reason}"), n);
            }
        }
        steps.push(FunnelStep {
            step: "tasks".into(),
            count: tasks.len() as u64,
            share: share(tables_with_task, tables.len()),
            share_of: "tables with at least one task".into(),
            dropped,
        });
    }

    if !facts.is_empty() || inputs.stats.contains_key(&Stage::Trajectories) {
        let mut dropped = BTreeMap::new();
        let mut share_value = None;
        if let Some(tasks) = &inputs.tasks {
            let reached: HashSet<&str> = facts.iter().map(|f| f.task_id.as_str()).collect();
            let without = tasks.keys().filter(|id| !reached.contains(id.as_str())).count();
            if without > 0 {
                dropped.insert("task got no trajectory".into(), without as u64);
            }
            share_value = share(tasks.len() - without, tasks.len());
        }
        if let Some(why) = inputs.stats.get(&Stage::Trajectories).and_then(|s| s.get("stopped")).and_then(|s| s.as_str()) {
            dropped.insert(format!("stage stopped early: {why}"), 1);
        }
        steps.push(FunnelStep {
            step: "trajectories".into(),
            count: facts.len() as u64,
            share: share_value,
            share_of: "tasks with at least one trajectory".into(),
            dropped,
        });
    }

    if inputs.verdicts.is_some() {
        let verdicts = facts.iter().filter(|f| f.status != Status::Unverified).count();
        let replayed = facts.iter().filter(|f| f.replay.is_some_and(|r| r != ReplayClass::NotReplayed)).count();
        let mut dropped = BTreeMap::new();
        if facts.len() > verdicts {
            dropped.insert("no verdict yet".into(), (facts.len() - verdicts) as u64);
        }
        let not_replayed = verdicts - replayed;
        if not_replayed > 0 {
            dropped.insert("not replayed (no code, or no task)".into(), not_replayed as u64);
        }
        steps.push(FunnelStep {
            step: "replayed".into(),
            count: replayed as u64,
            share: share(replayed, facts.len()),
            share_of: "trajectories replayed".into(),
            dropped,
        });
        let accepted = facts.iter().filter(|f| f.status == Status::Accepted).count();
        let mut reasons = BTreeMap::new();
        for f in facts.iter().filter(|f| f.status == Status::Rejected) {
            for (i, r) in dasynth_core::verdict::Reason::ALL.iter().enumerate() {
                if f.reasons & (1 << i) != 0 {
                    *reasons.entry(r.name().to_string()).or_default() += 1;
                }
            }
        }
        steps.push(FunnelStep {
            step: "accepted".into(),
            count: accepted as u64,
            share: share(accepted, verdicts),
            share_of: "verdicts accepted".into(),
            dropped: reasons,
        });
    }

    if let Some(export) = inputs.stats.get(&Stage::Export) {
        let count = |k: &str| export.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        let exported = count("trajectories_exported");
        // The step before: accepted verdicts when there are any, else the lines export read.
        let before = steps.last().filter(|s| s.step == "accepted").map_or(count("trajectories_read"), |s| s.count);
        // Rejected trajectories are the accepted step's drops, not export's.
        let dropped = reasons_of(export).into_iter().filter(|(r, _)| r != "not_accepted").collect();
        steps.push(FunnelStep {
            step: "exported".into(),
            count: exported,
            share: share(exported as usize, before as usize),
            share_of: "trajectories written to the SFT set".into(),
            dropped,
        });
    }
    steps
}

/// `dropped_by_reason` of a stats document.
fn reasons_of(stats: &serde_json::Value) -> Vec<(String, u64)> {
    stats
        .get("dropped_by_reason")
        .and_then(|r| r.as_object())
        .map(|m| m.iter().filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n))).collect())
        .unwrap_or_default()
}

/// Time and counts of every stage that wrote `stats/<stage>.json`, in pipeline order.
pub(crate) fn stage_times(inputs: &Inputs) -> Vec<StageTime> {
    inputs
        .stats
        .iter()
        .map(|(stage, v)| {
            let u = |k: &str| v.get(k).and_then(|x| x.as_u64());
            StageTime {
                stage: stage.name().to_string(),
                seconds: v.get("seconds").and_then(|s| s.as_f64()).unwrap_or(0.0),
                kept: u("kept").or_else(|| u("written")),
                dropped: u("dropped").or_else(|| u("failed_check")),
                dropped_by_reason: reasons_of(v).into_iter().collect(),
            }
        })
        .collect()
}

pub(crate) fn crawl_failures(inputs: &Inputs) -> Vec<CrawlFailure> {
    inputs
        .failed_inputs()
        .map(|e| CrawlFailure {
            name: e.name.clone(),
            source: e.source.clone(),
            uri: e.uri.clone(),
            error: e.error.clone().unwrap_or_else(|| "no reason recorded".into()),
        })
        .collect()
}

/// Profile highlights of every crawled table, with the tasks, trajectories and accepted
/// trajectories that read it.
pub(crate) fn tables(inputs: &Inputs, facts: &[Facts]) -> Vec<TableHighlight> {
    let mut tasks_per_table: HashMap<&str, u64> = HashMap::new();
    for t in inputs.tasks.iter().flat_map(|m| m.values()) {
        for id in &t.table_ids {
            *tasks_per_table.entry(id.as_str()).or_default() += 1;
        }
    }
    let mut per_table: HashMap<&str, (u64, u64)> = HashMap::new();
    for f in facts {
        for id in &f.table_ids {
            let e = per_table.entry(id.as_str()).or_default();
            e.0 += 1;
            e.1 += u64::from(f.status == Status::Accepted);
        }
    }
    let mut out: Vec<TableHighlight> = inputs
        .ok_tables()
        .map(|e| {
            let p = inputs.profiles.get(&e.id);
            let (trajectories, accepted) = per_table.get(e.id.as_str()).copied().unwrap_or_default();
            TableHighlight {
                id: e.id.clone(),
                name: e.name.clone(),
                source: e.source.clone(),
                format: e.format.map(|f| f.to_string()),
                rows: p.map(|p| p.rows).or(e.n_rows),
                columns: p.map(|p| p.columns).or(e.n_columns),
                duplicate_rows: p.map(|p| p.duplicate_rows),
                quality_flags: p.map(|p| p.quality_flags.clone()).unwrap_or_default(),
                column_flags: p.map(|p| p.column_flags.clone()).unwrap_or_default(),
                profiled: p.is_some(),
                tasks: tasks_per_table.get(e.id.as_str()).copied().unwrap_or(0),
                trajectories,
                accepted,
            }
        })
        .collect();
    // Profiles of tables the catalog does not list (a catalog rewritten since) still show.
    if inputs.catalog.is_none() {
        for (id, p) in &inputs.profiles {
            let (trajectories, accepted) = per_table.get(id.as_str()).copied().unwrap_or_default();
            out.push(TableHighlight {
                id: id.clone(),
                name: id.clone(),
                rows: Some(p.rows),
                columns: Some(p.columns),
                duplicate_rows: Some(p.duplicate_rows),
                quality_flags: p.quality_flags.clone(),
                column_flags: p.column_flags.clone(),
                profiled: true,
                tasks: tasks_per_table.get(id.as_str()).copied().unwrap_or(0),
                trajectories,
                accepted,
                ..Default::default()
            });
        }
    }
    out
}

/// The student's pass rates, when `student/pass_rates.parquet` exists.
pub(crate) fn pass_rates(inputs: &Inputs) -> Option<PassRates> {
    let rows = inputs.pass_rates.as_ref()?;
    let mut histogram: Vec<Bucket> = (0..10).map(|i| Bucket { lo: i as f64 / 10.0, hi: (i + 1) as f64 / 10.0, count: 0 }).collect();
    let mut by_family: BTreeMap<&str, (u64, f64)> = BTreeMap::new();
    let mut by_template: BTreeMap<&str, (u64, f64)> = BTreeMap::new();
    let mut by_stage: BTreeMap<u32, (u64, f64)> = BTreeMap::new();
    let mut out = PassRates { tasks: rows.len() as u64, ..Default::default() };
    let mut sum = 0.0;
    for r in rows {
        out.samples += u64::from(r.n);
        sum += r.pass_rate;
        out.never_solved += u64::from(r.passed == 0);
        out.always_solved += u64::from(r.n > 0 && r.passed == r.n);
        let i = ((r.pass_rate * 10.0).floor().max(0.0) as usize).min(9);
        histogram[i].count += 1;
        let e = by_stage.entry(r.stage).or_default();
        e.0 += 1;
        e.1 += r.pass_rate;
        for (map, key) in [(&mut by_family, r.family.as_str()), (&mut by_template, r.template.as_str())] {
            let e = map.entry(key).or_default();
            e.0 += 1;
            e.1 += r.pass_rate;
        }
    }
    out.mean_pass_rate = if rows.is_empty() { 0.0 } else { sum / rows.len() as f64 };
    out.histogram = histogram;
    let groups = |m: BTreeMap<&str, (u64, f64)>| {
        m.into_iter().map(|(k, (n, s))| PassRateGroup { value: k.to_string(), tasks: n, mean_pass_rate: s / n as f64 }).collect()
    };
    out.by_family = groups(by_family);
    out.by_template = groups(by_template);
    out.by_stage = by_stage
        .into_iter()
        .map(|(k, (n, s))| PassRateGroup { value: format!("stage {k}"), tasks: n, mean_pass_rate: s / n as f64 })
        .collect();
    Some(out)
}

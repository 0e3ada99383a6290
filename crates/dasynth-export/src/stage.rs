//! The export stage: accepted trajectories and verified tasks → `export/`.
//!
//! The folder is built beside the run's `export/` under a temporary name and swapped in whole
//! at the end, so a crash leaves the previous export untouched and a reader never sees half of
//! one.

use crate::card::{self, CardConfig, CardFacts};
use crate::error::ExportError;
use crate::formats::{self, deepanalyze_rl, verl};
use crate::inputs::{Accepted, Inputs, TaskInfo};
use crate::sink::{Sink, SinkOptions, SinkOutput};
use crate::splits::{Split, Splits};
use crate::tables::Tables;
use dasynth_core::config::{ExportFormat, ExportSettings};
use dasynth_core::export::{ConfigCounts, ExportStats, RowMeta};
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::reporter::Reporter;
use dasynth_core::trajectory::Trajectory;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What an export did.
#[derive(Debug)]
pub struct ExportOutcome {
    pub stats: ExportStats,
    /// The export folder, or none when nothing was exported.
    pub dir: Option<PathBuf>,
    /// Why nothing was exported.
    pub empty: Option<String>,
}

/// Facts gathered while streaming, for the card.
#[derive(Default)]
struct Gathered {
    teachers: BTreeMap<(String, String), u64>,
    templates: BTreeMap<String, u64>,
    families: BTreeMap<String, u64>,
    tables: BTreeSet<String>,
    system: Option<String>,
    example: Option<(String, serde_json::Value)>,
}

fn drop_for(stats: &mut ExportStats, reason: &str) {
    *stats.dropped_by_reason.entry(reason.to_string()).or_default() += 1;
}

fn meta(t: &Trajectory, task: &TaskInfo, inputs: &Inputs, verdict: Option<&Accepted>) -> RowMeta {
    let (turns, code_cells) = formats::turn_counts(t);
    RowMeta {
        id: t.key.clone(),
        task_id: t.task_id.clone(),
        family: task.task.family.clone(),
        stage: task.task.stage,
        difficulty: task.task.difficulty.clone(),
        template: task.task.template.clone(),
        answer_type: task.task.answer_type.clone(),
        table_ids: task.table_ids.clone(),
        licences: inputs.licences(&task.table_ids),
        teacher: t.teacher.clone(),
        model: t.model.clone(),
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        turns,
        code_cells,
        score: verdict.map(|v| v.score),
        answer_passed: verdict.map_or(t.passed, |v| v.answer_passed),
        replay: verdict.map(|v| v.replay.clone()),
        grounded_share: verdict.and_then(|v| v.grounded_share),
        judge_score: verdict.and_then(|v| v.judge_score),
    }
}

/// Cuts long strings of a JSON value for the card's example.
fn shorten(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.chars().count() > 400 => {
            let head: String = s.chars().take(400).collect();
            *s = format!("{head}…");
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(shorten),
        serde_json::Value::Object(o) => o.values_mut().for_each(shorten),
        _ => {}
    }
}

/// A config (a format, or one curriculum stage of it) and a split.
type SinkKey = (ExportFormat, Option<u32>, Split);

/// All sinks of the export, created on first use: one per config and split, and with
/// `by_stage` one more per config, curriculum stage and split (`<config>-stage-<n>`).
struct Sinks {
    data: PathBuf,
    opts: SinkOptions,
    by_stage: bool,
    open: BTreeMap<SinkKey, Sink>,
}

/// The name of a config (its folder under `data/`): the format's, or one stage's of it.
fn config_name(f: ExportFormat, stage: Option<u32>) -> String {
    match stage {
        Some(n) => format!("{}-stage-{n}", f.name()),
        None => f.name().to_string(),
    }
}

impl Sinks {
    fn get(&mut self, f: ExportFormat, stage: Option<u32>, s: Split) -> &mut Sink {
        let (data, opts) = (&self.data, self.opts);
        self.open.entry((f, stage, s)).or_insert_with(|| Sink::new(&data.join(config_name(f, stage)), s.name(), formats::schema(f), opts))
    }
    /// Adds a row of a task at curriculum `stage` to its config (and to its stage's config).
    fn push<T: serde::Serialize>(&mut self, f: ExportFormat, stage: u32, s: Split, row: &T) -> Result<(), ExportError> {
        self.get(f, None, s).push(row)?;
        if self.by_stage {
            self.get(f, Some(stage), s).push(row)?;
        }
        Ok(())
    }
    fn finish(self) -> Result<BTreeMap<SinkKey, SinkOutput>, ExportError> {
        self.open.into_iter().map(|(k, sink)| sink.finish().map(|o| (k, o))).collect()
    }
}

/// Exports the run folder's accepted trajectories and verified tasks into `export/`.
pub fn export(run: &RunDir, s: &ExportSettings, reporter: &dyn Reporter) -> Result<ExportOutcome, ExportError> {
    let started = Instant::now();
    let inputs = Inputs::read(run)?;
    let mut stats =
        ExportStats { selected_by: if inputs.accepted.is_some() { "verdicts" } else { "answer-check" }.to_string(), ..Default::default() };
    if inputs.accepted.is_none() {
        reporter.note(&format!(
            "no {}: exporting the trajectories whose answer check passed, without the verify stage's other checks\nhint: run `dasynth verify` first for replayed, verified data",
            run.verdicts().display()
        ));
    }
    let splits = Splits::assign(&inputs.tasks, s.splits);
    stats.tables_by_split = splits.tables_by_split();
    let staging = tempfile::Builder::new().prefix(".export-").tempdir_in(run.root()).map_err(|e| ExportError::write(run.root(), e))?;
    let root = staging.path().to_path_buf();
    let opts = SinkOptions { row_group_bytes: s.row_group_bytes, shard_bytes: s.shard_bytes, zstd_level: s.zstd_level };
    let mut sinks = Sinks { data: root.join("data"), opts, by_stage: s.by_stage, open: BTreeMap::new() };
    let trajectory_formats: Vec<ExportFormat> = s.formats.iter().copied().filter(|f| !f.is_rl()).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut g = Gathered::default();
    reporter.start("export", 0);
    crate::read::for_each_batch(run, &run.trajectories_dir(), |batch| {
        reporter.advance(batch.len() as u64);
        for item in batch {
            stats.trajectories_read += 1;
            let t = match item {
                Ok(t) => t,
                Err(u) => {
                    tracing::warn!(file = %u.file.display(), line = u.line, "unreadable trajectory line: {}", u.message);
                    drop_for(&mut stats, "unreadable");
                    continue;
                }
            };
            let verdict = match &inputs.accepted {
                Some(acc) => match acc.get(&t.key) {
                    Some(v) => Some(v),
                    None => {
                        drop_for(&mut stats, "not_accepted");
                        continue;
                    }
                },
                None if t.passed != Some(true) => {
                    drop_for(&mut stats, "answer_check_failed");
                    continue;
                }
                None => None,
            };
            let (Some(task), Some(split)) = (inputs.tasks.get(&t.task_id), splits.task(&t.task_id)) else {
                drop_for(&mut stats, if splits.across_splits(&t.task_id) { "tables_across_splits" } else { "unknown_task" });
                continue;
            };
            if !seen.insert(t.key.clone()) {
                drop_for(&mut stats, "duplicate");
                continue;
            }
            stats.trajectories_exported += 1;
            if g.system.is_none() {
                g.system = t.messages.iter().find(|m| m.role == "system").map(|m| m.content.clone());
            }
            *g.teachers.entry((t.teacher.clone(), t.model.clone())).or_default() += 1;
            *g.templates.entry(task.task.template.clone()).or_default() += 1;
            *g.families.entry(task.task.family.clone()).or_default() += 1;
            g.tables.extend(task.table_ids.iter().cloned());
            let m = meta(&t, task, &inputs, verdict);
            let stage = task.task.stage;
            for &f in &trajectory_formats {
                let (at, example) = ((f, stage, split), &mut g.example);
                match f {
                    ExportFormat::Sft => push_row(&mut sinks, example, at, &formats::sft::row(&t, m.clone(), s.execute_role))?,
                    ExportFormat::Deepanalyze => push_row(&mut sinks, example, at, &formats::deepanalyze::row(&t, m.clone()))?,
                    ExportFormat::Sharegpt => push_row(&mut sinks, example, at, &formats::sharegpt::row(&t, m.clone()))?,
                    ExportFormat::Rl | ExportFormat::DeepanalyzeRl | ExportFormat::SftStudent => {}
                }
            }
        }
        Ok(())
    })?;
    if stats.trajectories_exported == 0 {
        reporter.finish();
        let dropped: Vec<String> = stats.dropped_by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let why = if stats.trajectories_read == 0 {
            format!("no trajectories in {}", run.trajectories_dir().display())
        } else {
            format!("none of the {} trajectories was accepted ({})", stats.trajectories_read, dropped.join(", "))
        };
        stats.seconds = started.elapsed().as_secs_f64();
        dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Export), &stats)?;
        return Ok(ExportOutcome { stats, dir: None, empty: Some(why) });
    }

    if s.formats.contains(&ExportFormat::SftStudent) {
        student_rows(run, s, &inputs, &splits, &mut sinks, &mut stats)?;
    }

    // RL rows: every task with a verified ground truth, in task-id order.
    let mut tables = Tables::new(&root);
    let rl_formats: Vec<ExportFormat> = s.formats.iter().copied().filter(|f| f.is_rl()).collect();
    if !rl_formats.is_empty() {
        let mut ids: Vec<&String> = inputs.tasks.keys().collect();
        ids.sort();
        let mut index: HashMap<Split, u64> = HashMap::new();
        for id in ids {
            let t = &inputs.tasks[id];
            let rl_drop = |stats: &mut ExportStats, r: &str| *stats.rl_dropped_by_reason.entry(r.to_string()).or_default() += 1;
            if t.task.ground_truth_value().is_null() || t.task.checker_value().is_null() {
                rl_drop(&mut stats, "no_ground_truth");
                continue;
            }
            let pass_rate = inputs.pass_rates.as_ref().and_then(|p| p.get(id).copied());
            if let (Some([lo, hi]), Some(rates)) = (s.rl_pass_rate, &inputs.pass_rates) {
                match rates.get(id) {
                    Some(p) if (lo..=hi).contains(p) => {}
                    Some(_) => {
                        rl_drop(&mut stats, "pass_rate_band");
                        continue;
                    }
                    None => {
                        rl_drop(&mut stats, "not_sampled");
                        continue;
                    }
                }
            }
            let Some(split) = splits.task(id) else {
                rl_drop(&mut stats, "tables_across_splits");
                continue;
            };
            let files = match tables.table_files(run, t) {
                Ok(f) => f,
                Err(e @ ExportError::TaskFile { .. }) => {
                    tracing::warn!("{e}");
                    rl_drop(&mut stats, "missing_file");
                    continue;
                }
                Err(e) => return Err(e),
            };
            stats.rl_tasks += 1;
            g.tables.extend(t.table_ids.iter().cloned());
            let i = index.entry(split).or_default();
            for &f in &rl_formats {
                match f {
                    ExportFormat::Rl => {
                        let cx = verl::RlContext {
                            system: g.system.as_deref(),
                            split: split.name(),
                            index: *i,
                            tables: files.clone(),
                            licences: inputs.licences(&t.table_ids),
                            pass_rate,
                        };
                        sinks.push(f, t.task.stage, split, &verl::row(t, cx))?;
                    }
                    ExportFormat::DeepanalyzeRl => {
                        let workspace_id = tables.workspace(run, t, deepanalyze_rl::DATA)?;
                        let cx = deepanalyze_rl::DeepanalyzeRlContext {
                            system: g.system.as_deref(),
                            split: split.name(),
                            workspace_id,
                            max_turns: u32::try_from(s.max_turns).unwrap_or(u32::MAX),
                        };
                        sinks.push(f, t.task.stage, split, &deepanalyze_rl::row(t, cx))?;
                    }
                    _ => {}
                }
            }
            *i += 1;
        }
    }
    stats.table_files = tables.files;
    stats.table_bytes = tables.bytes;
    let written = sinks.finish()?;
    reporter.finish();

    // Card, reward function, LLaMA-Factory entry.
    let mut configs: Vec<CardConfig> = Vec::new();
    let mut sharegpt_files: Vec<(&str, Vec<String>)> = Vec::new();
    // Every config that got rows: each format's, then its stages' (with `by-stage`).
    let mut written_configs: Vec<(ExportFormat, Option<u32>)> = Vec::new();
    for &f in &s.formats {
        written_configs.push((f, None));
        let stages: BTreeSet<u32> = written.keys().filter_map(|&(wf, st, _)| if wf == f { st } else { None }).collect();
        written_configs.extend(stages.into_iter().map(|st| (f, Some(st))));
    }
    for (f, stage) in written_configs {
        let name = config_name(f, stage);
        let mut c = CardConfig {
            description: match stage {
                Some(n) => format!("{} (curriculum stage {n} only)", describe(f)),
                None => describe(f).to_string(),
            },
            name: name.clone(),
            rows: BTreeMap::new(),
            split_order: Vec::new(),
            files: 0,
            bytes: 0,
            schema: formats::schema(f),
            columns: card::columns(&formats::schema(f)),
        };
        let mut counts = ConfigCounts::default();
        for split in Split::ALL {
            let Some(out) = written.get(&(f, stage, split)).filter(|o| o.rows > 0) else { continue };
            c.rows.insert(split.name().to_string(), out.rows);
            c.split_order.push((split.name().to_string(), out.rows, out.data_bytes));
            c.files += out.files.len() as u64;
            c.bytes += out.bytes;
            counts.rows.insert(split.name().to_string(), out.rows);
            if f == ExportFormat::Sharegpt && stage.is_none() {
                sharegpt_files.push((split.name(), out.files.iter().map(|p| rel(&root, p)).collect()));
            }
        }
        counts.files = c.files;
        counts.bytes = c.bytes;
        stats.by_config.insert(name, counts);
        if !c.rows.is_empty() {
            configs.push(c);
        }
    }
    if rl_formats.iter().any(|f| s.formats.contains(f)) && stats.rl_tasks > 0 {
        dasynth_core::atomic::write_atomic(&root.join("reward.py"), dasynth_tasks::checker::REWARD_PY.as_bytes())?;
    }
    if !sharegpt_files.is_empty() {
        let info = formats::sharegpt::dataset_info("sharegpt", &sharegpt_files);
        dasynth_core::atomic::write_json_atomic(&root.join("dataset_info.json"), &info)?;
    }
    let facts = card_facts(run, s, &inputs, &stats, g);
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    let text = card::render(&facts, &configs, &names)?;
    dasynth_core::atomic::write_atomic(&root.join("README.md"), text.as_bytes())?;

    // Swap the new folder in, then record what it holds.
    let manifest = crate::manifest::build(&root).map_err(|e| ExportError::write(&root, e))?;
    let dir = run.export_dir();
    let staged = staging.keep();
    swap_in(&staged, &dir)?;
    dasynth_core::atomic::write_json_atomic(&run.export_manifest(), &manifest)?;
    stats.seconds = started.elapsed().as_secs_f64();
    dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Export), &stats)?;
    Ok(ExportOutcome { stats, dir: Some(dir), empty: None })
}

/// The `sft-student` config: the student's samples that verify accepted, as chat SFT rows.
fn student_rows(
    run: &RunDir,
    s: &ExportSettings,
    inputs: &Inputs,
    splits: &Splits,
    sinks: &mut Sinks,
    stats: &mut ExportStats,
) -> Result<(), ExportError> {
    let Some(accepted) = &inputs.student_accepted else { return Ok(()) };
    let mut seen: HashSet<String> = HashSet::new();
    crate::read::for_each_batch(run, &run.student_trajectories_dir(), |batch| {
        for t in batch.into_iter().flatten() {
            let Some(v) = accepted.get(&t.key) else { continue };
            let (Some(task), Some(split)) = (inputs.tasks.get(&t.task_id), splits.task(&t.task_id)) else { continue };
            if !seen.insert(t.key.clone()) {
                continue;
            }
            stats.student_trajectories_exported += 1;
            let row = formats::sft::row(&t, meta(&t, task, inputs, Some(v)), s.execute_role);
            sinks.push(ExportFormat::SftStudent, task.task.stage, split, &row)?;
        }
        Ok(())
    })
}

/// Adds a row to its sink, keeping the first row of the export as the card's example.
fn push_row<T: serde::Serialize>(
    sinks: &mut Sinks,
    example: &mut Option<(String, serde_json::Value)>,
    (f, stage, split): (ExportFormat, u32, Split),
    row: &T,
) -> Result<(), ExportError> {
    if example.is_none() {
        let mut v =
            serde_json::to_value(row).map_err(|e| ExportError::Rows { config: f.name().into(), source: std::io::Error::other(e) })?;
        shorten(&mut v);
        *example = Some((f.name().to_string(), v));
    }
    sinks.push(f, stage, split, row)
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Replaces `dir` with `staged`: the old folder is moved aside first and removed after.
fn swap_in(staged: &Path, dir: &Path) -> Result<(), ExportError> {
    let old = dir.with_file_name(format!(".export-old-{}", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| ExportError::write(dir, e))?;
    }
    std::fs::rename(staged, dir).map_err(|e| ExportError::write(dir, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| ExportError::write(&old, e))?;
    }
    Ok(())
}

fn describe(f: ExportFormat) -> &'static str {
    match f {
        ExportFormat::Sft => "chat SFT (TRL conversational): one message per turn, code output as role `execute`",
        ExportFormat::Deepanalyze => "DeepAnalyze SFT: one assistant message per trajectory, `<Execute>` spans for loss masking",
        ExportFormat::Rl => "verl RL prompts with rule rewards (`reward.py`)",
        ExportFormat::DeepanalyzeRl => "DeepAnalyze RL prompts (SkyRL, `env_class = deepanalyze`) with workspaces",
        ExportFormat::Sharegpt => "ShareGPT for LLaMA-Factory (`dataset_info.json`)",
        ExportFormat::SftStudent => "chat SFT of the student's own samples that verify accepted (rejection sampling)",
    }
}

fn counts_list(m: &BTreeMap<String, u64>) -> Vec<serde_json::Value> {
    let mut v: Vec<(&String, &u64)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.into_iter().map(|(k, n)| serde_json::json!({"name": k, "n": n, "reason": k})).collect()
}

fn card_facts(run: &RunDir, s: &ExportSettings, inputs: &Inputs, stats: &ExportStats, g: Gathered) -> CardFacts {
    let mut tables = Vec::new();
    let mut sources: BTreeMap<String, (String, Option<String>, u64, Option<String>)> = BTreeMap::new();
    let mut licences = Vec::new();
    let mut source_datasets = BTreeSet::new();
    for id in &g.tables {
        let info = inputs.tables.get(id).cloned().unwrap_or_default();
        licences.push(info.licence.clone());
        let e = sources.entry(info.source.clone()).or_insert((info.uri.clone(), info.licence.clone(), 0, info.description.clone()));
        e.2 += 1;
        if let Some(rest) = info.uri.strip_prefix("hf://datasets/") {
            let repo: Vec<&str> = rest.split('/').take(2).collect();
            if repo.len() == 2 {
                source_datasets.insert(format!("extended|{}/{}", repo[0], repo[1]));
            }
        }
        tables.push(serde_json::json!({
            "id": id,
            "name": if info.name.is_empty() { id.clone() } else { info.name.clone() },
            "source": info.source,
            "uri": info.uri,
            "licence": info.licence.unwrap_or_else(|| "not declared".into()),
        }));
    }
    let (license, license_yaml, licence_note) = card::combine_licences(&licences, s.license.as_deref());
    let pretty_name = s.pretty_name.clone().unwrap_or_else(|| {
        let name = run.root().canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        format!("dasynth: {}", name.unwrap_or_else(|| "data-science agent trajectories".into()))
    });
    let mut tags: Vec<String> =
        ["data-science", "agent", "code", "tabular", "synthetic", "deepanalyze", "dasynth"].map(String::from).to_vec();
    for t in &s.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    let mut sd = vec!["original".to_string()];
    sd.extend(source_datasets);
    let verify = inputs
        .verify_stats
        .as_ref()
        .map(|v| serde_json::json!({"kept": v.kept, "dropped": v.dropped, "reasons": counts_list(&v.dropped_by_reason)}));
    let verify = verify.or_else(|| {
        inputs.accepted.as_ref().map(|a| {
            let dropped: u64 = inputs.rejected_by_reason.values().sum();
            serde_json::json!({"kept": a.len(), "dropped": dropped, "reasons": counts_list(&inputs.rejected_by_reason)})
        })
    });
    CardFacts {
        pretty_name,
        license,
        licence_note,
        license_yaml,
        tags,
        source_datasets: sd,
        sources: sources
            .into_iter()
            .map(|(name, (uri, licence, n, description))| {
                serde_json::json!({"name": name, "uri": uri, "licence": licence, "tables": n, "description": description})
            })
            .collect(),
        tables,
        teachers: g
            .teachers
            .into_iter()
            .map(|((teacher, model), n)| serde_json::json!({"teacher": teacher, "model": model, "trajectories": n}))
            .collect(),
        templates: counts_list(&g.templates),
        families: counts_list(&g.families),
        filters: serde_json::json!({
            "selected_by": if stats.selected_by == "verdicts" { "the verify stage's verdicts (`verdicts.parquet`)" } else { "the answer check alone (no `verdicts.parquet`)" },
            "read": stats.trajectories_read,
            "exported": stats.trajectories_exported,
            "dropped": counts_list(&stats.dropped_by_reason),
            "verify": verify,
        }),
        rl: serde_json::json!({
            "tasks": stats.rl_tasks,
            "dropped": counts_list(&stats.rl_dropped_by_reason),
            "pass_rate_band": s.rl_pass_rate.map(|[lo, hi]| format!("[{lo}, {hi}]")),
        }),
        example: g.example.map(|(config, v)| {
            serde_json::json!({"config": config, "json": serde_json::to_string_pretty(&v).unwrap_or_default()})
        }),
        repo_hint: "ORG/NAME".into(),
    }
}

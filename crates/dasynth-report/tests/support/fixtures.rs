//! Run folders built from the contract types (catalog rows, profiles, tasks, trajectories,
//! verdicts, pass rates, stats), written the way the stages write them.

use dasynth_core::catalog::{CatalogEntry, Provenance, ReadOptions, Status, TableFormat};
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::profile::{ColumnProfile, ColumnQuality, PROFILE_VERSION, SemanticType, TableProfile};
use dasynth_core::stats::StageStats;
use dasynth_core::task::Task;
use dasynth_core::trajectory::{CellOutcome, Finish, Message, Trajectory, Turn, trajectory_key};
use dasynth_core::verdict::{CellMismatch, PassRate, Reason, ReplayClass, Verdict};
use std::io::Write;

pub const SYSTEM: &str = "You are a data science agent. Reply with <Analyze>, <Understand>, <Code> and <Answer> blocks.";

pub fn table(id: &str, name: &str, source: &str, format: TableFormat) -> CatalogEntry {
    CatalogEntry {
        id: id.into(),
        name: name.into(),
        source: source.into(),
        uri: format!("/data/{source}/{name}.{}", format.extension()),
        final_uri: None,
        format: Some(format),
        compression: None,
        path: Some(RunDir::table_rel_path(id, format.extension())),
        member: None,
        sha256: Some(format!("{id}{}", "0".repeat(48))),
        bytes: Some(1234),
        licence: Some("MIT".into()),
        description: None,
        read_options: Some(ReadOptions::default()),
        n_rows: Some(100),
        n_columns: Some(4),
        status: Status::Ok,
        error: None,
        warnings: vec![],
        provenance: vec![Provenance { source: source.into(), uri: format!("/data/{source}/{name}"), licence: Some("MIT".into()) }],
        crawled_at: "2026-01-01T00:00:00Z".into(),
    }
}

pub fn failed_input(name: &str, error: &str) -> CatalogEntry {
    CatalogEntry {
        status: Status::Failed,
        error: Some(error.into()),
        format: None,
        path: None,
        sha256: None,
        read_options: None,
        n_rows: None,
        n_columns: None,
        ..table(&dasynth_core::ids::short_id(&[name]), name, "web", TableFormat::Csv)
    }
}

pub fn profile(t: &CatalogEntry, flags: &[&str]) -> TableProfile {
    TableProfile {
        profile_version: PROFILE_VERSION,
        table_id: t.id.clone(),
        table_name: t.name.clone(),
        source: t.source.clone(),
        sha256: t.sha256.clone().unwrap_or_default(),
        n_rows: 100,
        n_columns: 2,
        duplicate_rows: 3,
        estimated_bytes: 4096,
        columns: ["date", "amount"]
            .iter()
            .map(|c| ColumnProfile {
                name: c.to_string(),
                dtype: "str".into(),
                semantic_type: SemanticType::Categorical,
                null_count: 0,
                distinct_count: 10,
                distinct_ratio: 0.1,
                numeric: None,
                temporal: None,
                text: None,
                top_values: vec![],
                examples: vec![],
                quality: ColumnQuality { flags: flags.iter().map(|f| f.to_string()).collect(), ..Default::default() },
            })
            .collect(),
        candidate_primary_keys: vec![],
        candidate_foreign_keys: vec![],
        correlations: vec![],
        quality_flags: vec!["duplicate_rows".into()],
        seconds: 0.01,
    }
}

pub fn task(id: &str, family: &str, template: &str, t: &CatalogEntry) -> Task {
    Task {
        id: id.into(),
        family: family.into(),
        stage: 1,
        difficulty: "easy".into(),
        template: template.into(),
        template_version: 1,
        template_sha256: "0".repeat(64),
        prompt: format!(
            "# Instruction\nHow many rows does {} have?\n\n# Data\nFile 1: {{\"name\": \"{}.csv\", \"size\": \"1.2KB\"}}",
            t.name, t.name
        ),
        instruction: format!("How many rows does {} have?", t.name),
        source: t.source.clone(),
        table_ids: serde_json::to_string(&[&t.id]).unwrap_or_default(),
        files: "[]".into(),
        answer_type: "number".into(),
        ground_truth: "100".into(),
        checker: "{}".into(),
        solution: "[]".into(),
        bindings: "{}".into(),
        seed: 0,
        variant: 0,
    }
}

/// A two-turn trajectory: code, its output, then the answer.
pub fn trajectory(task: &Task, teacher: &str, sample: u32, code: &str, output: &str, answer: &str) -> Trajectory {
    let mut t = Trajectory::start(task, teacher, teacher, sample, SYSTEM);
    t.messages.push(Message::new("assistant", format!("<Analyze>Count the rows.</Analyze>\n<Code>\n```python\n{code}\n```\n</Code>")));
    t.messages.push(Message::new("execute", format!("<Execute>\n{output}\n</Execute>")));
    t.messages.push(Message::new("assistant", format!("<Analyze>The output answers it.</Analyze>\n<Answer>{answer}</Answer>")));
    let cell = CellOutcome { status: "ok".into(), duration_ms: 12.0, truncated: false, stdout_bytes: output.len() as u64, stderr_bytes: 0 };
    t.turns = vec![
        Turn {
            started_ms: 0.0,
            generate_ms: 800.0,
            input_tokens: 300,
            output_tokens: 40,
            cached: false,
            cost_usd: 0.001,
            cell: Some(cell),
            format_error: None,
        },
        Turn {
            started_ms: 900.0,
            generate_ms: 500.0,
            input_tokens: 400,
            output_tokens: 20,
            cached: false,
            cost_usd: 0.001,
            cell: None,
            format_error: None,
        },
    ];
    t.answer = Some(answer.into());
    t.finish = Finish::Answer;
    t.passed = Some(answer.trim() == task.ground_truth);
    t.input_tokens = 700;
    t.output_tokens = 60;
    t.cost_usd = 0.002;
    t.wall_ms = 1500.0;
    t
}

/// The verdict of a trajectory: accepted unless `reasons` says otherwise.
pub fn verdict(t: &Trajectory, task: &Task, reasons: &[Reason], replay: ReplayClass) -> Verdict {
    let mismatches = if replay == ReplayClass::Hallucinated {
        vec![CellMismatch {
            cell: 1,
            recorded_status: "ok".into(),
            replayed_status: "ok".into(),
            recorded: "rows: 100\nmean: 4.5".into(),
            replayed: "rows: 100\nmean: 4.7".into(),
            diff: "-mean: 4.5\n+mean: 4.7".into(),
        }]
    } else {
        vec![]
    };
    Verdict {
        key: t.key.clone(),
        task_id: task.id.clone(),
        teacher: t.teacher.clone(),
        model: t.model.clone(),
        sample: t.sample,
        family: task.family.clone(),
        template: task.template.clone(),
        stage: task.stage,
        difficulty: task.difficulty.clone(),
        source: task.source.clone(),
        answer_type: task.answer_type.clone(),
        table_ids: task.table_id_list(),
        trajectory_sha256: "0".repeat(64),
        settings_sha256: "0".repeat(64),
        accepted: reasons.is_empty(),
        reasons: reasons.to_vec(),
        finish: t.finish.name().into(),
        replay,
        replay_detail: if replay == ReplayClass::Broken { "cell 1 raised KeyError on replay".into() } else { String::new() },
        cells: 1,
        cells_matched: u32::from(replay == ReplayClass::Consistent),
        mismatches,
        missing_outputs: vec![],
        answer_passed: t.passed,
        answer_detail: "compared as a number".into(),
        extracted_answer: t.answer.clone(),
        claims: 0,
        grounded_share: None,
        ungrounded_claims: vec![],
        checklist_coverage: None,
        judge: None,
        format_ok: !reasons.contains(&Reason::Format),
        format_issues: if reasons.contains(&Reason::Format) { vec!["<Answer> missing".into()] } else { vec![] },
        style_issues: vec![],
        turns: t.turns.len() as u32,
        code_cells: 1,
        error_cells: 0,
        recoveries: 0,
        repeated_cells: 0,
        input_tokens: t.input_tokens,
        output_tokens: t.output_tokens,
        duplicate_of: None,
        contaminated_by: None,
        score: if reasons.is_empty() { 0.9 } else { 0.3 },
    }
}

/// Writes rows as Parquet the way the stages do, with the column types inferred from every row
/// (the stages spell their schemas out; the report reads any layout through serde).
pub fn write_rows<T: serde::Serialize>(path: &std::path::Path, rows: &[T]) {
    use polars::prelude::*;
    let mut ndjson = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut ndjson, r).unwrap();
        ndjson.push(b'\n');
    }
    let mut df =
        JsonReader::new(std::io::Cursor::new(ndjson)).with_json_format(JsonFormat::JsonLines).infer_schema_len(None).finish().unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap()).finish(&mut df).unwrap();
}

/// Which parts of a run folder to write.
#[derive(Default)]
pub struct RunParts {
    pub catalog: Option<Vec<CatalogEntry>>,
    pub profiles: Vec<TableProfile>,
    pub tasks: Option<Vec<Task>>,
    pub trajectories: Option<Vec<Trajectory>>,
    pub verdicts: Option<Vec<Verdict>>,
    pub pass_rates: Option<Vec<PassRate>>,
    pub settings: Option<String>,
}

pub fn write_run(run: &RunDir, parts: &RunParts) {
    std::fs::create_dir_all(run.root()).unwrap();
    if let Some(s) = &parts.settings {
        std::fs::write(run.settings(), s).unwrap();
    }
    if let Some(c) = &parts.catalog {
        write_rows(&run.catalog(), c);
        write_stats(run, Stage::Crawl, c.len() as u64, 1.5);
    }
    for p in &parts.profiles {
        dasynth_core::atomic::write_json_atomic(&run.profile(&p.table_id), p).unwrap();
    }
    if !parts.profiles.is_empty() {
        write_stats(run, Stage::Profile, parts.profiles.len() as u64, 0.7);
    }
    if let Some(t) = &parts.tasks {
        write_rows(&run.tasks(), t);
        write_stats(run, Stage::Tasks, t.len() as u64, 2.0);
    }
    if let Some(ts) = &parts.trajectories {
        write_trajectories(run, ts.iter());
    }
    if let Some(v) = &parts.verdicts {
        write_rows(&run.verdicts(), v);
    }
    if let Some(p) = &parts.pass_rates {
        write_rows(&run.pass_rates(), p);
    }
}

pub fn write_trajectories<'a>(run: &RunDir, ts: impl Iterator<Item = &'a Trajectory>) {
    std::fs::create_dir_all(run.trajectories_dir()).unwrap();
    let f = std::fs::File::create(run.trajectories_dir().join("part-1.jsonl")).unwrap();
    let mut w = std::io::BufWriter::new(f);
    for t in ts {
        serde_json::to_writer(&mut w, t).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.flush().unwrap();
}

pub fn write_stats(run: &RunDir, stage: Stage, kept: u64, seconds: f64) {
    let stats = StageStats { kept, seconds, ..StageStats::new(stage.name()) };
    dasynth_core::atomic::write_json_atomic(&run.stats(stage), &stats).unwrap();
}

/// The key a trajectory of (task, teacher, sample) gets.
pub fn key(task: &Task, teacher: &str, sample: u32) -> String {
    trajectory_key(&task.id, teacher, sample)
}

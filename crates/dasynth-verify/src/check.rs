//! One trajectory line → one verdict: every per-trajectory check, each failed one adding its
//! reason. Near duplicates are decided later, over all verdicts, by the stage.

use crate::decontaminate::Match;
use crate::grounding::{self, Evidence};
use crate::judge::Judge;
use crate::process;
use crate::records::Line;
use crate::replay::{self, ReplayOptions};
use dasynth_core::config::VerifySettings;
use dasynth_core::layout::RunDir;
use dasynth_core::task::Task;
use dasynth_core::trajectory::{Finish, Trajectory};
use dasynth_core::verdict::{Reason, ReplayClass, Verdict};
use dasynth_sandbox::SessionPool;
use dasynth_tasks::checker::{self, Outcome};
use dasynth_tasks::task::TaskExt;
use std::collections::HashMap;

/// What every check of a run shares.
pub struct Context<'a> {
    pub run: &'a RunDir,
    pub settings: &'a VerifySettings,
    pub settings_sha256: &'a str,
    pub tasks: &'a HashMap<String, Task>,
    /// None when replay is off.
    pub pool: Option<&'a SessionPool>,
    pub judge: Option<&'a Judge>,
    /// The benchmark question each task overlaps, by task id (absent: none).
    pub contamination: &'a HashMap<String, Match>,
    /// Whose trajectories these are (where their kept outputs lie).
    pub corpus: crate::stage::Corpus,
}

/// A verdict and what making it cost.
pub struct Checked {
    pub verdict: Verdict,
    pub cells_run: u64,
    /// False when a check could not finish (the judge did not answer): the verdict is written
    /// but made again by the next run.
    pub complete: bool,
}

/// A verdict with only its identity filled in.
pub fn blank(key: &str, trajectory_sha256: &str, settings_sha256: &str) -> Verdict {
    Verdict {
        key: key.to_string(),
        task_id: String::new(),
        teacher: String::new(),
        model: String::new(),
        sample: 0,
        family: String::new(),
        template: String::new(),
        stage: 0,
        difficulty: String::new(),
        source: String::new(),
        answer_type: String::new(),
        table_ids: Vec::new(),
        trajectory_sha256: trajectory_sha256.to_string(),
        settings_sha256: settings_sha256.to_string(),
        accepted: false,
        reasons: Vec::new(),
        finish: String::new(),
        replay: ReplayClass::NotReplayed,
        replay_detail: String::new(),
        cells: 0,
        cells_matched: 0,
        mismatches: Vec::new(),
        missing_outputs: Vec::new(),
        answer_passed: None,
        answer_detail: String::new(),
        extracted_answer: None,
        claims: 0,
        grounded_share: None,
        ungrounded_claims: Vec::new(),
        checklist_coverage: None,
        judge: None,
        format_ok: false,
        format_issues: Vec::new(),
        style_issues: Vec::new(),
        turns: 0,
        code_cells: 0,
        error_cells: 0,
        recoveries: 0,
        repeated_cells: 0,
        input_tokens: 0,
        output_tokens: 0,
        duplicate_of: None,
        contaminated_by: None,
        score: 0.0,
    }
}

/// Tasks whose answers are reports, insights or open research: their claims are grounded.
pub fn is_open(task: &Task) -> bool {
    task.answer_type == "report"
        || task.family == "data-insight"
        || task.family == "open-ended-research"
        || task.template == dasynth_tasks::QUESTIONER_TEMPLATE
}

/// Sorts the reasons and sets `accepted`.
pub fn settle(v: &mut Verdict) {
    v.reasons.sort();
    v.reasons.dedup();
    v.accepted = v.reasons.is_empty();
}

/// A quality score in [0, 1] for sorting: the mean of answer, replay, grounding and process.
fn score(v: &Verdict, error_share: f64) -> f64 {
    let answer = match v.answer_passed {
        Some(true) => 1.0,
        Some(false) => 0.0,
        None => 0.5,
    };
    let replay = match v.replay {
        ReplayClass::Consistent => 1.0,
        ReplayClass::Nondeterministic | ReplayClass::NotReplayed => 0.5,
        ReplayClass::Hallucinated | ReplayClass::Broken => 0.0,
    };
    let grounding = v.grounded_share.unwrap_or(1.0);
    let process = if v.format_ok { 1.0 - error_share } else { 0.0 };
    (answer + replay + grounding + process) / 4.0
}

/// Verifies one trajectory line.
pub fn check_line(ctx: &Context<'_>, line: &Line) -> Checked {
    let mut v = blank(&line.key, &line.sha256, ctx.settings_sha256);
    let t = match &line.record {
        Ok(t) => t,
        Err(why) => {
            v.task_id = line.task_id.clone().unwrap_or_default();
            v.answer_detail = why.clone();
            v.reasons.push(Reason::Unreadable);
            settle(&mut v);
            return Checked { verdict: v, cells_run: 0, complete: true };
        }
    };
    v.task_id = t.task_id.clone();
    v.teacher = t.teacher.clone();
    v.model = t.model.clone();
    v.sample = t.sample;
    v.family = t.family.clone();
    v.finish = t.finish.name().to_string();
    v.input_tokens = t.input_tokens;
    v.output_tokens = t.output_tokens;
    let p = process::check(t);
    v.format_ok = p.format_ok;
    v.format_issues = p.format_issues.clone();
    v.style_issues = p.style_issues.clone();
    v.turns = p.turns;
    v.code_cells = p.code_cells;
    v.error_cells = p.error_cells;
    v.recoveries = p.recoveries;
    v.repeated_cells = p.repeated_cells;
    let Some(task) = ctx.tasks.get(&t.task_id) else {
        v.answer_detail = format!("task {} is in neither tasks.parquet nor questions.parquet", t.task_id);
        v.reasons.push(Reason::UnknownTask);
        settle(&mut v);
        return Checked { verdict: v, cells_run: 0, complete: true };
    };
    v.family = task.family.clone();
    v.template = task.template.clone();
    v.stage = task.stage;
    v.difficulty = task.difficulty.clone();
    v.source = task.source.clone();
    v.answer_type = task.answer_type.clone();
    v.table_ids = task.table_id_list();
    let mut complete = true;
    let mut cells_run = 0;

    // Replay.
    let replayed = ctx.pool.map(|pool| {
        let o = ReplayOptions {
            cell_timeout: std::time::Duration::from_secs(ctx.settings.cell_timeout_secs),
            tolerance: ctx.settings.replay_tolerance,
        };
        replay::replay(pool, ctx.run, task, t, &o)
    });
    let (outputs, files) = match &replayed {
        Some(r) => {
            cells_run = r.cells_run;
            v.replay = r.class;
            v.cells = r.cells;
            v.cells_matched = r.matched;
            v.mismatches = r.mismatches.clone();
            v.replay_detail = r.detail.clone();
            v.missing_outputs = r.missing_outputs.clone();
            match r.class {
                ReplayClass::Hallucinated => v.reasons.push(Reason::ReplayHallucinated),
                ReplayClass::Broken => v.reasons.push(Reason::ReplayBroken),
                ReplayClass::Nondeterministic if ctx.settings.reject_nondeterministic => v.reasons.push(Reason::ReplayNondeterministic),
                _ => {}
            }
            if !r.missing_outputs.is_empty() {
                v.reasons.push(Reason::OutputsMissing);
            }
            (r.outputs.clone(), r.files.clone())
        }
        None => {
            let recorded: Vec<String> =
                replay::recorded_cells(t).iter().map(|c| crate::normalise::execute_body(&c.execute).to_string()).collect();
            (recorded, t.outputs.clone())
        }
    };

    // The answer.
    match (&t.answer, t.finish) {
        (Some(text), Finish::Answer) => {
            if task.template != dasynth_tasks::QUESTIONER_TEMPLATE
                && let Some(spec) = task.checker_spec()
            {
                // Tables and chart data are read from the files the replay wrote again (or, with
                // replay off, from those the trajectory stage kept).
                let kept = ctx.corpus.outputs(ctx.run, &t.key);
                let outputs_dir = match replayed.as_ref().and_then(|r| r.outputs_dir.as_ref()) {
                    Some(d) => Some(d.path().to_path_buf()),
                    None => kept.is_dir().then_some(kept),
                };
                let a = checker::check_answer(&spec, &task.ground_truth_value(), text, &files, outputs_dir.as_deref());
                v.answer_passed = Some(a.outcome == Outcome::Pass);
                v.answer_detail = a.reason;
                v.extracted_answer = a.extracted;
                match a.outcome {
                    Outcome::Pass => {}
                    Outcome::Wrong => v.reasons.push(Reason::AnswerWrong),
                    Outcome::Unextractable => v.reasons.push(Reason::AnswerUnextractable),
                }
            }
        }
        _ => {
            v.reasons.push(Reason::NoAnswer);
            v.answer_detail = format!("the trajectory ended {}: {}", t.finish.name(), t.finish_detail);
        }
    }

    // Process.
    if !p.format_ok {
        v.reasons.push(Reason::Format);
    }
    if p.code_cells > 0 && p.error_share() > ctx.settings.max_error_share {
        v.reasons.push(Reason::TooManyErrors);
    }
    if p.repeated_cells > ctx.settings.max_repeated_cells {
        v.reasons.push(Reason::RepeatedCells);
    }

    // Grounding, checklist and judge, for reports.
    if is_open(task)
        && let Some(text) = &t.answer
    {
        let mut evidence = Evidence::from_texts(outputs.iter().map(String::as_str).chain([task.prompt.as_str()]));
        let truth = task.ground_truth_value();
        evidence.add_json(&truth);
        let g = grounding::ground(text, &evidence);
        v.claims = g.claims;
        v.grounded_share = g.grounded_share;
        v.ungrounded_claims = g.ungrounded;
        if g.grounded_share.is_some_and(|s| s < ctx.settings.min_grounded_share) {
            v.reasons.push(Reason::UngroundedClaims);
        }
        if task.answer_type == "report" && truth.get("checklist").is_none() {
            v.checklist_coverage = grounding::fact_coverage(text, &truth);
        }
        let report = task.answer_type == "report" || task.template == dasynth_tasks::QUESTIONER_TEMPLATE;
        if let Some(judge) = ctx.judge.filter(|_| report) {
            match judge.score(task, t, &outputs) {
                Ok(s) => {
                    if v.checklist_coverage.is_none() {
                        v.checklist_coverage = s.checklist_coverage;
                    }
                    if s.mean() < ctx.settings.min_judge_score {
                        v.reasons.push(Reason::JudgeLow);
                    }
                    v.judge = Some(s);
                }
                Err(e) => {
                    tracing::warn!(key = %t.key, error = %e, "the judge gave no scores; the next run asks again");
                    complete = false;
                }
            }
        }
        if v.checklist_coverage.is_some_and(|c| c < ctx.settings.min_checklist_coverage) {
            v.reasons.push(Reason::ChecklistCoverage);
        }
    }

    // The inspector's verdict, when the trajectory stage ran one.
    if t.inspection.as_ref().is_some_and(|i| !i.accepted) {
        v.reasons.push(Reason::Inspector);
    }
    if let Some(m) = ctx.contamination.get(&task.id) {
        v.contaminated_by = Some(m.describe());
        v.reasons.push(Reason::Contaminated);
    }
    v.score = score(&v, p.error_share());
    settle(&mut v);
    Checked { verdict: v, cells_run, complete }
}

/// Drops a trajectory the recorded trajectory file holds twice under one key: the later line.
pub fn repeated_key(line: &Line, settings_sha256: &str) -> Verdict {
    let mut v = blank(&format!("{}@{}:{}", line.key, line.file, line.number), &line.sha256, settings_sha256);
    v.task_id = line.task_id.clone().unwrap_or_default();
    v.answer_detail = format!("{}:{} repeats the key {} of an earlier line", line.file, line.number, line.key);
    v.duplicate_of = Some(line.key.clone());
    v.reasons.push(Reason::NearDuplicate);
    settle(&mut v);
    v
}

/// The text near-duplicate detection reads of a line (none for an unreadable one).
pub fn dedup_text(line: &Line) -> Option<String> {
    line.record.as_ref().ok().map(|t: &Trajectory| crate::minhash::trajectory_text(t))
}

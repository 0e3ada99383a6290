//! What the verify stage decided about each trajectory: one row of `verdicts.parquet` (and of
//! `student/verdicts.parquet`), the stage's counters in `stats/verify.json`, and the student's
//! pass rates in `student/pass_rates.parquet`.
//!
//! A trajectory is *accepted* when every check passed. Every failed check adds exactly one
//! [`Reason`], so the counts of dropped trajectories by reason add up to the checks that
//! failed, and a reader can filter a dataset on any single check. Export keeps the accepted
//! rows; the report breaks the reasons down by family, template, teacher and table.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the trajectory's code cells behaved when run again in a fresh sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayClass {
    /// Every cell's replayed output matches the recorded `<Execute>` after normalisation.
    Consistent,
    /// Two replays of the same cells disagree with each other, so the record cannot be
    /// proved or disproved.
    Nondeterministic,
    /// The replay is deterministic and differs from what the trajectory recorded.
    Hallucinated,
    /// The replay fails (error, timeout, memory cap) where the record did not.
    Broken,
    /// The trajectory ran no code, or could not be replayed (unknown task, unreadable record).
    NotReplayed,
}

impl ReplayClass {
    pub fn name(self) -> &'static str {
        match self {
            ReplayClass::Consistent => "consistent",
            ReplayClass::Nondeterministic => "nondeterministic",
            ReplayClass::Hallucinated => "hallucinated",
            ReplayClass::Broken => "broken",
            ReplayClass::NotReplayed => "not_replayed",
        }
    }
}

/// Why a trajectory was rejected: one per failed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The trajectory line could not be read as a trajectory (torn JSON, missing fields).
    Unreadable,
    /// Its task is in neither `tasks.parquet` nor `questions.parquet`.
    UnknownTask,
    /// It ended without an `<Answer>` (turn, token or time limit, a teacher or sandbox error).
    NoAnswer,
    /// An answer was given but no value of the expected type could be read from it.
    AnswerUnextractable,
    /// The answer does not match the ground truth.
    AnswerWrong,
    /// A recorded `<Execute>` cannot be produced by its code.
    ReplayHallucinated,
    /// The replay does not reproduce itself (rejected only when configured).
    ReplayNondeterministic,
    /// The replay fails where the record did not.
    ReplayBroken,
    /// A file the trajectory wrote under `outputs/` is not produced again by the replay.
    OutputsMissing,
    /// DeepAnalyze's format check fails (tag pairs, python fences, one final `<Answer>`).
    Format,
    /// More cells errored than `verify.max-error-share` allows.
    TooManyErrors,
    /// The same cell was run again and again.
    RepeatedCells,
    /// Fewer claims of a report are grounded in outputs than `verify.min-grounded-share`.
    UngroundedClaims,
    /// The report covers less of its checklist than `verify.min-checklist-coverage`.
    ChecklistCoverage,
    /// The judge scored the report below `verify.min-judge-score`.
    JudgeLow,
    /// The inspector rejected it.
    Inspector,
    /// A near duplicate of an earlier accepted trajectory.
    NearDuplicate,
    /// Its task overlaps a benchmark question named in `verify.decontaminate`.
    Contaminated,
}

impl Reason {
    pub const ALL: [Reason; 18] = [
        Reason::Unreadable,
        Reason::UnknownTask,
        Reason::NoAnswer,
        Reason::AnswerUnextractable,
        Reason::AnswerWrong,
        Reason::ReplayHallucinated,
        Reason::ReplayNondeterministic,
        Reason::ReplayBroken,
        Reason::OutputsMissing,
        Reason::Format,
        Reason::TooManyErrors,
        Reason::RepeatedCells,
        Reason::UngroundedClaims,
        Reason::ChecklistCoverage,
        Reason::JudgeLow,
        Reason::Inspector,
        Reason::NearDuplicate,
        Reason::Contaminated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reason::Unreadable => "unreadable",
            Reason::UnknownTask => "unknown_task",
            Reason::NoAnswer => "no_answer",
            Reason::AnswerUnextractable => "answer_unextractable",
            Reason::AnswerWrong => "answer_wrong",
            Reason::ReplayHallucinated => "replay_hallucinated",
            Reason::ReplayNondeterministic => "replay_nondeterministic",
            Reason::ReplayBroken => "replay_broken",
            Reason::OutputsMissing => "outputs_missing",
            Reason::Format => "format",
            Reason::TooManyErrors => "too_many_errors",
            Reason::RepeatedCells => "repeated_cells",
            Reason::UngroundedClaims => "ungrounded_claims",
            Reason::ChecklistCoverage => "checklist_coverage",
            Reason::JudgeLow => "judge_low",
            Reason::Inspector => "inspector",
            Reason::NearDuplicate => "near_duplicate",
            Reason::Contaminated => "contaminated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A cell whose replayed output differs from the recorded one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CellMismatch {
    /// 1-based index of the code cell in the trajectory.
    pub cell: u32,
    /// The recorded cell's status (`ok`, `error`, ...; `unknown` for a teacher trajectory's
    /// cell whose record holds only the output).
    pub recorded_status: String,
    pub replayed_status: String,
    /// The recorded `<Execute>` body and the replayed one, as compared (after normalisation),
    /// each cut to a few KiB.
    pub recorded: String,
    pub replayed: String,
    /// A short unified diff of the two.
    pub diff: String,
}

/// A judge's scores of an open-ended report (DeepAnalyze's five dimensions, 1–5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JudgeScores {
    /// The judge teacher's name.
    pub judge: String,
    pub usefulness: f64,
    pub richness: f64,
    pub soundness: f64,
    pub interpretability: f64,
    pub readability: f64,
    /// Share of the task's checklist the judge found covered (0–1).
    pub checklist_coverage: Option<f64>,
}

impl JudgeScores {
    /// The mean of the five dimensions.
    pub fn mean(&self) -> f64 {
        (self.usefulness + self.richness + self.soundness + self.interpretability + self.readability) / 5.0
    }
}

/// One row of `verdicts.parquet`: every check's outcome for one trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// The trajectory's key.
    pub key: String,
    pub task_id: String,
    pub teacher: String,
    pub model: String,
    pub sample: u32,
    pub family: String,
    pub template: String,
    /// Curriculum stage (1 single ability, 2 multi-ability agentic, 3 RL prompt).
    pub stage: u32,
    pub difficulty: String,
    pub source: String,
    pub answer_type: String,
    /// The tables the task reads.
    pub table_ids: Vec<String>,
    /// sha256 of the trajectory's JSON line as verified: a rerun verifies it again only when
    /// the line changed.
    pub trajectory_sha256: String,
    /// sha256 of the verify settings the verdict was made with.
    pub settings_sha256: String,
    /// Every check passed.
    pub accepted: bool,
    /// One reason per failed check (empty when accepted).
    pub reasons: Vec<Reason>,
    /// How the trajectory ended (`answer`, `turn_limit`, ...).
    pub finish: String,
    pub replay: ReplayClass,
    /// Why the replay is broken: the cell that failed and how, or why no session started.
    #[serde(default)]
    pub replay_detail: String,
    /// Code cells replayed, and those whose output matched the record.
    pub cells: u32,
    pub cells_matched: u32,
    pub mismatches: Vec<CellMismatch>,
    /// Files under `outputs/` the record lists but the replay did not write again.
    pub missing_outputs: Vec<String>,
    /// The answer against the ground truth (none for tasks without one).
    pub answer_passed: Option<bool>,
    /// Why the answer failed, or how it was read.
    pub answer_detail: String,
    /// The value read from the `<Answer>` text, as compared.
    pub extracted_answer: Option<String>,
    /// Numeric claims of a report, and the share found in cell outputs.
    pub claims: u32,
    pub grounded_share: Option<f64>,
    /// Claims found in no output (each as written, with a few words around it).
    pub ungrounded_claims: Vec<String>,
    /// Share of the task's checklist facts the answer states.
    pub checklist_coverage: Option<f64>,
    pub judge: Option<JudgeScores>,
    /// DeepAnalyze's format check (its RL reward's −1 condition) passed.
    pub format_ok: bool,
    /// The rules the format check found broken.
    pub format_issues: Vec<String>,
    /// Style signals that do not reject (an `<Understand>` opening a turn, no `<Understand>` at
    /// all, an unfenced cell).
    pub style_issues: Vec<String>,
    pub turns: u32,
    pub code_cells: u32,
    /// Cells that ended in an error, and errors followed by a cell that ran cleanly.
    pub error_cells: u32,
    pub recoveries: u32,
    /// Cells whose code repeats an earlier cell of the trajectory exactly.
    pub repeated_cells: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The accepted trajectory this one nearly duplicates.
    pub duplicate_of: Option<String>,
    /// The benchmark question the task overlaps (file and question text).
    pub contaminated_by: Option<String>,
    /// A quality score in [0, 1] (answer, replay, grounding, process), for sorting.
    pub score: f64,
}

/// Kept and dropped counts of one group (a family, template or teacher).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KeptDropped {
    pub kept: u64,
    pub dropped: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
}

impl KeptDropped {
    pub fn add(&mut self, v: &Verdict) {
        if v.accepted {
            self.kept += 1;
        } else {
            self.dropped += 1;
            for r in &v.reasons {
                *self.dropped_by_reason.entry(r.name().to_string()).or_default() += 1;
            }
        }
    }
}

/// What the verify stage did: `stats/verify.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyStats {
    /// Trajectories with a verdict.
    pub verdicts: u64,
    pub kept: u64,
    pub dropped: u64,
    /// Failed checks by reason (a dropped trajectory counts once under each of its reasons).
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Verdicts taken over from an earlier run because neither the trajectory nor the settings
    /// changed.
    pub reused: u64,
    pub by_replay: BTreeMap<String, u64>,
    pub by_family: BTreeMap<String, KeptDropped>,
    pub by_template: BTreeMap<String, KeptDropped>,
    pub by_teacher: BTreeMap<String, KeptDropped>,
    /// Code cells replayed in this run.
    pub cells_replayed: u64,
    pub seconds: f64,
}

impl VerifyStats {
    pub fn add(&mut self, v: &Verdict) {
        self.verdicts += 1;
        if v.accepted {
            self.kept += 1;
        } else {
            self.dropped += 1;
            for r in &v.reasons {
                *self.dropped_by_reason.entry(r.name().to_string()).or_default() += 1;
            }
        }
        *self.by_replay.entry(v.replay.name().to_string()).or_default() += 1;
        self.by_family.entry(v.family.clone()).or_default().add(v);
        self.by_template.entry(v.template.clone()).or_default().add(v);
        self.by_teacher.entry(v.teacher.clone()).or_default().add(v);
    }
}

/// One row of `student/pass_rates.parquet`: how often the student solved a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PassRate {
    pub task_id: String,
    pub family: String,
    pub stage: u32,
    pub template: String,
    /// Samples run, and those the verify checks accepted.
    pub n: u32,
    pub passed: u32,
    pub pass_rate: f64,
    pub mean_turns: f64,
    pub mean_tokens: f64,
}

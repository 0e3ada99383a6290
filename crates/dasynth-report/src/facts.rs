//! One small record per trajectory: the trajectory joined with its task and its verdict, reduced
//! to the dimensions the report groups by and the numbers it counts. Every figure of the report
//! and every row of the page's browser comes from these, so the page and `report.json` agree.
//!
//! A dimension's value comes from the verdict when there is one (verify saw the task), else
//! from the task, else from the trajectory itself; what is unknown reads `?`.

use crate::inputs::{Inputs, TaskInfo};
use dasynth_core::trajectory::Trajectory;
use dasynth_core::verdict::{Reason, ReplayClass, Verdict};
use std::collections::HashMap;

/// The dimensions every figure is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dim {
    Family,
    Stage,
    Difficulty,
    Template,
    Source,
    Table,
    Format,
    Teacher,
    Model,
}

impl Dim {
    pub const ALL: [Dim; 9] =
        [Dim::Family, Dim::Stage, Dim::Difficulty, Dim::Template, Dim::Source, Dim::Table, Dim::Format, Dim::Teacher, Dim::Model];

    pub fn name(self) -> &'static str {
        match self {
            Dim::Family => "family",
            Dim::Stage => "stage",
            Dim::Difficulty => "difficulty",
            Dim::Template => "template",
            Dim::Source => "source",
            Dim::Table => "table",
            Dim::Format => "format",
            Dim::Teacher => "teacher",
            Dim::Model => "model",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What verify decided, in short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Accepted,
    Rejected,
    /// No verdict (verify has not run, or not on this trajectory).
    Unverified,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Accepted => 0,
            Status::Rejected => 1,
            Status::Unverified => 2,
        }
    }
}

/// Every replay class, in the order the report lists them.
pub(crate) const REPLAY: [ReplayClass; 5] =
    [ReplayClass::Consistent, ReplayClass::Nondeterministic, ReplayClass::Hallucinated, ReplayClass::Broken, ReplayClass::NotReplayed];

pub(crate) fn replay_index(r: ReplayClass) -> usize {
    REPLAY.iter().position(|x| *x == r).unwrap_or(REPLAY.len() - 1)
}

pub(crate) fn reason_index(r: Reason) -> usize {
    Reason::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

/// Interned values of each dimension: facts hold indices, the page ships each value once.
#[derive(Debug, Default)]
pub(crate) struct Dicts {
    values: [Vec<String>; Dim::ALL.len()],
    index: [HashMap<String, u32>; Dim::ALL.len()],
}

impl Dicts {
    pub fn intern(&mut self, dim: Dim, value: &str) -> u32 {
        let d = dim.index();
        if let Some(&i) = self.index[d].get(value) {
            return i;
        }
        let i = self.values[d].len() as u32;
        self.values[d].push(value.to_string());
        self.index[d].insert(value.to_string(), i);
        i
    }

    pub fn value(&self, dim: Dim, i: u32) -> &str {
        self.values[dim.index()].get(i as usize).map_or("?", String::as_str)
    }

    pub fn values(&self, dim: Dim) -> &[String] {
        &self.values[dim.index()]
    }
}

/// One trajectory, reduced.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub key: String,
    /// Indices into [`Dicts`], by [`Dim::index`]; for [`Dim::Table`] the first table.
    pub dims: [u32; Dim::ALL.len()],
    /// Every table the task reads (indices into the table dictionary).
    pub tables: Vec<u32>,
    /// The tables' catalog ids, in the order of `tables`.
    pub table_ids: Vec<String>,
    pub task_id: String,
    pub status: Status,
    /// Bit `i` set when `Reason::ALL[i]` is among the verdict's reasons.
    pub reasons: u32,
    pub replay: Option<ReplayClass>,
    /// The answer check (the verdict's, else the trajectory's own).
    pub answer: Option<bool>,
    pub grounded_share: Option<f64>,
    pub judge: Option<f64>,
    pub format_ok: Option<bool>,
    pub score: Option<f64>,
    pub turns: u32,
    pub code_cells: u32,
    pub error_cells: u32,
    pub recoveries: u32,
    pub tokens: u64,
    pub cost_usd: f64,
    /// `Finish::name()` of the trajectory.
    pub finish: &'static str,
}

impl Facts {
    pub fn dim(&self, dim: Dim) -> u32 {
        self.dims[dim.index()]
    }
}

/// Code cells, cells that errored, and errors followed by a cell that ran cleanly.
pub(crate) fn cell_counts(t: &Trajectory) -> (u32, u32, u32) {
    let mut cells = 0;
    let mut errors = 0;
    let mut recoveries = 0;
    let mut after_error = false;
    for cell in t.turns.iter().filter_map(|turn| turn.cell.as_ref()) {
        cells += 1;
        if cell.status == "ok" {
            if after_error {
                recoveries += 1;
            }
            after_error = false;
        } else {
            errors += 1;
            after_error = true;
        }
    }
    (cells, errors, recoveries)
}

/// Builds [`Facts`] from trajectories, interning their dimension values.
pub(crate) struct FactsBuilder<'a> {
    inputs: &'a Inputs,
    /// Catalog id → (label, format) of every crawled table.
    tables: HashMap<&'a str, (String, String)>,
    pub dicts: Dicts,
}

const UNKNOWN: &str = "?";

impl<'a> FactsBuilder<'a> {
    pub fn new(inputs: &'a Inputs) -> Self {
        let mut names: HashMap<&str, u32> = HashMap::new();
        for e in inputs.ok_tables() {
            *names.entry(e.name.as_str()).or_default() += 1;
        }
        // Two tables of one name (the same file stem in two sources) keep apart by their id.
        let label = |name: &str, id: &str| {
            if names.get(name).copied().unwrap_or(0) > 1 { format!("{name} ({})", id.get(..8).unwrap_or(id)) } else { name.to_string() }
        };
        let tables = inputs
            .ok_tables()
            .map(|e| (e.id.as_str(), (label(&e.name, &e.id), e.format.map_or_else(|| UNKNOWN.to_string(), |f| f.to_string()))))
            .collect();
        Self { inputs, tables, dicts: Dicts::default() }
    }

    /// The label of a table in breakdowns: its catalog name, or its id when not in the catalog.
    pub fn table_label(&self, id: &str) -> String {
        self.tables.get(id).map_or_else(|| id.to_string(), |(name, _)| name.clone())
    }

    pub fn build(&mut self, t: &Trajectory) -> Facts {
        let verdict = self.inputs.verdicts.as_ref().and_then(|m| m.get(&t.key));
        let task = self.inputs.tasks.as_ref().and_then(|m| m.get(&t.task_id));
        let (cells, error_cells, recoveries) = cell_counts(t);
        let mut f = Facts {
            key: t.key.clone(),
            dims: [0; Dim::ALL.len()],
            tables: Vec::new(),
            table_ids: Vec::new(),
            task_id: t.task_id.clone(),
            status: Status::Unverified,
            reasons: 0,
            replay: None,
            answer: t.passed,
            grounded_share: None,
            judge: None,
            format_ok: None,
            score: None,
            turns: t.turns.len() as u32,
            code_cells: cells,
            error_cells,
            recoveries,
            tokens: t.input_tokens + t.output_tokens,
            cost_usd: t.cost_usd,
            finish: t.finish.name(),
        };
        self.set_dims(&mut f, t, task, verdict);
        if let Some(v) = verdict {
            f.status = if v.accepted { Status::Accepted } else { Status::Rejected };
            f.reasons = v.reasons.iter().fold(0, |m, r| m | (1 << reason_index(*r)));
            f.replay = Some(v.replay);
            f.answer = v.answer_passed.or(t.passed);
            f.grounded_share = v.grounded_share.filter(|_| v.claims > 0);
            f.judge = v.judge.as_ref().map(|j| j.mean());
            f.format_ok = Some(v.format_ok);
            f.score = Some(v.score);
        }
        f
    }

    fn set_dims(&mut self, f: &mut Facts, t: &Trajectory, task: Option<&TaskInfo>, v: Option<&Verdict>) {
        let pick = |from_verdict: Option<&str>, from_task: Option<&str>| {
            from_verdict.filter(|s| !s.is_empty()).or(from_task.filter(|s| !s.is_empty())).unwrap_or(UNKNOWN).to_string()
        };
        let family = pick(v.map(|v| v.family.as_str()), task.map(|t| t.family.as_str()).or(Some(t.family.as_str())));
        let stage = v.map(|v| v.stage).or(task.map(|t| t.stage)).map_or_else(|| UNKNOWN.to_string(), |s| s.to_string());
        let difficulty = pick(v.map(|v| v.difficulty.as_str()), task.map(|t| t.difficulty.as_str()));
        let template = pick(v.map(|v| v.template.as_str()), task.map(|t| t.template.as_str()));
        let source = pick(v.map(|v| v.source.as_str()), task.map(|t| t.source.as_str()));
        let table_ids: Vec<String> = match (v, task) {
            (Some(v), _) if !v.table_ids.is_empty() => v.table_ids.clone(),
            (_, Some(t)) => t.table_ids.clone(),
            _ => Vec::new(),
        };
        let teacher = pick(Some(t.teacher.as_str()), None);
        let model = pick(Some(t.model.as_str()), None);
        let first_format =
            table_ids.first().and_then(|id| self.tables.get(id.as_str())).map_or(UNKNOWN, |(_, fmt)| fmt.as_str()).to_string();
        let labels: Vec<String> = table_ids.iter().map(|id| self.table_label(id)).collect();
        let d = &mut self.dicts;
        f.dims[Dim::Family.index()] = d.intern(Dim::Family, &family);
        f.dims[Dim::Stage.index()] = d.intern(Dim::Stage, &stage);
        f.dims[Dim::Difficulty.index()] = d.intern(Dim::Difficulty, &difficulty);
        f.dims[Dim::Template.index()] = d.intern(Dim::Template, &template);
        f.dims[Dim::Source.index()] = d.intern(Dim::Source, &source);
        f.dims[Dim::Format.index()] = d.intern(Dim::Format, &first_format);
        f.dims[Dim::Teacher.index()] = d.intern(Dim::Teacher, &teacher);
        f.dims[Dim::Model.index()] = d.intern(Dim::Model, &model);
        f.tables = labels.iter().map(|l| d.intern(Dim::Table, l)).collect();
        f.dims[Dim::Table.index()] = match f.tables.first() {
            Some(&i) => i,
            None => d.intern(Dim::Table, UNKNOWN),
        };
        f.table_ids = table_ids;
    }
}

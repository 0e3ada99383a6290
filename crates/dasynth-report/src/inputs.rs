//! Everything the report reads from a run folder except the trajectories (which are streamed,
//! see [`crate::stream`]). Each part is optional: a missing file means its stage has not run, a
//! damaged one becomes a note in the report.

use dasynth_core::catalog::{CatalogEntry, Status};
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::profile::TableProfile;
use dasynth_core::task::Task;
use dasynth_core::verdict::{PassRate, Verdict};
use dasynth_parquet::RowsError;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a profile contributes to the report.
#[derive(Debug, Clone)]
pub(crate) struct ProfileFacts {
    pub rows: u64,
    pub columns: u64,
    pub duplicate_rows: u64,
    pub quality_flags: Vec<String>,
    pub column_flags: BTreeMap<String, u64>,
}

impl ProfileFacts {
    fn of(p: &TableProfile) -> Self {
        let mut column_flags = BTreeMap::new();
        for c in &p.columns {
            for f in &c.quality.flags {
                *column_flags.entry(f.clone()).or_default() += 1;
            }
        }
        Self {
            rows: p.n_rows,
            columns: p.n_columns,
            duplicate_rows: p.duplicate_rows,
            quality_flags: p.quality_flags.clone(),
            column_flags,
        }
    }
}

/// What the report needs of a task: its dimensions and what the trajectory view shows.
#[derive(Debug, Clone)]
pub(crate) struct TaskInfo {
    pub family: String,
    pub stage: u32,
    pub difficulty: String,
    pub template: String,
    pub source: String,
    pub table_ids: Vec<String>,
    pub answer_type: String,
    pub instruction: String,
    pub ground_truth: String,
}

/// Longest ground truth kept for the trajectory view (a table as ground truth can be large).
const GROUND_TRUTH_CHARS: usize = 4096;

impl TaskInfo {
    fn of(t: Task) -> Self {
        let table_ids = t.table_id_list();
        Self {
            family: t.family,
            stage: t.stage,
            difficulty: t.difficulty,
            template: t.template,
            source: t.source,
            table_ids,
            answer_type: t.answer_type,
            instruction: t.instruction,
            ground_truth: crate::text::cut_middle(&t.ground_truth, GROUND_TRUTH_CHARS).into_owned(),
        }
    }
}

/// The run folder's files, read once.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    /// `catalog.parquet`, when present.
    pub catalog: Option<Vec<CatalogEntry>>,
    /// `profiles/*.json` by table id.
    pub profiles: BTreeMap<String, ProfileFacts>,
    pub profiles_present: bool,
    /// `tasks.parquet` and `questions.parquet` by task id; none when neither exists.
    pub tasks: Option<HashMap<String, TaskInfo>>,
    /// `verdicts.parquet` by trajectory key; none when missing.
    pub verdicts: Option<HashMap<String, Verdict>>,
    /// `stats/<stage>.json` of every stage that wrote one.
    pub stats: BTreeMap<Stage, serde_json::Value>,
    /// `dasynth.toml` with secrets redacted.
    pub settings: Option<String>,
    /// `student/pass_rates.parquet`, when present.
    pub pass_rates: Option<Vec<PassRate>>,
    /// Files that exist but could not be read, each naming the file.
    pub notes: Vec<String>,
}

impl Inputs {
    pub fn read(run: &RunDir) -> Self {
        let mut inputs = Inputs::default();
        inputs.catalog = rows::<CatalogEntry>(&run.catalog(), &mut inputs.notes);
        inputs.read_profiles(run);
        inputs.read_tasks(run);
        inputs.verdicts = rows::<Verdict>(&run.verdicts(), &mut inputs.notes).map(|vs| {
            let mut map = HashMap::with_capacity(vs.len());
            for v in vs {
                map.entry(v.key.clone()).or_insert(v);
            }
            map
        });
        inputs.pass_rates = rows::<PassRate>(&run.pass_rates(), &mut inputs.notes);
        // The report's own stats are about an earlier report, not this run's work.
        for stage in Stage::ALL.into_iter().filter(|s| *s != Stage::Report) {
            let path = run.stats(stage);
            match std::fs::read(&path) {
                Ok(bytes) => match serde_json::from_slice(&bytes) {
                    Ok(v) => {
                        inputs.stats.insert(stage, v);
                    }
                    Err(e) => inputs.notes.push(format!("{}: not JSON ({e})", path.display())),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => inputs.notes.push(format!("{}: {e}", path.display())),
            }
        }
        match std::fs::read_to_string(run.settings()) {
            Ok(text) => match crate::settings::redacted(&text) {
                Some(s) => inputs.settings = Some(s),
                None => inputs.notes.push(format!("{}: not valid TOML, so it is not shown", run.settings().display())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => inputs.notes.push(format!("{}: {e}", run.settings().display())),
        }
        inputs
    }

    fn read_profiles(&mut self, run: &RunDir) {
        let dir = run.profiles_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        self.profiles_present = true;
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
        paths.sort();
        for path in paths {
            let parsed = std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| {
                serde_json::from_slice::<TableProfile>(&b).map_err(|e| format!("not a profile ({e}); rerun `dasynth profile`"))
            });
            match parsed {
                Ok(p) => {
                    self.profiles.insert(p.table_id.clone(), ProfileFacts::of(&p));
                }
                Err(e) => self.notes.push(format!("{}: {e}", path.display())),
            }
        }
    }

    fn read_tasks(&mut self, run: &RunDir) {
        let tasks = rows::<Task>(&run.tasks(), &mut self.notes);
        let questions = rows::<Task>(&run.questions(), &mut self.notes);
        if tasks.is_none() && questions.is_none() {
            return;
        }
        let mut map = HashMap::new();
        for t in tasks.into_iter().flatten().chain(questions.into_iter().flatten()) {
            if !map.contains_key(&t.id) {
                map.insert(t.id.clone(), TaskInfo::of(t));
            }
        }
        self.tasks = Some(map);
    }

    /// Catalog rows of tables that were read.
    pub fn ok_tables(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.catalog.iter().flatten().filter(|e| e.status == Status::Ok)
    }

    /// Catalog rows of inputs the crawl could not read.
    pub fn failed_inputs(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.catalog.iter().flatten().filter(|e| e.status == Status::Failed)
    }
}

/// Rows of a Parquet file: none when the file is missing; a note when it is damaged.
fn rows<T: serde::de::DeserializeOwned>(path: &Path, notes: &mut Vec<String>) -> Option<Vec<T>> {
    match dasynth_parquet::read_rows::<T>(path) {
        Ok(rows) => Some(rows),
        Err(RowsError::Missing { .. }) => None,
        Err(e) => {
            notes.push(crate::text::error_chain(&e));
            None
        }
    }
}

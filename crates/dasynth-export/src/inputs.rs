//! What the export reads besides the trajectories: the tasks (and open questions), the catalog's
//! licences, the verdicts that choose the accepted trajectories, and the student's pass rates.
//! All of these are small next to the trajectories and are held in memory; trajectories are
//! streamed ([`crate::read`]).

use crate::error::ExportError;
use dasynth_core::layout::RunDir;
use dasynth_core::task::{Task, TaskFile};
use dasynth_core::verdict::{PassRate, Verdict, VerifyStats};
use std::collections::{BTreeMap, HashMap};

/// A task as the export needs it.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub task: Task,
    pub table_ids: Vec<String>,
    pub files: Vec<TaskFile>,
}

/// A catalog table as the card and the rows need it.
#[derive(Debug, Clone, Default)]
pub struct TableInfo {
    pub name: String,
    pub source: String,
    pub uri: String,
    /// SPDX id, or none when the source declared no licence.
    pub licence: Option<String>,
    pub description: Option<String>,
}

/// What the verify stage said about an accepted trajectory.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub score: f64,
    pub answer_passed: Option<bool>,
    pub replay: String,
    pub grounded_share: Option<f64>,
    pub judge_score: Option<f64>,
}

/// Everything but the trajectories.
pub struct Inputs {
    pub tasks: HashMap<String, TaskInfo>,
    pub tables: HashMap<String, TableInfo>,
    /// Accepted trajectories by key, when `verdicts.parquet` exists.
    pub accepted: Option<HashMap<String, Accepted>>,
    /// Rejected verdicts by reason (from `verdicts.parquet`).
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub verify_stats: Option<VerifyStats>,
    /// The student's accepted samples by key, when `student/verdicts.parquet` exists.
    pub student_accepted: Option<HashMap<String, Accepted>>,
    /// The student's pass rate by task, when `student/pass_rates.parquet` exists.
    pub pass_rates: Option<HashMap<String, f64>>,
}

impl Inputs {
    pub fn read(run: &RunDir) -> Result<Self, ExportError> {
        let mut tasks = HashMap::new();
        for path in [run.tasks(), run.questions()] {
            if path != run.tasks() && !path.exists() {
                continue;
            }
            let rows: Vec<Task> = dasynth_parquet::read_rows(&path).map_err(|source| ExportError::Tasks { path: path.clone(), source })?;
            for mut task in rows {
                // The reference solution and bindings are not exported; drop them early.
                task.solution = String::new();
                task.bindings = String::new();
                let info = TaskInfo { table_ids: task.table_id_list(), files: task.files(), task };
                tasks.insert(info.task.id.clone(), info);
            }
        }
        let tables = match dasynth_sources::catalog_io::read(&run.catalog()) {
            Ok(rows) => rows
                .into_iter()
                .map(|e| {
                    let info = TableInfo {
                        name: e.name,
                        source: e.source,
                        uri: e.uri,
                        licence: e.licence.filter(|l| !l.trim().is_empty()),
                        description: e.description,
                    };
                    (e.id, info)
                })
                .collect(),
            Err(dasynth_sources::catalog_io::CatalogError::Missing { .. }) => HashMap::new(),
            Err(e) => return Err(ExportError::Catalog(e)),
        };
        let (accepted, rejected_by_reason) = match verdicts(&run.verdicts())? {
            Some((a, r)) => (Some(a), r),
            None => (None, BTreeMap::new()),
        };
        let student_accepted = verdicts(&run.student_verdicts())?.map(|(a, _)| a);
        let verify_stats =
            std::fs::read(run.stats(dasynth_core::layout::Stage::Verify)).ok().and_then(|b| serde_json::from_slice::<VerifyStats>(&b).ok());
        let pass_rates = if run.pass_rates().exists() {
            let path = run.pass_rates();
            let rows: Vec<PassRate> = dasynth_parquet::read_rows(&path).map_err(|source| ExportError::PassRates { path, source })?;
            Some(rows.into_iter().map(|p| (p.task_id, p.pass_rate)).collect())
        } else {
            None
        };
        Ok(Inputs { tasks, tables, accepted, rejected_by_reason, verify_stats, student_accepted, pass_rates })
    }

    /// The licences of a task's tables, in table order (`unknown` where none was declared).
    pub fn licences(&self, table_ids: &[String]) -> Vec<String> {
        table_ids.iter().map(|id| self.tables.get(id).and_then(|t| t.licence.clone()).unwrap_or_else(|| "unknown".to_string())).collect()
    }
}

/// The accepted verdicts of a verdicts file by key, and the rejected ones counted by reason.
type Decided = (HashMap<String, Accepted>, BTreeMap<String, u64>);

/// What a verdicts file decided; none when the file does not exist.
fn verdicts(path: &std::path::Path) -> Result<Option<Decided>, ExportError> {
    if !path.exists() {
        return Ok(None);
    }
    let rows: Vec<Verdict> =
        dasynth_parquet::read_rows(path).map_err(|source| ExportError::Verdicts { path: path.to_path_buf(), source })?;
    let mut accepted = HashMap::new();
    let mut rejected = BTreeMap::new();
    for v in rows {
        if v.accepted {
            let judge_score = v.judge.as_ref().map(|j| j.mean());
            accepted.insert(
                v.key,
                Accepted {
                    score: v.score,
                    answer_passed: v.answer_passed,
                    replay: v.replay.name().to_string(),
                    grounded_share: v.grounded_share,
                    judge_score,
                },
            );
        } else {
            for r in &v.reasons {
                *rejected.entry(r.name().to_string()).or_default() += 1;
            }
        }
    }
    Ok(Some((accepted, rejected)))
}

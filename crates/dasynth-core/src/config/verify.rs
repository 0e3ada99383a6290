//! `[verify]` in `dasynth.toml`: the thresholds of every check the verify stage runs, the judge,
//! and the benchmark files to decontaminate against. [`VerifyOptions`] is the file's table (every
//! key optional); [`VerifySettings`] the resolved values.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `[verify]` table as written by a user. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerifyOptions {
    /// Run every trajectory's code cells again in a fresh sandbox and compare the outputs with
    /// the recorded `<Execute>` blocks (default true).
    pub replay: Option<bool>,
    /// Wall-clock limit per replayed cell in seconds; a cell past it makes the replay `broken`
    /// (default 60).
    pub cell_timeout_secs: Option<u64>,
    /// Relative tolerance when numbers of a recorded and a replayed output are compared
    /// (default 1e-6).
    pub replay_tolerance: Option<f64>,
    /// Reject trajectories whose replay does not reproduce itself (default false: they are
    /// kept and marked `nondeterministic`).
    pub reject_nondeterministic: Option<bool>,
    /// Largest share of a trajectory's cells that may end in an error (default 0.5).
    pub max_error_share: Option<f64>,
    /// Most cells that repeat an earlier cell of the same trajectory exactly (default 2).
    pub max_repeated_cells: Option<u32>,
    /// Smallest share of a report's numeric claims that must be found in the cell outputs
    /// (default 0.9).
    pub min_grounded_share: Option<f64>,
    /// Smallest share of the task's checklist a report must cover (default 0.5).
    pub min_checklist_coverage: Option<f64>,
    /// A teacher (by name) that scores open-ended reports on DeepAnalyze's five dimensions
    /// (prompt: `templates/roles/judge.j2`; default: no judge).
    pub judge: Option<String>,
    /// Smallest mean judge score (1–5) a report needs (default 3.0).
    pub min_judge_score: Option<f64>,
    /// Trajectories whose MinHash Jaccard similarity with an earlier accepted one reaches this
    /// are dropped as near duplicates (default 0.9).
    pub near_duplicate: Option<f64>,
    /// Benchmark question files (JSONL or Parquet with a question text field) whose questions
    /// no task may copy.
    pub decontaminate: Option<Vec<PathBuf>>,
    /// Word n-gram length of the decontamination overlap (default 8).
    pub decontaminate_ngram: Option<usize>,
    /// Share of a benchmark question's n-grams found in a task's instruction from which the task
    /// counts as contaminated (default 0.5).
    pub decontaminate_threshold: Option<f64>,
}

/// The resolved `[verify]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerifySettings {
    pub replay: bool,
    pub cell_timeout_secs: u64,
    pub replay_tolerance: f64,
    pub reject_nondeterministic: bool,
    pub max_error_share: f64,
    pub max_repeated_cells: u32,
    pub min_grounded_share: f64,
    pub min_checklist_coverage: f64,
    pub judge: Option<String>,
    pub min_judge_score: f64,
    pub near_duplicate: f64,
    pub decontaminate: Vec<PathBuf>,
    pub decontaminate_ngram: usize,
    pub decontaminate_threshold: f64,
}

impl Default for VerifySettings {
    fn default() -> Self {
        Self {
            replay: true,
            cell_timeout_secs: 60,
            replay_tolerance: 1e-6,
            reject_nondeterministic: false,
            max_error_share: 0.5,
            max_repeated_cells: 2,
            min_grounded_share: 0.9,
            min_checklist_coverage: 0.5,
            judge: None,
            min_judge_score: 3.0,
            near_duplicate: 0.9,
            decontaminate: Vec::new(),
            decontaminate_ngram: 8,
            decontaminate_threshold: 0.5,
        }
    }
}

impl VerifySettings {
    /// The file's options over the defaults.
    pub fn resolve(o: &VerifyOptions) -> Self {
        let d = Self::default();
        Self {
            replay: o.replay.unwrap_or(d.replay),
            cell_timeout_secs: o.cell_timeout_secs.unwrap_or(d.cell_timeout_secs),
            replay_tolerance: o.replay_tolerance.unwrap_or(d.replay_tolerance),
            reject_nondeterministic: o.reject_nondeterministic.unwrap_or(d.reject_nondeterministic),
            max_error_share: o.max_error_share.unwrap_or(d.max_error_share),
            max_repeated_cells: o.max_repeated_cells.unwrap_or(d.max_repeated_cells),
            min_grounded_share: o.min_grounded_share.unwrap_or(d.min_grounded_share),
            min_checklist_coverage: o.min_checklist_coverage.unwrap_or(d.min_checklist_coverage),
            judge: o.judge.clone(),
            min_judge_score: o.min_judge_score.unwrap_or(d.min_judge_score),
            near_duplicate: o.near_duplicate.unwrap_or(d.near_duplicate),
            decontaminate: o.decontaminate.clone().unwrap_or_default(),
            decontaminate_ngram: o.decontaminate_ngram.unwrap_or(d.decontaminate_ngram),
            decontaminate_threshold: o.decontaminate_threshold.unwrap_or(d.decontaminate_threshold),
        }
    }

    /// The first setting out of range, as (key, message).
    pub fn invalid(&self) -> Option<(&'static str, String)> {
        let shares = [
            ("verify.max-error-share", self.max_error_share),
            ("verify.min-grounded-share", self.min_grounded_share),
            ("verify.min-checklist-coverage", self.min_checklist_coverage),
            ("verify.near-duplicate", self.near_duplicate),
            ("verify.decontaminate-threshold", self.decontaminate_threshold),
        ];
        if let Some((key, v)) = shares.into_iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Some((key, format!("{v} is not between 0 and 1")));
        }
        if !(1.0..=5.0).contains(&self.min_judge_score) {
            return Some(("verify.min-judge-score", format!("{} is not between 1 and 5", self.min_judge_score)));
        }
        if self.replay_tolerance.is_nan() || self.replay_tolerance < 0.0 {
            return Some(("verify.replay-tolerance", "must be 0 or more".into()));
        }
        if self.cell_timeout_secs == 0 {
            return Some(("verify.cell-timeout-secs", "must be at least 1".into()));
        }
        if self.decontaminate_ngram == 0 {
            return Some(("verify.decontaminate-ngram", "must be at least 1".into()));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_fill_defaults_and_ranges_are_checked() {
        let o: VerifyOptions = toml::from_str("min-grounded-share = 0.5\ndecontaminate = [\"bench/q.jsonl\"]\n").unwrap();
        let s = VerifySettings::resolve(&o);
        assert_eq!(s.min_grounded_share, 0.5);
        assert_eq!(s.decontaminate, vec![PathBuf::from("bench/q.jsonl")]);
        assert_eq!(s.near_duplicate, VerifySettings::default().near_duplicate);
        assert!(s.invalid().is_none());
        let bad = VerifySettings { near_duplicate: 1.5, ..s };
        assert_eq!(bad.invalid().map(|(k, _)| k), Some("verify.near-duplicate"));
        assert!(toml::from_str::<VerifyOptions>("min-groundedshare = 1\n").unwrap_err().to_string().contains("min-groundedshare"));
    }
}

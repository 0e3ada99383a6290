//! `[export]` and `[push]`: which dataset configs the export stage writes, how it splits and
//! shards them, what the dataset card says, and where `dasynth push` publishes the result.
//!
//! Each section has a file form (every key optional) and resolved settings; command-line flags
//! use the file form too, so one function merges file and flags.

use super::ConfigError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One dataset config of an export: a folder `data/<name>/` with its own schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// Chat SFT (TRL's conversational format): one message per turn, code output as its own role.
    Sft,
    /// DeepAnalyze's SFT form: the whole trajectory as one assistant message, with the character
    /// spans of its `<Execute>` blocks for loss masking.
    Deepanalyze,
    /// verl's RL prompts: one row per task with a verified ground truth.
    Rl,
    /// DeepAnalyze's RL prompts for its SkyRL trainer, with workspaces.
    DeepanalyzeRl,
    /// ShareGPT for LLaMA-Factory (`conversations` with human / gpt / observation).
    Sharegpt,
    /// Chat SFT of the student's own samples that verify accepted (rejection sampling; written
    /// when `dasynth sample` ran).
    SftStudent,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 6] = [
        ExportFormat::Sft,
        ExportFormat::Deepanalyze,
        ExportFormat::Rl,
        ExportFormat::DeepanalyzeRl,
        ExportFormat::Sharegpt,
        ExportFormat::SftStudent,
    ];

    /// The config's name (its folder under `data/` and its `config_name` in the card).
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Sft => "sft",
            ExportFormat::Deepanalyze => "deepanalyze",
            ExportFormat::Rl => "rl",
            ExportFormat::DeepanalyzeRl => "deepanalyze-rl",
            ExportFormat::Sharegpt => "sharegpt",
            ExportFormat::SftStudent => "sft-student",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s.trim())
    }

    /// Whether the config's rows are tasks (RL prompts) rather than trajectories.
    pub fn is_rl(self) -> bool {
        matches!(self, ExportFormat::Rl | ExportFormat::DeepanalyzeRl)
    }
}

/// The role code output takes in the `sft` config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExecuteRole {
    /// DeepAnalyze's chat template role.
    Execute,
    /// A plain user turn.
    User,
    /// TRL's tool role.
    Tool,
}

impl ExecuteRole {
    pub fn name(self) -> &'static str {
        match self {
            ExecuteRole::Execute => "execute",
            ExecuteRole::User => "user",
            ExecuteRole::Tool => "tool",
        }
    }
}

/// Shares of the source tables that go to each split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SplitFractions {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

impl Default for SplitFractions {
    fn default() -> Self {
        Self { train: 0.8, validation: 0.1, test: 0.1 }
    }
}

/// `[export]` in `dasynth.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExportOptions {
    /// Configs to write: sft, deepanalyze, rl, deepanalyze-rl, sharegpt, sft-student (default: all six).
    pub formats: Option<Vec<String>>,
    /// Shares of source tables per split (default train 0.8, validation 0.1, test 0.1). A table
    /// is never in two splits; the split is stratified by task family.
    pub splits: Option<SplitFractions>,
    /// Role of code output in the sft config: execute (DeepAnalyze's), user or tool (default
    /// execute).
    pub execute_role: Option<ExecuteRole>,
    /// Largest Parquet file, in bytes (default 500 MB).
    pub shard_bytes: Option<u64>,
    /// Largest row group before compression, in bytes (default 64 MiB).
    pub row_group_bytes: Option<u64>,
    /// zstd level of the Parquet files (default 1).
    pub zstd_level: Option<i32>,
    /// Keep only RL tasks whose student pass rate lies in [low, high], when
    /// `student/pass_rates.parquet` exists (default [0.05, 0.95]: tasks the student solves
    /// sometimes but not always; without pass rates, every task with a verified ground truth).
    pub rl_pass_rate: Option<[f64; 2]>,
    /// Most turns an RL episode may take (default `trajectories.max-turns`).
    pub max_turns: Option<usize>,
    /// The card's `pretty_name` (default: the run folder's name).
    pub pretty_name: Option<String>,
    /// The card's `license`, instead of the one combined from the source tables.
    pub license: Option<String>,
    /// Extra card tags.
    pub tags: Option<Vec<String>>,
    /// Also write every config once per curriculum stage, as `<config>-stage-<n>` (default
    /// false).
    pub by_stage: Option<bool>,
}

/// Resolved `[export]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExportSettings {
    pub formats: Vec<ExportFormat>,
    pub splits: SplitFractions,
    pub execute_role: ExecuteRole,
    pub shard_bytes: u64,
    pub row_group_bytes: u64,
    pub zstd_level: i32,
    pub rl_pass_rate: Option<[f64; 2]>,
    pub max_turns: usize,
    pub pretty_name: Option<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
    pub by_stage: bool,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            formats: ExportFormat::ALL.to_vec(),
            splits: SplitFractions::default(),
            execute_role: ExecuteRole::Execute,
            shard_bytes: 500_000_000,
            row_group_bytes: 64 << 20,
            zstd_level: 1,
            rl_pass_rate: Some([0.05, 0.95]),
            max_turns: 30,
            pretty_name: None,
            license: None,
            tags: Vec::new(),
            by_stage: false,
        }
    }
}

impl ExportSettings {
    /// File options, then flags (the same keys), over the defaults; `max_turns` defaults to the
    /// trajectory stage's limit.
    pub fn resolve(file: Option<&ExportOptions>, flags: &ExportOptions, max_turns: usize) -> Result<Self, ConfigError> {
        let d = ExportSettings { max_turns, ..Default::default() };
        let f = file.cloned().unwrap_or_default();
        let c = flags.clone();
        let formats = match c.formats.or(f.formats) {
            None => d.formats,
            Some(names) => {
                let mut out = Vec::new();
                for n in names.iter().flat_map(|n| n.split(',')).filter(|n| !n.trim().is_empty()) {
                    let Some(fmt) = ExportFormat::parse(n) else {
                        let known: Vec<&str> = ExportFormat::ALL.iter().map(|f| f.name()).collect();
                        return Err(ConfigError::Invalid {
                            key: "export.formats",
                            message: format!("unknown format {n:?}; the formats are: {}", known.join(", ")),
                        });
                    };
                    if !out.contains(&fmt) {
                        out.push(fmt);
                    }
                }
                out
            }
        };
        let s = ExportSettings {
            formats,
            splits: c.splits.or(f.splits).unwrap_or(d.splits),
            execute_role: c.execute_role.or(f.execute_role).unwrap_or(d.execute_role),
            shard_bytes: c.shard_bytes.or(f.shard_bytes).unwrap_or(d.shard_bytes),
            row_group_bytes: c.row_group_bytes.or(f.row_group_bytes).unwrap_or(d.row_group_bytes),
            zstd_level: c.zstd_level.or(f.zstd_level).unwrap_or(d.zstd_level),
            rl_pass_rate: c.rl_pass_rate.or(f.rl_pass_rate).or(d.rl_pass_rate),
            max_turns: c.max_turns.or(f.max_turns).unwrap_or(d.max_turns),
            pretty_name: c.pretty_name.or(f.pretty_name),
            license: c.license.or(f.license),
            tags: c.tags.or(f.tags).unwrap_or_default(),
            by_stage: c.by_stage.or(f.by_stage).unwrap_or(d.by_stage),
        };
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let sp = self.splits;
        let parts = [sp.train, sp.validation, sp.test];
        if parts.iter().any(|p| !p.is_finite() || *p < 0.0) || sp.train <= 0.0 || (parts.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
            return Err(ConfigError::Invalid {
                key: "export.splits",
                message: format!(
                    "train {}, validation {}, test {}: each at least 0, train above 0, and they must add up to 1",
                    sp.train, sp.validation, sp.test
                ),
            });
        }
        if self.formats.is_empty() {
            return Err(ConfigError::Invalid { key: "export.formats", message: "name at least one format".into() });
        }
        if self.shard_bytes < (1 << 20) || self.row_group_bytes < (1 << 16) || self.row_group_bytes > 100_000_000 {
            return Err(ConfigError::Invalid {
                key: "export.shard-bytes",
                message: "shard-bytes must be at least 1 MiB and row-group-bytes between 64 KiB and 100 MB".into(),
            });
        }
        if !(1..=22).contains(&self.zstd_level) {
            return Err(ConfigError::Invalid { key: "export.zstd-level", message: format!("{} is not between 1 and 22", self.zstd_level) });
        }
        if let Some([lo, hi]) = self.rl_pass_rate
            && !(0.0 <= lo && lo <= hi && hi <= 1.0)
        {
            return Err(ConfigError::Invalid { key: "export.rl-pass-rate", message: format!("[{lo}, {hi}] is not a band within [0, 1]") });
        }
        if self.max_turns == 0 {
            return Err(ConfigError::Invalid { key: "export.max-turns", message: "must be at least 1".into() });
        }
        Ok(())
    }
}

/// `[push]` in `dasynth.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PushOptions {
    /// The Hub dataset repository, `ORG/NAME`.
    pub repo: Option<String>,
    /// Create the repository private (default false; an existing repository keeps its visibility).
    pub private: Option<bool>,
    /// The branch to commit to (default `main`).
    pub revision: Option<String>,
    /// Most files per commit (default 100).
    pub commit_files: Option<usize>,
}

/// Resolved `[push]` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PushSettings {
    pub repo: Option<String>,
    pub private: bool,
    pub revision: String,
    pub commit_files: usize,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self { repo: None, private: false, revision: "main".into(), commit_files: 100 }
    }
}

impl PushSettings {
    pub fn resolve(file: Option<&PushOptions>, flags: &PushOptions) -> Result<Self, ConfigError> {
        let d = PushSettings::default();
        let f = file.cloned().unwrap_or_default();
        let c = flags.clone();
        let s = PushSettings {
            repo: c.repo.or(f.repo),
            private: c.private.or(f.private).unwrap_or(d.private),
            revision: c.revision.or(f.revision).unwrap_or(d.revision),
            commit_files: c.commit_files.or(f.commit_files).unwrap_or(d.commit_files),
        };
        if let Some(r) = &s.repo
            && !valid_repo_id(r)
        {
            return Err(ConfigError::Invalid {
                key: "push.repo",
                message: format!("{r:?} is not ORG/NAME (letters, digits, '-', '_', '.')"),
            });
        }
        if s.commit_files == 0 {
            return Err(ConfigError::Invalid { key: "push.commit-files", message: "must be at least 1".into() });
        }
        if s.revision.trim().is_empty() {
            return Err(ConfigError::Invalid { key: "push.revision", message: "must not be empty".into() });
        }
        Ok(s)
    }
}

/// Whether `id` is a Hub repository id `ORG/NAME`.
pub fn valid_repo_id(id: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 96
            && !p.starts_with(['.', '-'])
            && !p.ends_with('.')
            && !p.contains("..")
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    matches!(id.split_once('/'), Some((org, name)) if ok(org) && ok(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_bad_values_are_named() {
        let file = ExportOptions { formats: Some(vec!["sft".into()]), zstd_level: Some(5), ..Default::default() };
        let flags = ExportOptions { formats: Some(vec!["rl,sharegpt".into()]), ..Default::default() };
        let s = ExportSettings::resolve(Some(&file), &flags, 30).unwrap();
        assert_eq!(s.formats, vec![ExportFormat::Rl, ExportFormat::Sharegpt]);
        assert_eq!(s.zstd_level, 5);
        let bad = ExportOptions { formats: Some(vec!["sfty".into()]), ..Default::default() };
        let e = ExportSettings::resolve(None, &bad, 30).unwrap_err().to_string();
        assert!(e.contains("sfty") && e.contains("deepanalyze-rl"), "{e}");
        let splits = ExportOptions { splits: Some(SplitFractions { train: 0.5, validation: 0.1, test: 0.1 }), ..Default::default() };
        assert!(ExportSettings::resolve(None, &splits, 30).unwrap_err().to_string().contains("export.splits"));
    }

    #[test]
    fn repo_ids() {
        assert!(valid_repo_id("org/name-1.v2"));
        for bad in ["org", "org/", "/name", "a/b/c", "org/na me", "org/..x"] {
            assert!(!valid_repo_id(bad), "{bad}");
        }
        let e = PushSettings::resolve(None, &PushOptions { repo: Some("nope".into()), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("push.repo"));
    }
}

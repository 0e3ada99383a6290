//! Configuration in layers: `dasynth.toml` ([`Options`], every key optional, unknown keys
//! rejected), then environment variables ([`crate::env`]), then command-line flags, resolved
//! into one [`Settings`] value that the stages read.

mod export;
mod teacher;
mod verify;

pub use export::{ExecuteRole, ExportFormat, ExportOptions, ExportSettings, PushOptions, PushSettings, SplitFractions, valid_repo_id};
pub use teacher::{TeacherConfig, TeacherKind};
pub use verify::{VerifyOptions, VerifySettings};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `dasynth.toml` file as written by a user. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// Run folder (default `run`).
    pub out: Option<PathBuf>,
    /// Sources to crawl when none are given on the command line: files, folders, URLs,
    /// `hf://datasets/ORG/NAME` or `sources/*.toml` files.
    pub sources: Option<Vec<String>>,
    pub crawl: Option<CrawlOptions>,
    pub profile: Option<ProfileOptions>,
    pub tasks: Option<TaskOptions>,
    pub trajectories: Option<TrajectoryOptions>,
    /// The old name of `[trajectories]`, still read (with a deprecation warning).
    #[schemars(skip)]
    pub generate: Option<TrajectoryOptions>,
    /// Teacher models; the trajectory stage uses the offline reference teacher when none is given.
    pub teacher: Option<Vec<TeacherConfig>>,
    pub export: Option<ExportOptions>,
    pub push: Option<PushOptions>,
    pub verify: Option<VerifyOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CrawlOptions {
    /// Globs of files to take from folders (default: every supported file).
    pub include: Option<Vec<String>>,
    /// Globs of files to skip in folders.
    pub exclude: Option<Vec<String>>,
    /// Largest HTTP download, in bytes (default 2 GiB).
    pub max_download_bytes: Option<u64>,
    /// Largest decompressed file, in bytes; guards against zip bombs (default 4 GiB).
    pub max_table_bytes: Option<u64>,
    /// Per-request HTTP timeout in seconds (default 60).
    pub http_timeout_secs: Option<u64>,
    /// Retries for failed HTTP requests, with exponential backoff (default 3).
    pub http_retries: Option<u32>,
    /// Largest number of columns a table may have (default 20000).
    pub max_columns: Option<u64>,
    /// Largest spreadsheet sheet or SQLite table or view, in cells (rows × columns; default
    /// 20 million); checked before the table is read into memory.
    pub max_cells: Option<u64>,
    /// Memory cap, in bytes, of the child process that inspects each workbook, database, JSON,
    /// Parquet or Arrow file (default 4 GiB).
    pub inspect_memory_bytes: Option<u64>,
    /// Time limit, in seconds, for inspecting one file (default 120).
    pub inspect_timeout_secs: Option<u64>,
    /// Follow HTTP redirects to another host on a loopback, private or link-local address
    /// (default false: refused).
    pub allow_private_redirects: Option<bool>,
    /// Read CSV and TSV with dasynth's own parallel reader where it can (default true); false
    /// reads every delimited file with polars alone, should a polars upgrade ever make the two
    /// disagree.
    pub fast_csv: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProfileOptions {
    /// How many most frequent values to keep per column (default 10).
    pub top_values: Option<usize>,
    /// Smallest |Pearson r| recorded as a correlation (default 0.7).
    pub correlation_threshold: Option<f64>,
    /// Smallest share of a column's distinct values found in a key for a foreign key (default 1.0).
    pub foreign_key_inclusion: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskOptions {
    /// Folder of task templates (default: `./templates` when present, else the templates built
    /// into the binary).
    pub templates: Option<PathBuf>,
    /// Most tasks made per table (default 24).
    pub per_table: Option<usize>,
    /// Most tasks one template makes per table (default 2).
    pub per_template: Option<usize>,
    /// Most tasks in all, balanced across sources (default: no cap).
    pub max_tasks: Option<usize>,
    /// Seed for bindings, parameters and paraphrases (default 0).
    pub seed: Option<u64>,
    /// Families to make tasks for (default: all eight).
    pub families: Option<Vec<String>>,
    /// Prompts whose word-trigram Jaccard similarity with an earlier prompt of the same table
    /// reaches this are dropped as near duplicates (default 0.9).
    pub near_duplicate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrajectoryOptions {
    /// Trajectories per task and teacher (default 1).
    pub samples: Option<u32>,
    /// Most assistant turns per trajectory (default 30).
    pub max_turns: Option<usize>,
    /// Most output tokens per trajectory, all turns together (default 32768).
    pub max_tokens: Option<u64>,
    /// Wall-clock limit per trajectory in seconds (default 900).
    pub time_limit_secs: Option<u64>,
    /// Wall-clock limit per code cell in seconds (default 60).
    pub cell_timeout_secs: Option<u64>,
    /// Most bytes of a cell's output shown to the model (default 4096).
    pub execute_bytes: Option<usize>,
    /// Trajectories in flight at once (default 64).
    pub concurrency: Option<usize>,
    /// Stop cleanly once this many dollars are spent (default: no cap).
    pub budget_usd: Option<f64>,
    /// Stop cleanly once this many tokens are used (default: no cap).
    pub budget_tokens: Option<u64>,
    /// The LLM response cache file (default `<out>/cache/llm.sqlite`).
    pub cache: Option<PathBuf>,
    /// A teacher (by name) that writes open tasks from table profiles, with a checklist each
    /// (prompt: `templates/roles/questioner.j2`).
    pub questioner: Option<String>,
    /// Open tasks the questioner writes per table (default 1).
    pub questions_per_table: Option<u32>,
    /// A teacher (by name) that accepts or rejects finished LLM trajectories against the task's
    /// checklist or ground truth (prompt: `templates/roles/inspector.j2`).
    pub inspector: Option<String>,
    /// Suspend the sandbox session of a trajectory that waits on its teacher: its memory leaves
    /// resident memory, compressed, until its next cell (default true).
    pub suspend: Option<bool>,
    /// How long a trajectory waits on its teacher before its session is suspended, in
    /// milliseconds (default 1000: shorter waits cost more to suspend and resume than they save).
    pub suspend_after_ms: Option<u64>,
    /// Bytes of memory the run may use: new trajectories start only while the process's own
    /// (anonymous) resident memory is below this, and suspended sessions stay in memory up to a
    /// quarter of it, spilling to `cache/sessions/` past that (default: half the machine's
    /// memory).
    pub memory_budget: Option<u64>,
    /// Bytes of the process's own resident memory under which waiting sessions stay resident:
    /// a wait longer than `suspend-after-ms` suspends its session only while the process holds
    /// this much or more, so a run that fits in memory pays nothing to suspend and resume (default:
    /// half the memory budget; 0 suspends every such wait).
    pub idle_resident_budget: Option<u64>,
    /// Share of reference-teacher trajectories that make a realistic mistake (a column name in
    /// the wrong case, a date column left unparsed, a text column averaged) and recover from it
    /// (default 0.15).
    pub reference_mistakes: Option<f64>,
}

/// Resolved settings: every value filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    pub out: PathBuf,
    pub sources: Vec<String>,
    pub crawl: CrawlSettings,
    pub profile: ProfileSettings,
    pub tasks: TaskSettings,
    pub trajectories: TrajectorySettings,
    pub teachers: Vec<TeacherConfig>,
    pub export: ExportSettings,
    pub push: PushSettings,
    #[serde(default)]
    pub verify: VerifySettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrajectorySettings {
    pub samples: u32,
    pub max_turns: usize,
    pub max_tokens: u64,
    pub time_limit_secs: u64,
    pub cell_timeout_secs: u64,
    pub execute_bytes: usize,
    pub concurrency: usize,
    pub budget_usd: Option<f64>,
    pub budget_tokens: Option<u64>,
    pub cache: Option<PathBuf>,
    pub questioner: Option<String>,
    pub questions_per_table: u32,
    pub inspector: Option<String>,
    pub suspend: bool,
    pub suspend_after_ms: u64,
    /// None: half the machine's memory, found when the stage runs.
    pub memory_budget: Option<u64>,
    /// None: half the memory budget.
    pub idle_resident_budget: Option<u64>,
    pub reference_mistakes: f64,
}

impl Default for TrajectorySettings {
    fn default() -> Self {
        Self {
            samples: 1,
            max_turns: 30,
            max_tokens: 32_768,
            time_limit_secs: 900,
            cell_timeout_secs: 60,
            execute_bytes: 4096,
            concurrency: 64,
            budget_usd: None,
            budget_tokens: None,
            cache: None,
            questioner: None,
            questions_per_table: 1,
            inspector: None,
            suspend: true,
            suspend_after_ms: 1000,
            memory_budget: None,
            idle_resident_budget: None,
            reference_mistakes: 0.15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CrawlSettings {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub max_download_bytes: u64,
    pub max_table_bytes: u64,
    pub http_timeout_secs: u64,
    pub http_retries: u32,
    pub max_columns: u64,
    pub max_cells: u64,
    pub inspect_memory_bytes: u64,
    pub inspect_timeout_secs: u64,
    pub allow_private_redirects: bool,
    pub fast_csv: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProfileSettings {
    pub top_values: usize,
    pub correlation_threshold: f64,
    pub foreign_key_inclusion: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskSettings {
    /// Folder of task templates; none means `./templates` when present, else the built-in ones.
    pub templates: Option<PathBuf>,
    pub per_table: usize,
    pub per_template: usize,
    pub max_tasks: Option<usize>,
    pub seed: u64,
    pub families: Vec<String>,
    pub near_duplicate: f64,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self { templates: None, per_table: 24, per_template: 2, max_tasks: None, seed: 0, families: Vec::new(), near_duplicate: 0.9 }
    }
}

impl Default for CrawlSettings {
    fn default() -> Self {
        Self {
            include: Vec::new(),
            exclude: Vec::new(),
            max_download_bytes: 2 << 30,
            max_table_bytes: 4 << 30,
            http_timeout_secs: 60,
            http_retries: 3,
            max_columns: 20_000,
            max_cells: 20_000_000,
            inspect_memory_bytes: 4 << 30,
            inspect_timeout_secs: 120,
            allow_private_redirects: false,
            fast_csv: true,
        }
    }
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self { top_values: 10, correlation_threshold: 0.7, foreign_key_inclusion: 1.0 }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            out: PathBuf::from("run"),
            sources: Vec::new(),
            crawl: CrawlSettings::default(),
            profile: ProfileSettings::default(),
            tasks: TaskSettings::default(),
            trajectories: TrajectorySettings::default(),
            teachers: vec![TeacherConfig::reference()],
            export: ExportSettings::default(),
            push: PushSettings::default(),
            verify: VerifySettings::default(),
        }
    }
}

/// The configuration file read from the working directory when none is named.
pub const DEFAULT_FILE: &str = "dasynth.toml";

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} does not exist\nhint: drop --config to use ./dasynth.toml, or create the file", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read configuration file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration file {}: {message}\nhint: see the configuration reference in README.md; every key is optional", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?} is not a valid {expected}")]
    Env { name: &'static str, value: String, expected: &'static str },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Options {
    /// The configuration file of a command: the one given explicitly (which must exist), else
    /// `./dasynth.toml` when present, else every default.
    pub fn discover(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        match explicit {
            Some(p) if !p.exists() => Err(ConfigError::Missing { path: p.to_path_buf() }),
            Some(p) => Self::from_file(p),
            None if Path::new(DEFAULT_FILE).exists() => Self::from_file(Path::new(DEFAULT_FILE)),
            None => Ok(Self::default()),
        }
    }

    /// Reads and parses a configuration file, rejecting unknown keys with their name.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let o: Options = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().trim_end().to_string() })?;
        if o.generate.is_some() && o.trajectories.is_some() {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: "both [generate] and [trajectories] are set; [generate] is the old name of [trajectories], keep only that".into(),
            });
        }
        Ok(o)
    }

    /// Warnings about keys that still work but have a new name.
    pub fn deprecations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.generate.is_some() {
            out.push(
                "the [generate] section of the configuration is now called [trajectories]; rename it (the old name will stop working)"
                    .into(),
            );
        }
        out
    }
}

/// The last layer: values given as command-line flags.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub out: Option<PathBuf>,
    /// Replace the configured sources.
    pub sources: Vec<String>,
    /// Replace the configured include globs.
    pub include: Vec<String>,
    /// Added to the configured exclude globs.
    pub exclude: Vec<String>,
    /// Task flags (`--per-table`, `--seed`, ...), the same keys as `[tasks]`.
    pub tasks: TaskOptions,
    /// Export flags (`--formats`), the same keys as `[export]`.
    pub export: ExportOptions,
    /// Push flags (`--repo`, `--private`, `--revision`), the same keys as `[push]`.
    pub push: PushOptions,
}

impl Overrides {
    fn apply(&self, s: &mut Settings) {
        if let Some(out) = &self.out {
            s.out = out.clone();
        }
        if !self.sources.is_empty() {
            s.sources = self.sources.clone();
        }
        if !self.include.is_empty() {
            s.crawl.include = self.include.clone();
        }
        s.crawl.exclude.extend(self.exclude.iter().cloned());
        let t = &self.tasks;
        if t.templates.is_some() {
            s.tasks.templates = t.templates.clone();
        }
        if let Some(v) = t.per_table {
            s.tasks.per_table = v;
        }
        if let Some(v) = t.per_template {
            s.tasks.per_template = v;
        }
        if t.max_tasks.is_some() {
            s.tasks.max_tasks = t.max_tasks;
        }
        if let Some(v) = t.seed {
            s.tasks.seed = v;
        }
        if let Some(v) = t.families.as_ref().filter(|f| !f.is_empty()) {
            s.tasks.families = v.clone();
        }
        if let Some(v) = t.near_duplicate {
            s.tasks.near_duplicate = v;
        }
    }
}

/// Reads environment variables through a function, so tests need not touch the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn env_u64(env: EnvLookup<'_>, name: &'static str) -> Result<Option<u64>, ConfigError> {
    match env(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| ConfigError::Env { name, value: v, expected: "whole number" }),
    }
}

impl Settings {
    /// Resolves the three layers into settings: file options, then the environment, then
    /// command-line flags.
    pub fn resolve(options: &Options, env: EnvLookup<'_>, flags: &Overrides) -> Result<Self, ConfigError> {
        let d = Settings::default();
        let c = options.crawl.clone().unwrap_or_default();
        let p = options.profile.clone().unwrap_or_default();
        let t = options.tasks.clone().unwrap_or_default();
        let g = options.trajectories.clone().or_else(|| options.generate.clone()).unwrap_or_default();
        let mut s = Settings {
            out: options.out.clone().unwrap_or(d.out),
            sources: options.sources.clone().unwrap_or_default(),
            crawl: CrawlSettings {
                include: c.include.unwrap_or_default(),
                exclude: c.exclude.unwrap_or_default(),
                max_download_bytes: c.max_download_bytes.unwrap_or(d.crawl.max_download_bytes),
                max_table_bytes: c.max_table_bytes.unwrap_or(d.crawl.max_table_bytes),
                http_timeout_secs: c.http_timeout_secs.unwrap_or(d.crawl.http_timeout_secs),
                http_retries: c.http_retries.unwrap_or(d.crawl.http_retries),
                max_columns: c.max_columns.unwrap_or(d.crawl.max_columns),
                max_cells: c.max_cells.unwrap_or(d.crawl.max_cells),
                inspect_memory_bytes: c.inspect_memory_bytes.unwrap_or(d.crawl.inspect_memory_bytes),
                inspect_timeout_secs: c.inspect_timeout_secs.unwrap_or(d.crawl.inspect_timeout_secs),
                allow_private_redirects: c.allow_private_redirects.unwrap_or(d.crawl.allow_private_redirects),
                fast_csv: c.fast_csv.unwrap_or(d.crawl.fast_csv),
            },
            profile: ProfileSettings {
                top_values: p.top_values.unwrap_or(d.profile.top_values),
                correlation_threshold: p.correlation_threshold.unwrap_or(d.profile.correlation_threshold),
                foreign_key_inclusion: p.foreign_key_inclusion.unwrap_or(d.profile.foreign_key_inclusion),
            },
            tasks: TaskSettings {
                templates: t.templates.or(d.tasks.templates),
                per_table: t.per_table.unwrap_or(d.tasks.per_table),
                per_template: t.per_template.unwrap_or(d.tasks.per_template),
                max_tasks: t.max_tasks,
                seed: t.seed.unwrap_or(d.tasks.seed),
                families: t.families.unwrap_or_default(),
                near_duplicate: t.near_duplicate.unwrap_or(d.tasks.near_duplicate),
            },
            trajectories: TrajectorySettings {
                samples: g.samples.unwrap_or(d.trajectories.samples),
                max_turns: g.max_turns.unwrap_or(d.trajectories.max_turns),
                max_tokens: g.max_tokens.unwrap_or(d.trajectories.max_tokens),
                time_limit_secs: g.time_limit_secs.unwrap_or(d.trajectories.time_limit_secs),
                cell_timeout_secs: g.cell_timeout_secs.unwrap_or(d.trajectories.cell_timeout_secs),
                execute_bytes: g.execute_bytes.unwrap_or(d.trajectories.execute_bytes),
                concurrency: g.concurrency.unwrap_or(d.trajectories.concurrency),
                budget_usd: g.budget_usd,
                budget_tokens: g.budget_tokens,
                cache: g.cache,
                questioner: g.questioner,
                questions_per_table: g.questions_per_table.unwrap_or(d.trajectories.questions_per_table),
                inspector: g.inspector,
                suspend: g.suspend.unwrap_or(d.trajectories.suspend),
                suspend_after_ms: g.suspend_after_ms.unwrap_or(d.trajectories.suspend_after_ms),
                memory_budget: g.memory_budget,
                idle_resident_budget: g.idle_resident_budget,
                reference_mistakes: g.reference_mistakes.unwrap_or(d.trajectories.reference_mistakes),
            },
            teachers: match &options.teacher {
                Some(t) if !t.is_empty() => t.clone(),
                _ => d.teachers,
            },
            export: d.export,
            push: d.push,
            verify: VerifySettings::resolve(&options.verify.clone().unwrap_or_default()),
        };
        if let Some(v) = env(crate::env::DASYNTH_OUT) {
            s.out = PathBuf::from(v);
        }
        if let Some(v) = env_u64(env, crate::env::DASYNTH_MAX_DOWNLOAD_BYTES)? {
            s.crawl.max_download_bytes = v;
        }
        if let Some(v) = env_u64(env, crate::env::DASYNTH_MAX_TABLE_BYTES)? {
            s.crawl.max_table_bytes = v;
        }
        if let Some(v) = env_u64(env, crate::env::DASYNTH_HTTP_TIMEOUT_SECS)? {
            s.crawl.http_timeout_secs = v;
        }
        if let Some(v) = env_u64(env, crate::env::DASYNTH_HTTP_RETRIES)? {
            s.crawl.http_retries = u32::try_from(v).map_err(|_| ConfigError::Env {
                name: crate::env::DASYNTH_HTTP_RETRIES,
                value: v.to_string(),
                expected: "small whole number",
            })?;
        }
        flags.apply(&mut s);
        s.export = ExportSettings::resolve(options.export.as_ref(), &flags.export, s.trajectories.max_turns)?;
        s.push = PushSettings::resolve(options.push.as_ref(), &flags.push)?;
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = self.profile.correlation_threshold;
        if !(0.0..=1.0).contains(&t) {
            return Err(ConfigError::Invalid { key: "profile.correlation-threshold", message: format!("{t} is not between 0 and 1") });
        }
        let f = self.profile.foreign_key_inclusion;
        if !(0.0..=1.0).contains(&f) || f == 0.0 {
            return Err(ConfigError::Invalid { key: "profile.foreign-key-inclusion", message: format!("{f} is not in (0, 1]") });
        }
        if self.tasks.per_table == 0 || self.tasks.per_template == 0 {
            return Err(ConfigError::Invalid { key: "tasks.per-table", message: "per-table and per-template must be at least 1".into() });
        }
        if !(0.0..=1.0).contains(&self.tasks.near_duplicate) {
            return Err(ConfigError::Invalid { key: "tasks.near-duplicate", message: "must be between 0 and 1".into() });
        }
        for t in &self.teachers {
            if !t.is_reference() && (t.model.trim().is_empty() || t.base_url.is_none()) {
                return Err(ConfigError::Invalid {
                    key: "teacher",
                    message: format!("teacher {:?} needs `model` and `base-url`", t.label()),
                });
            }
            if t.weight.is_nan() || t.weight <= 0.0 {
                return Err(ConfigError::Invalid {
                    key: "teacher.weight",
                    message: format!("teacher {:?}: weight must be above 0", t.label()),
                });
            }
        }
        if let Some((key, message)) = self.verify.invalid() {
            return Err(ConfigError::Invalid { key, message });
        }
        for (key, name) in [
            ("trajectories.questioner", &self.trajectories.questioner),
            ("trajectories.inspector", &self.trajectories.inspector),
            ("verify.judge", &self.verify.judge),
        ] {
            if let Some(n) = name
                && !self.teachers.iter().any(|t| &t.label() == n && !t.is_reference())
            {
                let known: Vec<String> = self.teachers.iter().filter(|t| !t.is_reference()).map(|t| t.label()).collect();
                return Err(ConfigError::Invalid {
                    key,
                    message: format!("{n:?} is not an LLM teacher; the LLM teachers are: {}", known.join(", ")),
                });
            }
        }
        let g = &self.trajectories;
        if g.samples == 0 || g.max_turns == 0 || g.concurrency == 0 {
            return Err(ConfigError::Invalid {
                key: "trajectories",
                message: "samples, max-turns and concurrency must be at least 1".into(),
            });
        }
        if g.memory_budget == Some(0) {
            return Err(ConfigError::Invalid { key: "trajectories.memory-budget", message: "must be above 0 bytes".into() });
        }
        if !(0.0..=1.0).contains(&g.reference_mistakes) {
            return Err(ConfigError::Invalid { key: "trajectories.reference-mistakes", message: "must be a share between 0 and 1".into() });
        }
        if self.crawl.http_timeout_secs == 0 {
            return Err(ConfigError::Invalid { key: "crawl.http-timeout-secs", message: "must be at least 1".into() });
        }
        if self.crawl.inspect_timeout_secs == 0 {
            return Err(ConfigError::Invalid { key: "crawl.inspect-timeout-secs", message: "must be at least 1".into() });
        }
        if self.crawl.inspect_memory_bytes < 64 << 20 {
            return Err(ConfigError::Invalid {
                key: "crawl.inspect-memory-bytes",
                message: format!("{} is below the 64 MiB a reader needs to start", self.crawl.inspect_memory_bytes),
            });
        }
        if self.crawl.max_cells == 0 || self.crawl.max_columns == 0 {
            return Err(ConfigError::Invalid { key: "crawl.max-cells", message: "max-cells and max-columns must be at least 1".into() });
        }
        Ok(())
    }

    /// The settings as TOML, for `--show-settings` and the run folder's `dasynth.toml`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render settings: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Options::from_toml("[crawl]\nmax-dowload-bytes = 3\n", Path::new("dasynth.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("max-dowload-bytes"), "{msg}");
        assert!(msg.contains("dasynth.toml"), "{msg}");
    }

    #[test]
    fn env_overrides_file_and_bad_env_is_named() {
        let o = Options::from_toml("[crawl]\nhttp-retries = 1\n", Path::new("x")).unwrap();
        let env = |k: &str| (k == crate::env::DASYNTH_HTTP_RETRIES).then(|| "7".to_string());
        assert_eq!(Settings::resolve(&o, &env, &Overrides::default()).unwrap().crawl.http_retries, 7);
        assert_eq!(Settings::resolve(&o, &no_env, &Overrides::default()).unwrap().crawl.http_retries, 1);
        let bad = |k: &str| (k == crate::env::DASYNTH_MAX_TABLE_BYTES).then(|| "lots".to_string());
        assert!(Settings::resolve(&o, &bad, &Overrides::default()).unwrap_err().to_string().contains("DASYNTH_MAX_TABLE_BYTES"));
    }

    #[test]
    fn settings_round_trip_through_toml() {
        let s = Settings::resolve(&Options::default(), &no_env, &Overrides::default()).unwrap();
        let back: Settings = toml::from_str(&s.to_toml()).unwrap();
        assert_eq!(s, back);
    }
}

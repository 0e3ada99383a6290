//! Configuration in layers: `dasynth.toml` ([`Options`], every key optional, unknown keys
//! rejected), then environment variables ([`crate::env`]), then command-line flags, resolved
//! into one [`Settings`] value that the stages read.

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

/// Resolved settings: every value filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    pub out: PathBuf,
    pub sources: Vec<String>,
    pub crawl: CrawlSettings,
    pub profile: ProfileSettings,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProfileSettings {
    pub top_values: usize,
    pub correlation_threshold: f64,
    pub foreign_key_inclusion: f64,
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
        Self { out: PathBuf::from("run"), sources: Vec::new(), crawl: CrawlSettings::default(), profile: ProfileSettings::default() }
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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
    /// Reads and parses a configuration file, rejecting unknown keys with their name.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml(&text, path)
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().trim_end().to_string() })
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
    /// Resolves file options and the environment into settings (flags are applied by the CLI
    /// on the result).
    pub fn resolve(options: &Options, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let d = Settings::default();
        let c = options.crawl.clone().unwrap_or_default();
        let p = options.profile.clone().unwrap_or_default();
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
            },
            profile: ProfileSettings {
                top_values: p.top_values.unwrap_or(d.profile.top_values),
                correlation_threshold: p.correlation_threshold.unwrap_or(d.profile.correlation_threshold),
                foreign_key_inclusion: p.foreign_key_inclusion.unwrap_or(d.profile.foreign_key_inclusion),
            },
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
        if self.crawl.http_timeout_secs == 0 {
            return Err(ConfigError::Invalid { key: "crawl.http-timeout-secs", message: "must be at least 1".into() });
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
        assert_eq!(Settings::resolve(&o, &env).unwrap().crawl.http_retries, 7);
        assert_eq!(Settings::resolve(&o, &no_env).unwrap().crawl.http_retries, 1);
        let bad = |k: &str| (k == crate::env::DASYNTH_MAX_TABLE_BYTES).then(|| "lots".to_string());
        assert!(Settings::resolve(&o, &bad).unwrap_err().to_string().contains("DASYNTH_MAX_TABLE_BYTES"));
    }

    #[test]
    fn settings_round_trip_through_toml() {
        let s = Settings::resolve(&Options::default(), &no_env).unwrap();
        let back: Settings = toml::from_str(&s.to_toml()).unwrap();
        assert_eq!(s, back);
    }
}

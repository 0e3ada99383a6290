//! Resolving settings: configuration file, then environment, then flags.

use crate::cli::GlobalArgs;
use anyhow::Context;
use dasynth_core::config::{Options, Settings};
use std::path::{Path, PathBuf};

/// Overrides taken from a subcommand's flags.
#[derive(Debug, Default)]
pub struct Overrides {
    pub out: Option<PathBuf>,
    pub sources: Vec<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub tasks: crate::cli::TaskFlags,
}

/// Reads the configuration file (an explicit one must exist) and merges every layer.
pub fn resolve(global: &GlobalArgs, overrides: Overrides) -> anyhow::Result<Settings> {
    let options = match &global.config {
        Some(p) => {
            if !p.exists() {
                anyhow::bail!(
                    "configuration file {} does not exist\nhint: drop --config to use ./dasynth.toml, or create the file",
                    p.display()
                );
            }
            Options::from_file(p)?
        }
        None if Path::new("dasynth.toml").exists() => Options::from_file(Path::new("dasynth.toml"))?,
        None => Options::default(),
    };
    let env = |k: &str| std::env::var(k).ok();
    let mut s = Settings::resolve(&options, &env).context("cannot resolve settings")?;
    if let Some(out) = overrides.out {
        s.out = out;
    }
    if !overrides.sources.is_empty() {
        s.sources = overrides.sources;
    }
    if !overrides.include.is_empty() {
        s.crawl.include = overrides.include;
    }
    s.crawl.exclude.extend(overrides.exclude);
    let t = overrides.tasks;
    if let Some(v) = t.templates {
        s.tasks.templates = v;
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
    if !t.families.is_empty() {
        s.tasks.families = t.families;
    }
    s.validate()?;
    Ok(s)
}

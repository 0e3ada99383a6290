//! Resolving settings once per invocation: the configuration file, then the environment, then
//! the command's flags (`dasynth_core::config` does the layering; this file only says which
//! flags of which command are overrides).

use crate::cli::{Command, GlobalArgs, TaskFlags};
use anyhow::Context;
use dasynth_core::config::{ExportOptions, Options, Overrides, PushOptions, Settings, TaskOptions};

/// The overrides a command's flags carry.
pub fn overrides(command: Option<&Command>) -> Overrides {
    match command {
        Some(Command::Crawl(a)) => Overrides {
            out: a.out.clone(),
            sources: a.sources.clone(),
            include: a.include.clone(),
            exclude: a.exclude.clone(),
            ..Default::default()
        },
        Some(Command::Generate(a)) => Overrides { out: a.out.clone(), sources: a.sources.clone(), ..Default::default() },
        Some(Command::Profile(a)) => Overrides { out: a.dir.clone(), ..Default::default() },
        Some(Command::Trajectories(a)) => Overrides { out: a.dir.clone(), ..Default::default() },
        Some(Command::Export(a)) => Overrides {
            out: a.dir.clone(),
            export: ExportOptions { formats: (!a.formats.is_empty()).then(|| a.formats.clone()), ..Default::default() },
            ..Default::default()
        },
        Some(Command::Push(a)) => Overrides {
            out: a.dir.clone(),
            push: PushOptions {
                repo: a.repo.clone(),
                private: a.private.then_some(true),
                revision: a.revision.clone(),
                commit_files: None,
            },
            ..Default::default()
        },
        Some(Command::Verify(a)) => Overrides { out: a.dir.clone(), ..Default::default() },
        Some(Command::Merge(a)) => Overrides { out: a.dir.clone(), ..Default::default() },
        Some(Command::Report(a)) => Overrides { out: a.dir.clone(), ..Default::default() },
        Some(Command::Sample(a)) => Overrides { out: a.dir.clone(), ..Default::default() },
        Some(Command::Tasks(a)) => Overrides { out: a.dir.clone(), tasks: task_options(&a.flags), ..Default::default() },
        _ => Overrides::default(),
    }
}

fn task_options(f: &TaskFlags) -> TaskOptions {
    TaskOptions {
        templates: f.templates.clone(),
        per_table: f.per_table,
        per_template: f.per_template,
        max_tasks: f.max_tasks,
        seed: f.seed,
        families: (!f.families.is_empty()).then(|| f.families.clone()),
        near_duplicate: None,
    }
}

/// Reads the configuration file (an explicit one must exist) and merges every layer; warns
/// about deprecated keys.
pub fn resolve(global: &GlobalArgs, overrides: &Overrides) -> anyhow::Result<Settings> {
    let options = Options::discover(global.config.as_deref())?;
    for warning in options.deprecations() {
        tracing::warn!("{warning}");
    }
    let env = |k: &str| std::env::var(k).ok();
    let s = Settings::resolve(&options, &env, overrides).context("cannot resolve settings")?;
    dasynth_sources::read::set_fast_csv(s.crawl.fast_csv);
    Ok(s)
}

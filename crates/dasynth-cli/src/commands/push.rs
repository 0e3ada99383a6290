//! `dasynth push`: export/ → a Hugging Face Hub dataset repository.

use crate::ExitStatus;
use crate::cli::PushArgs;
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::RunDir;

pub fn push(s: &Settings, args: &PushArgs) -> anyhow::Result<ExitStatus> {
    let run = RunDir::new(&s.out);
    if args.dry_run {
        let plan = dasynth_export::push::plan(&run)?;
        let mut text = String::new();
        for line in dasynth_export::push::describe(&plan) {
            text.push_str(&line);
            text.push('\n');
        }
        printer::out(&text)?;
        printer::note(format!(
            "push --dry-run: {} file(s), {} bytes, {} bytes through LFS, to {} ({}); nothing sent",
            plan.files.len(),
            plan.bytes(),
            plan.lfs_bytes(),
            s.push.repo.as_deref().unwrap_or("no --repo given"),
            s.push.revision
        ));
        return Ok(ExitStatus::Success);
    }
    let env = |k: &str| std::env::var(k).ok();
    let endpoint = env(dasynth_core::env::HF_ENDPOINT)
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| dasynth_export::hub::DEFAULT_ENDPOINT.to_string());
    let req = dasynth_export::push::PushRequest {
        run: &run,
        settings: &s.push,
        message: args.message.clone(),
        endpoint,
        token: dasynth_export::hub::token::discover(&env),
    };
    let out = dasynth_export::push::push(&req, &Progress::bytes())?;
    for w in &out.card_warnings {
        printer::note(format!("  card: {w}"));
    }
    if out.commits.is_empty() {
        printer::note(format!("push: {} ({}) already holds this export; nothing to commit", out.repo, out.revision));
        return Ok(ExitStatus::Success);
    }
    printer::note(format!(
        "push: {} file(s), {} bytes to {} ({}) in {} commit(s){}; {} unchanged, {} LFS object(s) already uploaded, {} deleted",
        out.uploaded,
        out.uploaded_bytes,
        out.repo,
        out.revision,
        out.commits.len(),
        if out.created_repo { ", repository created" } else { "" },
        out.unchanged,
        out.lfs_present,
        out.deleted
    ));
    if let Some(c) = out.commits.last() {
        printer::note(format!("  {}", c.url));
    }
    Ok(ExitStatus::Success)
}

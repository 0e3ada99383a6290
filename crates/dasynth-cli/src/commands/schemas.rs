//! `dasynth schemas`: write the JSON Schemas generated from the types.

use crate::ExitStatus;
use crate::cli::SchemasArgs;

pub fn run(args: SchemasArgs) -> anyhow::Result<ExitStatus> {
    let all: Vec<_> = dasynth_core::schemas::all()
        .into_iter()
        .chain(dasynth_tasks::schemas::all())
        .chain(dasynth_agent::schemas::all())
        .chain(dasynth_sample::schemas())
        .collect();
    for (name, text) in &all {
        dasynth_core::atomic::write_atomic(&args.out.join(name), text.as_bytes())?;
    }
    crate::printer::note(format!("wrote {} schemas to {}", all.len(), args.out.display()));
    Ok(ExitStatus::Success)
}

//! `dasynth schemas`: write the JSON Schemas generated from the types.

use crate::ExitStatus;
use crate::cli::SchemasArgs;

pub fn run(args: SchemasArgs) -> anyhow::Result<ExitStatus> {
    for (name, text) in dasynth_core::schemas::all() {
        dasynth_core::atomic::write_atomic(&args.out.join(name), text.as_bytes())?;
    }
    crate::printer::note(format!("wrote {} schemas to {}", dasynth_core::schemas::all().len(), args.out.display()));
    Ok(ExitStatus::Success)
}

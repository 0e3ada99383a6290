//! `dasynth serve-student MODEL_DIR`: the local student engine behind an OpenAI-compatible
//! `/v1/chat/completions`, so the teacher client (and any OpenAI client) can use it.

use crate::ExitStatus;
use crate::cli::ServeStudentArgs;

/// Loads the checkpoint and serves it until interrupted.
#[cfg(feature = "student")]
pub fn run(args: ServeStudentArgs) -> anyhow::Result<ExitStatus> {
    use crate::printer;
    use anyhow::Context;
    use dasynth_student::{Engine, StudentServer};
    use std::sync::Arc;

    let opts = args.engine.options()?;
    let engine = Engine::load(&args.model, &opts).with_context(|| format!("loading the student from {}", args.model.display()))?;
    let info = engine.info();
    let name = args
        .served_model_name
        .unwrap_or_else(|| args.model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "student".into()));
    printer::note(format!(
        "student {name}: {} layers on {} in {:?}, {} slots of {} tokens",
        info.config.num_layers, info.device, info.dtype, info.slots, info.max_len
    ));
    let srv = StudentServer::start(Arc::new(engine), &format!("{}:{}", args.host, args.port), &name)?;
    printer::out(&format!("{}\n", srv.url()))?;
    printer::note(format!("serving http://{}/v1/chat/completions; Ctrl-C stops it", srv.addr()));
    srv.wait();
    Ok(ExitStatus::Success)
}

/// A build without the engine: the error says how to get one.
#[cfg(not(feature = "student"))]
pub fn run(args: ServeStudentArgs) -> anyhow::Result<ExitStatus> {
    Err(crate::cli::no_student_engine(&args.model))
}

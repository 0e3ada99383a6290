//! `dasynth inspect-worker REQUEST` (hidden): the child process the crawl starts to inspect one
//! file with capped memory and time. It answers through the response file the request names;
//! anything it prints is for the parent's failure message.

use crate::ExitStatus;
use crate::cli::InspectWorkerArgs;

pub fn run(args: &InspectWorkerArgs) -> anyhow::Result<ExitStatus> {
    dasynth_sources::isolate::serve(&args.request)?;
    Ok(ExitStatus::Success)
}

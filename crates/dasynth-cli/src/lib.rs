//! The dasynth command line. `cli` holds the clap structs, `settings` layers the configuration
//! file, environment and flags, `printer` owns everything a person sees on the terminal, and
//! `commands/` has one file per subcommand, each a thin call into a library crate.

mod cli;
mod commands;
mod printer;
mod settings;

use clap::Parser;
use std::process::ExitCode;

/// How a command ended (0 ok, 1 the work found problems, 2 the tool failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Problems,
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(match s {
            ExitStatus::Success => 0,
            ExitStatus::Problems => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    let args = cli::Cli::parse();
    printer::init_logging(&args.global);
    match commands::run(args) {
        Ok(status) => status.into(),
        Err(err) => {
            if printer::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            printer::error_chain(&err);
            ExitStatus::Error.into()
        }
    }
}

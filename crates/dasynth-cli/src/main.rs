//! The `dasynth` binary: parse arguments, run the command, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    // SAFETY: the first thing the process does, before any other thread exists.
    unsafe { dasynth_tasks::truth::deterministic_group_by() };
    dasynth_cli::main()
}

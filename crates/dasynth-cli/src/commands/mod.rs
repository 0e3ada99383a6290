//! One file per subcommand.

mod check;
mod crawl;
mod export;
mod fake_llm;
mod generate;
mod inspect_worker;
mod launch;
mod merge;
mod profile;
mod push;
mod report;
mod sample;
mod sandbox;
mod schemas;
mod serve_student;
mod tasks;
mod templates;
mod trajectories;
mod verify;

use crate::ExitStatus;
use crate::cli::{Cli, Command};
use crate::settings;

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let settings = || settings::resolve(&cli.global, &settings::overrides(cli.command.as_ref()));
    if cli.global.show_settings {
        crate::printer::out(&settings()?.to_toml())?;
        return Ok(ExitStatus::Success);
    }
    let wait = cli.global.wait;
    match cli.command {
        Some(Command::Crawl(_)) => crawl::run(&settings()?, wait),
        Some(Command::Profile(ref args)) => profile::run(&settings()?, args.shard.as_deref(), wait),
        Some(Command::Generate(ref args)) => generate::run(settings()?, &args.shard, wait),
        Some(Command::Sandbox(args)) => sandbox::run(args),
        Some(Command::Schemas(args)) => schemas::run(args),
        Some(Command::Tasks(ref args)) => tasks::run(&settings()?, args.check_solutions, args.shard.as_deref(), wait),
        Some(Command::Templates(ref args)) => templates::run(&settings()?, args),
        Some(Command::Trajectories(ref args)) => trajectories::run(&settings()?, &args.shard, wait),
        Some(Command::Verify(ref args)) => verify::run(&settings()?, args.shard.as_deref(), wait),
        Some(Command::Report(ref args)) => report::run(&settings()?, args.open, wait),
        Some(Command::FakeLlm(args)) => fake_llm::run(args),
        Some(Command::ServeStudent(args)) => serve_student::run(args),
        Some(Command::Sample(ref args)) => sample::run(&settings()?, args, wait),
        Some(Command::Export(_)) => export::run(&settings()?, wait),
        Some(Command::Push(ref args)) => push::push(&settings()?, args),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Merge(_)) => merge::run(&settings()?, wait),
        Some(Command::Launch(args)) => launch::run(args),
        Some(Command::InspectWorker(args)) => inspect_worker::run(&args),
        None => anyhow::bail!("no command given\nhint: run `dasynth --help` to see the commands"),
    }
}

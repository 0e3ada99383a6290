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
mod remote;
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
use dasynth_scale::remote::Reads;
use remote::{Plan, staged};

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let settings = || settings::resolve(&cli.global, &settings::overrides(cli.command.as_ref()));
    if cli.global.show_settings {
        crate::printer::out(&settings()?.to_toml())?;
        return Ok(ExitStatus::Success);
    }
    let wait = cli.global.wait;
    match cli.command {
        Some(Command::Crawl(_)) => staged(settings()?, None, Plan::Own, Reads::All, |s, _| crawl::run(&s, wait)),
        Some(Command::Profile(ref args)) => {
            staged(settings()?, args.shard.as_deref(), Plan::Own, Reads::All, |s, _| profile::run(&s, args.shard.as_deref(), wait))
        }
        Some(Command::Generate(ref args)) => {
            staged(settings()?, args.shard.shard.as_deref(), Plan::SharedByShards(generate::with_demo_sources), Reads::All, |s, _| {
                generate::run(s, &args.shard, wait)
            })
        }
        Some(Command::Sandbox(args)) => sandbox::run(args),
        Some(Command::Schemas(args)) => schemas::run(args),
        Some(Command::Tasks(ref args)) => staged(settings()?, args.shard.as_deref(), Plan::Own, Reads::All, |s, _| {
            tasks::run(&s, args.check_solutions, args.shard.as_deref(), wait)
        }),
        Some(Command::Templates(ref args)) => templates::run(&settings()?, args),
        Some(Command::Trajectories(ref args)) => {
            staged(settings()?, args.shard.shard.as_deref(), Plan::Own, Reads::All, |s, _| trajectories::run(&s, &args.shard, wait))
        }
        Some(Command::Verify(ref args)) => staged(settings()?, args.shard.as_deref(), Plan::Own, Reads::Verify, |s, run| {
            verify::run(&s, &run, args.shard.as_deref(), wait)
        }),
        Some(Command::Report(ref args)) => staged(settings()?, None, Plan::Own, Reads::Report, |_, run| report::run(&run, args.open, wait)),
        Some(Command::FakeLlm(args)) => fake_llm::run(args),
        Some(Command::ServeStudent(args)) => serve_student::run(args),
        Some(Command::Sample(ref args)) => {
            staged(settings()?, args.shard.as_deref(), Plan::Own, Reads::All, |s, _| sample::run(&s, args, wait))
        }
        Some(Command::Export(_)) => staged(settings()?, None, Plan::Own, Reads::Export, |s, run| export::run(&s, &run, wait)),
        Some(Command::Push(ref args)) => staged(settings()?, None, Plan::Own, Reads::Push, |s, _| push::push(&s, args)),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Merge(_)) => staged(settings()?, None, Plan::Own, Reads::All, |s, _| merge::run(&s, wait)),
        Some(Command::Launch(args)) => launch::run(args),
        Some(Command::InspectWorker(args)) => inspect_worker::run(&args),
        None => anyhow::bail!("no command given\nhint: run `dasynth --help` to see the commands"),
    }
}

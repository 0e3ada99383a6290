//! One file per subcommand.

mod crawl;
mod fake_llm;
mod generate;
mod profile;
mod sandbox;
mod schemas;
mod tasks;
mod templates;
mod trajectories;

use crate::ExitStatus;
use crate::cli::{Cli, Command};
use crate::settings::{self, Overrides};

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    if cli.global.show_settings {
        let overrides = match &cli.command {
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
            Some(Command::Tasks(a)) => Overrides { out: a.dir.clone(), tasks: a.flags.clone(), ..Default::default() },
            _ => Overrides::default(),
        };
        let s = settings::resolve(&cli.global, overrides)?;
        crate::printer::out(&s.to_toml())?;
        return Ok(ExitStatus::Success);
    }
    match cli.command {
        Some(Command::Crawl(args)) => crawl::run(&cli.global, args),
        Some(Command::Profile(args)) => profile::run(&cli.global, args),
        Some(Command::Generate(args)) => generate::run(&cli.global, args),
        Some(Command::Sandbox(args)) => sandbox::run(args),
        Some(Command::Schemas(args)) => schemas::run(args),
        Some(Command::Tasks(args)) => tasks::run(&cli.global, args),
        Some(Command::Templates(args)) => templates::run(&cli.global, args),
        Some(Command::Trajectories(args)) => trajectories::run(&cli.global, args),
        Some(Command::FakeLlm(args)) => fake_llm::run(args),
        None => anyhow::bail!("no command given\nhint: run `dasynth --help` to see the commands"),
    }
}

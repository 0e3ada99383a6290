//! `dasynth check`: run the answer checker on one answer, or on JSON Lines cases from stdin.

use crate::ExitStatus;
use crate::cli::CheckArgs;
use crate::printer;
use anyhow::Context;
use dasynth_tasks::checker::{Case, check_case, check_lines};
use std::io::Read;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitStatus> {
    let Some(answer) = &args.answer else { return run_lines() };
    let (Some(answer_type), Some(truth)) = (&args.answer_type, &args.truth) else {
        anyhow::bail!("an answer needs --answer-type and --truth\nhint: dasynth check --answer-type number --truth 4.2 'The mean is 4.2.'");
    };
    let answer = if answer == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the answer from standard input")?;
        text
    } else {
        answer.clone()
    };
    let mut case = Case::from_flags(answer_type, truth, args.checker.as_deref(), &answer)?;
    case.files = args.files;
    case.outputs_dir = args.outputs;
    let check = check_case(&case, 0)?;
    let read = check.extracted.as_deref().map(|e| format!(" [read: {e}]")).unwrap_or_default();
    printer::out(&format!("{}: {}{read}\n", check.outcome.name(), check.reason))?;
    Ok(if check.passed() { ExitStatus::Success } else { ExitStatus::Problems })
}

fn run_lines() -> anyhow::Result<ExitStatus> {
    let mut all_passed = true;
    for verdict in check_lines(std::io::stdin().lock()) {
        let verdict = verdict?;
        all_passed &= verdict.check.passed();
        printer::out(&(serde_json::to_string(&verdict)? + "\n"))?;
    }
    Ok(if all_passed { ExitStatus::Success } else { ExitStatus::Problems })
}

//! `dasynth sample`: the student runs the tasks n times → student/ (trajectories, verdicts,
//! pass rates) and stats/sample.json.

use crate::ExitStatus;
use crate::cli::{EngineArgs, SampleArgs};
use crate::printer::{self, Progress};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::lock::RunLock;
use dasynth_core::shard::Shard;
use dasynth_sample::{SampleOptions, Student};
use dasynth_scale::claim::ShardRun;

/// `dasynth sample [DIR] (--student MODEL_DIR | --student-endpoint URL --student-model NAME)
/// [--shard I/N]`, holding the run folder's lock (its shard's with `--shard`, between the
/// shard's claim and its completion marker, written only when every sample finished).
pub fn run(s: &Settings, args: &SampleArgs, wait: bool) -> anyhow::Result<ExitStatus> {
    let student = match (&args.student, &args.student_endpoint) {
        (Some(dir), _) => local_student(dir, &args.engine)?,
        (None, Some(url)) => Student::Endpoint {
            base_url: url.clone(),
            model: args.student_model.clone().unwrap_or_default(),
            api_key_env: args.student_api_key_env.clone(),
        },
        (None, None) => anyhow::bail!("no student given\nhint: pass --student MODEL_DIR or --student-endpoint URL --student-model NAME"),
    };
    let o = SampleOptions {
        student,
        n: args.n.max(1),
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        turn_tokens: args.turn_tokens,
        families: args.family.clone(),
        stages: args.stage.clone(),
        max_tasks: args.max_tasks,
        shard: args.shard.as_deref().map(Shard::parse).transpose()?,
    };
    let run = RunDir::new(&s.out);
    let _lock = match o.shard {
        Some(sh) => RunLock::acquire_shard(&run, sh, wait)?,
        None => RunLock::acquire(&run, wait)?,
    };
    let claim = o.shard.map(|sh| ShardRun::claim(&run, Stage::Sample, sh)).transpose()?;
    let out = dasynth_sample::sample(s, &o, &Progress::new())?;
    let st = &out.stats;
    if let Some(claim) = claim.filter(|_| st.stopped.is_none() && st.samples_missing == 0) {
        let files: Vec<&std::path::Path> = out.files.iter().map(|p| p.as_path()).collect();
        claim.complete(st.samples_run + st.samples_reused, &files)?;
    }
    print_pass_rates(st, &out.pass_rates);
    printer::note(format!(
        "  {} samples run ({:.1}/min), {} reused; ended: {}; {:.1}s",
        st.samples_run,
        st.samples_per_minute,
        st.samples_reused,
        st.by_finish.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
        st.seconds
    ));
    if let Some(why) = &st.stopped {
        printer::note(format!("  stopped early: {why}"));
        return Ok(ExitStatus::Problems);
    }
    if st.samples_missing > 0 {
        printer::note(format!("  {} sample(s) failed for the moment; rerun the same command to finish them", st.samples_missing));
        return Ok(ExitStatus::Problems);
    }
    Ok(ExitStatus::Success)
}

/// The line that says how the student fared and where the pass rates are.
pub fn print_pass_rates(st: &dasynth_sample::SampleStats, pass_rates: &std::path::Path) {
    printer::note(format!(
        "sample: {} tasks × {} samples of {}: {} passed, mean pass rate {:.3} ({} never, {} sometimes, {} always solved) in {}",
        st.tasks,
        st.n,
        st.variant,
        st.passed,
        st.mean_pass_rate,
        st.never_solved,
        st.sometimes_solved,
        st.always_solved,
        pass_rates.display()
    ));
}

/// The checkpoint folder in the in-process engine.
#[cfg(feature = "student")]
fn local_student(dir: &std::path::Path, engine: &EngineArgs) -> anyhow::Result<Student> {
    Ok(Student::Local { model_dir: dir.to_path_buf(), engine: engine.options()? })
}

/// A build without the engine: the error says how to get one, or to use an endpoint.
#[cfg(not(feature = "student"))]
fn local_student(dir: &std::path::Path, _: &EngineArgs) -> anyhow::Result<Student> {
    Err(crate::cli::no_student_engine(dir))
}

//! `dasynth launch slurm|k8s --shards N … -- COMMAND`: job files for a sharded run, submitted
//! unless `--dry-run`.

use crate::ExitStatus;
use crate::cli::{LaunchArgs, LaunchCommon, LaunchEngine};
use crate::printer;
use anyhow::Context;
use dasynth_scale::launch::{self, JobFile, LaunchSpec, k8s, slurm};
use std::path::{Path, PathBuf};

pub fn run(args: LaunchArgs) -> anyhow::Result<ExitStatus> {
    match args.engine {
        LaunchEngine::Slurm(a) => {
            // Slurm nodes share the file system: the jobs run this very binary.
            let program = match &a.common.program {
                Some(p) => p.clone(),
                None => {
                    std::env::current_exe().context("cannot find this program's path\nhint: pass --program PATH")?.display().to_string()
                }
            };
            let spec = spec(&a.common, program)?;
            let o = slurm::SlurmOptions { partition: a.partition, cpus_per_task: a.cpus_per_task, time: a.time };
            let paths = write(&a.common, &slurm::scripts(&spec, &o))?;
            if a.common.dry_run {
                printer::note(format!(
                    "dry run: submit with `sbatch {}`, then the merge with `sbatch --dependency=afterany:<job id> {}`",
                    paths[0].display(),
                    paths[1].display()
                ));
                return Ok(ExitStatus::Success);
            }
            let done = launch::submit_slurm(&paths[0], &paths[1])?;
            for c in &done.commands {
                printer::note(format!("submitted: {c}"));
            }
            printer::out(&format!("{}\n{}\n", done.shard_job, done.merge_job))?;
            Ok(ExitStatus::Success)
        }
        LaunchEngine::K8s(a) => {
            let spec = spec(&a.common, a.common.program.clone().unwrap_or_else(|| "dasynth".into()))?;
            let o = k8s::K8sOptions { image: a.image, pvc: a.pvc, cpus: a.cpus, namespace: a.namespace };
            let in_bucket = spec.run_dir().is_some_and(|d| dasynth_scale::remote::remote_url(std::path::Path::new(&d)).is_some());
            if o.pvc.is_none() && !in_bucket {
                printer::note(
                    "no --pvc: every shard needs the same run folder; without a shared volume or a bucket (--out s3://…) the merge finds nothing",
                );
            }
            let paths = write(&a.common, &k8s::manifests(&spec, &o))?;
            if a.common.dry_run {
                printer::note(format!(
                    "dry run: apply with `kubectl apply -f {}`, and once job/{} completes, `kubectl apply -f {}`",
                    paths[0].display(),
                    spec.name,
                    paths[1].display()
                ));
                return Ok(ExitStatus::Success);
            }
            printer::note(format!("applying {} and waiting for job/{} before the merge Job", paths[0].display(), spec.name));
            let done = launch::submit_k8s(&paths[0], &paths[1], &spec.name, o.namespace.as_deref(), std::time::Duration::from_secs(15))?;
            for c in &done.commands {
                printer::note(format!("ran: {c}"));
            }
            printer::out(&format!("{}\n{}\n", done.shard_job, done.merge_job))?;
            Ok(ExitStatus::Success)
        }
    }
}

fn spec(c: &LaunchCommon, program: String) -> anyhow::Result<LaunchSpec> {
    let spec = LaunchSpec { shards: c.shards, args: c.command.clone(), program, name: c.name.clone() };
    spec.validate()?;
    Ok(spec)
}

/// Writes the job files into `--write DIR` (default: the current folder) and names them.
fn write(c: &LaunchCommon, files: &[JobFile]) -> anyhow::Result<Vec<PathBuf>> {
    let dir = c.write.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut paths = Vec::new();
    for f in files {
        let path = Path::new(&dir).join(f.name);
        dasynth_core::atomic::write_atomic(&path, f.text.as_bytes())?;
        printer::note(format!("wrote {}", path.display()));
        paths.push(path);
    }
    Ok(paths)
}

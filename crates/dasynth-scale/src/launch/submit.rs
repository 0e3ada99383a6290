//! Submitting the written job files: `sbatch` for Slurm, `kubectl` for Kubernetes.

use crate::ScaleError;
use std::path::Path;
use std::process::Command;

/// What was submitted, for the CLI to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    /// Every command run, as a shell line.
    pub commands: Vec<String>,
    /// The engine's ids of the shard job and the merge job.
    pub shard_job: String,
    pub merge_job: String,
}

fn run(program: &str, args: &[&str], hint: &'static str) -> Result<String, ScaleError> {
    let out = Command::new(program).args(args).output().map_err(|e| ScaleError::Submit {
        program: program.to_string(),
        status: "not started".into(),
        stderr: e.to_string(),
        hint,
    })?;
    if !out.status.success() {
        return Err(ScaleError::Submit {
            program: format!("{program} {}", args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            hint,
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn line(program: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    super::shell_line(program, &args)
}

/// `sbatch --parsable` the array script, then the merge script with `--dependency=afterany`.
pub fn submit_slurm(array: &Path, merge: &Path) -> Result<Submitted, ScaleError> {
    const HINT: &str = "run it on a Slurm login node (sbatch on PATH), or pass --dry-run and submit the scripts yourself";
    let array = array.to_string_lossy().into_owned();
    let merge = merge.to_string_lossy().into_owned();
    let first = ["--parsable", array.as_str()];
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = run("sbatch", &first, HINT)?.split(';').next().unwrap_or_default().trim().to_string();
    if id.is_empty() {
        return Err(ScaleError::Submit { program: "sbatch".into(), status: "ok".into(), stderr: "no job id printed".into(), hint: HINT });
    }
    let dependency = format!("--dependency=afterany:{id}");
    let second = ["--parsable", dependency.as_str(), merge.as_str()];
    let merge_id = run("sbatch", &second, HINT)?.split(';').next().unwrap_or_default().trim().to_string();
    Ok(Submitted { commands: vec![line("sbatch", &first), line("sbatch", &second)], shard_job: id, merge_job: merge_id })
}

/// `kubectl apply` the Indexed Job, wait until it completes or fails, then apply the merge Job.
pub fn submit_k8s(
    job: &Path,
    merge: &Path,
    name: &str,
    namespace: Option<&str>,
    poll: std::time::Duration,
) -> Result<Submitted, ScaleError> {
    const HINT: &str = "check that kubectl reaches the cluster (kubectl get jobs), or pass --dry-run and apply the manifests yourself";
    let ns: Vec<&str> = namespace.map(|n| vec!["--namespace", n]).unwrap_or_default();
    let job = job.to_string_lossy().into_owned();
    let merge = merge.to_string_lossy().into_owned();
    let apply_job: Vec<&str> = [&["apply", "-f", job.as_str()][..], ns.as_slice()].concat();
    run("kubectl", &apply_job, HINT)?;
    let resource = format!("job/{name}");
    let get: Vec<&str> = [&["get", resource.as_str(), "-o", "jsonpath={.status.conditions[*].type}"][..], ns.as_slice()].concat();
    loop {
        let conditions = run("kubectl", &get, HINT)?;
        if conditions.split_whitespace().any(|c| c == "Complete" || c == "Failed") {
            break;
        }
        std::thread::sleep(poll);
    }
    let apply_merge: Vec<&str> = [&["apply", "-f", merge.as_str()][..], ns.as_slice()].concat();
    run("kubectl", &apply_merge, HINT)?;
    Ok(Submitted {
        commands: vec![line("kubectl", &apply_job), line("kubectl", &get), line("kubectl", &apply_merge)],
        shard_job: name.to_string(),
        merge_job: format!("{name}-merge"),
    })
}

//! A Slurm array job (one task per shard) and a merge job that depends on it.

use super::{JobFile, LaunchSpec, shell_line};

/// `sbatch` options of both jobs.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub cpus_per_task: Option<u32>,
    /// Slurm's time format: `MM`, `HH:MM:SS`, `D-HH:MM` …
    pub time: Option<String>,
}

pub const ARRAY_SCRIPT: &str = "dasynth-shards.sbatch";
pub const MERGE_SCRIPT: &str = "dasynth-merge.sbatch";

fn header(name: &str, o: &SlurmOptions, cpus: bool) -> String {
    let mut h = format!("#!/bin/bash\n#SBATCH --job-name={name}\n");
    if let Some(p) = &o.partition {
        h += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(c) = o.cpus_per_task.filter(|_| cpus) {
        h += &format!("#SBATCH --cpus-per-task={c}\n");
    }
    if let Some(t) = &o.time {
        h += &format!("#SBATCH --time={t}\n");
    }
    h
}

/// The array job script and the merge job script.
pub fn scripts(spec: &LaunchSpec, o: &SlurmOptions) -> Vec<JobFile> {
    let last = spec.shards.saturating_sub(1);
    let mut array = header(&spec.name, o, true);
    array += &format!("#SBATCH --array=0-{last}\n#SBATCH --output={}-%A_%a.out\n", spec.name);
    array += "set -euo pipefail\n";
    array += &format!("# Shard ${{SLURM_ARRAY_TASK_ID}} of {}: the task index is the shard index.\n", spec.shards);
    let shard_line = shell_line(&spec.program, &spec.shard_args("SHARD_INDEX"))
        .replace(&format!("SHARD_INDEX/{}", spec.shards), &format!("\"${{SLURM_ARRAY_TASK_ID}}/{}\"", spec.shards));
    array += &format!("exec {shard_line}\n");

    let mut merge = header(&format!("{}-merge", spec.name), o, false);
    merge += &format!("#SBATCH --output={}-merge-%j.out\n", spec.name);
    merge += "set -euo pipefail\n";
    merge += "# Runs after every array task ended (afterany): merge names a shard that failed.\n";
    for c in spec.merge_commands() {
        merge += &shell_line(&spec.program, &c);
        merge += "\n";
    }
    vec![JobFile { name: ARRAY_SCRIPT, text: array }, JobFile { name: MERGE_SCRIPT, text: merge }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_runs_one_shard_per_task_and_the_merge_runs_merge_then_export() {
        let spec = super::super::spec(&["generate", "--config", "d.toml", "--out", "run"]);
        let o = SlurmOptions { partition: Some("cpu".into()), cpus_per_task: Some(8), time: Some("04:00:00".into()) };
        let files = scripts(&spec, &o);
        let array = &files[0].text;
        assert!(
            array.starts_with("#!/bin/bash\n#SBATCH --job-name=dasynth\n#SBATCH --partition=cpu\n#SBATCH --cpus-per-task=8\n"),
            "{array}"
        );
        assert!(array.contains("#SBATCH --time=04:00:00\n#SBATCH --array=0-3\n"), "{array}");
        assert!(array.ends_with("exec dasynth generate --config d.toml --out run --shard \"${SLURM_ARRAY_TASK_ID}/4\"\n"), "{array}");
        let merge = &files[1].text;
        assert!(merge.contains("#SBATCH --job-name=dasynth-merge\n") && !merge.contains("cpus-per-task"), "{merge}");
        assert!(merge.ends_with("dasynth --config d.toml merge run\ndasynth --config d.toml export run\n"), "{merge}");
    }
}

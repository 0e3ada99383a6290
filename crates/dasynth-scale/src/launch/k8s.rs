//! A Kubernetes Indexed Job (completion index = shard) and the merge Job, as JSON manifests
//! (`kubectl apply -f` reads JSON as it reads YAML).
//!
//! The shards share the run folder through a bucket (`--out s3://…` or `gs://…`, see
//! [`crate::remote`]; no volume needed) or through a volume every pod mounts: a
//! `ReadWriteMany` PersistentVolumeClaim (`--pvc`), mounted at [`WORKDIR`], which is also the
//! working directory, so a relative `--out` lands on it.

use super::{JobFile, LaunchSpec, shell_line};
use serde_json::{Value, json};

/// Pod settings of both Jobs.
#[derive(Debug, Clone, Default)]
pub struct K8sOptions {
    pub image: String,
    /// A ReadWriteMany PersistentVolumeClaim holding the run folder.
    pub pvc: Option<String>,
    /// CPU request (and limit) of a shard's pod, e.g. `8` or `7500m`.
    pub cpus: Option<String>,
    pub namespace: Option<String>,
}

pub const JOB_MANIFEST: &str = "dasynth-shards.job.json";
pub const MERGE_MANIFEST: &str = "dasynth-merge.job.json";
/// Where the run volume is mounted, and the pods' working directory.
pub const WORKDIR: &str = "/work";

fn pod(o: &K8sOptions, mut container: Value) -> Value {
    let mut spec = json!({"restartPolicy": "Never", "containers": []});
    if let Some(pvc) = &o.pvc {
        container["volumeMounts"] = json!([{"name": "run", "mountPath": WORKDIR}]);
        container["workingDir"] = json!(WORKDIR);
        spec["volumes"] = json!([{"name": "run", "persistentVolumeClaim": {"claimName": pvc}}]);
    }
    spec["containers"] = json!([container]);
    json!({"metadata": {"labels": {"app.kubernetes.io/name": "dasynth"}}, "spec": spec})
}

fn metadata(name: &str, o: &K8sOptions) -> Value {
    let mut m = json!({"name": name, "labels": {"app.kubernetes.io/name": "dasynth"}});
    if let Some(ns) = &o.namespace {
        m["namespace"] = json!(ns);
    }
    m
}

/// The Indexed Job and the merge Job.
pub fn manifests(spec: &LaunchSpec, o: &K8sOptions) -> Vec<JobFile> {
    // The completion index, through the downward API so `$(JOB_COMPLETION_INDEX)` in the
    // arguments is expanded by the kubelet (no shell in between).
    let mut shard = json!({
        "name": "dasynth",
        "image": o.image,
        "command": [spec.program],
        "args": spec.shard_args("$(JOB_COMPLETION_INDEX)"),
        "env": [{
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}
        }],
    });
    if let Some(c) = &o.cpus {
        shard["resources"] = json!({"requests": {"cpu": c}, "limits": {"cpu": c}});
    }
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(&spec.name, o),
        "spec": {
            "completionMode": "Indexed",
            "completions": spec.shards,
            "parallelism": spec.shards,
            // Each index retries on its own; a rerun of a shard only does its missing work.
            "backoffLimitPerIndex": 2,
            "maxFailedIndexes": spec.shards,
            "template": pod(o, shard),
        }
    });
    let script: Vec<String> = spec.merge_commands().iter().map(|c| shell_line(&spec.program, c)).collect();
    let merge_container = json!({
        "name": "merge",
        "image": o.image,
        "command": ["/bin/sh", "-c", format!("set -e\n{}\n", script.join("\n"))],
    });
    let merge = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(&format!("{}-merge", spec.name), o),
        "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 0, "template": pod(o, merge_container)}
    });
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    vec![JobFile { name: JOB_MANIFEST, text: pretty(&job) }, JobFile { name: MERGE_MANIFEST, text: pretty(&merge) }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indexed_job_runs_one_shard_per_completion_index() {
        let spec = super::super::spec(&["generate", "--out", "run"]);
        let o = K8sOptions { image: "ghcr.io/x/dasynth:1".into(), pvc: Some("runs".into()), cpus: Some("8".into()), namespace: None };
        let files = manifests(&spec, &o);
        let job: Value = serde_json::from_str(&files[0].text).unwrap();
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["spec"]["completionMode"], "Indexed");
        assert_eq!(job["spec"]["completions"], 4);
        let c = &job["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["args"], json!(["generate", "--out", "run", "--shard", "$(JOB_COMPLETION_INDEX)/4"]));
        assert_eq!(c["workingDir"], WORKDIR);
        assert_eq!(job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "runs");
        let merge: Value = serde_json::from_str(&files[1].text).unwrap();
        assert_eq!(merge["metadata"]["name"], "dasynth-merge");
        let cmd = merge["spec"]["template"]["spec"]["containers"][0]["command"][2].as_str().unwrap();
        assert_eq!(cmd, "set -e\ndasynth merge run\ndasynth export run\n");
    }
}

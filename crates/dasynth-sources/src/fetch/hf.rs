//! Hugging Face Hub datasets through the `hf-hub` crate: list the repository tree, keep the
//! table files (Parquet, CSV, JSON, ...) that pass the include/exclude globs, download each into
//! the run's cache. Endpoint from `HF_ENDPOINT`, token from `HF_TOKEN` (never logged).

use super::{FetchFailure, Fetched, Filter, Input};
use crate::detect;
use hf_hub::HFClientSync;
use hf_hub::repository::RepoTreeEntry;
use std::path::Path;

/// Lists and downloads the table files of `owner/name`.
pub fn fetch(owner: &str, name: &str, revision: Option<&str>, include: &[String], exclude: &[String], cache: &Path) -> Fetched {
    let mut out = Fetched::default();
    let base_uri = format!("hf://datasets/{owner}/{name}");
    let fail = |out: &mut Fetched, uri: String, message: String| out.failures.push(FetchFailure { uri, message });
    let filter = match Filter::new(include, exclude) {
        Ok(f) => f,
        Err(e) => {
            fail(&mut out, base_uri, format!("invalid include/exclude glob: {e}"));
            return out;
        }
    };
    let client = match HFClientSync::new() {
        Ok(c) => c,
        Err(e) => {
            fail(&mut out, base_uri, format!("cannot create a Hub client: {e}"));
            return out;
        }
    };
    let repo = client.dataset(owner, name);
    let listing = repo.list_tree().maybe_revision(revision.map(str::to_string)).recursive(true).send();
    let entries = match listing {
        Ok(e) => e,
        Err(e) => {
            fail(&mut out, base_uri, format!("cannot list the dataset: {e}"));
            return out;
        }
    };
    let dir = cache.join(owner).join(name);
    for entry in entries {
        let RepoTreeEntry::File { path, oid, .. } = entry else { continue };
        let file_name = path.rsplit('/').next().unwrap_or(&path).to_string();
        if detect::format_from_name(detect::strip_compression_suffix(&file_name)).is_none() || !filter.accepts(&path) {
            continue;
        }
        let uri = format!("{base_uri}/{path}");
        let local = dir.join(&path);
        let marker = dir.join(format!("{path}.dasynth-oid"));
        let fingerprint = format!("oid={oid}");
        // A file downloaded earlier at the same oid is not downloaded again.
        if local.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(oid.as_str()) {
            out.inputs.push(Input { uri, local, name: file_name, fingerprint, in_folder: true });
            continue;
        }
        match repo.download_file().filename(path.clone()).local_dir(dir.clone()).maybe_revision(revision.map(str::to_string)).send() {
            Ok(local) => {
                if let Err(e) = std::fs::write(&marker, &oid) {
                    tracing::warn!(uri, error = %e, "cannot record the downloaded oid");
                }
                out.inputs.push(Input { uri, local, name: file_name, fingerprint, in_folder: true });
            }
            Err(e) => fail(&mut out, uri, format!("download failed: {e}")),
        }
    }
    out
}

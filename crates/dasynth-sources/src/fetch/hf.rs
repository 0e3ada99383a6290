//! Hugging Face Hub datasets over the Hub's HTTP API, the way `snapshot_download` reads them:
//! list the repository tree (`GET /api/datasets/{repo}/tree/{revision}?recursive=true`, following
//! `Link: rel="next"` pages), keep the table files (Parquet, CSV, JSON, ...) that pass the
//! include/exclude globs, and download each through `GET /datasets/{repo}/resolve/{revision}/
//! {path}` into the run's cache, with the HTTP stage's size cap, retries and backoff. A file
//! already downloaded at the same blob id is not downloaded again. Endpoint from `HF_ENDPOINT`,
//! token from `HF_TOKEN` or the token file `huggingface_hub` writes (never logged).

use super::http::{HttpOptions, Request};
use super::{FetchFailure, Fetched, Filter, Input};
use crate::detect;
use std::path::{Path, PathBuf};

/// A dataset repository on the Hub.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a> {
    pub owner: &'a str,
    pub name: &'a str,
    /// Branch, tag or commit (default `main`).
    pub revision: Option<&'a str>,
}

/// One entry of a tree listing (directories are listed too; only files are kept).
#[derive(Debug, serde::Deserialize)]
struct TreeEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    /// The git blob id (for LFS files, the pointer's).
    oid: String,
    #[serde(default)]
    lfs: Option<LfsInfo>,
}

#[derive(Debug, serde::Deserialize)]
struct LfsInfo {
    /// sha256 of the file's content.
    oid: String,
}

/// The Hub's address: `HF_ENDPOINT`, else the public Hub.
pub fn endpoint() -> String {
    std::env::var(dasynth_core::env::HF_ENDPOINT)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "https://huggingface.co".to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The Hub token: `HF_TOKEN`, else the file `huggingface_hub` keeps (`HF_TOKEN_PATH`, else
/// `$HF_HOME/token`, else `~/.cache/huggingface/token`). None when there is none.
pub fn token() -> Option<String> {
    let nonempty = |v: String| Some(v.trim().to_string()).filter(|t| !t.is_empty());
    if let Some(t) = std::env::var(dasynth_core::env::HF_TOKEN).ok().and_then(nonempty) {
        return Some(t);
    }
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let file = var("HF_TOKEN_PATH")
        .or_else(|| var("HF_HOME").map(|h| h.join("token")))
        .or_else(|| var("HOME").map(|h| h.join(".cache").join("huggingface").join("token")))?;
    std::fs::read_to_string(file).ok().and_then(nonempty)
}

/// The next page of a listing, from a `Link: <url>; rel="next"` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        part.get(start..end).map(str::to_string)
    })
}

/// Largest page of a tree listing read (a page of 1,000 entries is about 300 KB).
const LISTING_CAP: u64 = 64 << 20;

/// The files of the dataset at `revision`, every page of the listing, each page under the same
/// deadline for its whole body as a download.
fn list_tree(client: &reqwest::blocking::Client, api: &str, auth: Option<&str>, opts: &HttpOptions) -> Result<Vec<TreeEntry>, String> {
    let mut entries = Vec::new();
    let mut url = Some(api.to_string());
    while let Some(u) = url.take() {
        let mut req = client.get(&u);
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        let resp = req.send().map_err(|e| format!("cannot list the dataset: {}", super::http::root_cause(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(format!(
                "cannot list the dataset: HTTP {status}\nhint: the dataset may be private or gated; set HF_TOKEN to a token that can read it"
            ));
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err("no such dataset or revision (HTTP 404)".to_string());
        }
        if !status.is_success() {
            return Err(format!("cannot list the dataset: HTTP {status}"));
        }
        url = next_link(resp.headers());
        let body = super::http::read_body(resp, LISTING_CAP, opts).map_err(|e| format!("cannot list the dataset: {e}"))?;
        let page: Vec<TreeEntry> = serde_json::from_slice(&body).map_err(|e| format!("the tree listing is not the Hub's JSON: {e}"))?;
        entries.extend(page);
    }
    Ok(entries)
}

/// Lists and downloads the table files of a dataset.
pub fn fetch(
    client: &reqwest::blocking::Client,
    ds: &Dataset<'_>,
    include: &[String],
    exclude: &[String],
    cache: &Path,
    opts: &HttpOptions,
) -> Fetched {
    let mut out = Fetched::default();
    let Dataset { owner, name, revision } = *ds;
    let base_uri = format!("hf://datasets/{owner}/{name}");
    let fail = |out: &mut Fetched, uri: String, message: String| out.failures.push(FetchFailure { uri, message });
    let filter = match Filter::new(include, exclude) {
        Ok(f) => f,
        Err(e) => {
            fail(&mut out, base_uri, format!("invalid include/exclude glob: {e}"));
            return out;
        }
    };
    let hub = endpoint();
    let rev = revision.unwrap_or("main");
    let rev_path = rev.replace('/', "%2F");
    let auth = token();
    let api = format!("{hub}/api/datasets/{owner}/{name}/tree/{rev_path}?recursive=true");
    let entries = match list_tree(client, &api, auth.as_deref(), opts) {
        Ok(e) => e,
        Err(message) => {
            fail(&mut out, base_uri, message);
            return out;
        }
    };
    let dir = cache.join(owner).join(name);
    for entry in entries.into_iter().filter(|e| e.kind == "file") {
        let path = entry.path;
        let file_name = path.rsplit('/').next().unwrap_or(&path).to_string();
        if detect::format_from_name(detect::strip_compression_suffix(&file_name)).is_none() || !filter.accepts(&path) {
            continue;
        }
        let uri = format!("{base_uri}/{path}");
        let local = dir.join(&path);
        let marker = dir.join(format!("{path}.dasynth-oid"));
        let oid = entry.lfs.map_or(entry.oid, |l| l.oid);
        let fingerprint = format!("oid={oid}");
        // A file downloaded earlier at the same oid is not downloaded again. The marker holds
        // the oid, then the URL the bytes came from.
        let remembered = std::fs::read_to_string(&marker).unwrap_or_default();
        let mut lines = remembered.lines();
        if local.exists() && lines.next() == Some(oid.as_str()) {
            let final_uri = lines.next().map(str::to_string);
            out.inputs.push(Input { uri, local, name: file_name, fingerprint, in_folder: true, final_uri });
            continue;
        }
        let url = format!("{hub}/datasets/{owner}/{name}/resolve/{rev_path}/{}", encode_path(&path));
        let request = Request { url: &url, bearer: auth.as_deref() };
        match super::http::download(client, &request, &local, opts) {
            Ok(done) => {
                if let Err(e) = std::fs::write(&marker, format!("{oid}\n{}\n", done.final_url)) {
                    tracing::warn!(uri, error = %e, "cannot record the downloaded oid");
                }
                out.inputs.push(Input { uri, local, name: file_name, fingerprint, in_folder: true, final_uri: Some(done.final_url) });
            }
            Err(message) => fail(&mut out, uri, format!("download failed: {message}")),
        }
    }
    out
}

/// A repository path with each segment percent-encoded (spaces, `#`, `?` and the like).
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_and_paths() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::LINK, "<http://hub/api/x?cursor=2>; rel=\"next\"".parse().unwrap());
        assert_eq!(next_link(&h).as_deref(), Some("http://hub/api/x?cursor=2"));
        assert_eq!(next_link(&reqwest::header::HeaderMap::new()), None);
        assert_eq!(encode_path("data/a b#1.csv"), "data/a%20b%231.csv");
    }

    #[test]
    fn a_trickling_tree_listing_is_cut_off_at_the_deadline() {
        let server = dasynth_testkit::hostile::TrickleServer::start(b"[]".repeat(500), 4, std::time::Duration::from_millis(250));
        let opts =
            HttpOptions { timeout: std::time::Duration::from_secs(1), retries: 0, max_bytes: 1 << 20, allow_private_redirects: false };
        let client = super::super::http::client(&opts).unwrap();
        let started = std::time::Instant::now();
        let err = list_tree(&client, &server.url("/api/datasets/o/n/tree/main"), None, &opts).unwrap_err();
        assert!(err.contains("longer than 1 s") || err.contains("timed out"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
    }
}

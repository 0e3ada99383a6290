//! HTTP(S) downloads: streamed to disk under a size cap, retried with exponential backoff and
//! jitter (honouring `Retry-After`), and revalidated with ETag / Last-Modified on reruns so an
//! unchanged file is not downloaded twice.

use super::{FetchFailure, Fetched, Input};
use dasynth_core::ids::short_id;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Limits for HTTP fetching.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub timeout: Duration,
    pub retries: u32,
    pub max_bytes: u64,
}

/// Validators remembered from the last download of a URL.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: String,
    bytes: u64,
}

/// A GET to make: the URL and an optional bearer token (never logged).
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub url: &'a str,
    pub bearer: Option<&'a str>,
}

/// The start of every blocking HTTP client of dasynth (downloads here, the Hub upload in
/// `dasynth-export`): TLS through rustls with ring, installed as the process's provider (the
/// build has no other, and reqwest panics without one), and dasynth's user agent.
pub fn client_builder() -> reqwest::blocking::ClientBuilder {
    // Installing is idempotent: a second install fails harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder().user_agent(concat!("dasynth/", env!("CARGO_PKG_VERSION")))
}

/// Builds the client used for every download.
pub fn client(opts: &HttpOptions) -> Result<reqwest::blocking::Client, reqwest::Error> {
    client_builder().timeout(opts.timeout).connect_timeout(opts.timeout.min(Duration::from_secs(15))).build()
}

/// The file name a URL names (its last path segment), for format detection.
pub fn url_file_name(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let path = no_query.split_once("://").map_or(no_query, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("download");
    if last.is_empty() || last.contains(':') { "download".to_string() } else { last.to_string() }
}

fn backoff(attempt: u32, url: &str) -> Duration {
    // Deterministic jitter from the URL and attempt keeps tests reproducible.
    let jitter = u64::from_str_radix(&short_id(&[url, &attempt.to_string()])[..4], 16).unwrap_or(0) % 250;
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(6)) + jitter)
}

fn retry_after(resp: &reqwest::blocking::Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(60)))
}

enum Attempt {
    Done(Input),
    NotModified,
    Retry(String, Option<Duration>),
    Fail(String),
}

/// Downloads `url` into `cache` (a folder of the run). Failures name the URL and the reason.
pub fn fetch(client: &reqwest::blocking::Client, url: &str, cache: &Path, opts: &HttpOptions) -> Fetched {
    let mut out = Fetched::default();
    let key = short_id(&[url]);
    let body_path = cache.join(format!("{key}.body"));
    let meta_path = cache.join(format!("{key}.json"));
    let previous: Option<Validators> =
        std::fs::read(&meta_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).filter(|_| body_path.exists());
    let name = url_file_name(url);
    let mut last_error = String::new();
    for attempt in 0..=opts.retries {
        if attempt > 0 {
            tracing::debug!(url, attempt, "retrying download");
        }
        let target = Target { cache, body_path: &body_path, meta_path: &meta_path, previous: previous.as_ref(), name: &name };
        match try_once(client, url, &target, opts) {
            Attempt::Done(input) => {
                out.inputs.push(input);
                return out;
            }
            Attempt::NotModified => {
                let v = previous.clone().unwrap_or_default();
                tracing::debug!(url, "not modified; reusing the earlier download");
                out.inputs.push(Input {
                    uri: url.to_string(),
                    local: body_path,
                    name,
                    fingerprint: format!("sha256={}", v.sha256),
                    in_folder: false,
                });
                return out;
            }
            Attempt::Fail(msg) => {
                out.failures.push(FetchFailure { uri: url.to_string(), message: msg });
                return out;
            }
            Attempt::Retry(msg, wait) => {
                last_error = msg;
                if attempt < opts.retries {
                    std::thread::sleep(wait.unwrap_or_else(|| backoff(attempt, url)));
                }
            }
        }
    }
    out.failures
        .push(FetchFailure { uri: url.to_string(), message: format!("{last_error} (gave up after {} attempts)", opts.retries + 1) });
    out
}

/// Where one download goes, and what the last one of the same URL left.
struct Target<'a> {
    cache: &'a Path,
    body_path: &'a Path,
    meta_path: &'a Path,
    previous: Option<&'a Validators>,
    name: &'a str,
}

/// Downloads one file to `dest` (replacing it only once the whole body arrived), retrying
/// transient failures with backoff. Returns the bytes written, or why it failed.
pub fn download(client: &reqwest::blocking::Client, req: &Request<'_>, dest: &Path, opts: &HttpOptions) -> Result<u64, String> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut last_error = String::new();
    for attempt in 0..=opts.retries {
        let mut r = client.get(req.url);
        if let Some(t) = req.bearer {
            r = r.bearer_auth(t);
        }
        let wait = match r.send() {
            Err(e) => {
                last_error = format!("request failed: {}", root_cause(&e));
                None
            }
            Ok(resp) if resp.status().as_u16() == 429 || resp.status().is_server_error() => {
                last_error = format!("HTTP {}", resp.status());
                retry_after(&resp)
            }
            Ok(resp) if !resp.status().is_success() => return Err(format!("HTTP {}", resp.status())),
            Ok(resp) => match receive(resp, dir, opts) {
                Ok(body) => {
                    let bytes = body.total;
                    body.file.persist(dest).map_err(|e| format!("cannot store the download at {}: {}", dest.display(), e.error))?;
                    return Ok(bytes);
                }
                Err(Attempt::Retry(msg, wait)) => {
                    last_error = msg;
                    wait
                }
                Err(Attempt::Fail(msg)) => return Err(msg),
                Err(_) => return Err("unexpected response".into()),
            },
        };
        if attempt < opts.retries {
            std::thread::sleep(wait.unwrap_or_else(|| backoff(attempt, req.url)));
        }
    }
    Err(format!("{last_error} (gave up after {} attempts)", opts.retries + 1))
}

/// A response body received into a temporary file.
struct Received {
    file: tempfile::NamedTempFile,
    sha256: String,
    total: u64,
}

/// Streams a successful response's body into a temporary file in `dir`, under the size cap and
/// within the request timeout for the whole body (a server that trickles bytes cannot hold a
/// download open past it).
fn receive(mut resp: reqwest::blocking::Response, dir: &Path, opts: &HttpOptions) -> Result<Received, Attempt> {
    let started = std::time::Instant::now();
    let announced = resp.content_length();
    if let Some(len) = announced
        && len > opts.max_bytes
    {
        return Err(Attempt::Fail(format!(
            "download of {len} bytes exceeds the cap of {} bytes (crawl.max-download-bytes)",
            opts.max_bytes
        )));
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Err(Attempt::Fail(format!("cannot create {}: {e}", dir.display())));
    }
    let mut file = tempfile::Builder::new()
        .prefix(".download-")
        .tempfile_in(dir)
        .map_err(|e| Attempt::Fail(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(Attempt::Retry(format!("download interrupted after {total} bytes: {e}"), None)),
        };
        total += n as u64;
        if total > opts.max_bytes {
            return Err(Attempt::Fail(format!("download exceeds the cap of {} bytes (crawl.max-download-bytes)", opts.max_bytes)));
        }
        if started.elapsed() > opts.timeout {
            return Err(Attempt::Retry(
                format!("the download took longer than {} s (crawl.http-timeout-secs) with {total} bytes received", opts.timeout.as_secs()),
                None,
            ));
        }
        sha2::Digest::update(&mut hasher, &buf[..n]);
        if let Err(e) = file.write_all(&buf[..n]) {
            return Err(Attempt::Fail(format!("cannot write {}: {e}", file.path().display())));
        }
    }
    if let Some(len) = announced
        && len != total
    {
        return Err(Attempt::Retry(format!("truncated body: {total} of {len} bytes"), None));
    }
    Ok(Received { file, sha256: hex::encode(sha2::Digest::finalize(hasher)), total })
}

fn try_once(client: &reqwest::blocking::Client, url: &str, target: &Target<'_>, opts: &HttpOptions) -> Attempt {
    let Target { cache, body_path, meta_path, previous, name } = *target;
    let mut req = client.get(url);
    if let Some(p) = previous {
        if let Some(e) = &p.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(lm) = &p.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
    }
    let resp = match req.send() {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Attempt::Retry("request timed out".into(), None),
        Err(e) if e.is_connect() => return Attempt::Retry(format!("cannot connect: {}", root_cause(&e)), None),
        Err(e) => return Attempt::Retry(format!("request failed: {}", root_cause(&e)), None),
    };
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_MODIFIED && previous.is_some() {
        return Attempt::NotModified;
    }
    if status.as_u16() == 429 || status.is_server_error() {
        return Attempt::Retry(format!("HTTP {status}"), retry_after(&resp));
    }
    if !status.is_success() {
        return Attempt::Fail(format!("HTTP {status}"));
    }
    let header = |h: reqwest::header::HeaderName| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    let Received { file, sha256, total } = match receive(resp, cache, opts) {
        Ok(r) => r,
        Err(a) => return a,
    };
    if let Err(e) = file.persist(body_path) {
        return Attempt::Fail(format!("cannot store download at {}: {}", body_path.display(), e.error));
    }
    let v = Validators { etag, last_modified, sha256: sha256.clone(), bytes: total };
    if let Err(e) = dasynth_core::atomic::write_json_atomic(meta_path, &v) {
        tracing::warn!(url, error = %e, "cannot remember HTTP validators");
    }
    Attempt::Done(Input {
        uri: url.to_string(),
        local: body_path.to_path_buf(),
        name: name.to_string(),
        fingerprint: format!("sha256={sha256}"),
        in_folder: false,
    })
}

/// The deepest cause of an error, which names what actually went wrong (refused, reset, DNS).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_urls() {
        assert_eq!(url_file_name("http://h/a/b.csv?x=1"), "b.csv");
        assert_eq!(url_file_name("http://h/"), "download");
    }
}

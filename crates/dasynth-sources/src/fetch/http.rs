//! HTTP(S) downloads: streamed to disk under a size cap and one deadline for the whole body,
//! retried with exponential backoff and jitter (honouring `Retry-After`), and revalidated with
//! ETag / Last-Modified on reruns so an unchanged file is not downloaded twice. Redirects follow
//! [`super::redirect`]'s policy, and every download remembers the URL its bytes came from.

use super::{FetchFailure, Fetched, Input};
use dasynth_core::ids::short_id;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// Limits for HTTP fetching.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Deadline for one request, body included.
    pub timeout: Duration,
    pub retries: u32,
    pub max_bytes: u64,
    /// Follow redirects to other hosts on private addresses (`crawl.allow-private-redirects`).
    pub allow_private_redirects: bool,
}

/// Validators remembered from the last download of a URL.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: String,
    bytes: u64,
    /// The URL the body came from, after redirects.
    #[serde(default)]
    final_url: Option<String>,
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
    install_tls();
    reqwest::blocking::Client::builder().user_agent(concat!("dasynth/", env!("CARGO_PKG_VERSION")))
}

/// Installs rustls with ring as the process's TLS provider (idempotent: a second install fails
/// harmlessly). Every HTTP client of the process, `object_store`'s included, needs it.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds the client used for every download.
pub fn client(opts: &HttpOptions) -> Result<reqwest::blocking::Client, reqwest::Error> {
    client_builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout.min(Duration::from_secs(15)))
        .redirect(super::redirect::policy(opts.allow_private_redirects))
        .build()
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
    Done(Box<Input>),
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
                out.inputs.push(*input);
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
                    final_uri: Some(v.final_url.unwrap_or_else(|| url.to_string())),
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

/// A finished download.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub bytes: u64,
    /// The URL the body came from, after redirects, as [`shown_url`] records it.
    pub final_url: String,
}

/// Downloads one file to `dest` (replacing it only once the whole body arrived), retrying
/// transient failures with backoff. Returns what arrived, or why it failed.
pub fn download(client: &reqwest::blocking::Client, req: &Request<'_>, dest: &Path, opts: &HttpOptions) -> Result<Downloaded, String> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let mut last_error = String::new();
    for attempt in 0..=opts.retries {
        let mut r = client.get(req.url);
        if let Some(t) = req.bearer {
            r = r.bearer_auth(t);
        }
        let wait = match r.send() {
            Err(e) if super::redirect::is_refused(&e) => return Err(root_cause(&e)),
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
                    let final_url = shown_url(req.url, &body.final_url);
                    body.file.persist(dest).map_err(|e| format!("cannot store the download at {}: {}", dest.display(), e.error))?;
                    return Ok(Downloaded { bytes, final_url });
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
    /// The URL the body came from, after redirects.
    final_url: String,
}

/// Streams a successful response's body into a temporary file in `dir`, under the size cap and
/// within the request timeout for the whole body (a server that trickles bytes cannot hold a
/// download open past it).
fn receive(resp: reqwest::blocking::Response, dir: &Path, opts: &HttpOptions) -> Result<Received, Attempt> {
    let final_url = resp.url().to_string();
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Err(Attempt::Fail(format!("cannot create {}: {e}", dir.display())));
    }
    let mut file = tempfile::Builder::new()
        .prefix(".download-")
        .tempfile_in(dir)
        .map_err(|e| Attempt::Fail(format!("cannot create a temporary file in {}: {e}", dir.display())))?;
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let total = pump(resp, (opts.max_bytes, "crawl.max-download-bytes"), opts, |piece| {
        sha2::Digest::update(&mut hasher, piece);
        file.write_all(piece).map_err(|e| Attempt::Fail(format!("cannot write {}: {e}", file.path().display())))
    })?;
    Ok(Received { file, sha256: hex::encode(sha2::Digest::finalize(hasher)), total, final_url })
}

/// Reads a small response body (a listing) into memory, under `cap` bytes and the same
/// deadline for the whole body as a download.
pub(crate) fn read_body(resp: reqwest::blocking::Response, cap: u64, opts: &HttpOptions) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    pump(resp, (cap, "the cap on listings"), opts, |piece| {
        body.extend_from_slice(piece);
        Ok(())
    })
    .map_err(|a| match a {
        Attempt::Retry(msg, _) | Attempt::Fail(msg) => msg,
        _ => "unexpected response".to_string(),
    })?;
    Ok(body)
}

/// Feeds a response's body to `sink` piece by piece: at most `cap` bytes (checked against the
/// announced length first; `setting` names where the cap comes from), the whole body within
/// `opts.timeout` of the first read, and as many bytes as announced. Returns the bytes read.
fn pump(
    mut resp: reqwest::blocking::Response,
    (cap, setting): (u64, &str),
    opts: &HttpOptions,
    mut sink: impl FnMut(&[u8]) -> Result<(), Attempt>,
) -> Result<u64, Attempt> {
    let started = std::time::Instant::now();
    let announced = resp.content_length();
    if let Some(len) = announced
        && len > cap
    {
        return Err(Attempt::Fail(format!("download of {len} bytes exceeds the cap of {cap} bytes ({setting})")));
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(Attempt::Retry(format!("download interrupted after {total} bytes: {e}"), None)),
        };
        total += n as u64;
        if total > cap {
            return Err(Attempt::Fail(format!("download exceeds the cap of {cap} bytes ({setting})")));
        }
        if started.elapsed() > opts.timeout {
            return Err(Attempt::Retry(
                format!("the download took longer than {} s (crawl.http-timeout-secs) with {total} bytes received", opts.timeout.as_secs()),
                None,
            ));
        }
        sink(&buf[..n])?;
    }
    if let Some(len) = announced
        && len != total
    {
        return Err(Attempt::Retry(format!("truncated body: {total} of {len} bytes"), None));
    }
    Ok(total)
}

/// The final URL of a download as the catalog records it: the requested URL when no redirect
/// happened, else where the redirects led without user info, query string or fragment (a CDN's
/// signed link carries its signature there).
pub fn shown_url(requested: &str, final_url: &str) -> String {
    if requested == final_url {
        return requested.to_string();
    }
    match reqwest::Url::parse(final_url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => final_url.to_string(),
    }
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
        Err(e) if super::redirect::is_refused(&e) => return Attempt::Fail(root_cause(&e)),
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
    let Received { file, sha256, total, final_url } = match receive(resp, cache, opts) {
        Ok(r) => r,
        Err(a) => return a,
    };
    if let Err(e) = file.persist(body_path) {
        return Attempt::Fail(format!("cannot store download at {}: {}", body_path.display(), e.error));
    }
    let final_url = shown_url(url, &final_url);
    let v = Validators { etag, last_modified, sha256: sha256.clone(), bytes: total, final_url: Some(final_url.clone()) };
    if let Err(e) = dasynth_core::atomic::write_json_atomic(meta_path, &v) {
        tracing::warn!(url, error = %e, "cannot remember HTTP validators");
    }
    Attempt::Done(Box::new(Input {
        uri: url.to_string(),
        local: body_path.to_path_buf(),
        name: name.to_string(),
        fingerprint: format!("sha256={sha256}"),
        in_folder: false,
        final_uri: Some(final_url),
    }))
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

    fn options(timeout_secs: u64, allow_private_redirects: bool) -> HttpOptions {
        HttpOptions { timeout: Duration::from_secs(timeout_secs), retries: 0, max_bytes: 1 << 20, allow_private_redirects }
    }

    #[test]
    fn a_trickling_body_is_cut_off_at_the_deadline_for_the_whole_download() {
        // 4 bytes every quarter second: each read is quick, the whole body would take a minute.
        let server = dasynth_testkit::hostile::TrickleServer::start(vec![b'1'; 1000], 4, Duration::from_millis(250));
        let dir = tempfile::tempdir().unwrap();
        let opts = options(1, false);
        let started = std::time::Instant::now();
        let out = fetch(&client(&opts).unwrap(), &server.url("/slow.csv"), dir.path(), &opts);
        let elapsed = started.elapsed();
        assert!(out.inputs.is_empty(), "{out:?}");
        let msg = &out.failures[0].message;
        assert!(msg.contains("longer than 1 s") || msg.contains("timed out"), "{msg}");
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
        // The same deadline holds for a download to a named file (Hub files).
        let req = Request { url: &server.url("/x.parquet"), bearer: None };
        let started = std::time::Instant::now();
        assert!(download(&client(&opts).unwrap(), &req, &dir.path().join("x.parquet"), &opts).is_err());
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    }

    #[test]
    fn redirects_to_another_origin_on_a_private_address_are_refused_unless_allowed() {
        use dasynth_testkit::{Reply, TestServer};
        let (origin, other) = (TestServer::start(), TestServer::start());
        other.route("/t.csv", vec![Reply::ok(b"a\n1\n".to_vec())]);
        origin.route("/r.csv", vec![Reply::status(302).header("Location", &other.url("/t.csv"))]);
        origin.route("/same.csv", vec![Reply::status(302).header("Location", "/t2.csv")]);
        origin.route("/t2.csv", vec![Reply::ok(b"a\n2\n".to_vec())]);
        let dir = tempfile::tempdir().unwrap();

        let strict = options(5, false);
        let out = fetch(&client(&strict).unwrap(), &origin.url("/r.csv"), dir.path(), &strict);
        let msg = &out.failures.first().unwrap_or_else(|| panic!("{out:?}")).message;
        assert!(msg.contains(&other.url("/t.csv")) && msg.contains("loopback") && msg.contains("crawl.allow-private-redirects"), "{msg}");
        assert_eq!((origin.hits("/r.csv"), other.hits("/t.csv")), (1, 0), "refused at once, never retried, never fetched");

        // Within the origin the user named, redirects are followed; the final URL is kept.
        let out = fetch(&client(&strict).unwrap(), &origin.url("/same.csv"), dir.path(), &strict);
        assert_eq!(out.inputs[0].final_uri.as_deref(), Some(origin.url("/t2.csv").as_str()), "{out:?}");

        let allowed = options(5, true);
        let out = fetch(&client(&allowed).unwrap(), &origin.url("/r.csv"), dir.path(), &allowed);
        assert_eq!(out.inputs[0].final_uri.as_deref(), Some(other.url("/t.csv").as_str()), "{out:?}");
        assert_eq!(std::fs::read(&out.inputs[0].local).unwrap(), b"a\n1\n");
    }

    #[test]
    fn final_urls_drop_what_a_redirect_added() {
        assert_eq!(shown_url("http://h/a.csv?x=1", "http://h/a.csv?x=1"), "http://h/a.csv?x=1");
        assert_eq!(shown_url("http://h/a.csv", "https://u:p@cdn.example/b.csv?X-Amz-Signature=s#f"), "https://cdn.example/b.csv");
    }
}

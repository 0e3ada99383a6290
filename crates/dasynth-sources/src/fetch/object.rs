//! Object stores: `s3://bucket/prefix` (Amazon S3 and the S3-compatible stores: MinIO, Ceph,
//! R2, moto) and `gs://bucket/prefix` (Google Cloud Storage), through the `object_store` crate.
//!
//! The prefix is listed recursively; the table files (by name, as for folders) that pass the
//! include/exclude globs (relative to the prefix) are downloaded into the run's cache, each
//! written to a temporary file and renamed when complete, under the HTTP stage's size cap and
//! deadline. An object downloaded earlier with the same ETag (else size and modification time)
//! is not downloaded again.
//!
//! Credentials and endpoints come from the standard environment, read by `object_store`'s
//! builders: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
//! `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` (an S3-compatible server; plain `http://` is
//! allowed for it), `AWS_PROFILE`-free instance and web-identity credentials; for GCS,
//! `GOOGLE_SERVICE_ACCOUNT` / `GOOGLE_APPLICATION_CREDENTIALS`. Without an S3 access key the
//! requests go unsigned, which public buckets accept.

use super::http::HttpOptions;
use super::{FetchFailure, Fetched, Filter, Input};
use crate::detect;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt};
use std::io::Write;
use std::path::Path;

/// The hint every listing or download failure ends with.
pub const HINT: &str = "hint: check the bucket and prefix, and the credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL for S3-compatible servers; GOOGLE_APPLICATION_CREDENTIALS for gs://)";

/// Whether a source argument names an object store.
pub fn is_object_url(uri: &str) -> bool {
    ["s3://", "s3a://", "gs://"].iter().any(|p| uri.starts_with(p))
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// The store of `url` (`s3://`, `s3a://` or `gs://`) and the prefix inside it, with credentials
/// and endpoints from the standard environment (see the module docs); `timeout` bounds each
/// request. Run folders on object storage (`dasynth_scale::remote`) open their bucket here too.
pub fn open_store(url: &url::Url, timeout: std::time::Duration) -> Result<(Box<dyn ObjectStore>, ObjectPath), String> {
    super::http::install_tls();
    let client = ClientOptions::new().with_timeout(timeout).with_connect_timeout(timeout.min(std::time::Duration::from_secs(15)));
    let store: Box<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => {
            let endpoint = env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT"));
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(url.as_str()).with_client_options(client);
            if endpoint.as_deref().is_some_and(|e| e.starts_with("http://")) {
                b = b.with_allow_http(true);
            }
            if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
                b = b.with_region("us-east-1");
            }
            if env("AWS_ACCESS_KEY_ID").is_none() {
                b = b.with_skip_signature(true);
            }
            Box::new(b.build().map_err(|e| e.to_string())?)
        }
        "gs" => Box::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .build()
                .map_err(|e| e.to_string())?,
        ),
        other => return Err(format!("unsupported scheme {other}://")),
    };
    let prefix = ObjectPath::from_url_path(url.path()).map_err(|e| e.to_string())?;
    Ok((store, prefix))
}

/// Lists and downloads the table files under an object store prefix.
pub fn fetch(uri: &str, include: &[String], exclude: &[String], cache: &Path, opts: &HttpOptions) -> Fetched {
    let mut out = Fetched::default();
    let fail = |out: &mut Fetched, uri: String, message: String| out.failures.push(FetchFailure { uri, message });
    let filter = match Filter::new(include, exclude) {
        Ok(f) => f,
        Err(e) => {
            fail(&mut out, uri.to_string(), format!("invalid include/exclude glob: {e}"));
            return out;
        }
    };
    let url = match url::Url::parse(uri) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => u,
        _ => {
            fail(&mut out, uri.to_string(), "not a bucket URL\nhint: write s3://BUCKET/PREFIX or gs://BUCKET/PREFIX".into());
            return out;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            fail(&mut out, uri.to_string(), format!("cannot start the I/O runtime: {e}"));
            return out;
        }
    };
    let (store, prefix) = match open_store(&url, opts.timeout) {
        Ok(s) => s,
        Err(e) => {
            fail(&mut out, uri.to_string(), format!("cannot open the bucket: {e}\n{HINT}"));
            return out;
        }
    };
    let bucket = url.host_str().unwrap_or_default();
    let scheme = url.scheme();
    let listed: Result<Vec<object_store::ObjectMeta>, _> = rt.block_on(store.list(Some(&prefix)).try_collect());
    let mut objects = match listed {
        Ok(o) => o,
        Err(e) => {
            fail(&mut out, uri.to_string(), format!("cannot list the bucket: {e}\n{HINT}"));
            return out;
        }
    };
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    let dir = cache.join(scheme).join(bucket);
    for meta in objects {
        let key = meta.location.to_string();
        let rel = key.strip_prefix(prefix.as_ref()).unwrap_or(&key).trim_start_matches('/');
        let rel = if rel.is_empty() { key.rsplit('/').next().unwrap_or(&key) } else { rel };
        let file_name = key.rsplit('/').next().unwrap_or(&key).to_string();
        if detect::format_from_name(detect::strip_compression_suffix(&file_name)).is_none() || !filter.accepts(rel) {
            continue;
        }
        let object_uri = format!("{scheme}://{bucket}/{key}");
        if meta.size > opts.max_bytes {
            fail(&mut out, object_uri, format!("{} bytes, over the {}-byte limit (crawl.max-download-bytes)", meta.size, opts.max_bytes));
            continue;
        }
        let fingerprint = match &meta.e_tag {
            Some(tag) => format!("etag={tag}"),
            None => format!("size={};mtime={}", meta.size, meta.last_modified.to_rfc3339()),
        };
        let local = dir.join(&key);
        let marker = dir.join(format!("{key}.dasynth-etag"));
        if local.exists() && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == fingerprint) {
            out.inputs.push(Input { uri: object_uri, local, name: file_name, fingerprint, in_folder: true, final_uri: None });
            continue;
        }
        match rt.block_on(download(store.as_ref(), &meta.location, &local, opts)) {
            Ok(()) => {
                if let Err(e) = std::fs::write(&marker, &fingerprint) {
                    tracing::warn!(uri = object_uri, error = %e, "cannot record the downloaded ETag");
                }
                out.inputs.push(Input { uri: object_uri, local, name: file_name, fingerprint, in_folder: true, final_uri: None });
            }
            Err(message) => fail(&mut out, object_uri, format!("download failed: {message}\n{HINT}")),
        }
    }
    out
}

/// Streams one object into `local` (through a temporary file in its folder, renamed when
/// complete), within the deadline and the size cap. Run folders on object storage pull their
/// files through it too.
pub async fn download(store: &dyn ObjectStore, location: &ObjectPath, local: &Path, opts: &HttpOptions) -> Result<(), String> {
    let dir = local.parent().ok_or("no parent folder")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut tmp =
        tempfile::Builder::new().prefix(".part-").tempfile_in(dir).map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    let work = async {
        let mut stream = store.get(location).await.map_err(|e| e.to_string())?.into_stream();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            written += chunk.len() as u64;
            if written > opts.max_bytes {
                return Err(format!("more than {} bytes (crawl.max-download-bytes)", opts.max_bytes));
            }
            tmp.write_all(&chunk).map_err(|e| format!("cannot write {}: {e}", local.display()))?;
        }
        Ok::<(), String>(())
    };
    match tokio::time::timeout(opts.timeout * (opts.retries + 1).max(1), work).await {
        Ok(r) => r?,
        Err(_) => return Err(format!("no complete body within {:.0}s", opts.timeout.as_secs_f64())),
    }
    tmp.persist(local).map_err(|e| format!("cannot write {}: {e}", local.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_urls_are_recognised() {
        assert!(is_object_url("s3://bucket/prefix/") && is_object_url("gs://b/x.csv") && is_object_url("s3a://b"));
        assert!(!is_object_url("https://example.org/x.csv") && !is_object_url("hf://datasets/a/b"));
    }
}

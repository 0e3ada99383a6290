//! Git LFS uploads through the Hub's batch API: ask which objects the Hub still needs, upload
//! each with one PUT (`basic`) or in parts (`multipart`: one PUT per `chunk_size` bytes to the
//! numbered part URLs, then a completion POST with the parts' ETags), then `verify`. Objects
//! the Hub already holds (an upload finished by an earlier, interrupted push) come back without
//! actions and are skipped.

use super::{Hub, HubError, JsonBody, redact};
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A file to store as an LFS object.
#[derive(Debug, Clone)]
pub struct LfsObject {
    pub sha256: String,
    pub size: u64,
    pub path: PathBuf,
}

/// What the batch API asked for one object.
#[derive(Debug, Clone)]
pub enum LfsUpload {
    /// The Hub has it.
    Present,
    Basic {
        href: String,
        header: Vec<(String, String)>,
        verify: Option<(String, Vec<(String, String)>)>,
    },
    Multipart {
        href: String,
        chunk_size: u64,
        parts: Vec<String>,
        verify: Option<(String, Vec<(String, String)>)>,
    },
}

/// A reader that counts what was read.
struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

fn header_pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

impl Hub {
    fn lfs_batch_url(&self) -> String {
        format!("{}/datasets/{}.git/info/lfs/objects/batch", self.endpoint(), self.repo())
    }

    /// Asks the batch API what to do with each object (in the order given).
    pub fn lfs_batch(&self, revision: &str, objects: &[LfsObject]) -> Result<Vec<LfsUpload>, HubError> {
        let step = "LFS batch";
        let url = self.lfs_batch_url();
        let mut out = Vec::new();
        for chunk in objects.chunks(100) {
            let body = serde_json::json!({
                "operation": "upload",
                "transfers": ["basic", "multipart"],
                "objects": chunk.iter().map(|o| serde_json::json!({"oid": o.sha256, "size": o.size})).collect::<Vec<_>>(),
                "hash_algo": "sha256",
                "ref": {"name": format!("refs/heads/{revision}")},
            });
            let rb = self
                .authed(self.http.post(&url))
                .json_body(&body)
                .header(reqwest::header::ACCEPT, "application/vnd.git-lfs+json")
                .header(reqwest::header::CONTENT_TYPE, "application/vnd.git-lfs+json");
            let resp = self.send(step, &url, rb)?;
            let v = self.json(step, &url, resp)?;
            let transfer = v.get("transfer").and_then(Value::as_str).unwrap_or("basic").to_string();
            let answers = v.get("objects").and_then(Value::as_array).cloned().unwrap_or_default();
            for o in chunk {
                let Some(a) = answers.iter().find(|a| a.get("oid").and_then(Value::as_str) == Some(o.sha256.as_str())) else {
                    return Err(HubError::Protocol { step, url: redact(&url), message: format!("no answer for object {}", o.sha256) });
                };
                if let Some(e) = a.get("error") {
                    return Err(HubError::Status {
                        step,
                        status: e.get("code").and_then(Value::as_u64).unwrap_or(0) as u16,
                        url: redact(&url),
                        message: format!("{} ({})", e.get("message").and_then(Value::as_str).unwrap_or("error"), o.path.display()),
                    });
                }
                let actions = a.get("actions");
                let verify = actions
                    .and_then(|x| x.get("verify"))
                    .and_then(|vf| Some((vf.get("href")?.as_str()?.to_string(), header_pairs(vf.get("header")))));
                let Some(upload) = actions.and_then(|x| x.get("upload")) else {
                    out.push(LfsUpload::Present);
                    continue;
                };
                let href = upload.get("href").and_then(Value::as_str).unwrap_or_default().to_string();
                let header = header_pairs(upload.get("header"));
                let chunk_size = header.iter().find(|(k, _)| k == "chunk_size").and_then(|(_, v)| v.parse::<u64>().ok());
                match (transfer.as_str(), chunk_size) {
                    ("multipart", Some(chunk_size)) if chunk_size > 0 => {
                        let mut parts: Vec<(u32, String)> =
                            header.iter().filter_map(|(k, v)| k.parse::<u32>().ok().map(|n| (n, v.clone()))).collect();
                        parts.sort();
                        let parts = parts.into_iter().map(|(_, u)| u).collect();
                        out.push(LfsUpload::Multipart { href, chunk_size, parts, verify });
                    }
                    _ => out.push(LfsUpload::Basic { href, header, verify }),
                }
            }
        }
        Ok(out)
    }

    /// Uploads one object as the batch API asked, calling `progress` with bytes sent.
    pub fn lfs_upload(&self, o: &LfsObject, how: &LfsUpload, progress: &dyn Fn(u64)) -> Result<(), HubError> {
        let step = "LFS upload";
        let io = |e| HubError::Io { step, path: o.path.clone(), source: e };
        let verify = match how {
            LfsUpload::Present => return Ok(()),
            LfsUpload::Basic { href, header, verify } => {
                let f = std::fs::File::open(&o.path).map_err(io)?;
                let mut rb = self.http.put(href);
                for (k, v) in header {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                self.put_counted(step, href, rb, f, o.size, progress)?;
                verify
            }
            LfsUpload::Multipart { href, chunk_size, parts, verify } => {
                let mut etags = Vec::new();
                for (i, part_url) in parts.iter().enumerate() {
                    let start = i as u64 * chunk_size;
                    let len = (*chunk_size).min(o.size.saturating_sub(start));
                    let mut f = std::fs::File::open(&o.path).map_err(io)?;
                    f.seek(SeekFrom::Start(start)).map_err(io)?;
                    let resp = self.put_counted("LFS multipart upload", part_url, self.http.put(part_url), f.take(len), len, progress)?;
                    let etag = resp.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    if etag.is_empty() {
                        return Err(HubError::Protocol {
                            step: "LFS multipart upload",
                            url: redact(part_url),
                            message: format!("part {} has no ETag", i + 1),
                        });
                    }
                    etags.push(serde_json::json!({"partNumber": i + 1, "etag": etag}));
                }
                let body = serde_json::json!({"oid": o.sha256, "parts": etags});
                self.send("LFS multipart completion", href, self.http.post(href).json_body(&body))?;
                verify
            }
        };
        if let Some((href, header)) = verify {
            let mut rb = self.authed(self.http.post(href)).json_body(&serde_json::json!({"oid": o.sha256, "size": o.size}));
            for (k, v) in header {
                rb = rb.header(k.as_str(), v.as_str());
            }
            self.send("LFS verify", href, rb)?;
        }
        Ok(())
    }

    /// PUTs `len` bytes from `body` on a worker thread, reporting progress from this one.
    fn put_counted<R: Read + Send + 'static>(
        &self,
        step: &'static str,
        url: &str,
        rb: reqwest::blocking::RequestBuilder,
        body: R,
        len: u64,
        progress: &dyn Fn(u64),
    ) -> Result<reqwest::blocking::Response, HubError> {
        let n = Arc::new(AtomicU64::new(0));
        let reader = Counting { inner: body, n: n.clone() };
        let rb = rb.header(reqwest::header::CONTENT_LENGTH, len).body(reqwest::blocking::Body::sized(reader, len));
        let mut reported = 0;
        let result = std::thread::scope(|scope| {
            let worker = scope.spawn(|| self.send(step, url, rb));
            while !worker.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(50));
                let now = n.load(Ordering::Relaxed).min(len);
                if now > reported {
                    progress(now - reported);
                    reported = now;
                }
            }
            worker
                .join()
                .unwrap_or_else(|_| Err(HubError::Protocol { step, url: redact(url), message: "the upload thread panicked".into() }))
        });
        if result.is_ok() && len > reported {
            progress(len - reported);
        }
        result
    }
}

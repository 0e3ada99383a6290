//! A fake Hugging Face Hub on loopback (hyper), for the crawl's `hf://` downloads and for
//! `dasynth push`, readable by Python's `huggingface_hub` and `datasets` through `HF_ENDPOINT`.
//!
//! It keeps dataset repositories in memory: branches pointing at commits, each commit a full
//! file tree (regular files with their bytes, LFS files by sha256), and an LFS object store.
//! Download endpoints: `revision`, `tree` (recursive), `HEAD`/`GET resolve` with
//! `X-Repo-Commit`, `ETag`, `X-Linked-Etag` and `X-Linked-Size`. Upload endpoints: repository
//! and branch creation, `preupload`, the LFS batch API (basic PUT, or multipart above a size
//! threshold, with completion and verify), the NDJSON commit (with `parentCommit` checked) and
//! `validate-yaml`. Writes need the token [`FakeHub::TOKEN`]; the namespace `someone-else` is
//! owned by another user.
//!
//! Any step can fail on request ([`Fault`]): an HTTP status, a connection dropped after part of
//! the request body, or a request held until the hub is dropped (so a test can kill the client
//! mid-upload); and commits with more operations than a limit are rejected as too large.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A step of the Hub protocol, for faults and hit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    CreateRepo,
    CreateBranch,
    Revision,
    Tree,
    Resolve,
    Preupload,
    LfsBatch,
    LfsPut,
    LfsPart,
    LfsComplete,
    LfsVerify,
    Commit,
    ValidateYaml,
}

/// What a fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status.
    Status(u16),
    /// Read this many bytes of the request body, then close the connection.
    DropAfter(usize),
    /// Hold the request until the hub is dropped.
    Hang,
}

/// A scripted failure of `times` requests of a step, after letting `skip` through.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub step: Step,
    pub kind: FaultKind,
    pub skip: usize,
    pub times: usize,
}

/// A file at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Regular(Vec<u8>),
    Lfs { sha256: String, size: u64 },
}

#[derive(Debug, Clone)]
struct Commit {
    files: BTreeMap<String, Entry>,
}

#[derive(Debug, Default)]
struct Repo {
    private: bool,
    branches: HashMap<String, String>,
    commits: HashMap<String, Commit>,
    /// Commits made through the commit endpoint, in order (their summaries).
    history: Vec<String>,
}

#[derive(Default)]
struct State {
    repos: HashMap<String, Repo>,
    lfs: HashMap<String, Vec<u8>>,
    parts: HashMap<String, BTreeMap<u32, Vec<u8>>>,
    faults: Vec<Fault>,
    hits: HashMap<Step, usize>,
    commit_limit: Option<usize>,
    multipart_threshold: u64,
    chunk_size: u64,
    next: u64,
}

struct Shared {
    state: Mutex<State>,
    addr: SocketAddr,
}

/// The fake Hub; stops when dropped.
pub struct FakeHub {
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Resp = Response<Full<Bytes>>;

fn respond(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

fn json(status: u16, v: serde_json::Value) -> Resp {
    let mut r = respond(status, v.to_string());
    r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
    r
}

fn error(status: u16, message: &str) -> Resp {
    json(status, serde_json::json!({"error": message}))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

/// git's blob id (sha1 of `blob {len}\0` and the content), as the Hub's tree lists it.
fn git_blob_id(b: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", b.len()).as_bytes());
    h.update(b);
    hex::encode(h.finalize())
}

impl FakeHub {
    /// The token that may write.
    pub const TOKEN: &'static str = "hf_fake_write_token";
    /// A namespace owned by another user: writes there are refused with 403.
    pub const FOREIGN: &'static str = "someone-else";

    /// Starts on a free loopback port. Panics if it cannot (test helper).
    pub fn start() -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State { multipart_threshold: u64::MAX, chunk_size: 5 << 20, ..Default::default() }),
            addr,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-hub".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                    tokio::select! {
                        _ = accept(listener, sh) => {}
                        _ = rx => {}
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("spawn fake hub");
        FakeHub { shared, shutdown: Some(tx), thread: Some(thread) }
    }

    /// The endpoint, for `HF_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails the next `times` requests of `step`.
    pub fn fail(&self, step: Step, kind: FaultKind, times: usize) {
        self.fail_after(step, 0, kind, times);
    }

    /// Lets the next `skip` requests of `step` through, then fails `times` of them.
    pub fn fail_after(&self, step: Step, skip: usize, kind: FaultKind, times: usize) {
        self.state().faults.push(Fault { step, kind, skip, times });
    }

    /// Rejects commits with more than `n` operations as too large (HTTP 413).
    pub fn limit_commit_operations(&self, n: usize) {
        self.state().commit_limit = Some(n);
    }

    /// LFS objects above `threshold` bytes go multipart, in `chunk_size` parts.
    pub fn multipart(&self, threshold: u64, chunk_size: u64) {
        let mut s = self.state();
        s.multipart_threshold = threshold;
        s.chunk_size = chunk_size.max(1);
    }

    /// Requests seen for a step.
    pub fn hits(&self, step: Step) -> usize {
        self.state().hits.get(&step).copied().unwrap_or(0)
    }

    /// Waits until `step` has been hit `n` times (or the timeout passes); true when it was.
    pub fn wait_for(&self, step: Step, n: usize, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if self.hits(step) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Commit summaries of a repository, oldest first.
    pub fn commits(&self, repo: &str) -> Vec<String> {
        self.state().repos.get(repo).map(|r| r.history.clone()).unwrap_or_default()
    }

    /// The files of a branch with their bytes (LFS content resolved).
    pub fn files(&self, repo: &str, branch: &str) -> BTreeMap<String, Vec<u8>> {
        let s = self.state();
        let Some(r) = s.repos.get(repo) else { return BTreeMap::new() };
        let Some(c) = r.branches.get(branch).and_then(|sha| r.commits.get(sha)) else { return BTreeMap::new() };
        c.files
            .iter()
            .map(|(p, e)| {
                let bytes = match e {
                    Entry::Regular(b) => b.clone(),
                    Entry::Lfs { sha256, .. } => s.lfs.get(sha256).cloned().unwrap_or_default(),
                };
                (p.clone(), bytes)
            })
            .collect()
    }

    /// LFS objects stored (uploaded, committed or not).
    pub fn lfs_objects(&self) -> usize {
        self.state().lfs.len()
    }

    /// Serves `files` as dataset `repo` on `main` (one commit), as a crawl source.
    pub fn dataset(&self, repo: &str, files: &[(&str, Vec<u8>)]) {
        let mut s = self.state();
        let mut tree = BTreeMap::new();
        for (p, b) in files {
            tree.insert(p.to_string(), Entry::Regular(b.clone()));
        }
        let sha = new_sha(&mut s);
        let r = s.repos.entry(repo.to_string()).or_default();
        r.commits.insert(sha.clone(), Commit { files: tree });
        r.branches.insert("main".into(), sha);
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn new_sha(s: &mut State) -> String {
    s.next += 1;
    let h = sha256_hex(format!("commit {}", s.next).as_bytes());
    h[..40].to_string()
}

async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            // A handler that wants the connection dropped mid-request fires `abort`.
            let abort = Arc::new(tokio::sync::Notify::new());
            let a = abort.clone();
            let svc = hyper::service::service_fn(move |req| {
                let (shared, abort) = (shared.clone(), a.clone());
                async move { Ok::<_, Infallible>(handle(&shared, req, &abort).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let conn = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(io, svc);
            tokio::select! {
                _ = conn => {}
                _ = abort.notified() => {}
            }
        });
    }
}

/// The request's path segments after a prefix, with the repository as `org/name`.
fn split_repo(rest: &str) -> Option<(String, &str)> {
    let mut it = rest.splitn(3, '/');
    let (org, name) = (it.next()?, it.next()?);
    Some((format!("{org}/{name}"), it.next().unwrap_or("")))
}

fn authorized(req: &Request<Incoming>) -> Option<bool> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    Some(h == format!("Bearer {}", FakeHub::TOKEN))
}

fn route(method: &Method, path: &str) -> Option<Step> {
    Some(match (method.as_str(), path) {
        ("POST", "/api/repos/create") => Step::CreateRepo,
        ("POST", "/api/validate-yaml") => Step::ValidateYaml,
        ("POST", p) if p.starts_with("/api/datasets/") && p.contains("/preupload/") => Step::Preupload,
        ("POST", p) if p.starts_with("/api/datasets/") && p.contains("/commit/") => Step::Commit,
        ("POST", p) if p.starts_with("/api/datasets/") && p.contains("/branch/") => Step::CreateBranch,
        ("GET", p) if p.starts_with("/api/datasets/") && p.contains("/revision/") => Step::Revision,
        ("GET", p) if p.starts_with("/api/datasets/") && p.contains("/tree/") => Step::Tree,
        ("GET" | "HEAD", p) if p.starts_with("/datasets/") && p.contains("/resolve/") => Step::Resolve,
        ("POST", p) if p.starts_with("/datasets/") && p.ends_with(".git/info/lfs/objects/batch") => Step::LfsBatch,
        ("PUT", p) if p.starts_with("/lfs-upload/") => Step::LfsPut,
        ("PUT", p) if p.starts_with("/lfs-part/") => Step::LfsPart,
        ("POST", p) if p.starts_with("/lfs-complete/") => Step::LfsComplete,
        ("POST", p) if p.starts_with("/lfs-verify/") => Step::LfsVerify,
        _ => return None,
    })
}

async fn handle(shared: &Shared, req: Request<Incoming>, abort: &tokio::sync::Notify) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let Some(step) = route(&method, &path) else { return error(404, &format!("no route {method} {path}")) };
    let fault = {
        let mut s = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        *s.hits.entry(step).or_default() += 1;
        match s.faults.iter_mut().find(|f| f.step == step && f.times > 0) {
            Some(f) if f.skip > 0 => {
                f.skip -= 1;
                None
            }
            Some(f) => {
                f.times -= 1;
                Some(f.kind)
            }
            None => None,
        }
    };
    match fault {
        Some(FaultKind::Status(code)) => return error(code, &format!("injected failure of {step:?}")),
        Some(FaultKind::Hang) => return std::future::pending::<Resp>().await,
        Some(FaultKind::DropAfter(n)) => {
            let mut body = req.into_body();
            let mut got = 0;
            while got < n {
                match body.frame().await {
                    Some(Ok(f)) => got += f.data_ref().map_or(0, |d| d.len()),
                    _ => break,
                }
            }
            abort.notify_one();
            return std::future::pending::<Resp>().await;
        }
        None => {}
    }
    let auth = authorized(&req);
    let host = shared.addr;
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(400, "cannot read the body"),
    };
    let mut s = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    // Writes need the write token.
    let writes = !matches!(step, Step::Revision | Step::Tree | Step::Resolve | Step::ValidateYaml);
    let is_lfs_storage = matches!(step, Step::LfsPut | Step::LfsPart | Step::LfsComplete);
    if writes && !is_lfs_storage && auth != Some(true) {
        return error(401, "Invalid credentials in Authorization header");
    }
    serve(&mut s, step, &method, &path, &query, &body, host)
}

fn body_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

fn resolve_rev<'a>(r: &'a Repo, rev: &str) -> Option<(String, &'a Commit)> {
    let sha = r.branches.get(rev).cloned().unwrap_or_else(|| rev.to_string());
    r.commits.get(&sha).map(|c| (sha, c))
}

fn is_lfs_path(path: &str, size: u64, sample: &[u8]) -> bool {
    let ext = path.rsplit('.').next().unwrap_or_default();
    size >= 10 << 20 || sample.contains(&0) || matches!(ext, "parquet" | "arrow" | "zip" | "gz" | "sqlite" | "xlsx" | "png")
}

fn serve(s: &mut State, step: Step, method: &Method, path: &str, query: &str, body: &[u8], host: SocketAddr) -> Resp {
    let base = format!("http://{host}");
    match step {
        Step::CreateRepo => {
            let v = body_json(body);
            let name = v.get("name").and_then(|x| x.as_str()).unwrap_or_default();
            let org = v.get("organization").and_then(|x| x.as_str()).filter(|o| !o.is_empty()).unwrap_or("test-user");
            if org == FakeHub::FOREIGN {
                return error(403, "You don't have the rights to create a dataset under this namespace");
            }
            let id = format!("{org}/{name}");
            if s.repos.contains_key(&id) {
                return error(409, "You already created this dataset repo");
            }
            let sha = new_sha(s);
            let mut files = BTreeMap::new();
            files.insert(".gitattributes".to_string(), Entry::Regular(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n".to_vec()));
            let r = s.repos.entry(id.clone()).or_default();
            r.private = v.get("private").and_then(|x| x.as_bool()).unwrap_or(false);
            r.commits.insert(sha.clone(), Commit { files });
            r.branches.insert("main".into(), sha);
            json(200, serde_json::json!({"url": format!("{base}/datasets/{id}"), "name": id}))
        }
        Step::ValidateYaml => {
            let v = body_json(body);
            let content = v.get("content").and_then(|x| x.as_str()).unwrap_or_default();
            let ok = content.starts_with("---\n") && content[4..].contains("\n---\n");
            let errors: Vec<serde_json::Value> =
                if ok { vec![] } else { vec![serde_json::json!({"message": "the card has no YAML front matter"})] };
            json(200, serde_json::json!({"errors": errors, "warnings": []}))
        }
        Step::Revision | Step::Tree | Step::Preupload | Step::Commit | Step::CreateBranch => {
            let Some((id, rest)) = split_repo(&path["/api/datasets/".len()..]) else { return error(404, "no repo") };
            let is_write = matches!(step, Step::Preupload | Step::Commit | Step::CreateBranch);
            if is_write && id.starts_with(&format!("{}/", FakeHub::FOREIGN)) {
                return error(403, "You don't have write access to this repository");
            }
            let commit_limit = s.commit_limit;
            let sha_new = new_sha(s);
            let lfs_has: std::collections::HashSet<String> = s.lfs.keys().cloned().collect();
            let Some(r) = s.repos.get_mut(&id) else { return error(404, &format!("Repository {id} not found")) };
            let (kind, rev) = rest.split_once('/').unwrap_or((rest, ""));
            let rev = percent_decode(rev);
            match (step, kind) {
                (Step::Revision, "revision") => {
                    let Some((sha, c)) = resolve_rev(r, &rev) else { return error(404, &format!("Invalid rev id: {rev}")) };
                    let siblings: Vec<_> = c.files.keys().map(|p| serde_json::json!({"rfilename": p})).collect();
                    json(
                        200,
                        serde_json::json!({"_id": id, "id": id, "sha": sha, "private": r.private, "disabled": false, "gated": false,
                            "downloads": 0, "likes": 0, "tags": [], "siblings": siblings, "lastModified": "2026-01-01T00:00:00.000Z",
                            "createdAt": "2026-01-01T00:00:00.000Z", "author": id.split('/').next()}),
                    )
                }
                (Step::Tree, "tree") => {
                    let (rev, prefix) = rev.split_once('/').map_or((rev.as_str(), ""), |(a, b)| (a, b));
                    let Some((_, c)) = resolve_rev(r, rev) else { return error(404, &format!("Invalid rev id: {rev}")) };
                    let recursive = query.contains("recursive=true") || query.contains("recursive=True") || query.contains("recursive=1");
                    let mut out = Vec::new();
                    let mut dirs = std::collections::BTreeSet::new();
                    for (p, e) in &c.files {
                        let Some(rel) = (if prefix.is_empty() { Some(p.as_str()) } else { p.strip_prefix(&format!("{prefix}/")) }) else {
                            continue;
                        };
                        let parts: Vec<&str> = rel.split('/').collect();
                        let base_prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
                        for k in 1..parts.len() {
                            if recursive || k == 1 {
                                dirs.insert(format!("{base_prefix}{}", parts[..k].join("/")));
                            }
                        }
                        if !recursive && parts.len() > 1 {
                            continue;
                        }
                        out.push(match e {
                            Entry::Regular(b) => serde_json::json!({"type": "file", "oid": git_blob_id(b), "size": b.len(), "path": p}),
                            Entry::Lfs { sha256, size } => {
                                serde_json::json!({"type": "file", "oid": git_blob_id(sha256.as_bytes()), "size": size, "path": p,
                                "lfs": {"oid": sha256, "size": size, "pointerSize": 134}})
                            }
                        });
                    }
                    let mut all: Vec<_> = dirs
                        .into_iter()
                        .map(|d| serde_json::json!({"type": "directory", "oid": "0".repeat(40), "size": 0, "path": d}))
                        .collect();
                    all.extend(out);
                    json(200, serde_json::Value::Array(all))
                }
                (Step::CreateBranch, "branch") => {
                    if r.branches.contains_key(&rev) {
                        return error(409, "Reference already exists");
                    }
                    let Some(main) = r.branches.get("main").cloned() else { return error(404, "no main") };
                    r.branches.insert(rev, main);
                    json(200, serde_json::json!({}))
                }
                (Step::Preupload, "preupload") => {
                    let v = body_json(body);
                    let files: Vec<_> = v
                        .get("files")
                        .and_then(|f| f.as_array())
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|f| {
                            use base64::Engine as _;
                            let p = f.get("path").and_then(|x| x.as_str()).unwrap_or_default();
                            let size = f.get("size").and_then(|x| x.as_u64()).unwrap_or(0);
                            let sample = base64::engine::general_purpose::STANDARD
                                .decode(f.get("sample").and_then(|x| x.as_str()).unwrap_or_default())
                                .unwrap_or_default();
                            let mode = if is_lfs_path(p, size, &sample) { "lfs" } else { "regular" };
                            serde_json::json!({"path": p, "uploadMode": mode, "shouldIgnore": false, "oid": null})
                        })
                        .collect();
                    json(200, serde_json::json!({"files": files, "commitOid": r.branches.get(&rev)}))
                }
                (Step::Commit, "commit") => {
                    let text = String::from_utf8_lossy(body);
                    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).map(|l| body_json(l.as_bytes()));
                    let Some(header) = lines.next().filter(|h| h.get("key").and_then(|k| k.as_str()) == Some("header")) else {
                        return error(400, "the first line must be the header");
                    };
                    let ops: Vec<serde_json::Value> = lines.collect();
                    if let Some(limit) = commit_limit
                        && ops.len() > limit
                    {
                        return error(413, &format!("commit too large: {} operations, at most {limit}", ops.len()));
                    }
                    let Some(head) = r.branches.get(&rev).cloned() else { return error(404, &format!("Invalid rev id: {rev}")) };
                    if let Some(parent) = header["value"].get("parentCommit").and_then(|p| p.as_str())
                        && parent != head
                    {
                        return error(412, "A commit has happened since. Please refresh and try again.");
                    }
                    let mut files = r.commits.get(&head).map(|c| c.files.clone()).unwrap_or_default();
                    for op in &ops {
                        let v = &op["value"];
                        let p = v.get("path").and_then(|x| x.as_str()).unwrap_or_default().to_string();
                        match op.get("key").and_then(|k| k.as_str()) {
                            Some("file") => {
                                use base64::Engine as _;
                                let content = v.get("content").and_then(|x| x.as_str()).unwrap_or_default();
                                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(content) else {
                                    return error(400, &format!("{p}: invalid base64"));
                                };
                                files.insert(p, Entry::Regular(bytes));
                            }
                            Some("lfsFile") => {
                                let oid = v.get("oid").and_then(|x| x.as_str()).unwrap_or_default().to_string();
                                if !lfs_has.contains(&oid) {
                                    return error(422, &format!("{p}: LFS object {oid} was never uploaded"));
                                }
                                let size = v.get("size").and_then(|x| x.as_u64()).unwrap_or(0);
                                files.insert(p, Entry::Lfs { sha256: oid, size });
                            }
                            Some("deletedFile") => {
                                files.remove(&p);
                            }
                            other => return error(400, &format!("unknown operation {other:?}")),
                        }
                    }
                    r.commits.insert(sha_new.clone(), Commit { files });
                    r.branches.insert(rev.clone(), sha_new.clone());
                    r.history.push(header["value"].get("summary").and_then(|x| x.as_str()).unwrap_or_default().to_string());
                    json(
                        200,
                        serde_json::json!({"success": true, "commitOid": sha_new, "commitUrl": format!("{base}/datasets/{id}/commit/{sha_new}"), "hookOutput": ""}),
                    )
                }
                _ => error(404, &format!("no route {method} {path}")),
            }
        }
        Step::Resolve => {
            let Some((id, rest)) = split_repo(&path["/datasets/".len()..]) else { return error(404, "no repo") };
            let Some(r) = s.repos.get(&id) else { return error(404, "Repository not found") };
            let rest = rest.strip_prefix("resolve/").unwrap_or(rest);
            let (rev, file) = rest.split_once('/').unwrap_or((rest, ""));
            let (rev, file) = (percent_decode(rev), percent_decode(file));
            let Some((sha, c)) = resolve_rev(r, &rev) else { return error(404, "Revision not found") };
            let Some(entry) = c.files.get(&file) else {
                let mut resp = error(404, "Entry not found");
                resp.headers_mut().insert("x-error-code", hyper::header::HeaderValue::from_static("EntryNotFound"));
                return resp;
            };
            let (bytes, etag, linked) = match entry {
                Entry::Regular(b) => (b.clone(), git_blob_id(b), None),
                Entry::Lfs { sha256, size } => {
                    (s.lfs.get(sha256).cloned().unwrap_or_default(), sha256.clone(), Some((sha256.clone(), *size)))
                }
            };
            let len = bytes.len();
            let mut resp = respond(200, if *method == Method::HEAD { Bytes::new() } else { Bytes::from(bytes) });
            let h = resp.headers_mut();
            let hv = |s: String| hyper::header::HeaderValue::from_str(&s).unwrap_or(hyper::header::HeaderValue::from_static(""));
            h.insert("x-repo-commit", hv(sha));
            h.insert("etag", hv(format!("\"{etag}\"")));
            h.insert("accept-ranges", hv("bytes".into()));
            if let Some((oid, size)) = linked {
                h.insert("x-linked-etag", hv(format!("\"{oid}\"")));
                h.insert("x-linked-size", hv(size.to_string()));
            }
            if *method == Method::HEAD {
                h.insert("content-length", hv(len.to_string()));
            }
            resp
        }
        Step::LfsBatch => {
            let v = body_json(body);
            let objects = v.get("objects").and_then(|o| o.as_array()).cloned().unwrap_or_default();
            let mut multipart = false;
            let mut out = Vec::new();
            for o in objects {
                let oid = o.get("oid").and_then(|x| x.as_str()).unwrap_or_default().to_string();
                let size = o.get("size").and_then(|x| x.as_u64()).unwrap_or(0);
                if s.lfs.contains_key(&oid) {
                    out.push(serde_json::json!({"oid": oid, "size": size}));
                    continue;
                }
                let verify = serde_json::json!({"href": format!("{base}/lfs-verify/{oid}"), "header": {}});
                if size > s.multipart_threshold {
                    multipart = true;
                    let n = size.div_ceil(s.chunk_size).max(1);
                    let mut header = serde_json::Map::new();
                    header.insert("chunk_size".into(), s.chunk_size.to_string().into());
                    for i in 1..=n {
                        header.insert(i.to_string(), format!("{base}/lfs-part/{oid}/{i}?X-Amz-Signature=secret").into());
                    }
                    out.push(serde_json::json!({"oid": oid, "size": size, "actions": {
                        "upload": {"href": format!("{base}/lfs-complete/{oid}?X-Amz-Signature=secret"), "header": header},
                        "verify": verify}}));
                } else {
                    out.push(serde_json::json!({"oid": oid, "size": size, "actions": {
                        "upload": {"href": format!("{base}/lfs-upload/{oid}?X-Amz-Signature=secret"), "header": {}},
                        "verify": verify}}));
                }
            }
            json(200, serde_json::json!({"transfer": if multipart { "multipart" } else { "basic" }, "objects": out, "hash_algo": "sha256"}))
        }
        Step::LfsPut => {
            let oid = path.trim_start_matches("/lfs-upload/").to_string();
            if sha256_hex(body) != oid {
                return error(400, "content does not match its oid");
            }
            s.lfs.insert(oid, body.to_vec());
            respond(200, "")
        }
        Step::LfsPart => {
            let rest = path.trim_start_matches("/lfs-part/");
            let (oid, n) = rest.split_once('/').unwrap_or((rest, "0"));
            let n: u32 = n.parse().unwrap_or(0);
            let etag = sha256_hex(body)[..32].to_string();
            s.parts.entry(oid.to_string()).or_default().insert(n, body.to_vec());
            let mut resp = respond(200, "");
            resp.headers_mut().insert(
                "etag",
                hyper::header::HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(hyper::header::HeaderValue::from_static("")),
            );
            resp
        }
        Step::LfsComplete => {
            let oid = path.trim_start_matches("/lfs-complete/").to_string();
            let v = body_json(body);
            let parts = v.get("parts").and_then(|p| p.as_array()).cloned().unwrap_or_default();
            let stored = s.parts.remove(&oid).unwrap_or_default();
            let mut content = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                let n = p.get("partNumber").and_then(|x| x.as_u64()).unwrap_or(0) as u32;
                let etag = p.get("etag").and_then(|x| x.as_str()).unwrap_or_default().trim_matches('"').to_string();
                let Some(b) = stored.get(&n).filter(|_| n as usize == i + 1) else { return error(400, &format!("part {n} missing")) };
                if sha256_hex(b)[..32] != etag {
                    return error(400, &format!("part {n}: wrong etag"));
                }
                content.extend_from_slice(b);
            }
            if sha256_hex(&content) != oid {
                return error(400, "assembled content does not match its oid");
            }
            s.lfs.insert(oid, content);
            respond(200, "")
        }
        Step::LfsVerify => {
            let oid = path.trim_start_matches("/lfs-verify/");
            let v = body_json(body);
            let size = v.get("size").and_then(|x| x.as_u64()).unwrap_or(0);
            match s.lfs.get(oid) {
                Some(b) if b.len() as u64 == size => json(200, serde_json::json!({"oid": oid, "size": size})),
                _ => error(404, "object not found"),
            }
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

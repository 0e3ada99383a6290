//! Run folders on object storage: `--out s3://bucket/prefix` (Amazon S3 and the S3-compatible
//! stores) or `gs://bucket/prefix`, with credentials from the standard environment (the same
//! builders as crawled buckets, `dasynth_sources::fetch::object::open_store`).
//!
//! # The model
//!
//! Every stage reads and writes a local folder, so a remote run folder is *staged*: a local copy
//! under the cache folder (`<cache>/remote-runs/<hash of the URL>/<shard or whole>/`, one per
//! shard so shards on one machine keep apart as on many) that is pulled from the
//! bucket before a command, pushed back while it runs (every `DASYNTH_REMOTE_SYNC_SECS`, 30 by
//! default, so a pod that dies loses at most that much finished work) and once more when it
//! ends, whether it succeeded or not. The bucket holds the same layout as a local run folder,
//! so `merge`, `export` and `report` of another machine read it like any other.
//!
//! - **Pull** lists the prefix and downloads the objects whose ETag changed since this staging
//!   copy last saw them, each into a temporary file renamed when complete, and only what the
//!   command reads from the copy ([`Reads`]: verify, export and the report stream the
//!   trajectories instead, the report skips `tables/` and `export/` too, push fetches `export/` alone). A
//!   file changed here but not in the bucket since (the work of a run that crashed before its
//!   push) is kept. A shard (`--shard I/N`) skips other shards' files (`…shard-J-of-N…`): it
//!   fetches the shared plan and its own earlier work only.
//! - **Push** uploads the files whose size or modification time changed, one object each — a
//!   single PUT, or past 32 MiB a multipart upload completed at the end — so a reader never sees
//!   half an object, and deletes the objects whose file this copy removed (a stale completion
//!   marker, say). Completion markers (`shards/*.done.json`) and the plan record
//!   (`shards/tasks-plan.json`) go last in every push, after every other changed file is in
//!   place: a marker in the bucket always means its files are there.
//! - Never synced: `cache/` (HTTP validators, the LLM response cache and spilled sandbox
//!   sessions stay with the machine; only the export's manifest travels, for push),
//!   `workspaces/` (rebuilt from `tables/` on demand), lock files and temporary files.
//!
//! Shards share the task plan through the bucket, as they share it through the plan lock on a
//! shared file system ([`crate::prepare`]): shard 0 crawls, profiles and plans, and its
//! background push publishes the plan (record last); every other shard finds the plan current
//! in the bucket, or waits until it is ([`RemoteRun::wait_for`]) and pulls it. Ground truths are
//! still computed once per run.
//!
//! Two machines never work on one scope of the run at once: before its pull a command takes the
//! lease of its scope (the whole run, or its shard) in the bucket ([`crate::lease`]), renews it
//! at every push and gives it up at the end; a second machine on the same scope is refused with
//! the holder's name, and a lease its holder stopped renewing goes stale and may be taken over.
//!
//! - **Streamed**: the commands that read trajectories without writing them (verify, export,
//!   report) leave the trajectory folders out of their pull and read them from the bucket as
//!   they go ([`crate::streamed`], through [`RemoteRun::run_dir`]); the other files they read
//!   are small next to them, or tables verify replays against and export copies.

use crate::ScaleError;
use crate::lease::{self, Lease, LeaseError};
use crate::streamed::BucketFolders;
use dasynth_core::shard::Shard;
use dasynth_sources::fetch::http::HttpOptions;
use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Files at most this large go up in one PUT; larger ones as a multipart upload.
const SINGLE_PUT_BYTES: u64 = 32 << 20;
/// The part size of a multipart upload.
const PART_BYTES: usize = 16 << 20;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Downloads of run-folder files: no size cap, the request deadline for the whole body.
const DOWNLOAD: HttpOptions = HttpOptions { timeout: REQUEST_TIMEOUT, retries: 0, max_bytes: u64::MAX, allow_private_redirects: false };
/// The staging copy's record of what it last pulled or pushed.
const MANIFEST: &str = ".dasynth-remote.json";

/// The URL of a run folder on object storage, when `out` names one.
pub fn remote_url(out: &Path) -> Option<&str> {
    out.to_str().filter(|s| dasynth_sources::fetch::object::is_object_url(s))
}

/// What a command reads of the run folder, so its pull fetches only that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Everything that travels: the stages that write trajectories (sample also verifies its
    /// own), and merge, which rewrites the run's verdicts from every shard's.
    All,
    /// Everything but the trajectory folders, which it reads from the bucket as it goes
    /// ([`RemoteRun::run_dir`]): verify, which replays them against the tables and writes
    /// verdicts.
    Verify,
    /// Everything but the trajectory folders, which it streams: export, which copies the tables its tasks name and replaces
    /// `export/` (so the files an earlier export left there are removed from the bucket too).
    Export,
    /// What the report reads: neither the crawled tables (`tables/`, usually the bulk of a run),
    /// `export/`, nor its own earlier `report/` (three files it writes anew); the trajectory
    /// folders it streams.
    Report,
    /// Only `export/` and its manifest: push.
    Push,
}

impl Reads {
    /// Whether the command reads the run-folder file `rel` from the staging copy.
    fn wants(self, rel: &str) -> bool {
        let layout = dasynth_core::layout::RunDir::new("");
        let under = |dir: PathBuf| rel.starts_with(&format!("{}/", dir.to_string_lossy()));
        let streamed = || streamed_dirs().iter().any(|d| rel.starts_with(&format!("{d}/")));
        match self {
            Reads::All => true,
            Reads::Verify | Reads::Export => !streamed(),
            Reads::Report => !streamed() && !under(layout.tables_dir()) && !under(layout.export_dir()) && !under(layout.report_dir()),
            Reads::Push => under(layout.export_dir()) || rel == export_manifest(),
        }
    }

    fn streams(self) -> bool {
        matches!(self, Reads::Verify | Reads::Export | Reads::Report)
    }
}

/// The folders the streaming commands read from the bucket, relative to the run folder: the
/// teachers' and the student's trajectories.
fn streamed_dirs() -> &'static [String] {
    static DIRS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let layout = dasynth_core::layout::RunDir::new("");
        [layout.trajectories_dir(), layout.student_trajectories_dir()].iter().map(|d| slash_path(d)).collect()
    });
    &DIRS
}

/// What one pull or push moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub files: usize,
    pub bytes: u64,
    pub deleted: usize,
}

impl std::fmt::Display for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} files ({:.1} MB)", self.files, self.bytes as f64 / 1e6)?;
        if self.deleted > 0 {
            write!(f, ", {} deleted", self.deleted)?;
        }
        Ok(())
    }
}

/// One synced file as this staging copy last saw it, here and in the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: u64,
    etag: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    url: String,
    files: BTreeMap<String, Entry>,
}

struct Store {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    manifest: Manifest,
    /// The lease this copy holds on its scope, renewed before every push.
    lease: Option<Lease>,
    /// Set when another machine took the lease over: nothing is pushed after that.
    lost: Option<String>,
}

/// A run folder on object storage and its local staging copy.
pub struct RemoteRun {
    url: String,
    local: PathBuf,
    shard: Option<Shard>,
    reads: Reads,
    rt: Arc<tokio::runtime::Runtime>,
    store: Arc<Mutex<Store>>,
    syncer: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl std::fmt::Debug for RemoteRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteRun").field("url", &self.url).field("local", &self.local).field("shard", &self.shard).finish()
    }
}

impl RemoteRun {
    /// Opens the bucket of `url` and the staging copy for it under `cache`; `shard` limits pulls
    /// to the shared files and that shard's own.
    pub fn open(url: &str, cache: &Path, shard: Option<Shard>) -> Result<Self, ScaleError> {
        let err = |message: String| ScaleError::Remote { url: url.to_string(), what: "open".into(), message };
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
            .ok_or_else(|| err("not a bucket URL (write s3://BUCKET/PREFIX or gs://BUCKET/PREFIX)".into()))?;
        let (store, prefix) = dasynth_sources::fetch::object::open_store(&parsed, REQUEST_TIMEOUT).map_err(err)?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| err(format!("no I/O runtime: {e}")))?;
        // One copy per shard: shards on one machine stay as apart as shards on many.
        let copy = shard.map_or_else(|| "whole".to_string(), |sh| sh.file_stem());
        let local = cache.join("remote-runs").join(&dasynth_core::ids::sha256_hex(url.as_bytes())[..16]).join(copy);
        std::fs::create_dir_all(&local).map_err(ScaleError::io("create", &local))?;
        let manifest = std::fs::read(local.join(MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .filter(|m| m.url == url)
            .unwrap_or_else(|| Manifest { url: url.to_string(), files: BTreeMap::new() });
        Ok(Self {
            url: url.to_string(),
            local,
            shard,
            reads: Reads::All,
            rt: Arc::new(rt),
            store: Arc::new(Mutex::new(Store { store: store.into(), prefix, manifest, lease: None, lost: None })),
            syncer: None,
        })
    }

    /// Limits what [`RemoteRun::pull`] fetches to what the command reads (everything unless
    /// told). Files the copy holds from earlier commands stay, and are pushed only if changed.
    pub fn reading(mut self, reads: Reads) -> Self {
        self.reads = reads;
        self
    }

    /// The local staging copy the stages read and write.
    pub fn local(&self) -> &Path {
        &self.local
    }

    /// The staging copy as a run folder, with the trajectory folders read from the bucket when
    /// the command streams them ([`Reads`]).
    pub fn run_dir(&self) -> dasynth_core::layout::RunDir {
        let run = dasynth_core::layout::RunDir::new(&self.local);
        if !self.reads.streams() {
            return run;
        }
        let st = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let folders = BucketFolders::new(&self.url, &self.local, st.store.clone(), st.prefix.clone(), self.rt.clone(), streamed_dirs());
        run.streaming(Arc::new(folders))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The scope this copy works on, and so the name of its lease: `whole` or `shard-I-of-N`.
    fn scope(&self) -> String {
        self.shard.map_or_else(|| "whole".to_string(), |sh| sh.file_stem())
    }

    /// Takes the lease of this copy's scope in the bucket: refused while another process holds
    /// it and renewed it within `stale_after` (unless that process ran on this machine and is
    /// gone). Held until [`RemoteRun::finish`], renewed at every push.
    pub fn acquire_lease(&mut self, stale_after: Duration) -> Result<(), ScaleError> {
        let scope = self.scope();
        let mut st = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let key = lease::key(&st.prefix, &scope);
        match self.rt.block_on(lease::acquire(st.store.as_ref(), &key, stale_after)) {
            Ok(l) => {
                st.lease = Some(l);
                Ok(())
            }
            Err(e @ LeaseError::Held { .. }) => {
                Err(ScaleError::Busy { url: self.url.clone(), scope, holder: e.to_string(), stale_secs: stale_after.as_secs() })
            }
            Err(LeaseError::Unsupported(e)) => {
                tracing::warn!(url = %self.url, error = %e, "the store does not do conditional writes: running without a lease, so nothing stops a second machine on {scope}");
                Ok(())
            }
            Err(e) => Err(ScaleError::Remote { url: self.url.clone(), what: format!("take the lease on {scope}"), message: e.to_string() }),
        }
    }

    /// Brings the staging copy up to date with the bucket.
    pub fn pull(&self) -> Result<Transfer, ScaleError> {
        let mut st = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let r = self.rt.block_on(pull(&mut st, &self.local, self.shard, self.reads));
        save_manifest(&self.local, &st.manifest);
        r.map_err(|(what, message)| ScaleError::Remote { url: self.url.clone(), what, message })
    }

    /// Uploads what changed here since the last pull or push (markers last) and deletes what
    /// was removed here.
    pub fn push(&self) -> Result<Transfer, ScaleError> {
        push_locked(&self.rt, &self.store, &self.local).map_err(|(what, message)| ScaleError::Remote {
            url: self.url.clone(),
            what,
            message,
        })
    }

    /// Pushes every `every` in a background thread until [`RemoteRun::finish`]. A failed
    /// background push is logged and tried again at the next one.
    pub fn start_sync(&mut self, every: Duration) {
        if self.syncer.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel::<()>();
        let (rt, store, local, url) = (self.rt.clone(), self.store.clone(), self.local.clone(), self.url.clone());
        let handle = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                match push_locked(&rt, &store, &local) {
                    Ok(t) if t.files + t.deleted > 0 => tracing::info!(url = %url, pushed = %t, "background push"),
                    Ok(_) => {}
                    Err((what, message)) => {
                        tracing::warn!(url = %url, what = %what, message = %message, "background push failed; trying again later")
                    }
                }
            }
        });
        self.syncer = Some((tx, handle));
    }

    /// Stops the background push and pushes what is left; the lease is given up as `self`
    /// drops.
    pub fn finish(mut self) -> Result<Transfer, ScaleError> {
        self.stop_sync();
        self.push()
    }

    /// Ends the background push, waiting for a pass in progress.
    fn stop_sync(&mut self) {
        if let Some((tx, handle)) = self.syncer.take() {
            drop(tx);
            let _ = handle.join();
        }
    }

    /// Waits until the object `rel` (a path under the run folder) exists and `ready` accepts
    /// its bytes, polling every `poll`, then pulls; `None` when `timeout` passed first.
    pub fn wait_for(
        &self,
        rel: &str,
        ready: impl Fn(&[u8]) -> bool,
        poll: Duration,
        timeout: Duration,
    ) -> Result<Option<Transfer>, ScaleError> {
        let deadline = Instant::now() + timeout;
        loop {
            let bytes = {
                let st = self.store.lock().unwrap_or_else(|p| p.into_inner());
                let key = key_of(&st.prefix, rel);
                self.rt.block_on(async { st.store.get(&key).await?.bytes().await })
            };
            match bytes {
                Ok(b) if ready(&b) => return self.pull().map(Some),
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(ScaleError::Remote { url: self.url.clone(), what: format!("read {rel}"), message: e.to_string() }),
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(poll);
        }
    }
}

impl Drop for RemoteRun {
    /// Ends the background push and gives the lease up (a command that stopped before
    /// [`RemoteRun::finish`], such as a shard that waited in vain for the plan).
    fn drop(&mut self) {
        self.stop_sync();
        let mut st = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = st.lease.take() {
            // A lease left behind goes stale on its own; not worth failing a command for.
            if let Err(e) = self.rt.block_on(l.release(st.store.as_ref())) {
                tracing::warn!(url = %self.url, error = %e, "cannot give up the run folder's lease");
            }
        }
    }
}

type Failure = (String, String);

fn failure(what: impl Into<String>) -> impl FnOnce(String) -> Failure {
    let what = what.into();
    move |message| (what, message)
}

/// The export's manifest, relative to the run folder: kept under `cache/` (so it is not part of
/// what push uploads to the Hub) but read by push, which may run on another machine.
fn export_manifest() -> &'static str {
    static REL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| dasynth_core::layout::RunDir::new("").export_manifest().to_string_lossy().into_owned());
    &REL
}

/// Whether a run-folder file travels to and from the bucket.
fn synced(rel: &str) -> bool {
    let first = rel.split('/').next().unwrap_or(rel);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel == export_manifest() || !(matches!(first, "cache" | "workspaces") || name.starts_with('.') || name.ends_with(".lock"))
}

/// Completion markers and the plan record: pushed after everything else.
fn is_marker(rel: &str) -> bool {
    rel.starts_with("shards/") && (rel.ends_with(".done.json") || rel == "shards/tasks-plan.json")
}

/// The shard a file name belongs to (`…shard-I-of-N…`).
fn shard_of(rel: &str) -> Option<Shard> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let rest = &name[name.find("shard-")?..];
    Shard::from_file_stem(&rest[..rest.find('.').unwrap_or(rest.len())])
}

/// Another shard's file, which shard `mine` neither needs nor writes.
fn foreign(rel: &str, mine: Option<Shard>) -> bool {
    matches!((mine, shard_of(rel)), (Some(m), Some(s)) if m != s)
}

/// A path relative to the run folder as the bucket names it: `/`-separated.
pub(crate) fn slash_path(rel: &Path) -> String {
    rel.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join("/")
}

pub(crate) fn key_of(prefix: &ObjectPath, rel: &str) -> ObjectPath {
    rel.split('/').filter(|p| !p.is_empty()).fold(prefix.clone(), |k, part| k.join(part))
}

pub(crate) fn rel_of(prefix: &ObjectPath, key: &ObjectPath) -> Option<String> {
    let parts: Vec<String> =
        key.prefix_match(prefix)?.map(|p| percent_encoding::percent_decode_str(p.as_ref()).decode_utf8_lossy().into_owned()).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Size and modification time of a local file.
fn state(path: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let mtime = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos() as u64;
    Some((m.len(), mtime))
}

fn save_manifest(local: &Path, m: &Manifest) {
    if let Err(e) = serde_json::to_vec(m)
        .map_err(|e| e.to_string())
        .and_then(|b| dasynth_core::atomic::write_atomic(&local.join(MANIFEST), &b).map_err(|e| e.to_string()))
    {
        tracing::warn!(folder = %local.display(), error = %e, "cannot record the staging copy's state");
    }
}

async fn pull(st: &mut Store, local: &Path, shard: Option<Shard>, reads: Reads) -> Result<Transfer, Failure> {
    let mut t = Transfer::default();
    let listed: Vec<object_store::ObjectMeta> =
        st.store.list(Some(&st.prefix)).try_collect().await.map_err(|e| ("list".to_string(), e.to_string()))?;
    let mut seen = BTreeSet::new();
    for meta in listed {
        let Some(rel) = rel_of(&st.prefix, &meta.location) else { continue };
        if !synced(&rel) || foreign(&rel, shard) || !reads.wants(&rel) {
            continue;
        }
        seen.insert(rel.clone());
        let tag = meta.e_tag.clone().unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.to_rfc3339()));
        let path = local.join(&rel);
        let unchanged = st.manifest.files.get(&rel).is_some_and(|e| e.etag.as_deref() == Some(tag.as_str()));
        if unchanged && state(&path).is_some() {
            // Unchanged in the bucket: the local file is current, or newer (kept for the push).
            continue;
        }
        dasynth_sources::fetch::object::download(st.store.as_ref(), &meta.location, &path, &DOWNLOAD)
            .await
            .map_err(failure(format!("download {rel}")))?;
        let (size, mtime_ns) = state(&path).ok_or_else(|| (format!("download {rel}"), "the file is gone".to_string()))?;
        st.manifest.files.insert(rel, Entry { size, mtime_ns, etag: Some(tag) });
        t.files += 1;
        t.bytes += size;
    }
    // Deleted in the bucket since (a marker of a shard started again elsewhere): gone here too.
    let gone: Vec<String> =
        st.manifest.files.keys().filter(|r| !seen.contains(*r) && !foreign(r, shard) && reads.wants(r)).cloned().collect();
    for rel in gone {
        let path = local.join(&rel);
        let entry = st.manifest.files.remove(&rel);
        // Only a file this copy has not changed since it last synced it.
        if entry.is_some_and(|e| state(&path) == Some((e.size, e.mtime_ns))) {
            let _ = std::fs::remove_file(&path);
            t.deleted += 1;
        }
    }
    Ok(t)
}

fn push_locked(rt: &tokio::runtime::Runtime, store: &Mutex<Store>, local: &Path) -> Result<Transfer, Failure> {
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    let r = rt.block_on(push(&mut st, local));
    save_manifest(local, &st.manifest);
    r
}

async fn push(st: &mut Store, local: &Path) -> Result<Transfer, Failure> {
    if let Some(lost) = &st.lost {
        return Err(("push".to_string(), lost.clone()));
    }
    if let Some(l) = st.lease.as_mut() {
        match l.renew(st.store.as_ref()).await {
            Ok(()) => {}
            Err(e @ LeaseError::Lost { .. }) => {
                let why = format!(
                    "the lease on this part of the run was {e}; not pushing over that machine's work\nhint: this machine stopped renewing it for longer than its stale time (DASYNTH_REMOTE_LEASE_SECS); let the other run finish"
                );
                st.lease = None;
                st.lost = Some(why.clone());
                return Err(("push".to_string(), why));
            }
            Err(e) => return Err(("renew the lease".to_string(), e.to_string())),
        }
    }
    let mut t = Transfer::default();
    let mut here = BTreeMap::new();
    for entry in walkdir::WalkDir::new(local).min_depth(1).into_iter().filter_map(Result::ok) {
        let Ok(rel) = entry.path().strip_prefix(local) else { continue };
        let rel = slash_path(rel);
        if let Some(s) = state(entry.path()).filter(|_| entry.file_type().is_file() && synced(&rel)) {
            here.insert(rel, s);
        }
    }
    // Removed here: removed there first, so a stale completion marker never outlives its run.
    let removed: Vec<String> = st.manifest.files.keys().filter(|r| !here.contains_key(*r)).cloned().collect();
    for rel in removed {
        match st.store.delete(&key_of(&st.prefix, &rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err((format!("delete {rel}"), e.to_string())),
        }
        st.manifest.files.remove(&rel);
        t.deleted += 1;
    }
    let changed = |rel: &String, s: &(u64, u64)| st.manifest.files.get(rel).is_none_or(|e| (e.size, e.mtime_ns) != *s);
    let (markers, data): (Vec<_>, Vec<_>) =
        here.iter().filter(|&(rel, s)| changed(rel, s)).map(|(r, s)| (r.clone(), *s)).partition(|(rel, _)| is_marker(rel));
    for (rel, (size, mtime_ns)) in data.into_iter().chain(markers) {
        let etag = upload(st.store.as_ref(), &key_of(&st.prefix, &rel), &local.join(&rel), size)
            .await
            .map_err(failure(format!("upload {rel}")))?;
        st.manifest.files.insert(rel, Entry { size, mtime_ns, etag });
        t.files += 1;
        t.bytes += size;
    }
    Ok(t)
}

/// One file as one object; the ETag the store gave it.
async fn upload(store: &dyn ObjectStore, key: &ObjectPath, path: &Path, size: u64) -> Result<Option<String>, String> {
    let read_err = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    if size <= SINGLE_PUT_BYTES {
        let bytes = std::fs::read(path).map_err(read_err)?;
        return store.put(key, PutPayload::from(bytes)).await.map(|r| r.e_tag).map_err(|e| e.to_string());
    }
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let mut w = WriteMultipart::new_with_chunk_size(store.put_multipart(key).await.map_err(|e| e.to_string())?, PART_BYTES);
    let mut buf = vec![0u8; PART_BYTES];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = w.abort().await;
                return Err(read_err(e));
            }
        };
        if let Err(e) = w.wait_for_capacity(4).await {
            return Err(e.to_string());
        }
        w.write(&buf[..n]);
    }
    w.finish().await.map(|r| r.e_tag).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_travels_and_in_which_order() {
        for rel in [
            "catalog.parquet",
            "tables/ab.csv",
            "trajectories/shard-0001-of-0004.jsonl",
            "shards/tasks-plan.json",
            "export/README.md",
            "cache/export-manifest.json",
        ] {
            assert!(synced(rel), "{rel}");
        }
        for rel in [
            "cache/llm.sqlite",
            "workspaces/t1/a.csv",
            ".dasynth.lock",
            "shards/prepare.lock",
            "stats/.tmp-x",
            ".dasynth-remote.json",
            ".dasynth-locks/whole.lock",
        ] {
            assert!(!synced(rel), "{rel}");
        }
        // What a command reads: export all but the trajectories (streamed), the report neither
        // those nor the tables, the export or its own earlier files, push the export alone.
        for (rel, export, report, push) in [
            ("tables/ab.csv", true, false, false),
            ("trajectories/shard-0001-of-0004.jsonl", false, false, false),
            ("student/trajectories/shard-0001-of-0004.jsonl", false, false, false),
            ("student/verdicts.parquet", true, true, false),
            ("trajectoriesque/x.jsonl", true, true, false),
            ("outputs/k/fig.png", true, true, false),
            ("report/report.json", true, false, false),
            ("stats/report.json", true, true, false),
            ("export/data/sft/train-00000.parquet", true, false, true),
            ("cache/export-manifest.json", true, true, true),
        ] {
            assert!(Reads::All.wants(rel));
            assert_eq!((Reads::Export.wants(rel), Reads::Report.wants(rel), Reads::Push.wants(rel)), (export, report, push), "{rel}");
        }
        assert!(is_marker("shards/verify-shard-0000-of-0002.done.json") && is_marker("shards/tasks-plan.json"));
        assert!(!is_marker("shards/verify-shard-0000-of-0002.claim.json") && !is_marker("verdicts.parquet"));
    }

    #[test]
    fn a_shard_skips_only_other_shards_files() {
        let mine = Shard::parse("1/4").ok();
        assert_eq!(shard_of("stats/verify-shard-0001-of-0004.json"), mine);
        assert!(!foreign("trajectories/shard-0001-of-0004.jsonl", mine));
        assert!(foreign("trajectories/shard-0002-of-0004.jsonl", mine));
        assert!(foreign("shards/trajectories-shard-0000-of-0004.done.json", mine));
        assert!(!foreign("tasks.parquet", mine) && !foreign("shards/tasks-plan.json", mine));
        assert!(!foreign("trajectories/shard-0002-of-0004.jsonl", None), "merge pulls every shard");
    }

    #[test]
    fn keys_and_relative_paths_round_trip() {
        let prefix = ObjectPath::from("runs/r1");
        for rel in ["catalog.parquet", "tasks/files/t/my data [1].csv", "stats/verify.json"] {
            assert_eq!(rel_of(&prefix, &key_of(&prefix, rel)).as_deref(), Some(rel));
        }
        assert_eq!(rel_of(&prefix, &ObjectPath::from("runs/r10/x")), None);
    }

    #[test]
    fn only_bucket_urls_are_remote() {
        assert_eq!(remote_url(Path::new("s3://b/runs/r1")), Some("s3://b/runs/r1"));
        assert_eq!(remote_url(Path::new("gs://b/r")), Some("gs://b/r"));
        assert_eq!(remote_url(Path::new("runs/r1")), None);
    }
}

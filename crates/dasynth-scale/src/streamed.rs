//! The trajectory folders of a run folder on object storage, read straight from the bucket
//! ([`BucketFolders`], a [`JsonlFolders`]): the commands that read trajectories without writing
//! them (verify, export, report) leave them out of their pull and stream them instead, so the
//! machine never stores them.
//!
//! A file is read in ranges of [`RANGE_BYTES`], each a request of its own (no connection held
//! open while the stage works on what it read, so a slow stage never outlives a request's
//! deadline), fetched one range ahead by a reader thread so the network and the parsing
//! overlap. Every range asks for the version the listing saw (`If-Match` on its ETag): an object
//! replaced while it is read fails the read, naming it, rather than mixing two versions.

use crate::remote::{key_of, rel_of, slash_path};
use dasynth_core::folders::{JsonlFolders, Local};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes per ranged request.
pub const RANGE_BYTES: u64 = 8 << 20;

/// An object as the listing saw it.
#[derive(Debug, Clone)]
struct Seen {
    key: ObjectPath,
    size: u64,
    etag: Option<String>,
}

/// Some folders of a staged run folder, read from its bucket; every other path from the local
/// staging copy.
#[derive(Debug)]
pub struct BucketFolders {
    url: String,
    /// The staging copy the stage's paths point into.
    local: PathBuf,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    rt: Arc<tokio::runtime::Runtime>,
    /// The streamed folders, as local paths.
    dirs: Vec<PathBuf>,
    listed: Mutex<HashMap<PathBuf, Seen>>,
    range_bytes: u64,
}

impl BucketFolders {
    /// `dirs` (folders relative to the run folder, `/`-separated) are read from the bucket at
    /// `prefix`; `local` is the staging copy whose paths the stage names.
    pub(crate) fn new(
        url: &str,
        local: &Path,
        store: Arc<dyn ObjectStore>,
        prefix: ObjectPath,
        rt: Arc<tokio::runtime::Runtime>,
        dirs: &[String],
    ) -> Self {
        Self {
            url: url.trim_end_matches('/').to_string(),
            local: local.to_path_buf(),
            store,
            prefix,
            rt,
            dirs: dirs.iter().map(|d| local.join(d)).collect(),
            listed: Mutex::new(HashMap::new()),
            range_bytes: RANGE_BYTES,
        }
    }

    /// Whether `dir` is one of the folders read from the bucket.
    fn streams(&self, dir: &Path) -> bool {
        self.dirs.iter().any(|d| d == dir)
    }

    /// The path of `path` (under the staging copy) relative to the run folder, `/`-separated.
    fn rel(&self, path: &Path) -> String {
        slash_path(path.strip_prefix(&self.local).unwrap_or(path))
    }

    fn object_url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.url)
    }
}

impl JsonlFolders for BucketFolders {
    fn files(&self, dir: &Path) -> io::Result<Option<Vec<PathBuf>>> {
        if !self.streams(dir) {
            return Local.files(dir);
        }
        let rel = self.rel(dir);
        let key = key_of(&self.prefix, &rel);
        let listed = self
            .rt
            .block_on(self.store.list_with_delimiter(Some(&key)))
            .map_err(|e| io::Error::other(format!("cannot list {}: {e}", self.object_url(&rel))))?;
        let mut seen = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        let mut files = Vec::new();
        for meta in listed.objects {
            let Some(rel) = rel_of(&self.prefix, &meta.location) else { continue };
            if !rel.ends_with(".jsonl") {
                continue;
            }
            let path = self.local.join(&rel);
            seen.insert(path.clone(), Seen { key: meta.location, size: meta.size, etag: meta.e_tag });
            files.push(path);
        }
        files.sort();
        Ok((!files.is_empty()).then_some(files))
    }

    fn open(&self, file: &Path) -> io::Result<Box<dyn Read + Send>> {
        if !file.parent().is_some_and(|p| self.streams(p)) {
            return Local.open(file);
        }
        let rel = self.rel(file);
        let url = self.object_url(&rel);
        let known = self.listed.lock().unwrap_or_else(|p| p.into_inner()).get(file).cloned();
        let seen = match known {
            Some(s) => s,
            None => {
                let key = key_of(&self.prefix, &rel);
                let meta = self.rt.block_on(self.store.head(&key)).map_err(|e| io::Error::other(format!("{url}: {e}")))?;
                Seen { key, size: meta.size, etag: meta.e_tag }
            }
        };
        Ok(Box::new(RangeReader::start(url, seen, self.range_bytes, self.store.clone(), self.rt.clone())))
    }
}

/// Reads one object in ranges, one range ahead.
struct RangeReader {
    ranges: Receiver<io::Result<bytes::Bytes>>,
    chunk: bytes::Bytes,
    done: bool,
}

impl RangeReader {
    fn start(url: String, seen: Seen, range_bytes: u64, store: Arc<dyn ObjectStore>, rt: Arc<tokio::runtime::Runtime>) -> Self {
        // One range waits in the channel while the next is fetched: at most three in memory.
        let (tx, rx) = sync_channel(1);
        let spawned = std::thread::Builder::new().name("dasynth-stream".into()).spawn({
            let (tx, url) = (tx.clone(), url.clone());
            move || {
                let mut at = 0u64;
                while at < seen.size {
                    let end = (at + range_bytes).min(seen.size);
                    let got = fetch(&url, &seen, at..end, store.as_ref(), &rt);
                    let failed = got.is_err();
                    if tx.send(got).is_err() || failed {
                        return; // the reader was dropped, or the error is delivered
                    }
                    at = end;
                }
            }
        });
        if let Err(e) = spawned {
            let _ = tx.send(Err(io::Error::other(format!("no reader thread for {url}: {e}"))));
        }
        Self { ranges: rx, chunk: bytes::Bytes::new(), done: false }
    }
}

/// One range of the object, exactly as long as asked, of the version the listing saw.
fn fetch(
    url: &str,
    seen: &Seen,
    range: std::ops::Range<u64>,
    store: &dyn ObjectStore,
    rt: &tokio::runtime::Runtime,
) -> io::Result<bytes::Bytes> {
    let (at, end) = (range.start, range.end);
    let options = GetOptions { range: Some(GetRange::Bounded(range)), if_match: seen.etag.clone(), ..Default::default() };
    let got = rt.block_on(async { store.get_opts(&seen.key, options).await?.bytes().await }).map_err(|e| {
        let hint = match e {
            object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. } => {
                "\nhint: the object changed or went away while it was read; run the command again once the run folder is no longer being written"
            }
            _ => "",
        };
        io::Error::other(format!("{url}: bytes {at}..{end}: {e}{hint}"))
    })?;
    if got.len() as u64 != end - at {
        let message = format!("{url}: asked for bytes {at}..{end}, got {}", got.len());
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
    }
    Ok(got)
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.ranges.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    // The reader thread sent every range and ended.
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    fn setup(range_bytes: u64) -> (tempfile::TempDir, Arc<InMemory>, BucketFolders) {
        let local = tempfile::tempdir().unwrap();
        let store = Arc::new(InMemory::new());
        let rt = Arc::new(tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap());
        let mut folders =
            BucketFolders::new("mem://b/run/", local.path(), store.clone(), ObjectPath::from("run"), rt, &["trajectories".to_string()]);
        folders.range_bytes = range_bytes;
        (local, store, folders)
    }

    fn put(store: &InMemory, key: &str, bytes: &[u8]) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(store.put(&ObjectPath::from(key), PutPayload::from(bytes.to_vec()))).unwrap();
    }

    #[test]
    fn streamed_files_are_listed_from_the_bucket_and_read_whole_across_ranges() {
        let (local, store, folders) = setup(7);
        let body: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).chain(*b"\n").collect();
        put(&store, "run/trajectories/b.jsonl", &body);
        put(&store, "run/trajectories/a.jsonl", b"{}\n");
        put(&store, "run/trajectories/notes.txt", b"x");
        put(&store, "run/trajectories/deeper/c.jsonl", b"x");
        let dir = local.path().join("trajectories");
        let files = folders.files(&dir).unwrap().unwrap();
        assert_eq!(files, [dir.join("a.jsonl"), dir.join("b.jsonl")]);
        let mut read = Vec::new();
        folders.open(&files[1]).unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, body);
        // An empty object, and one the listing did not see (a HEAD first).
        put(&store, "run/trajectories/empty.jsonl", b"");
        let mut read = Vec::new();
        folders.open(&dir.join("empty.jsonl")).unwrap().read_to_end(&mut read).unwrap();
        assert!(read.is_empty());
        // A streamed folder the bucket lacks, and a folder that is not streamed: the local one.
        assert!(folders.files(&local.path().join("student/trajectories")).unwrap().is_none());
        std::fs::create_dir_all(local.path().join("other")).unwrap();
        std::fs::write(local.path().join("other/x.jsonl"), "local").unwrap();
        assert_eq!(folders.files(&local.path().join("other")).unwrap().unwrap(), [local.path().join("other/x.jsonl")]);
    }

    #[test]
    fn an_object_replaced_while_it_is_read_fails_the_read_naming_it() {
        let (local, store, folders) = setup(4);
        put(&store, "run/trajectories/a.jsonl", &[b'x'; 64]);
        let file = local.path().join("trajectories/a.jsonl");
        folders.files(file.parent().unwrap()).unwrap();
        let mut reader = folders.open(&file).unwrap();
        let mut first = [0u8; 4];
        reader.read_exact(&mut first).unwrap();
        put(&store, "run/trajectories/a.jsonl", &[b'y'; 64]);
        let mut rest = Vec::new();
        let err = reader.read_to_end(&mut rest).unwrap_err().to_string();
        assert!(err.contains("mem://b/run/trajectories/a.jsonl") && err.contains("hint:"), "{err}");
        // A file gone between the listing and the read.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(store.delete(&ObjectPath::from("run/trajectories/a.jsonl"))).unwrap();
        let err = folders.open(&file).unwrap().read_to_end(&mut rest).unwrap_err().to_string();
        assert!(err.contains("a.jsonl") && err.contains("hint:"), "{err}");
    }
}

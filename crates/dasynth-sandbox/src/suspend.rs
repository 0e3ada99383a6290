//! Suspended sessions: a guest's state, out of resident memory while it waits.
//!
//! A session's whole guest state is its linear memory, and that memory starts as a copy-on-write
//! mapping of the snapshot's image: only the pages the guest wrote differ from it. Suspending
//! reads the kernel's page table for the memory (`/proc/self/pagemap`): a page that is present
//! and no longer backed by the image (or the shared zero page), or swapped out, was written.
//! Each such page is kept as its XOR with the same page of the image (read from a pristine
//! instance the sandbox keeps): on a page of objects the snapshot already held CPython mostly
//! changes reference counts, so the difference is mostly zeros, and a page equal to the image is
//! left out. The differences are compressed with lz4, a chunk of pages at a time (kept as they
//! are where lz4 barely shrinks them), into an [`Image`] as they are found; the store is
//! dropped (its memory goes back to the kernel) and only its host data — the pipes, the
//! limits, the ledger, and the WASI context if the guest holds descriptors open (otherwise it
//! is dropped too and built again on resume) — is kept.
//! Resuming instantiates a fresh copy-on-write instance, grows its memory to the saved size and
//! writes the saved pages back; the session keeps that image while it runs, so that its next
//! suspension copies the chunks its cells did not change. The only other mutable wasm state,
//! the shadow-stack pointer global, is the same at the end of every turn as in the snapshot,
//! and the function table cannot change, so the resumed guest runs exactly as if it had never
//! stopped.
//!
//! Images are kept in a [`Vault`]: in memory up to its budget, in files of its spill folder past
//! it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::error::SandboxError;
use crate::memory::page_size;

const MAGIC: &[u8; 8] = b"dasyimg5";
/// Pages compressed together: one lz4 block of at most 64 KiB, lz4's own window, so a chunk
/// loses nothing to its neighbours and a resume decompresses into a buffer that stays in cache.
const CHUNK_PAGES: usize = 16;
/// A chunk whose lz4 block is at least this share of its differences is kept as they are.
/// Those are heap pages of fresh objects (a table's strings, say): lz4 shrinks them by half at
/// best, and decodes them at about 1 GB/s — measured on a session that read a 1 MB CSV, the
/// 34% of its chunks in this band took 4.1 of the 5.3 ms lz4 needed for all of them — where a
/// copy runs ten times faster. The image grows by what lz4 would have saved on them.
const RAW_FROM: f64 = 0.4;
/// The flag, in a record's page count, of a chunk kept as its differences.
const RAW: u32 = 1 << 31;

fn pagemap() -> Result<&'static File, String> {
    static MAP: OnceLock<Result<File, String>> = OnceLock::new();
    MAP.get_or_init(|| File::open("/proc/self/pagemap").map_err(|e| format!("cannot read /proc/self/pagemap: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// The pages of `mem` that differ from what a fresh instance maps there: written (anonymous),
/// or swapped out. Pages mapped from the image and never written, and pages never touched, are
/// left out.
pub(crate) fn written_pages(mem: &[u8]) -> Result<Vec<usize>, String> {
    use std::os::unix::fs::FileExt;
    let page = page_size();
    let base = mem.as_ptr() as usize;
    if !base.is_multiple_of(page) {
        return Err("the guest memory is not page aligned".into());
    }
    let n = mem.len() / page;
    let map = pagemap()?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 8 * 4096];
    let mut first = 0;
    while first < n {
        let count = (n - first).min(4096);
        let bytes = &mut buf[..count * 8];
        map.read_exact_at(bytes, ((base / page + first) * 8) as u64).map_err(|e| format!("reading /proc/self/pagemap: {e}"))?;
        for (i, e) in bytes.chunks_exact(8).enumerate() {
            let e = u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]);
            let (present, swapped, file) = (e >> 63 & 1 == 1, e >> 62 & 1 == 1, e >> 61 & 1 == 1);
            if swapped || (present && !file) {
                out.push(first + i);
            }
        }
        first += count;
    }
    Ok(out)
}

/// `out = a ^ b`, where a missing `b` is zeros.
fn xor_into(out: &mut [u8], a: &[u8], b: Option<&[u8]>) {
    match b {
        Some(b) => {
            for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
                *o = x ^ y;
            }
        }
        None => out.copy_from_slice(a),
    }
}

fn is_zero(p: &[u8]) -> bool {
    let (head, body, tail) = unsafe {
        // SAFETY: any bit pattern is a valid u128; the slice is only read.
        p.align_to::<u128>()
    };
    head.iter().all(|b| *b == 0) && body.iter().all(|w| *w == 0) && tail.iter().all(|b| *b == 0)
}

/// A suspended guest memory: its size and the written pages, compressed.
///
/// The blob is `MAGIC`, the number of kept pages (u32, little-endian) and their numbers (u32
/// each), then one record per chunk of up to [`CHUNK_PAGES`] of those pages, in the same order:
/// a hash of the pages' contents (xxh3, 128 bits), how many pages it holds (u32), the compressed
/// length (u32) and an lz4 block holding each page XOR the image's page — or, with the
/// [`RAW`] bit set in the page count, those differences themselves ([`RAW_FROM`]). The page
/// numbers come first so that a resume can map every page it will write before it writes any.
///
/// lz4 rather than zstd: CPython's heap differences shrink about 3× instead of 5×, but both
/// directions run three to four times faster, and a 20 s teacher suspends and resumes a session
/// at every turn. For the same reason a session keeps its last image while it runs: the next
/// suspension hashes each of that image's chunks again and copies the compressed bytes of those
/// whose pages the cell did not change, so it only compresses what changed. (A guest could
/// craft a page that keeps its chunk's hash; it would only undo its own write.)
#[derive(Debug)]
pub(crate) struct Image {
    /// Bytes of linear memory.
    pub(crate) memory_bytes: usize,
    blob: Vec<u8>,
    /// Pages kept.
    pub(crate) pages: usize,
    /// Chunks copied from the image before this one, and chunks compressed.
    pub(crate) reused_chunks: usize,
    pub(crate) new_chunks: usize,
}

/// One chunk of an image: which of its page numbers it holds, the hash of their contents, its
/// lz4 block (or its differences, when `raw`).
struct Record<'a> {
    pages: std::ops::Range<usize>,
    hash: u128,
    block: &'a [u8],
    raw: bool,
}

/// The page numbers of an image and its chunks, checked against a memory of `memory_pages`.
fn parse(blob: &[u8], memory_pages: usize) -> Result<(Vec<usize>, Vec<Record<'_>>), String> {
    let bad = |what: &str| format!("the suspended image is damaged: {what}");
    let body = blob.strip_prefix(MAGIC.as_slice()).ok_or_else(|| bad("header"))?;
    let (count, body) = body.split_first_chunk::<4>().ok_or_else(|| bad("header"))?;
    let count = u32::from_le_bytes(*count) as usize;
    if count > memory_pages {
        return Err(bad("page count"));
    }
    let (numbers, mut at) = body.split_at_checked(count * 4).ok_or_else(|| bad("short page list"))?;
    let numbers: Vec<usize> = numbers.chunks_exact(4).map(|n| u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize).collect();
    if numbers.iter().any(|&i| i >= memory_pages) {
        return Err(bad("page out of range"));
    }
    let mut chunks = Vec::with_capacity(count.div_ceil(CHUNK_PAGES));
    let mut first = 0;
    while first < count {
        let (hash, rest) = at.split_first_chunk::<16>().ok_or_else(|| bad("short chunk"))?;
        let (pages, rest) = rest.split_first_chunk::<4>().ok_or_else(|| bad("short chunk"))?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(|| bad("short chunk"))?;
        let (block, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize).ok_or_else(|| bad("short chunk"))?;
        let pages = u32::from_le_bytes(*pages);
        let (raw, pages) = (pages & RAW != 0, (pages & !RAW) as usize);
        if pages == 0 || pages > CHUNK_PAGES || first + pages > count || (raw && block.len() != pages * page_size()) {
            return Err(bad("chunk size"));
        }
        chunks.push(Record { pages: first..first + pages, hash: u128::from_le_bytes(*hash), block, raw });
        first += pages;
        at = rest;
    }
    if !at.is_empty() {
        return Err(bad("bytes past the end"));
    }
    Ok((numbers, chunks))
}

/// The hash a chunk record carries: of the pages' contents, in order.
fn hash_pages(mem: &[u8], pages: &[usize], page: usize) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for &i in pages {
        h.update(&mem[i * page..(i + 1) * page]);
    }
    h.digest128()
}

/// Builds an image's blob, a chunk at a time.
struct Writer {
    numbers: Vec<u32>,
    chunks: Vec<u8>,
    out: Vec<u8>,
}

impl Writer {
    fn new(page: usize) -> Result<Self, String> {
        let bound = lz4::block::compress_bound(CHUNK_PAGES * page).map_err(|e| format!("compressing the session's memory: {e}"))?;
        Ok(Writer { numbers: Vec::new(), chunks: Vec::new(), out: vec![0u8; bound] })
    }

    /// A chunk of `pages` copied as it was.
    fn copy(&mut self, pages: &[usize], hash: u128, block: &[u8], raw: bool) -> Result<(), String> {
        push_record(&mut self.numbers, &mut self.chunks, pages, hash, block, raw)
    }

    /// A chunk of `pages`, whose differences from the image are `deltas`.
    fn compress(&mut self, pages: &[usize], hash: u128, deltas: &[u8]) -> Result<(), String> {
        let n = lz4::block::compress_to_buffer(deltas, None, false, &mut self.out)
            .map_err(|e| format!("compressing the session's memory: {e}"))?;
        if n as f64 >= deltas.len() as f64 * RAW_FROM {
            return push_record(&mut self.numbers, &mut self.chunks, pages, hash, deltas, true);
        }
        push_record(&mut self.numbers, &mut self.chunks, pages, hash, &self.out[..n], false)
    }

    fn finish(self) -> Vec<u8> {
        let mut blob = Vec::with_capacity(MAGIC.len() + 4 + self.numbers.len() * 4 + self.chunks.len());
        blob.extend_from_slice(MAGIC);
        blob.extend_from_slice(&(self.numbers.len() as u32).to_le_bytes());
        for n in &self.numbers {
            blob.extend_from_slice(&n.to_le_bytes());
        }
        blob.extend_from_slice(&self.chunks);
        blob
    }
}

/// Appends one chunk record: its page numbers to `numbers`, the record itself to `chunks`.
fn push_record(numbers: &mut Vec<u32>, chunks: &mut Vec<u8>, pages: &[usize], hash: u128, block: &[u8], raw: bool) -> Result<(), String> {
    for &i in pages {
        numbers.push(u32::try_from(i).map_err(|_| "guest memory too large".to_string())?);
    }
    chunks.extend_from_slice(&hash.to_le_bytes());
    chunks.extend_from_slice(&(pages.len() as u32 | if raw { RAW } else { 0 }).to_le_bytes());
    chunks.extend_from_slice(&(block.len() as u32).to_le_bytes());
    chunks.extend_from_slice(block);
    Ok(())
}

impl Image {
    /// Captures how a guest memory differs from `pristine`, the memory of a fresh instance
    /// (zeros past its end). `previous` is the image the memory was last restored from, if
    /// any: its chunks whose pages still hash the same are copied instead of compressed.
    pub(crate) fn capture(mem: &[u8], pristine: &[u8], previous: Option<&Image>) -> Result<Image, String> {
        let page = page_size();
        let memory_pages = mem.len() / page;
        let written = written_pages(mem)?;
        let mut w = Writer::new(page)?;
        let (mut reused_chunks, mut new_chunks) = (0, 0);
        // Pages whose chunk was copied.
        let mut covered = vec![0u64; memory_pages.div_ceil(64)];
        if let Some(previous) = previous.filter(|p| p.memory_bytes <= mem.len()) {
            let (numbers, chunks) = parse(&previous.blob, previous.memory_bytes / page)?;
            for Record { pages, hash, block, raw } in chunks {
                let pages = &numbers[pages];
                if hash_pages(mem, pages, page) == hash {
                    w.copy(pages, hash, block, raw)?;
                    for &i in pages {
                        covered[i / 64] |= 1 << (i % 64);
                    }
                    reused_chunks += 1;
                }
            }
        }
        let mut deltas = vec![0u8; CHUNK_PAGES * page];
        let mut group = Vec::with_capacity(CHUNK_PAGES);
        let mut flush = |w: &mut Writer, group: &mut Vec<usize>, deltas: &[u8]| -> Result<(), String> {
            w.compress(group, hash_pages(mem, group, page), &deltas[..group.len() * page])?;
            group.clear();
            new_chunks += 1;
            Ok(())
        };
        for &i in &written {
            if covered[i / 64] >> (i % 64) & 1 == 1 {
                continue;
            }
            let k = group.len();
            let delta = &mut deltas[k * page..(k + 1) * page];
            xor_into(delta, &mem[i * page..(i + 1) * page], pristine.get(i * page..(i + 1) * page));
            if is_zero(delta) {
                // The page is as a fresh instance maps it.
                continue;
            }
            group.push(i);
            if group.len() == CHUNK_PAGES {
                flush(&mut w, &mut group, &deltas)?;
            }
        }
        if !group.is_empty() {
            flush(&mut w, &mut group, &deltas)?;
        }
        let pages = w.numbers.len();
        Ok(Image { memory_bytes: mem.len(), blob: w.finish(), pages, reused_chunks, new_chunks })
    }

    /// Compressed bytes.
    pub(crate) fn len(&self) -> usize {
        self.blob.len()
    }

    /// Writes the pages back into `mem`, a fresh instance's memory already grown to
    /// `memory_bytes`, whose image is `pristine` (zeros past its end). Every page to be written
    /// is mapped first, a run at a time; then each chunk is decompressed into a buffer the
    /// thread keeps and its pages XORed into place.
    pub(crate) fn restore(&self, mem: &mut [u8], pristine: &[u8]) -> Result<(), String> {
        thread_local! {
            static CHUNK: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let page = page_size();
        let bad = |what: &str| format!("the suspended image is damaged: {what}");
        if mem.len() != self.memory_bytes {
            return Err(bad("wrong size"));
        }
        let (numbers, chunks) = parse(&self.blob, mem.len() / page)?;
        populate(mem, &numbers, page);
        CHUNK.with_borrow_mut(|chunk| {
            chunk.resize(CHUNK_PAGES * page, 0);
            for Record { pages, block, raw, .. } in chunks {
                let group = &numbers[pages];
                let size = group.len() * page;
                let deltas = if raw {
                    block
                } else {
                    let n =
                        lz4::block::decompress_to_buffer(block, Some(size as i32), &mut chunk[..size]).map_err(|e| bad(&e.to_string()))?;
                    if n != size {
                        return Err(bad("short chunk"));
                    }
                    &chunk[..size]
                };
                for (k, &i) in group.iter().enumerate() {
                    // Written, never read first: a read would map the image's page and the write
                    // then fault a second time to copy it.
                    xor_into(&mut mem[i * page..(i + 1) * page], &deltas[k * page..(k + 1) * page], pristine.get(i * page..(i + 1) * page));
                }
            }
            Ok(())
        })
    }
}

/// Asks the kernel to map every page the image will write, a run of consecutive pages per call
/// (`MADV_POPULATE_WRITE`), instead of taking one write fault per page. Best effort: on a
/// kernel without it (before Linux 5.14) the writes fault as before.
pub(crate) fn populate(mem: &mut [u8], numbers: &[usize], page: usize) {
    let mut flush = |(first, count): (usize, usize)| {
        if let Some(range) = mem.get_mut(first * page..(first + count) * page) {
            // SAFETY: the range lies inside `mem`, which this function borrows mutably; the
            // advice only maps pages, leaving their contents as they were.
            unsafe { libc::madvise(range.as_mut_ptr().cast(), range.len(), libc::MADV_POPULATE_WRITE) };
        }
    };
    let mut run: Option<(usize, usize)> = None;
    for &i in numbers {
        run = match run {
            Some((first, count)) if first + count == i => Some((first, count + 1)),
            Some(r) => {
                flush(r);
                Some((i, 1))
            }
            None => Some((i, 1)),
        };
    }
    if let Some(r) = run {
        flush(r);
    }
}

/// Counters of a [`Vault`], for progress lines and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VaultStats {
    /// Sessions suspended now.
    pub suspended: usize,
    /// Of those, how many are spilled to files.
    pub spilled: usize,
    /// Compressed bytes held in memory now.
    pub memory_bytes: u64,
    /// Compressed bytes in spill files now.
    pub spilled_bytes: u64,
    /// Suspensions and resumes so far.
    pub suspends: u64,
    pub resumes: u64,
    /// Resume times so far: mean, median, 99th percentile and the longest.
    pub resume_mean: Duration,
    pub resume_p50: Duration,
    pub resume_p99: Duration,
    pub resume_max: Duration,
}

/// Where suspended sessions keep their memory: compressed images in memory up to a budget, in
/// files of a spill folder past it. Cheap to clone; share one per run.
#[derive(Debug, Clone)]
pub struct Vault {
    inner: Arc<VaultInner>,
}

#[derive(Debug)]
struct VaultInner {
    budget: u64,
    spill_dir: PathBuf,
    memory_bytes: AtomicU64,
    spilled_bytes: AtomicU64,
    suspended: AtomicUsize,
    spilled: AtomicUsize,
    suspends: AtomicU64,
    next: AtomicU64,
    resumes: Mutex<Vec<u32>>,
}

/// Where one image is.
#[derive(Debug)]
pub(crate) enum Stored {
    Memory(Image),
    Spilled { path: PathBuf, memory_bytes: usize, len: usize, pages: usize },
}

impl Vault {
    /// A vault that keeps up to `memory_budget` compressed bytes in memory and spills the rest
    /// into `spill_dir` (made when first needed).
    pub fn new(memory_budget: u64, spill_dir: impl Into<PathBuf>) -> Self {
        Vault {
            inner: Arc::new(VaultInner {
                budget: memory_budget,
                spill_dir: spill_dir.into(),
                memory_bytes: AtomicU64::new(0),
                spilled_bytes: AtomicU64::new(0),
                suspended: AtomicUsize::new(0),
                spilled: AtomicUsize::new(0),
                suspends: AtomicU64::new(0),
                next: AtomicU64::new(0),
                resumes: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The spill folder.
    pub fn spill_dir(&self) -> &Path {
        &self.inner.spill_dir
    }

    /// The counters now.
    pub fn stats(&self) -> VaultStats {
        let i = &self.inner;
        let mut times = i.resumes.lock().unwrap_or_else(PoisonError::into_inner).clone();
        times.sort_unstable();
        let micros = |x: u32| Duration::from_micros(u64::from(x));
        let at = |q: f64| times.get(((times.len() as f64 - 1.0) * q).round() as usize).copied().map(micros).unwrap_or_default();
        let total: u64 = times.iter().map(|t| u64::from(*t)).sum();
        VaultStats {
            suspended: i.suspended.load(Ordering::Relaxed),
            spilled: i.spilled.load(Ordering::Relaxed),
            memory_bytes: i.memory_bytes.load(Ordering::Relaxed),
            spilled_bytes: i.spilled_bytes.load(Ordering::Relaxed),
            suspends: i.suspends.load(Ordering::Relaxed),
            resumes: times.len() as u64,
            resume_mean: if times.is_empty() { Duration::ZERO } else { Duration::from_micros(total / times.len() as u64) },
            resume_p50: at(0.5),
            resume_p99: at(0.99),
            resume_max: times.last().copied().map(micros).unwrap_or_default(),
        }
    }

    /// Keeps an image: in memory if it fits the budget, else in a new spill file.
    pub(crate) fn put(&self, image: Image) -> Result<Stored, SandboxError> {
        let i = &self.inner;
        let len = image.len() as u64;
        let held = i.memory_bytes.fetch_add(len, Ordering::Relaxed) + len;
        i.suspends.fetch_add(1, Ordering::Relaxed);
        if held <= i.budget {
            i.suspended.fetch_add(1, Ordering::Relaxed);
            return Ok(Stored::Memory(image));
        }
        i.memory_bytes.fetch_sub(len, Ordering::Relaxed);
        let dir = &i.spill_dir;
        std::fs::create_dir_all(dir).map_err(SandboxError::io("creating the spill folder", dir))?;
        let path = dir.join(format!("session-{}-{}.lz4", std::process::id(), i.next.fetch_add(1, Ordering::Relaxed)));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&path)?;
            f.write_all(&image.blob)?;
            f.flush()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&path);
            return Err(SandboxError::io("spilling a suspended session to", &path)(e));
        }
        i.suspended.fetch_add(1, Ordering::Relaxed);
        i.spilled.fetch_add(1, Ordering::Relaxed);
        i.spilled_bytes.fetch_add(len, Ordering::Relaxed);
        Ok(Stored::Spilled { path, memory_bytes: image.memory_bytes, len: image.len(), pages: image.pages })
    }

    /// Takes an image back (reading and removing its spill file).
    pub(crate) fn take(&self, stored: Stored) -> Result<Image, SandboxError> {
        let i = &self.inner;
        i.suspended.fetch_sub(1, Ordering::Relaxed);
        match stored {
            Stored::Memory(image) => {
                i.memory_bytes.fetch_sub(image.len() as u64, Ordering::Relaxed);
                Ok(image)
            }
            Stored::Spilled { path, memory_bytes, len, pages } => {
                i.spilled.fetch_sub(1, Ordering::Relaxed);
                i.spilled_bytes.fetch_sub(len as u64, Ordering::Relaxed);
                let blob = std::fs::read(&path).map_err(SandboxError::io("reading the spilled session", &path));
                let _ = std::fs::remove_file(&path);
                Ok(Image { memory_bytes, blob: blob?, pages, reused_chunks: 0, new_chunks: 0 })
            }
        }
    }

    /// Drops an image that will never be resumed.
    pub(crate) fn discard(&self, stored: Stored) {
        let _ = self.take(stored);
    }

    pub(crate) fn record_resume(&self, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        self.inner.resumes.lock().unwrap_or_else(PoisonError::into_inner).push(micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh page-aligned anonymous buffer: its untouched pages are not present.
    struct Pages {
        ptr: *mut u8,
        layout: std::alloc::Layout,
    }

    impl Pages {
        fn new(n: usize) -> Pages {
            let layout = std::alloc::Layout::from_size_align(n * page_size(), page_size()).expect("layout");
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
            assert!(!ptr.is_null());
            Pages { ptr, layout }
        }
        fn bytes(&mut self) -> &mut [u8] {
            // SAFETY: `ptr` holds `layout.size()` zeroed bytes owned by this value.
            unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
        }
    }

    impl Drop for Pages {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.ptr, self.layout) }
        }
    }

    #[test]
    fn an_image_round_trips_and_spills_past_the_budget() {
        let page = page_size();
        let mut buffer = Pages::new(64);
        let mem = buffer.bytes();
        for (i, b) in mem.iter_mut().enumerate().step_by(page * 3) {
            *b = (i / page) as u8 + 1;
        }
        // Against a pristine image that shares every other written page.
        let mut pristine = vec![0u8; page * 32];
        for i in (0..32).step_by(6) {
            pristine[i * page] = (i + 1) as u8;
        }
        pristine[5] = 9;
        let image = Image::capture(mem, &pristine, None).expect("capture");
        assert!((11..=22).contains(&image.pages), "{} pages", image.pages);
        let mut back = pristine.clone();
        back.resize(page * 64, 0);
        image.restore(&mut back, &pristine).expect("restore");
        assert_eq!(back, *mem);

        let dir = tempfile::tempdir().expect("tmp");
        let vault = Vault::new(0, dir.path().join("spill"));
        let stored = vault.put(Image::capture(mem, &[], None).expect("capture")).expect("spill");
        assert!(matches!(stored, Stored::Spilled { .. }));
        assert_eq!((vault.stats().suspended, vault.stats().spilled), (1, 1));
        let image = vault.take(stored).expect("take");
        let mut back = vec![0u8; page * 64];
        image.restore(&mut back, &[]).expect("restore");
        assert_eq!(back, *mem);
        // A damaged image is an error, not a panic.
        let cut = Image { blob: image.blob[..image.blob.len() / 2].to_vec(), ..image };
        assert!(cut.restore(&mut vec![0u8; page * 64], &[]).unwrap_err().contains("damaged"));
        assert_eq!(vault.stats().suspended, 0);
        assert_eq!(std::fs::read_dir(dir.path().join("spill")).map(|d| d.count()).unwrap_or(0), 0);
    }

    #[test]
    fn chunks_lz4_barely_shrinks_are_kept_as_they_are_and_round_trip() {
        let page = page_size();
        let mut buffer = Pages::new(64);
        let mem = buffer.bytes();
        // Pages 0..32: noise (lz4 cannot shrink it); 40..48: one byte each.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for b in mem[..32 * page].iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        for i in 40..48 {
            mem[i * page + 7] = i as u8;
        }
        let pristine = vec![0u8; page * 16];
        let image = Image::capture(mem, &pristine, None).expect("capture");
        let (numbers, chunks) = parse(&image.blob, 64).expect("parse");
        assert_eq!(numbers.len(), 40);
        let raw: Vec<bool> = chunks.iter().map(|c| c.raw).collect();
        assert_eq!(raw, [true, true, false], "{raw:?}");
        let mut back = pristine.clone();
        back.resize(page * 64, 0);
        image.restore(&mut back, &pristine).expect("restore");
        assert_eq!(back, *mem);
        // A later suspension copies the unchanged raw chunk and keeps the changed one raw.
        back[3] ^= 0xFF;
        let mut later = Pages::new(64);
        later.bytes().copy_from_slice(&back);
        let next = Image::capture(later.bytes(), &pristine, Some(&image)).expect("capture again");
        assert_eq!((next.reused_chunks, next.new_chunks), (2, 1));
        let mut again = pristine.clone();
        again.resize(page * 64, 0);
        next.restore(&mut again, &pristine).expect("restore again");
        assert_eq!(again, back);
    }

    #[test]
    fn a_suspension_after_a_resume_copies_the_chunks_the_cells_left_alone() {
        let page = page_size();
        let mut first = Pages::new(64);
        let mem = first.bytes();
        for i in 0..40 {
            mem[i * page..(i + 1) * page].fill(i as u8 + 1);
        }
        let image = Image::capture(mem, &[], None).expect("capture");
        assert_eq!((image.pages, image.new_chunks, image.reused_chunks), (40, 3, 0));
        // Resumed into a fresh memory; then a cell changes one byte of page 20 (the second
        // chunk) and writes page 50.
        let mut second = Pages::new(64);
        let resumed = second.bytes();
        image.restore(resumed, &[]).expect("restore");
        assert_eq!(resumed, mem);
        resumed[20 * page + 7] ^= 0x5a;
        resumed[50 * page] = 3;
        let again = Image::capture(resumed, &[], Some(&image)).expect("capture");
        assert_eq!((again.pages, again.reused_chunks, again.new_chunks), (41, 2, 2));
        let mut third = Pages::new(64);
        again.restore(third.bytes(), &[]).expect("restore");
        assert_eq!(third.bytes(), resumed);
        // Nothing changed: every chunk is copied, and the image is the same.
        let unchanged = Image::capture(resumed, &[], Some(&again)).expect("capture");
        assert_eq!((unchanged.reused_chunks, unchanged.new_chunks), (4, 0));
        assert_eq!(unchanged.blob, again.blob);
    }
}

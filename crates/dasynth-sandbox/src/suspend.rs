//! Suspended sessions: a guest's state, out of resident memory while it waits.
//!
//! A session's whole guest state is its linear memory, and that memory starts as a copy-on-write
//! mapping of the snapshot's image: only the pages the guest wrote differ from it. Suspending
//! reads the kernel's page table for the memory (`/proc/self/pagemap`): a page that is present
//! and no longer backed by the image (or the shared zero page), or swapped out, was written.
//! Each such page is kept as its XOR with the same page of the image (read from a pristine
//! instance the sandbox keeps): CPython mostly changes a few reference counts on a page, so the
//! difference is nearly all zeros, and a page equal to the image is left out. The differences
//! are compressed with zstd into an [`Image`] as they are found, the store is dropped (its
//! memory goes back to the kernel) and only its host data — the pipes, the limits, the ledger,
//! and the WASI context if the guest holds descriptors open (otherwise it is dropped too and
//! built again on resume) — is kept. Resuming instantiates a fresh copy-on-write instance, grows its memory to the saved
//! size and writes the saved pages back. The only other mutable wasm state, the shadow-stack
//! pointer global, is the same at the end of every turn as in the snapshot, and the function
//! table cannot change, so the resumed guest runs exactly as if it had never stopped.
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

const MAGIC: &[u8; 8] = b"dasyimg2";
/// zstd level: fast to compress and to decompress; CPython's heap pages shrink 3–6×.
const LEVEL: i32 = 1;

fn pagemap() -> Result<&'static File, String> {
    static MAP: OnceLock<Result<File, String>> = OnceLock::new();
    MAP.get_or_init(|| File::open("/proc/self/pagemap").map_err(|e| format!("cannot read /proc/self/pagemap: {e}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// The pages of `mem` that differ from what a fresh instance maps there: written (anonymous),
/// or swapped out. Pages mapped from the image and never written, and pages never touched, are
/// left out.
fn written_pages(mem: &[u8]) -> Result<Vec<usize>, String> {
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

/// Ends the page records of an image.
const END: u32 = u32::MAX;

/// A suspended guest memory: its size and the written pages, compressed.
///
/// The blob is the uncompressed length (u64, little-endian), then a zstd frame of `MAGIC`, a
/// record per kept page (its number as a little-endian u32, then the page XOR the image's
/// page), and `END`. Suspending compresses it a page at a time.
#[derive(Debug)]
pub(crate) struct Image {
    /// Bytes of linear memory.
    pub(crate) memory_bytes: usize,
    blob: Vec<u8>,
    /// Pages kept.
    pub(crate) pages: usize,
}

impl Image {
    /// Captures how a guest memory differs from `pristine`, the memory of a fresh instance
    /// (zeros past its end).
    pub(crate) fn capture(mem: &[u8], pristine: &[u8]) -> Result<Image, String> {
        let page = page_size();
        let written = written_pages(mem)?;
        let failed = |e: std::io::Error| format!("compressing the session's memory: {e}");
        // The blob starts with the uncompressed length (filled in at the end), so a resume
        // decompresses in one call into a buffer of the right size.
        let mut z = zstd::stream::write::Encoder::new(vec![0u8; 8], LEVEL).map_err(failed)?;
        z.write_all(MAGIC).map_err(failed)?;
        let mut delta = vec![0u8; page];
        let mut pages = 0;
        for &i in &written {
            let number = u32::try_from(i).ok().filter(|n| *n != END).ok_or_else(|| "guest memory too large".to_string())?;
            xor_into(&mut delta, &mem[i * page..(i + 1) * page], pristine.get(i * page..(i + 1) * page));
            if is_zero(&delta) {
                // The page is as a fresh instance maps it.
                continue;
            }
            z.write_all(&number.to_le_bytes()).map_err(failed)?;
            z.write_all(&delta).map_err(failed)?;
            pages += 1;
        }
        z.write_all(&END.to_le_bytes()).map_err(failed)?;
        let mut blob = z.finish().map_err(failed)?;
        let raw = (MAGIC.len() + pages * (4 + page) + 4) as u64;
        blob[..8].copy_from_slice(&raw.to_le_bytes());
        Ok(Image { memory_bytes: mem.len(), blob, pages })
    }

    /// Compressed bytes.
    pub(crate) fn len(&self) -> usize {
        self.blob.len()
    }

    /// Writes the pages back into `mem`, a fresh instance's memory already grown to
    /// `memory_bytes`, whose image is `pristine` (zeros past its end). The records are
    /// decompressed in one call into a buffer the thread keeps from one resume to the next, and
    /// the pages they write are mapped a run at a time before they are written.
    pub(crate) fn restore(&self, mem: &mut [u8], pristine: &[u8]) -> Result<(), String> {
        thread_local! {
            static RAW: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let page = page_size();
        let bad = |what: &str| format!("the suspended image is damaged: {what}");
        if mem.len() != self.memory_bytes || self.blob.len() < 8 {
            return Err(bad("wrong size"));
        }
        let raw_len = u64::from_le_bytes(self.blob[..8].try_into().map_err(|_| bad("header"))?) as usize;
        if raw_len > MAGIC.len() + 4 + mem.len() / page * (4 + page) {
            return Err(bad("length"));
        }
        RAW.with_borrow_mut(|raw| {
            raw.clear();
            raw.reserve(raw_len);
            let mut z = zstd::bulk::Decompressor::new().map_err(|e| bad(&e.to_string()))?;
            z.decompress_to_buffer(&self.blob[8..], raw).map_err(|e| bad(&e.to_string()))?;
            let body = raw.strip_prefix(MAGIC.as_slice()).ok_or_else(|| bad("header"))?;
            populate(mem, body, page);
            let mut at = body;
            loop {
                let (number, rest) = at.split_first_chunk::<4>().ok_or_else(|| bad("short record"))?;
                let i = u32::from_le_bytes(*number);
                if i == END {
                    return if rest.is_empty() { Ok(()) } else { Err(bad("bytes past the end")) };
                }
                let (delta, rest) = rest.split_at_checked(page).ok_or_else(|| bad("short page"))?;
                let i = i as usize;
                let dst = mem.get_mut(i * page..(i + 1) * page).ok_or_else(|| bad("page out of range"))?;
                // Written, never read first: a read would map the image's page and the write
                // then fault a second time to copy it.
                xor_into(dst, delta, pristine.get(i * page..(i + 1) * page));
                at = rest;
            }
        })
    }
}

/// Asks the kernel to map every page the records will write, a run of consecutive pages per
/// call (`MADV_POPULATE_WRITE`), instead of taking one write fault per page. Best effort: on a
/// kernel without it (before Linux 5.14) the writes fault as before.
fn populate(mem: &mut [u8], records: &[u8], page: usize) {
    let mut run: Option<(usize, usize)> = None;
    let flush = |(first, count): (usize, usize), mem: &mut [u8]| {
        if let Some(range) = mem.get_mut(first * page..(first + count) * page) {
            // SAFETY: the range lies inside `mem`, which this function borrows mutably; the
            // advice only maps pages, leaving their contents as they were.
            unsafe { libc::madvise(range.as_mut_ptr().cast(), range.len(), libc::MADV_POPULATE_WRITE) };
        }
    };
    let mut at = records;
    while let Some((number, rest)) = at.split_first_chunk::<4>() {
        let i = u32::from_le_bytes(*number);
        if i == END || rest.len() < page {
            break;
        }
        let i = i as usize;
        run = match run {
            Some((first, count)) if first + count == i => Some((first, count + 1)),
            Some(r) => {
                flush(r, mem);
                Some((i, 1))
            }
            None => Some((i, 1)),
        };
        at = &rest[page..];
    }
    if let Some(r) = run {
        flush(r, mem);
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
        let path = dir.join(format!("session-{}-{}.zst", std::process::id(), i.next.fetch_add(1, Ordering::Relaxed)));
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
                Ok(Image { memory_bytes, blob: blob?, pages })
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
        let image = Image::capture(mem, &pristine).expect("capture");
        assert!((11..=22).contains(&image.pages), "{} pages", image.pages);
        let mut back = pristine.clone();
        back.resize(page * 64, 0);
        image.restore(&mut back, &pristine).expect("restore");
        assert_eq!(back, *mem);

        let dir = tempfile::tempdir().expect("tmp");
        let vault = Vault::new(0, dir.path().join("spill"));
        let stored = vault.put(Image::capture(mem, &[]).expect("capture")).expect("spill");
        assert!(matches!(stored, Stored::Spilled { .. }));
        assert_eq!((vault.stats().suspended, vault.stats().spilled), (1, 1));
        let image = vault.take(stored).expect("take");
        let mut back = vec![0u8; page * 64];
        image.restore(&mut back, &[]).expect("restore");
        assert_eq!(back, *mem);
        // A damaged image is an error, not a panic.
        let cut = Image { memory_bytes: image.memory_bytes, blob: image.blob[..image.blob.len() / 2].to_vec(), pages: image.pages };
        assert!(cut.restore(&mut vec![0u8; page * 64], &[]).unwrap_err().contains("damaged"));
        assert_eq!(vault.stats().suspended, 0);
        assert_eq!(std::fs::read_dir(dir.path().join("spill")).map(|d| d.count()).unwrap_or(0), 0);
    }
}

//! Reading a crawled table into a polars `DataFrame`, the same way every time: the read options
//! recorded in the catalog drive the reader, so profile, tasks and pandas all see one table.

use crate::delimited;
use crate::sniff::{self, Encoding};
use dasynth_core::catalog::{ReadOptions, TableFormat};
use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot open {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: {what} {name:?} not found; it has: {available}", path.display())]
    NoMember { path: PathBuf, what: &'static str, name: String, available: String },
}

impl ReadError {
    pub(crate) fn invalid(path: &Path, message: impl std::fmt::Display) -> Self {
        Self::Invalid { path: path.to_path_buf(), message: message.to_string() }
    }
}

/// A table to read.
#[derive(Debug, Clone, Copy)]
pub struct TableRef<'a> {
    pub path: &'a Path,
    pub format: TableFormat,
    pub member: Option<&'a str>,
    pub options: &'a ReadOptions,
}

/// Reads the whole table. `scratch` is a folder for transcoded copies of non-UTF-8 text.
pub fn read_table(t: TableRef<'_>, scratch: &Path) -> Result<DataFrame, ReadError> {
    match t.format {
        TableFormat::Csv | TableFormat::Tsv => read_delimited(t.path, t.options, None, scratch),
        TableFormat::Json => read_json(t.path, JsonFormat::Json),
        TableFormat::Jsonl => read_json(t.path, JsonFormat::JsonLines),
        TableFormat::Parquet => {
            let f = open(t.path)?;
            ParquetReader::new(f).finish().map_err(|e| ReadError::invalid(t.path, format!("invalid Parquet: {e}")))
        }
        TableFormat::Arrow => {
            let f = open(t.path)?;
            IpcReader::new(f).finish().map_err(|e| ReadError::invalid(t.path, format!("invalid Arrow IPC: {e}")))
        }
        TableFormat::Xlsx | TableFormat::Xls => {
            let sheet = t.member.ok_or_else(|| ReadError::invalid(t.path, "no sheet named"))?;
            crate::excel::read_sheet(t.path, sheet).map(|s| s.frame)
        }
        TableFormat::Sqlite => {
            let table = t.member.ok_or_else(|| ReadError::invalid(t.path, "no table named"))?;
            crate::sqlite::read_table(t.path, table)
        }
    }
}

/// A catalog row's table that cannot be read. The message carries the whole cause chain on one
/// line, because callers record it as a reason in stats, profiles and tasks.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("{table}: the catalog row lacks a path, format or read options\nhint: rerun `dasynth crawl` to rebuild the catalog")]
    Incomplete { table: String },
    #[error("{table}: {message}")]
    Read { table: String, message: String },
}

/// Reads a catalog row's table from the run folder.
pub fn read_entry(run: &dasynth_core::layout::RunDir, e: &dasynth_core::catalog::CatalogEntry) -> Result<DataFrame, EntryError> {
    let (Some(path), Some(format), Some(options)) = (&e.path, e.format, &e.read_options) else {
        return Err(EntryError::Incomplete { table: e.name.clone() });
    };
    let full = run.resolve(path);
    let t = TableRef { path: &full, format, member: e.member.as_deref(), options };
    read_table(t, &run.cache_dir().join("utf8")).map_err(|err| {
        let mut message = err.to_string();
        let mut src = std::error::Error::source(&err);
        while let Some(s) = src {
            message.push_str(&format!(": {s}"));
            src = s.source();
        }
        EntryError::Read { table: e.name.clone(), message }
    })
}

pub(crate) fn open(path: &Path) -> Result<std::fs::File, ReadError> {
    std::fs::File::open(path).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })
}

/// Column names as pandas would make them: empty names become `Unnamed: {i}`, repeats get
/// `.1`, `.2`. Returns the names and whether any changed.
pub fn mangle_names(raw: &[String]) -> (Vec<String>, bool) {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut changed = false;
    for (i, name) in raw.iter().enumerate() {
        let base = if name.trim().is_empty() {
            changed = true;
            format!("Unnamed: {i}")
        } else {
            name.clone()
        };
        let mut candidate = base.clone();
        while let Some(n) = seen.get_mut(&candidate) {
            *n += 1;
            candidate = format!("{base}.{n}");
            changed = true;
        }
        seen.insert(candidate.clone(), 0);
        out.push(candidate);
    }
    (out, changed)
}

/// Transcodes a Windows-1252 file to UTF-8 in `scratch`, once per content.
fn utf8_copy(path: &Path, scratch: &Path) -> Result<PathBuf, ReadError> {
    let key = path.file_stem().and_then(|s| s.to_str()).unwrap_or("table");
    let dest = scratch.join(format!("{key}.utf8.csv"));
    if dest.exists() {
        return Ok(dest);
    }
    std::fs::create_dir_all(scratch).map_err(|source| ReadError::Io { path: scratch.to_path_buf(), source })?;
    let src = open(path)?;
    let mut decoder = encoding_rs_io_decode(src);
    dasynth_core::atomic::write_atomic_with(&dest, |f| {
        let mut w = std::io::BufWriter::new(f);
        std::io::copy(&mut decoder, &mut w)?;
        std::io::Write::flush(&mut w)
    })
    .map_err(|e| ReadError::invalid(path, e))?;
    Ok(dest)
}

/// A streaming Windows-1252 → UTF-8 reader (every byte maps to one char).
fn encoding_rs_io_decode(src: std::fs::File) -> impl std::io::Read {
    struct Decode<R> {
        inner: R,
        out: Vec<u8>,
        pos: usize,
    }
    impl<R: std::io::Read> std::io::Read for Decode<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.out.len() {
                let mut raw = [0u8; 1 << 15];
                let n = self.inner.read(&mut raw)?;
                if n == 0 {
                    return Ok(0);
                }
                self.out = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&raw[..n]).0.into_owned().into_bytes();
                self.pos = 0;
            }
            let n = buf.len().min(self.out.len() - self.pos);
            buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }
    Decode { inner: std::io::BufReader::new(src), out: Vec::new(), pos: 0 }
}

/// Whether [`read_delimited`] tries the parallel reader of [`delimited`] before polars.
static FAST_CSV: AtomicBool = AtomicBool::new(true);

/// Turns the parallel CSV reader on or off for this process (`crawl.fast-csv`; on by default).
/// Off, every delimited file is read by polars alone.
pub fn set_fast_csv(enabled: bool) {
    FAST_CSV.store(enabled, Ordering::Relaxed);
}

/// Reads a delimited file. `n_rows` limits the rows read (for validation at crawl time).
pub fn read_delimited(path: &Path, o: &ReadOptions, n_rows: Option<usize>, scratch: &Path) -> Result<DataFrame, ReadError> {
    let encoding =
        Encoding::from_label(&o.encoding).ok_or_else(|| ReadError::invalid(path, format!("unsupported encoding {:?}", o.encoding)))?;
    let source = match encoding {
        Encoding::Windows1252 => utf8_copy(path, scratch)?,
        _ => path.to_path_buf(),
    };
    // A limited read parses only the bytes of its first records (polars would otherwise split
    // and parse the whole file before taking the first rows); a whole read maps the file. The
    // header and the fast reader both take these bytes.
    let prefix = match n_rows {
        Some(n) => record_prefix(&source, o, n)?,
        None => None,
    };
    let mapped = if prefix.is_none() { map(&source) } else { None };
    let bytes = prefix.as_deref().or(mapped.as_deref());
    let header = match (o.has_header, &prefix, &mapped) {
        (false, ..) => Vec::new(),
        (true, Some(prefix), _) => first_record_in(prefix, o),
        (true, None, Some(m)) => first_record_in(&m[..m.len().min(HEADER_LIMIT)], o),
        (true, None, None) => first_record(&source, o)?,
    };
    // Old Mac files end lines with a carriage return alone: polars reads them with that as its
    // line end; the fast path, which takes a lone carriage return for a stray one, is skipped.
    let lone_cr = match bytes {
        Some(b) => sniff::lone_carriage_returns(&b[..b.len().min(HEAD_BYTES)]),
        None => sniff::lone_carriage_returns(&head_bytes(&source)?),
    };
    let eol = if lone_cr { b'\r' } else { b'\n' };
    let fast = bytes.zip(o.quote_byte()).filter(|_| eol == b'\n' && FAST_CSV.load(Ordering::Relaxed)).and_then(|(bytes, quote)| {
        let dialect = delimited::Dialect {
            delimiter: o.delimiter_byte(),
            quote,
            skip_records: o.skip_rows as usize + usize::from(o.has_header),
            has_header: o.has_header,
        };
        delimited::read(bytes, &dialect, n_rows, dasynth_core::machine::cores())
            .inspect_err(|why| tracing::debug!(file = %path.display(), why = why.0, "reading with polars"))
            .ok()
    });
    let mut df = match fast {
        Some(df) => df,
        None => read_with_polars(&source, o, n_rows, prefix.as_deref(), eol)
            .map_err(|e| ReadError::invalid(path, format!("cannot parse as delimited text: {e}")))?,
    };
    let names = if o.has_header { mangle_names(&header).0 } else { (1..=df.width()).map(|i| format!("column_{i}")).collect() };
    if names.len() == df.width() {
        df.set_column_names(&names).map_err(|e| ReadError::invalid(path, format!("bad column names: {e}")))?;
    }
    Ok(df)
}

/// Bytes looked at to tell how lines end.
const HEAD_BYTES: usize = 64 << 10;

/// The first [`HEAD_BYTES`] of a file.
fn head_bytes(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut buf = Vec::new();
    open(path)?.take(HEAD_BYTES as u64).read_to_end(&mut buf).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    Ok(buf)
}

/// Reads delimited text with polars' CSV reader: `prefix` (whole records) when given, else the
/// file. Types come from the first records; if a later value contradicts them, from all records.
/// pandas' missing-value text is null; lines end at `eol`.
pub(crate) fn read_with_polars(
    source: &Path,
    o: &ReadOptions,
    n_rows: Option<usize>,
    prefix: Option<&[u8]>,
    eol: u8,
) -> PolarsResult<DataFrame> {
    let (delim, quote) = (o.delimiter_byte(), o.quote_byte());
    let na = NullValues::AllColumns(crate::missing::NA_VALUES.iter().map(|v| PlSmallStr::from(*v)).collect());
    let read = |infer: Option<usize>| -> PolarsResult<DataFrame> {
        let options = CsvReadOptions::default()
            .with_has_header(false)
            .with_skip_rows(o.skip_rows as usize + usize::from(o.has_header))
            .with_infer_schema_length(infer)
            .with_n_rows(n_rows)
            .with_raise_if_empty(false)
            .map_parse_options(|p| {
                p.with_separator(delim)
                    .with_quote_char(quote)
                    .with_eol_char(eol)
                    .with_null_values(Some(na.clone()))
                    .with_encoding(CsvEncoding::Utf8)
            });
        match prefix {
            Some(bytes) => options.into_reader_with_file_handle(std::io::Cursor::new(bytes)).finish(),
            None => options.try_into_reader_with_file_path(Some(source.to_path_buf()))?.finish(),
        }
    };
    read(Some(delimited::INFER_ROWS)).or_else(|_| read(None))
}

/// The file's bytes, mapped into memory; `None` (polars' reader then opens it itself) when it
/// cannot be opened or mapped.
fn map(path: &Path) -> Option<memmap2::Mmap> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the files read here are the run's own stored copies, written once and never
    // changed in place; polars' reader maps them the same way.
    unsafe { memmap2::Mmap::map(&file) }.ok()
}

/// The bytes of a delimited file up to the end of its first `n` data records (after skipped rows
/// and the header), when they lie within its first 16 MiB; `None` when they do not.
fn record_prefix(path: &Path, o: &ReadOptions, n: usize) -> Result<Option<Vec<u8>>, ReadError> {
    use std::io::Read;
    const LIMIT: u64 = 16 << 20;
    let mut buf = Vec::new();
    open(path)?.take(LIMIT + 1).read_to_end(&mut buf).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    if buf.len() as u64 <= LIMIT {
        return Ok(Some(buf)); // the whole file
    }
    let (delim, quote) = (o.delimiter_byte(), o.quote_byte().unwrap_or(0));
    let want = n + o.skip_rows as usize + usize::from(o.has_header);
    let start = if buf.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
    let (mut pos, mut records) = (start, 0);
    while records < want {
        let (_, next) = sniff::split_record(&buf, pos, delim, quote);
        // The last record in the buffer may be cut off: only whole records count.
        if next >= buf.len() {
            return Ok(None);
        }
        pos = next;
        records += 1;
    }
    buf.truncate(pos);
    Ok(Some(buf))
}

/// The first non-blank record of a delimited file (its header).
fn first_record(path: &Path, o: &ReadOptions) -> Result<Vec<String>, ReadError> {
    use std::io::Read;
    let mut f = open(path)?;
    let mut buf = Vec::new();
    (&mut f).take(HEADER_LIMIT as u64).read_to_end(&mut buf).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    Ok(first_record_in(&buf, o))
}

/// Bytes looked at for a header: a header longer than this is not one a person wrote; 10,000
/// columns fit easily.
const HEADER_LIMIT: usize = 8 << 20;

/// The first non-blank record (after `o.skip_rows`) of delimited text already read.
fn first_record_in(buf: &[u8], o: &ReadOptions) -> Vec<String> {
    let text = buf.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(buf);
    let (delim, quote) = (o.delimiter_byte(), o.quote_byte().unwrap_or(b'"'));
    let mut pos = 0;
    let mut skipped = 0;
    while pos < text.len() {
        let (rec, next) = sniff::split_record(text, pos, delim, quote);
        pos = next;
        if rec.len() == 1 && rec[0].trim().is_empty() {
            continue;
        }
        if skipped < o.skip_rows {
            skipped += 1;
            continue;
        }
        return rec;
    }
    Vec::new()
}

fn read_json(path: &Path, format: JsonFormat) -> Result<DataFrame, ReadError> {
    if let Some(offset) = sniff::first_invalid_utf8(path).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })? {
        return Err(ReadError::invalid(path, format!("invalid UTF-8 at byte {offset}; JSON must be UTF-8")));
    }
    let limit = crate::limits::MAX_JSON_DEPTH;
    if let Some(offset) = crate::json_depth::too_deep(path, limit).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })? {
        return Err(ReadError::invalid(path, format!("JSON nested more than {limit} levels deep at byte {offset}; not a table")));
    }
    let f = open(path)?;
    let what = if matches!(format, JsonFormat::Json) { "JSON" } else { "JSON Lines" };
    let df = JsonReader::new(f)
        .with_json_format(format)
        .infer_schema_len(None)
        .finish()
        .map_err(|e| ReadError::invalid(path, format!("invalid {what}: {e}")))?;
    // A JSON document that is not an array of records reads as one odd row; say so.
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn options() -> ReadOptions {
        ReadOptions { delimiter: ",".into(), quote: Some("\"".into()), has_header: true, encoding: "utf-8".into(), skip_rows: 0 }
    }

    #[test]
    fn a_file_with_a_bom_and_old_mac_line_ends_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mac.csv");
        std::fs::write(&path, b"\xEF\xBB\xBFid,name,price\r1,apple,0.5\r2,\"pear, green\",NA\r3,plum,2\r").unwrap();
        for n_rows in [None, Some(2)] {
            let df = read_delimited(&path, &options(), n_rows, dir.path()).unwrap();
            assert_eq!(df.get_column_names().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["id", "name", "price"]);
            assert_eq!(df.height(), n_rows.unwrap_or(3));
            let names = df.column("name").unwrap().as_materialized_series().str().unwrap().get(1).map(str::to_string);
            assert_eq!(names.as_deref(), Some("pear, green"));
            assert_eq!(df.column("price").unwrap().null_count(), 1);
        }
    }

    /// `crawl.fast-csv = false` reads with polars alone, and the frame is the same.
    #[test]
    fn the_fast_csv_switch_gives_the_same_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("id,city,amount,when\n");
        for i in 0..500 {
            text.push_str(&format!("{i},\"c{}, x\",{}.25,2024-01-{:02}\n", i % 9, i * 7, 1 + i % 28));
        }
        std::fs::write(&path, &text).unwrap();
        let fast = read_delimited(&path, &options(), None, dir.path()).unwrap();
        set_fast_csv(false);
        let slow = read_delimited(&path, &options(), None, dir.path());
        set_fast_csv(true);
        let slow = slow.unwrap();
        assert_eq!(fast.shape(), (500, 4));
        assert!(fast.equals_missing(&slow), "{fast}\n{slow}");
    }

    /// Null counts and types of a file full of missing-value spellings, in both readers, against
    /// `pd.read_csv(path)` (when the test Python is there).
    #[test]
    fn missing_values_are_pandas_defaults_in_both_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("na.csv");
        let mut text = String::from("year,publisher,price,flag,note\n");
        let spellings = crate::missing::NA_VALUES;
        for i in 0..40 {
            let na = spellings[i % spellings.len()];
            let quoted = if i % 3 == 0 { format!("\"{na}\"") } else { na.to_string() };
            let (year, publisher) = if i % 4 == 0 { (quoted.clone(), quoted.clone()) } else { (format!("{}", 1990 + i), format!("p{i}")) };
            let price = if i % 5 == 1 { quoted.clone() } else { format!("{}.5", i) };
            let flag = if i % 7 == 2 { quoted.clone() } else { ["true", "false"][i % 2].to_string() };
            let note = [" NA", "na", "n.a.", "-", "text"][i % 5];
            text.push_str(&format!("{year},{publisher},{price},{flag},{note}\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let fast = read_delimited(&path, &options(), None, dir.path()).unwrap();
        let slow = read_with_polars(&path, &options(), None, None, b'\n').unwrap();
        let nulls = |df: &DataFrame| df.columns().iter().map(|c| c.null_count()).collect::<Vec<_>>();
        assert_eq!(nulls(&fast), nulls(&slow));
        assert_eq!(nulls(&fast), [10, 10, 8, 6, 0]);
        assert_eq!(fast.column("year").unwrap().dtype(), &DataType::Int64);
        assert_eq!(fast.column("price").unwrap().dtype(), &DataType::Float64);
        let Ok(python) = std::env::var("DASYNTH_TEST_PYTHON") else { return };
        let code = format!("import pandas as pd; print(list(pd.read_csv({:?}).isna().sum()))", path.display().to_string());
        let out = std::process::Command::new(python).args(["-c", &code]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{:?}", nulls(&fast)));
    }

    #[test]
    fn limited_reads_of_large_files_parse_only_a_prefix_of_whole_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(f, "id,note").unwrap();
        // Quoted newlines make lines and records differ; 17 MiB puts the end past the prefix.
        let mut i = 0;
        while f.get_ref().metadata().unwrap().len() < 17 << 20 {
            writeln!(f, "{i},\"line one\nline two, {}\"", "x".repeat(40)).unwrap();
            i += 1;
        }
        f.flush().unwrap();
        drop(f);
        let prefix = record_prefix(&path, &options(), 1000).unwrap().expect("a prefix");
        assert!(prefix.len() < 1 << 20);
        let df = read_delimited(&path, &options(), Some(1000), dir.path()).unwrap();
        assert_eq!((df.height(), df.width()), (1000, 2));
        assert_eq!(df.column("id").unwrap().as_materialized_series().i64().unwrap().get(999), Some(999));

        // One record longer than the prefix: the whole file is read instead.
        let huge = dir.path().join("huge.csv");
        std::fs::write(&huge, format!("id,note\n1,\"{}\"\n2,b\n", "y".repeat(17 << 20))).unwrap();
        assert!(record_prefix(&huge, &options(), 1).unwrap().is_none());
        let df = read_delimited(&huge, &options(), Some(1), dir.path()).unwrap();
        assert_eq!(df.height(), 1);
    }
}

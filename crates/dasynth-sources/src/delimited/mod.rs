//! A parallel reader for delimited text that keeps strictly to the quoting rules of RFC 4180: a
//! quote opens a field, a doubled quote inside it is one quote, a quote closes it.
//!
//! Such a file is cut into pieces that one thread per core takes in turn, and each piece is read
//! straight into Arrow arrays (plain stretches through a field index, `index.rs`; the rest record
//! by record), typed as polars' CSV reader types them (from the first 10,000 records) and holding
//! the very values it would produce (integers and floats go through the same parsing functions). Anything else — a blank
//! line, a ragged record, a stray quote or carriage return, a BOM on a headerless file, a value its
//! column's inferred type cannot hold, invalid UTF-8 — declines, and the caller reads the file
//! with polars instead, which then does whatever it does with it. Declining is always safe; the
//! fast path only has to agree with polars where it says yes.

use polars::prelude::*;
use polars_arrow::array::{BooleanArray, PrimitiveArray, Utf8ViewArray, View};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use polars_buffer::Buffer;

use crate::sniff::bytes_equal;

mod index;

/// Records whose values decide the column types (polars' `infer_schema_length` in `read.rs`).
pub(crate) const INFER_ROWS: usize = 10_000;

/// Below this many bytes of data one thread reads the whole file (tests split tiny files too).
const MIN_PART: usize = if cfg!(test) { 64 } else { 256 << 10 };

/// A piece's records ran past the start of the next piece.
const MISSED_SPLIT: Declined = Declined("records that do not meet at the split points");

/// Why the fast path left a file to polars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Declined(pub &'static str);

/// How the text is split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    pub delimiter: u8,
    pub quote: u8,
    /// Records before the data: notes above the header, then the header itself.
    pub skip_records: usize,
    /// The first skipped record is a header (a BOM before it is not part of the data).
    pub has_header: bool,
}

/// One field: its bytes without the surrounding quotes, whether it was quoted, and whether it
/// holds doubled quotes to undo.
#[derive(Clone, Copy)]
struct Field<'a> {
    inner: &'a [u8],
    quoted: bool,
    escaped: bool,
    /// The data from the start of `inner` to the end, to load short text in one piece.
    rest: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
}

const INT: u8 = 1;
const FLOAT: u8 = 2;
const BOOL: u8 = 4;
const STR: u8 = 8;

/// Finds the bytes that end or open a field, eight at a time.
struct Scanner {
    classes: [bool; 256],
    delimiter: u8,
    quote: u8,
}

impl Scanner {
    fn new(d: &Dialect) -> Self {
        let mut classes = [false; 256];
        for b in [d.delimiter, d.quote, b'\n', b'\r'] {
            classes[b as usize] = true;
        }
        Self { classes, delimiter: d.delimiter, quote: d.quote }
    }

    /// The first delimiter, quote, line feed or carriage return at or after `pos` (or the end).
    #[inline]
    fn field_end(&self, b: &[u8], mut pos: usize) -> usize {
        while let Some(word) = b.get(pos..pos + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let hits = bytes_equal(w, self.delimiter) | bytes_equal(w, self.quote) | bytes_equal(w, b'\n') | bytes_equal(w, b'\r');
            if hits != 0 {
                return pos + (hits.trailing_zeros() / 8) as usize;
            }
            pos += 8;
        }
        while pos < b.len() && !self.classes[b[pos] as usize] {
            pos += 1;
        }
        pos
    }

    /// The first quote at or after `pos`.
    #[inline]
    fn next_quote(&self, b: &[u8], mut pos: usize) -> Option<usize> {
        while let Some(word) = b.get(pos..pos + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let hits = bytes_equal(w, self.quote);
            if hits != 0 {
                return Some(pos + (hits.trailing_zeros() / 8) as usize);
            }
            pos += 8;
        }
        b[pos..].iter().position(|&c| c == self.quote).map(|i| pos + i)
    }
}

/// Reads `bytes` (the whole file, or a prefix of whole records) as a table of columns named
/// `column_1`, `column_2`, ... Reads at most `n_rows` records when given.
pub(crate) fn read(bytes: &[u8], d: &Dialect, n_rows: Option<usize>, threads: usize) -> Result<DataFrame, Declined> {
    let scan = Scanner::new(d);
    let mut pos = 0;
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        if !d.has_header || d.skip_records > 1 {
            return Err(Declined("a byte-order mark before data or notes"));
        }
        pos = bytes.len() - rest.len();
    }
    for i in 0..d.skip_records {
        if pos >= bytes.len() {
            return Err(Declined("no data records"));
        }
        let end = record(bytes, pos, d, &scan, usize::MAX, &mut |_, _| Ok(()))?.0;
        // Notes above a header are skipped by lines, not records: only quote-free notes agree.
        let is_note = i + 1 < d.skip_records || !d.has_header;
        if is_note && memchr::memchr(d.quote, &bytes[pos..end]).is_some() {
            return Err(Declined("a quote in the rows skipped above the header"));
        }
        pos = end;
    }
    let data = &bytes[pos..];
    if data.is_empty() {
        return Err(Declined("no data records"));
    }
    // polars types a limited read from the same first records as a whole one.
    let sample = infer(data, d, &scan, INFER_ROWS)?;

    // More pieces than threads, taken in turn, so a thread that runs slower holds up little.
    let points = if n_rows.is_some() { vec![0, data.len()] } else { split_points(data.len(), threads) };
    let parse = |bounds: &[usize]| {
        let pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        dasynth_core::machine::par_map(threads, &pieces, |&(start, end)| parse_segment(data, start, end, d, &scan, &sample, n_rows))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
    };
    // Pieces first start after the first line feed past each split point; a piece that does not
    // end where the next begins shows that a point fell inside a quoted line break, and the
    // starts are found again from the parity of the quotes (a whole pass over the file).
    let segments = match parse(&line_starts(data, &points)) {
        Err(MISSED_SPLIT) => parse(&boundaries(data, d.quote, &points, threads))?,
        other => other?,
    };
    let mut columns: Vec<Vec<ColumnBuf>> = (0..sample.kinds.len()).map(|_| Vec::with_capacity(segments.len())).collect();
    for seg in segments {
        for (c, buf) in seg.into_iter().enumerate() {
            columns[c].push(buf);
        }
    }
    let columns = columns
        .into_iter()
        .enumerate()
        .map(|(i, bufs)| {
            let arrays = bufs.into_iter().map(ColumnBuf::finish).collect();
            Series::from_arrow_chunks(format!("column_{}", i + 1).into(), arrays).map(Series::into_column)
        })
        .collect::<PolarsResult<Vec<Column>>>()
        .map_err(|_| Declined("arrays polars does not take"))?;
    DataFrame::new_infer_height(columns).map_err(|_| Declined("columns of different lengths"))
}

/// What the first records say: each column's type, and sizes to reserve room by.
struct Sample {
    kinds: Vec<Kind>,
    rows: usize,
    bytes: usize,
    /// Per column, bytes of text too long to sit inside a view.
    long_bytes: Vec<usize>,
}

impl Sample {
    /// Rows and long-text bytes per column to expect in `len` bytes of records.
    fn room(&self, len: usize) -> (usize, Vec<usize>) {
        let scale = len as f64 / self.bytes.max(1) as f64;
        let rows = (self.rows as f64 * scale * 1.05) as usize + 16;
        (rows, self.long_bytes.iter().map(|&b| (b as f64 * scale * 1.05) as usize).collect())
    }
}

/// Types every column from the first `limit` records.
fn infer(data: &[u8], d: &Dialect, scan: &Scanner, limit: usize) -> Result<Sample, Declined> {
    let mut flags: Vec<u8> = Vec::new();
    let mut long_bytes: Vec<usize> = Vec::new();
    let mut width = None;
    let (mut pos, mut rows) = (0, 0);
    while pos < data.len() && rows < limit {
        let expected = width.unwrap_or(usize::MAX);
        let (end, n) = record(data, pos, d, scan, expected, &mut |c, f| {
            if c >= flags.len() {
                flags.resize(c + 1, 0);
                long_bytes.resize(c + 1, 0);
            }
            flags[c] |= classify(f)?;
            if f.inner.len() > View::MAX_INLINE_SIZE as usize {
                long_bytes[c] += f.inner.len();
            }
            Ok(())
        })?;
        if width.is_some_and(|w| w != n) {
            return Err(Declined("records with different numbers of fields"));
        }
        width = Some(n);
        pos = end;
        rows += 1;
    }
    let width = width.unwrap_or(0);
    flags.resize(width, 0);
    long_bytes.resize(width, 0);
    let kinds = flags
        .iter()
        .map(|&f| match f {
            INT => Kind::Int,
            FLOAT | 3 => Kind::Float,
            BOOL => Kind::Bool,
            _ => Kind::Str,
        })
        .collect();
    Ok(Sample { kinds, rows, bytes: pos, long_bytes })
}

/// The type polars infers from one field (its `infer_field_schema`, dates not tried); none for
/// an empty unquoted field, which is a null.
fn classify(f: Field<'_>) -> Result<u8, Declined> {
    let s = f.inner;
    if !f.quoted && s.is_empty() {
        return Ok(0);
    }
    if s.len() >= 2 && s[0] == b'"' && s[s.len() - 1] == b'"' {
        return Ok(STR);
    }
    // polars' patterns use `\d`, which matches digits of any script: text made of nothing but
    // non-ASCII characters and number punctuation could be a number to polars.
    if !s.is_ascii() && s.iter().all(|&b| b >= 0x80 || b"0123456789+-.eE".contains(&b)) {
        return Err(Declined("a number written in non-ASCII digits"));
    }
    if s.eq_ignore_ascii_case(b"true") || s.eq_ignore_ascii_case(b"false") {
        return Ok(BOOL);
    }
    if is_float_text(s) {
        return Ok(FLOAT);
    }
    if is_int_text(s) {
        return if atoi_simd::parse::<i64, true, true>(s).is_ok() { Ok(INT) } else { Err(Declined("an integer beyond 64 bits")) };
    }
    Ok(STR)
}

fn leading_digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `^-?\d+$`
fn is_int_text(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    !s.is_empty() && leading_digits(s) == s.len()
}

/// `^[-+]?((\d*\.\d+)([eE][-+]?\d+)?|inf|NaN|(\d+)[eE][-+]?\d+|\d+\.)$`
fn is_float_text(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    if s == b"inf" || s == b"NaN" {
        return true;
    }
    let whole = leading_digits(s);
    let rest = &s[whole..];
    if let Some(after) = rest.strip_prefix(b".") {
        let frac = leading_digits(after);
        return if frac == 0 { whole > 0 && after.is_empty() } else { after.len() == frac || is_exponent(&after[frac..]) };
    }
    whole > 0 && is_exponent(rest)
}

/// `[eE][-+]?\d+` and nothing after it.
fn is_exponent(s: &[u8]) -> bool {
    let Some(s) = s.strip_prefix(b"e").or_else(|| s.strip_prefix(b"E")) else { return false };
    let s = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    !s.is_empty() && leading_digits(s) == s.len()
}

/// Splits the record starting at `pos`, handing each field to `each` with its column index.
/// Returns where the next record starts and how many fields this one had. Declines blank lines,
/// more than `max_fields` fields, stray quotes and lone carriage returns.
#[inline]
fn record<'a>(
    b: &'a [u8],
    mut pos: usize,
    d: &Dialect,
    scan: &Scanner,
    max_fields: usize,
    each: &mut impl FnMut(usize, Field<'a>) -> Result<(), Declined>,
) -> Result<(usize, usize), Declined> {
    if b[pos] == b'\n' || (b[pos] == b'\r' && b.get(pos + 1) == Some(&b'\n')) {
        return Err(Declined("a blank line"));
    }
    let mut col = 0;
    loop {
        if col >= max_fields {
            return Err(Declined("records with different numbers of fields"));
        }
        let field;
        if b.get(pos) == Some(&d.quote) {
            let start = pos + 1;
            let mut p = start;
            let mut escaped = false;
            loop {
                let Some(q) = scan.next_quote(b, p) else { return Err(Declined("a quote that is never closed")) };
                p = q;
                if b.get(p + 1) == Some(&d.quote) {
                    escaped = true;
                    p += 2;
                } else {
                    break;
                }
            }
            field = Field { inner: &b[start..p], quoted: true, escaped, rest: &b[start..] };
            pos = p + 1;
        } else {
            let start = pos;
            pos = scan.field_end(b, pos);
            field = Field { inner: &b[start..pos], quoted: false, escaped: false, rest: &b[start..] };
        }
        each(col, field)?;
        col += 1;
        match b.get(pos) {
            None => return Ok((pos, col)),
            Some(&c) if c == d.delimiter => pos += 1,
            Some(b'\n') => return Ok((pos + 1, col)),
            Some(b'\r') if b.get(pos + 1) == Some(&b'\n') => return Ok((pos + 2, col)),
            Some(&c) if c == d.quote => return Err(Declined("a quote inside an unquoted field")),
            Some(b'\r') => return Err(Declined("a carriage return inside an unquoted field")),
            Some(_) => return Err(Declined("text after a closing quote")),
        }
    }
}

/// Where the pieces of `len` bytes to be read by `threads` threads are cut, ending with `len`:
/// each piece a share of what is left, so they shrink towards the end and the threads, taking
/// them in turn, finish close together.
fn split_points(len: usize, threads: usize) -> Vec<usize> {
    let mut points = vec![0];
    let mut at = 0;
    while len - at >= 2 * MIN_PART && threads > 1 {
        at += ((len - at) / (2 * threads)).max(MIN_PART);
        points.push(at);
    }
    points.push(len);
    points
}

/// The start of each piece (and, last, the end of the data): `first(point)` for each split point
/// after the first, never before the start of the piece before.
fn piece_starts(points: &[usize], mut first: impl FnMut(usize, usize) -> usize) -> Vec<usize> {
    let mut bounds = points.to_vec();
    for i in 1..bounds.len() - 1 {
        bounds[i] = first(i, points[i]).max(bounds[i - 1]);
    }
    bounds
}

/// [`piece_starts`], guessed: just after the first line feed at or after each split point.
fn line_starts(data: &[u8], points: &[usize]) -> Vec<usize> {
    piece_starts(points, |_, at| memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |j| at + j + 1))
}

/// [`piece_starts`]: the first record start at or after each split point, found from the parity
/// of the quotes before it (quotes come in pairs in a strictly quoted file; a file that is not is
/// declined by the parse that follows).
fn boundaries(data: &[u8], quote: u8, points: &[usize], threads: usize) -> Vec<usize> {
    let pieces: Vec<&[u8]> = points.windows(2).map(|w| &data[w[0]..w[1]]).collect();
    let counts = dasynth_core::machine::par_map(threads, &pieces, |piece| count_byte(piece, quote));
    let mut inside = false;
    piece_starts(points, |i, at| {
        inside ^= counts[i - 1] % 2 == 1;
        let mut q = inside;
        for (j, &b) in data[at..].iter().enumerate() {
            if b == quote {
                q = !q;
            } else if b == b'\n' && !q {
                return at + j + 1;
            }
        }
        data.len()
    })
}

/// How often `byte` occurs in `bytes` (in 255-byte blocks, so the compiler can count in vectors).
fn count_byte(bytes: &[u8], byte: u8) -> usize {
    bytes.chunks(255).map(|block| block.iter().fold(0u8, |n, &b| n + u8::from(b == byte)) as usize).sum()
}

/// Values of one column from one piece of the file.
enum ColumnBuf {
    Int(Vec<i64>, Validity),
    Float(Vec<f64>, Validity),
    Bool(MutableBitmap, Validity),
    Str(StrBuf),
}

/// Text values as Arrow views: up to 12 bytes inside the view, longer ones in a byte buffer (a
/// value equal to the last long one, as in a sorted or grouped column, shares its bytes).
struct StrBuf {
    views: Vec<View>,
    buffers: Vec<Buffer<u8>>,
    current: Vec<u8>,
    /// Where the last long value lies in `current`.
    last_long: Option<(usize, usize)>,
    validity: Validity,
    total_bytes: usize,
}

impl StrBuf {
    /// Adds `bytes`; `rest` starts with them and may run on (so short text loads in one piece).
    #[inline(always)]
    fn push(&mut self, bytes: &[u8], rest: &[u8]) {
        self.total_bytes += bytes.len();
        let view = if bytes.len() <= View::MAX_INLINE_SIZE as usize {
            match rest.get(..16) {
                // An inline view is the length in the low 32 bits, then the bytes, zero-padded.
                Some(word) => {
                    let word = u128::from_le_bytes(word.try_into().unwrap_or_default());
                    let text = word & ((1u128 << (8 * bytes.len())) - 1);
                    View::from((text << 32) | bytes.len() as u128)
                }
                None => View::new_inline(bytes),
            }
        } else {
            let offset = match self.last_long {
                Some((at, len)) if len == bytes.len() && same_long_text(&self.current[at..at + len], bytes) => at,
                _ => {
                    if self.current.len() + bytes.len() > u32::MAX as usize {
                        let full = std::mem::replace(&mut self.current, Vec::with_capacity(bytes.len().max(1 << 20)));
                        self.buffers.push(full.into());
                    }
                    let at = self.current.len();
                    self.current.extend_from_slice(bytes);
                    self.last_long = Some((at, bytes.len()));
                    at
                }
            };
            View::new_from_bytes(bytes, self.buffers.len() as u32, offset as u32)
        };
        self.validity.push(self.views.len(), true);
        self.views.push(view);
    }

    #[inline]
    fn push_null(&mut self) {
        self.validity.push(self.views.len(), false);
        self.views.push(View::default());
    }

    fn finish(mut self) -> Utf8ViewArray {
        if !self.current.is_empty() {
            self.buffers.push(self.current.into());
        }
        let total_buffer_len = self.buffers.iter().map(|b| b.len()).sum();
        // SAFETY: every view was made from bytes copied into the buffer and index it names (or
        // held inline), and those bytes are UTF-8: the piece they came from was checked whole.
        unsafe {
            Utf8ViewArray::new_unchecked(
                ArrowDataType::Utf8View,
                self.views.into(),
                self.buffers.into(),
                self.validity.finish(),
                Some(self.total_bytes),
                total_buffer_len,
            )
        }
    }
}

/// Whether two texts of the same length, longer than a view holds, are equal: eight bytes at a
/// time, inline (most such texts are a few dozen bytes, where a call to `memcmp` costs more).
#[inline(always)]
fn same_long_text(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| w.first_chunk::<8>()).map(|w| u64::from_le_bytes(*w));
    let n = a.len();
    debug_assert!(n == b.len() && n > 8);
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// A validity bitmap made only once a null turns up.
#[derive(Default)]
struct Validity(Option<MutableBitmap>);

impl Validity {
    #[inline]
    fn push(&mut self, len_before: usize, valid: bool) {
        match &mut self.0 {
            Some(bits) => bits.push(valid),
            None if valid => {}
            None => {
                let mut bits = MutableBitmap::with_capacity(len_before + 1024);
                bits.extend_constant(len_before, true);
                bits.push(false);
                self.0 = Some(bits);
            }
        }
    }

    fn finish(self) -> Option<Bitmap> {
        self.0.map(Into::into)
    }
}

impl ColumnBuf {
    /// Room for `rows` values, and `long_bytes` bytes of long text.
    fn new(kind: Kind, rows: usize, long_bytes: usize) -> Self {
        match kind {
            Kind::Int => Self::Int(Vec::with_capacity(rows), Validity::default()),
            Kind::Float => Self::Float(Vec::with_capacity(rows), Validity::default()),
            Kind::Bool => Self::Bool(MutableBitmap::with_capacity(rows), Validity::default()),
            Kind::Str => Self::Str(StrBuf {
                views: Vec::with_capacity(rows),
                buffers: Vec::new(),
                // Reserved, not touched; capped so a guess for a huge file stays a modest one.
                current: Vec::with_capacity(long_bytes.min(256 << 20)),
                last_long: None,
                validity: Validity::default(),
                total_bytes: 0,
            }),
        }
    }

    /// The Arrow array of the values added.
    fn finish(self) -> ArrayRef {
        match self {
            Self::Int(v, valid) => PrimitiveArray::<i64>::new(ArrowDataType::Int64, v.into(), valid.finish()).boxed(),
            Self::Float(v, valid) => PrimitiveArray::<f64>::new(ArrowDataType::Float64, v.into(), valid.finish()).boxed(),
            Self::Bool(v, valid) => BooleanArray::new(ArrowDataType::Boolean, v.into(), valid.finish()).boxed(),
            Self::Str(a) => a.finish().boxed(),
        }
    }

    /// Adds one field as polars' builders would, or declines where polars would fail.
    #[inline]
    fn push(&mut self, f: Field<'_>, quote: u8, scratch: &mut Vec<u8>) -> Result<(), Declined> {
        self.push_all(std::iter::once(f), quote, scratch)
    }

    /// [`ColumnBuf::push`] for each of `fields`, with the column's type looked at once.
    #[inline]
    fn push_all<'a>(&mut self, fields: impl Iterator<Item = Field<'a>>, quote: u8, scratch: &mut Vec<u8>) -> Result<(), Declined> {
        match self {
            Self::Str(a) => {
                for f in fields {
                    if !f.quoted && f.inner.is_empty() {
                        a.push_null();
                    } else if f.escaped {
                        unescape(f.inner, quote, scratch);
                        a.push(scratch, scratch);
                    } else {
                        a.push(f.inner, f.rest);
                    }
                }
            }
            Self::Int(v, valid) => {
                for f in fields {
                    let s = number_text(f)?;
                    valid.push(v.len(), !s.is_empty());
                    v.push(if s.is_empty() { 0 } else { parse_int(s, f.rest).ok_or(Declined("a value that is not an integer"))? });
                }
            }
            Self::Float(v, valid) => {
                for f in fields {
                    let s = number_text(f)?;
                    valid.push(v.len(), !s.is_empty());
                    v.push(if s.is_empty() {
                        0.0
                    } else {
                        fast_float2::parse::<f64, _>(s).map_err(|_| Declined("a value that is not a number"))?
                    });
                }
            }
            Self::Bool(v, valid) => {
                for f in fields {
                    if f.escaped {
                        return Err(Declined("a value that is not a boolean"));
                    }
                    let s = f.inner;
                    let value = if s.eq_ignore_ascii_case(b"true") {
                        Some(true)
                    } else if s.eq_ignore_ascii_case(b"false") {
                        Some(false)
                    } else if s.is_empty() {
                        None
                    } else {
                        return Err(Declined("a value that is not a boolean"));
                    };
                    valid.push(v.len(), value.is_some());
                    v.push(value.unwrap_or(false));
                }
            }
        }
        Ok(())
    }
}

/// An integer as polars' reader parses it: up to eight digits from one 8-byte load of `rest`
/// (which starts with `s` and may run on), up to 18 plain digits (no overflow possible) one by
/// one, anything else by the same `atoi_simd` call.
#[inline(always)]
fn parse_int(s: &[u8], rest: &[u8]) -> Option<i64> {
    let (negative, digits, rest) = match s.split_first() {
        Some((b'-', tail)) => (true, tail, rest.get(1..).unwrap_or_default()),
        _ => (false, s, rest),
    };
    let n = digits.len();
    if (1..=8).contains(&n)
        && let Some(word) = rest.first_chunk::<8>()
    {
        // The digits moved to the high bytes (the first digit lowest), zeros below them.
        let w = u64::from_le_bytes(*word) << (8 * (8 - n));
        let threes = 0x3030_3030_3030_3030u64 << (8 * (8 - n));
        const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
        // A byte is a digit when its high nibble is 3 and stays 3 with 6 added.
        if w & HIGH_NIBBLES == threes && (w + (0x0606_0606_0606_0606u64 << (8 * (8 - n)))) & HIGH_NIBBLES == threes {
            let mut x = w & 0x0F0F_0F0F_0F0F_0F0F;
            x = (x * 10 + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
            x = (x * 100 + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
            x = (x * 10_000 + (x >> 32)) & 0xFFFF_FFFF;
            let v = x as i64;
            return Some(if negative { -v } else { v });
        }
    }
    if !digits.is_empty() && n <= 18 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits.iter().fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
        return Some(if negative { -v } else { v });
    }
    atoi_simd::parse::<i64, true, true>(s).ok()
}

/// A numeric field's text: quotes dropped; empty means null. polars skips leading blanks
/// before a number; the fast path leaves such text to it.
#[inline]
fn number_text(f: Field<'_>) -> Result<&[u8], Declined> {
    if f.escaped {
        return Err(Declined("a quote inside a number"));
    }
    match f.inner.first() {
        Some(b' ' | b'\t') => Err(Declined("blanks before a number")),
        _ => Ok(f.inner),
    }
}

fn unescape(inner: &[u8], quote: u8, out: &mut Vec<u8>) {
    out.clear();
    let mut last_was_quote = false;
    for &b in inner {
        if b == quote && last_was_quote {
            last_was_quote = false;
            continue;
        }
        last_was_quote = b == quote;
        out.push(b);
    }
}

/// Parses the records that start in `data[start..end]`.
fn parse_segment(
    data: &[u8],
    start: usize,
    end: usize,
    d: &Dialect,
    scan: &Scanner,
    sample: &Sample,
    n_rows: Option<usize>,
) -> Result<Vec<ColumnBuf>, Declined> {
    // Pieces meet at record starts, so no character is split between two checks. (A limited
    // read checks all its bytes too, as polars does.)
    std::str::from_utf8(&data[start..end]).map_err(|_| Declined("invalid UTF-8"))?;
    let limit = n_rows.unwrap_or(usize::MAX);
    let (rows, long_bytes) = sample.room(end - start);
    let width = sample.kinds.len();
    let rows = rows.min(limit.saturating_add(16));
    let mut bufs: Vec<ColumnBuf> = sample.kinds.iter().zip(long_bytes).map(|(&k, long)| ColumnBuf::new(k, rows, long)).collect();
    let mut scratch = Vec::new();
    let (mut pos, mut rows) = (start, 0);
    // A limited read takes few records; a single column has too little to index.
    let mut index = (n_rows.is_none() && width >= 2).then(index::Index::default);
    while pos < end && rows < limit {
        // Up to the end of a window: indexed when the text is plain, otherwise record by record.
        let to = (pos + index::WINDOW).min(end);
        if let Some(ix) = &mut index
            && let Some(next) = ix.scan(data, pos, to, d, width)
        {
            ix.fill(data, pos, d, &mut bufs, &mut scratch)?;
            #[cfg(test)]
            tests::INDEXED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rows += ix.records(width);
            pos = next;
            continue;
        }
        while pos < end && rows < limit && (pos < to || index.is_none()) {
            let (next, n) = record(data, pos, d, scan, width, &mut |c, f| bufs[c].push(f, d.quote, &mut scratch))?;
            if n != width {
                return Err(Declined("records with different numbers of fields"));
            }
            pos = next;
            rows += 1;
        }
    }
    if pos != end && rows < limit {
        return Err(MISSED_SPLIT);
    }
    Ok(bufs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::catalog::ReadOptions;
    use std::collections::BTreeMap;

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }
    }

    const INTS: &[&str] = &["0", "7", "-12", "007", "9223372036854775807", "-9223372036854775808", "", "42"];
    const FLOATS: &[&str] = &["1.5", "-0.25", ".5", "5.", "1e3", "-2.5E-3", "+1.0", "inf", "NaN", "3", "", "1234567.891"];
    const BOOLS: &[&str] = &["true", "false", "True", "FALSE", ""];
    const TEXTS: &[&str] = &[
        "a",
        "",
        "plain words",
        "comma, inside",
        "say \"hi\"",
        "two\nlines",
        "crlf\r\nline",
        "café ünïcode ✓",
        "a value longer than twelve bytes",
        " padded ",
        "12",
        "true",
        "N/A",
        "tab\there",
    ];
    /// Values that polars reads but the fast path is expected to leave to it.
    const ODD: &[&str] = &[" 5", "+5", "1_000", "0x10", "99999999999999999999", "1.5.5"];

    /// One field as a writer would put it: quoted when it must be, sometimes when it need not.
    fn field(rng: &mut Rng, value: &str, delimiter: char) -> String {
        let must = value.contains([delimiter, '"', '\n', '\r']) || (value.is_empty() && rng.below(3) == 0);
        if must || rng.below(5) == 0 { format!("\"{}\"", value.replace('"', "\"\"")) } else { value.to_string() }
    }

    /// A random file: columns of one kind each, a few mixed, optional notes and header.
    fn random_csv(rng: &mut Rng, delimiter: char) -> (String, ReadOptions) {
        let width = 1 + rng.below(6) as usize;
        let longest = if rng.below(4) == 0 { 400 } else { 40 };
        let rows = 1 + rng.below(longest) as usize;
        let kinds: Vec<&[&str]> = (0..width).map(|_| [INTS, FLOATS, BOOLS, TEXTS][rng.below(4) as usize]).collect();
        let eol = if rng.below(3) == 0 { "\r\n" } else { "\n" };
        let mut out = String::new();
        let skip_rows = if rng.below(6) == 0 { 1 } else { 0 };
        if skip_rows == 1 {
            out.push_str(&format!("exported from somewhere{eol}"));
        }
        let has_header = rng.below(5) != 0;
        if has_header {
            let names: Vec<String> = (0..width).map(|c| field(rng, &format!("col {c}"), delimiter)).collect();
            out.push_str(&names.join(&delimiter.to_string()));
            out.push_str(eol);
        }
        for r in 0..rows {
            let values: Vec<String> = kinds
                .iter()
                .map(|kind| {
                    let v = if rng.below(200) == 0 {
                        rng.pick(ODD)
                    } else if rng.below(100) == 0 {
                        rng.pick(TEXTS)
                    } else {
                        rng.pick(kind)
                    };
                    field(rng, v, delimiter)
                })
                .collect();
            // A record with a single empty unquoted field would be a blank line.
            out.push_str(&values.join(&delimiter.to_string()));
            if r + 1 < rows || rng.below(4) != 0 {
                out.push_str(eol);
            }
        }
        let o = ReadOptions { delimiter: delimiter.to_string(), quote: Some("\"".into()), has_header, encoding: "utf-8".into(), skip_rows };
        (out, o)
    }

    fn dialect(o: &ReadOptions) -> Dialect {
        Dialect {
            delimiter: o.delimiter.as_bytes()[0],
            quote: b'"',
            skip_records: o.skip_rows as usize + usize::from(o.has_header),
            has_header: o.has_header,
        }
    }

    /// Every column equal in type and value, floats to the bit, nulls in the same places.
    fn assert_same(fast: &DataFrame, slow: &DataFrame, text: &str) {
        assert_eq!(fast.shape(), slow.shape(), "shape differs for {text:?}");
        for (a, b) in fast.columns().iter().zip(slow.columns()) {
            assert_eq!(a.dtype(), b.dtype(), "type of {} differs for {text:?}", a.name());
            let (a, b) = (a.as_materialized_series(), b.as_materialized_series());
            if let (Ok(x), Ok(y)) = (a.f64(), b.f64()) {
                let bits = |c: &Float64Chunked| c.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>();
                assert_eq!(bits(x), bits(y), "values of {} differ for {text:?}", a.name());
            } else {
                assert!(a.equals_missing(b), "values of {} differ for {text:?}:\n{a}\n{b}", a.name());
            }
        }
    }

    #[test]
    fn agrees_with_polars_wherever_it_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut declined: BTreeMap<&str, usize> = BTreeMap::new();
        let (mut accepted, total) = (0, 600);
        for case in 0..total {
            let delimiter = if case % 4 == 0 { '\t' } else { ',' };
            let (text, o) = random_csv(&mut rng, delimiter);
            let path = dir.path().join(format!("{case}.csv"));
            std::fs::write(&path, &text).unwrap();
            let threads = 1 + case % 4;
            match super::read(text.as_bytes(), &dialect(&o), None, threads) {
                Ok(fast) => {
                    let slow = crate::read::read_with_polars(&path, &o, None, None).expect("polars reads what the fast path reads");
                    assert_same(&fast, &slow, &text);
                    accepted += 1;
                }
                Err(why) => *declined.entry(why.0).or_default() += 1,
            }
            // A limited read of the first records agrees too.
            if let Ok(fast) = super::read(text.as_bytes(), &dialect(&o), Some(3), 1) {
                let slow = crate::read::read_with_polars(&path, &o, Some(3), Some(text.as_bytes())).unwrap();
                assert_same(&fast, &slow, &text);
            }
        }
        // Most files are read; the odd values make some decline, for more than one reason.
        assert!(accepted > total * 2 / 3, "read {accepted} of {total}; declined {declined:?}");
        assert!(declined.len() >= 2, "{declined:?}");
    }

    /// Comma-separated text with a header.
    const COMMAS: Dialect = Dialect { delimiter: b',', quote: b'"', skip_records: 1, has_header: true };

    /// Windows the index took (each test runs in a process of its own).
    pub(super) static INDEXED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    #[test]
    fn indexed_windows_read_as_record_by_record() {
        // A limited read goes record by record; a whole one indexes what it can.
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let (mut both, mut declined) = (0, 0);
        for case in 0..400 {
            let delimiter = if case % 3 == 0 { '\t' } else { ',' };
            let (mut text, o) = random_csv(&mut rng, delimiter);
            if case % 2 == 0 {
                // Half the files without doubled quotes, so whole files are indexed.
                text = text.replace("\"say \"\"hi\"\"\"", "say hi");
            }
            let d = dialect(&o);
            let whole = super::read(text.as_bytes(), &d, None, 1 + case % 3);
            let by_record = super::read(text.as_bytes(), &d, Some(usize::MAX), 1);
            match (whole, by_record) {
                (Ok(a), Ok(b)) => {
                    assert_same(&a, &b, &text);
                    both += 1;
                }
                (Err(_), Err(_)) => declined += 1,
                (a, b) => panic!("one reader declined: {:?} / {:?} for {text:?}", a.err(), b.err()),
            }
        }
        let indexed = INDEXED.load(std::sync::atomic::Ordering::Relaxed);
        assert!(both > 250 && declined > 0, "{both} read, {declined} declined");
        assert!(indexed > 300, "{indexed} windows indexed");
    }

    #[test]
    fn irregular_text_past_the_typed_records_declines_as_record_by_record() {
        // The first 10,000 records are read record by record to type the columns, so the index
        // first meets irregular text after them.
        let mut head = String::from("a,b\n");
        for i in 0..INFER_ROWS + 700 {
            head.push_str(&format!("{i},\"v{i}\"\n"));
        }
        let d = COMMAS;
        let cases: &[(&str, &str)] = &[
            ("1,x\"y\"\n2,z\n", "a quote inside an unquoted field"),
            ("1, \"y\"\n2,z\n", "a quote inside an unquoted field"),
            ("1,\"y\"z\n2,z\n", "text after a closing quote"),
            ("1,\"y\"\"\n", "a quote that is never closed"),
            ("1,2,3\n4,5\n", "records with different numbers of fields"),
            ("1\n4,5\n", "records with different numbers of fields"),
            ("\n4,5\n", "a blank line"),
            ("\r\n4,5\n", "a blank line"),
            ("1,x\ry\n", "a carriage return inside an unquoted field"),
            ("1,x\r", "a carriage return inside an unquoted field"),
            ("1,\"y\"\r", "a carriage return inside an unquoted field"),
        ];
        for (tail, why) in cases {
            assert_eq!(read(format!("{head}{tail}").as_bytes(), &d, Some(usize::MAX), 1).unwrap_err(), Declined(why), "{tail:?}");
            // A record of every length before it puts the tail at every place in a 64-byte block.
            for pad in 0..66 {
                let text = format!("{head}7,\"{}\"\n{tail}", "w".repeat(pad));
                for threads in [1, 3] {
                    assert_eq!(read(text.as_bytes(), &d, None, threads).unwrap_err(), Declined(why), "{tail:?} after {pad}");
                }
            }
        }
        // Regular text in the same place reads, the last record with or without a line end.
        for tail in ["1,\"y\"", "1,y", "1,\"\"\r\n", "1,\"a,\nb\"\n"] {
            let text = format!("{head}{tail}");
            let whole = read(text.as_bytes(), &d, None, 2).unwrap();
            assert!(whole.equals_missing(&read(text.as_bytes(), &d, Some(usize::MAX), 1).unwrap()), "{tail:?}");
            assert_eq!(whole.height(), INFER_ROWS + 701);
        }
        assert!(INDEXED.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }

    #[test]
    fn irregular_windows_go_record_by_record() {
        // Doubled quotes, a CRLF, a quoted line break and a blank-looking quoted field in one file,
        // in windows of every size: the same table as read record by record.
        let mut text = String::from("a,b,c\n");
        for i in 0..3_000 {
            let note = match i % 7 {
                0 => "\"say \"\"hi\"\"\"".to_string(),
                1 => "\"two\nlines\"".to_string(),
                2 => "\"\"".to_string(),
                _ => format!("plain {i}"),
            };
            text.push_str(&format!("{i},{note},{}{}", i % 3 == 0, if i % 5 == 0 { "\r\n" } else { "\n" }));
        }
        let d = COMMAS;
        let by_record = read(text.as_bytes(), &d, Some(usize::MAX), 1).unwrap();
        for threads in [1, 2, 5] {
            assert!(read(text.as_bytes(), &d, None, threads).unwrap().equals_missing(&by_record));
        }
        assert!(INDEXED.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }

    #[test]
    fn short_text_views_equal_polars_inline_views() {
        let data = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 0..=12 {
            let mut buf = ColumnBuf::new(Kind::Str, 1, 0);
            let ColumnBuf::Str(a) = &mut buf else { unreachable!() };
            a.push(&data[3..3 + len], &data[3..]);
            // Near the end of the data the view is made the plain way.
            a.push(&data[data.len() - len..], &data[data.len() - len..]);
            assert_eq!(a.views[0].as_u128(), View::new_inline(&data[3..3 + len]).as_u128(), "{len}");
            assert_eq!(a.views[1].as_u128(), View::new_inline(&data[data.len() - len..]).as_u128(), "{len}");
        }
    }

    #[test]
    fn integers_parse_as_atoi_simd_parses_them() {
        let mut rng = Rng(7);
        let fixed = ["0", "-0", "007", "-007", "-", "", "+5", "1a", "9223372036854775807", "-9223372036854775808", "9223372036854775808"];
        let mut cases: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        for _ in 0..20_000 {
            let len = 1 + rng.below(20) as usize;
            let digits: String = (0..len).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
            cases.push(if rng.below(2) == 0 { format!("-{digits}") } else { digits });
            // Short text with bytes just outside the digits ('/', ':', '?', 0x7F-ish) in it.
            let mixed: String = (0..1 + rng.below(9)).map(|_| char::from(b"0123456789/:?;-+ \x7f"[rng.below(18) as usize])).collect();
            cases.push(mixed);
        }
        for c in &cases {
            let expected = atoi_simd::parse::<i64, true, true>(c.as_bytes()).ok();
            // With no bytes after it, and with other text after it (read in one load).
            assert_eq!(parse_int(c.as_bytes(), c.as_bytes()), expected, "{c:?}");
            let run_on = format!("{c},9;x\"0123456789");
            assert_eq!(parse_int(c.as_bytes(), run_on.as_bytes()), expected, "{c:?}");
        }
    }

    #[test]
    fn long_texts_are_equal_exactly_when_their_bytes_are() {
        for n in 9..70 {
            let a: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            assert!(same_long_text(&a, &a.clone()));
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 1;
                assert!(!same_long_text(&a, &b), "{n} {at}");
            }
        }
    }

    #[test]
    fn repeated_long_text_shares_its_bytes() {
        let (a, b) = ("2001-01-01 00:01:00.000000", "2001-01-01 00:02:00.000000");
        let mut buf = ColumnBuf::new(Kind::Str, 8, 0);
        let ColumnBuf::Str(s) = &mut buf else { unreachable!() };
        for v in [a, a, a, b, b, a] {
            s.push(v.as_bytes(), v.as_bytes());
        }
        // Runs share bytes; a value seen before the last run is stored again.
        assert_eq!(s.current.len(), 3 * a.len());
        let ColumnBuf::Str(s) = buf else { unreachable!() };
        let arr = s.finish();
        assert_eq!(arr.values_iter().collect::<Vec<_>>(), vec![a, a, a, b, b, a]);
    }

    #[test]
    fn a_header_with_a_quoted_line_break_is_one_record_to_both_readers() {
        let text = "\"a\nb\",c\n1,2\n3,4\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("header.csv");
        std::fs::write(&path, text).unwrap();
        let o = ReadOptions { delimiter: ",".into(), quote: Some("\"".into()), has_header: true, encoding: "utf-8".into(), skip_rows: 0 };
        let slow = crate::read::read_with_polars(&path, &o, None, None).unwrap();
        let fast = read(text.as_bytes(), &dialect(&o), None, 1).unwrap();
        assert_same(&fast, &slow, text);
        assert_eq!(fast.shape(), (2, 2));
    }

    #[test]
    fn a_value_that_contradicts_the_inferred_type_declines() {
        // Integers for the first 10,000 records, then text: polars infers again from every record.
        let mut text = String::from("id,n\n");
        for i in 0..INFER_ROWS {
            text.push_str(&format!("{i},{i}\n"));
        }
        text.push_str("x,1\n");
        let d = COMMAS;
        assert_eq!(read(text.as_bytes(), &d, None, 2).unwrap_err(), Declined("a value that is not an integer"));
    }

    #[test]
    fn files_polars_reads_its_own_way_decline() {
        let d = COMMAS;
        let cases: &[(&str, &str)] = &[
            ("a,b\n1,2\n\n3,4\n", "a blank line"),
            ("a,b\n1,2\n3\n", "records with different numbers of fields"),
            ("a,b\n1,2\n1,2,3\n", "records with different numbers of fields"),
            ("a,b\n1,x\"y\n", "a quote inside an unquoted field"),
            ("a,b\n1,x\"y\"\n2,3\n", "a quote inside an unquoted field"),
            ("a,b\n1, \"y\"\n2,3\n", "a quote inside an unquoted field"),
            ("a,b\n1,\"x\"y\n", "text after a closing quote"),
            ("a,b\n1,\"never closed\n", "a quote that is never closed"),
            ("a,b\n1,x\ry\n", "a carriage return inside an unquoted field"),
            ("a,b\n1,99999999999999999999\n", "an integer beyond 64 bits"),
            ("a,b\n1,\u{661}\u{662}\n", "a number written in non-ASCII digits"),
            ("a,b\n", "no data records"),
        ];
        for (text, why) in cases {
            assert_eq!(read(text.as_bytes(), &d, None, 2).unwrap_err(), Declined(why), "{text:?}");
        }
        let headerless = Dialect { skip_records: 0, has_header: false, ..d };
        assert_eq!(read("\u{feff}1,2\n".as_bytes(), &headerless, None, 1).unwrap_err(), Declined("a byte-order mark before data or notes"));
        let invalid = b"a,b\n1,x\xffy\n";
        assert_eq!(read(invalid, &d, None, 1).unwrap_err(), Declined("invalid UTF-8"));
    }

    #[test]
    fn pieces_shrink_towards_the_end_and_cover_the_data() {
        for (len, threads) in [(0, 2), (100, 1), (127, 2), (100_000, 2), (1 << 20, 8)] {
            let points = split_points(len, threads);
            assert_eq!((points[0], *points.last().unwrap()), (0, len));
            let sizes: Vec<usize> = points.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(sizes.windows(2).all(|w| w[0] >= w[1] || w[1] < 2 * MIN_PART), "{sizes:?}");
            if threads > 1 && len >= 2 * MIN_PART * threads * 4 {
                // Many more pieces than threads, the last ones small.
                assert!(sizes.len() > 4 * threads && *sizes.last().unwrap() < len / 100, "{sizes:?}");
            }
        }
    }

    #[test]
    fn pieces_split_inside_quoted_newlines_still_meet() {
        // Every record holds a quoted field with line breaks, so most even splits fall inside one.
        let mut text = String::from("id,note\n");
        for i in 0..5_000 {
            text.push_str(&format!("{i},\"line one\nline \"\"two\"\", {}\"\n", "x".repeat(i % 30)));
        }
        let d = COMMAS;
        let one = read(text.as_bytes(), &d, None, 1).unwrap();
        // The guessed starts (after the next line feed) fall inside quotes; found again, they meet.
        let data = &text.as_bytes()[8..];
        let points = split_points(data.len(), 3);
        let guessed = line_starts(data, &points);
        assert_ne!(guessed, boundaries(data, b'"', &points, 3));
        for threads in [2, 3, 7] {
            let many = read(text.as_bytes(), &d, None, threads).unwrap();
            assert!(many.column("column_1").unwrap().as_materialized_series().n_chunks() > threads);
            assert!(one.equals_missing(&many));
        }
        let note = one.column("column_2").unwrap().as_materialized_series().str().unwrap().get(4_999).unwrap().to_string();
        assert_eq!(note, format!("line one\nline \"two\", {}", "x".repeat(4_999 % 30)));
    }
}

//! The crawl's record count and ragged-row check for regular delimited text, 64 bytes at a time.
//!
//! Each 64-byte block becomes four bit masks (quotes, delimiters, line feeds, carriage returns,
//! one bit per byte, from SSE2 compares). The bytes inside quotes are the running XOR of the quote
//! bits (every quote toggles quoting; a doubled quote closes and reopens), so record ends are the
//! line feeds outside quotes and a record's fields are one more than the delimiters outside quotes
//! before its end. Only regular text is taken this way: every carriage return outside quotes
//! followed by a line feed, no blank records, every record as wide as the first, quotes closed at
//! the end. For anything else this returns `None` and the byte-by-byte scan in `sniff.rs` gives
//! the answer (and, for ragged rows, the line to name).

use crate::sniff::{ScanResult, prefix_xor};
use std::io::Read;

/// Bytes read at a time (a multiple of 64; small in tests, so files span many reads).
const CHUNK: usize = if cfg!(test) { 256 } else { 1 << 20 };

/// The bits of one block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    pub quote: u64,
    pub delimiter: u64,
    pub line_feed: u64,
    pub carriage_return: u64,
    pub space: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn masks(block: &[u8; 64], delimiter: u8, quote: u8) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks::default();
    for k in 0..4 {
        // SAFETY: `block` has 64 bytes, so 16 from `16 * k` are in bounds; SSE2 is part of every
        // x86-64 target.
        let bits = |wanted: u8| unsafe {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(wanted as i8))) as u16) << (16 * k)
        };
        m.quote |= bits(quote);
        m.delimiter |= bits(delimiter);
        m.line_feed |= bits(b'\n');
        m.carriage_return |= bits(b'\r');
        m.space |= bits(b' ');
    }
    if quote == 0 {
        m.quote = 0;
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn masks(block: &[u8; 64], delimiter: u8, quote: u8) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        m.quote |= if quote != 0 && b == quote { bit } else { 0 };
        m.delimiter |= if b == delimiter { bit } else { 0 };
        m.line_feed |= if b == b'\n' { bit } else { 0 };
        m.carriage_return |= if b == b'\r' { bit } else { 0 };
        m.space |= if b == b' ' { bit } else { 0 };
    }
    m
}

/// The state carried from block to block.
struct Scan {
    delimiter: u8,
    quote: u8,
    has_header: bool,
    /// All ones while inside quotes at the end of the last block.
    inside: u64,
    /// Bit 0 set: the last byte of the last block ended a record (so a record starts here).
    after_end: u64,
    /// Bit 0 set: the last byte of the last block was a carriage return outside quotes.
    pending_cr: u64,
    /// Bit 0 set: the last byte of the last block was a space that began a record.
    start_space: u64,
    /// Delimiters outside quotes so far, and at the start of the current record.
    delimiters: u64,
    at_record_start: u64,
    /// Bytes so far, and where the current record starts.
    offset: u64,
    record_start: u64,
    /// The header record's bytes while it is being read.
    header: Option<Vec<u8>>,
    header_done: bool,
    fields: Option<u64>,
    records: u64,
}

impl Scan {
    /// Takes one block (`len` real bytes; the rest zero). `None`: not regular text.
    fn block(&mut self, block: &[u8; 64], len: usize) -> Option<()> {
        let m = masks(block, self.delimiter, self.quote);
        let inside = prefix_xor(m.quote) ^ self.inside;
        self.inside = ((inside as i64) >> 63) as u64;
        let delims = m.delimiter & !inside;
        let ends = m.line_feed & !inside;
        let crs = m.carriage_return & !inside;
        // A carriage return outside quotes must start a CRLF.
        if self.pending_cr & !ends & 1 != 0 || crs & !(ends >> 1) & !(1 << 63) != 0 {
            return None;
        }
        self.pending_cr = crs >> 63;
        // A blank record: a line end (CR or LF) where a record starts, or after a space that
        // starts one. (The LF of a CRLF follows a CR, so it never sits in either place.)
        let starts = (ends << 1) | self.after_end;
        let start_spaces = (starts & m.space) << 1 | self.start_space;
        if (crs | ends) & (starts | start_spaces) != 0 {
            return None;
        }
        self.after_end = ends >> 63;
        self.start_space = (starts & m.space) >> 63;
        if !self.header_done && self.has_header {
            self.collect_header(block, len, ends);
        }
        let mut left = ends;
        while left != 0 {
            let e = left.trailing_zeros();
            let before = self.delimiters + u64::from((delims & ((1u64 << e) - 1)).count_ones());
            self.finish_record(before - self.at_record_start + 1)?;
            self.at_record_start = before;
            self.record_start = self.offset + u64::from(e) + 1;
            left &= left - 1;
        }
        self.delimiters += u64::from(delims.count_ones());
        self.offset += len as u64;
        Some(())
    }

    fn collect_header(&mut self, block: &[u8; 64], len: usize, ends: u64) {
        let header = self.header.get_or_insert_with(Vec::new);
        let upto = if ends != 0 { ends.trailing_zeros() as usize } else { len };
        header.extend_from_slice(&block[..upto]);
        if ends != 0 {
            self.header_done = true;
        }
    }

    /// Counts a record with `fields` fields (the first sets the width).
    fn finish_record(&mut self, fields: u64) -> Option<()> {
        match self.fields {
            None => {
                self.fields = Some(fields);
                if !self.has_header {
                    self.records += 1;
                }
            }
            Some(f) if f == fields => self.records += 1,
            Some(_) => return None,
        }
        Some(())
    }
}

/// Scans `file` (BOM and all) if it is regular; `header_names` turns the header record's bytes
/// into column names.
pub(crate) fn scan(
    mut file: impl Read,
    delimiter: u8,
    quote: u8,
    has_header: bool,
    header_names: impl Fn(&[u8]) -> Vec<String>,
) -> std::io::Result<Option<ScanResult>> {
    let mut s = Scan {
        delimiter,
        quote,
        has_header,
        inside: 0,
        after_end: 1,
        pending_cr: 0,
        start_space: 0,
        delimiters: 0,
        at_record_start: 0,
        offset: 0,
        record_start: 0,
        header: None,
        header_done: false,
        fields: None,
        records: 0,
    };
    let mut buf = vec![0u8; CHUNK];
    let (mut kept, mut first, mut last_byte) = (0, true, 0u8);
    loop {
        let mut filled = kept;
        while filled < CHUNK {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let eof = filled < CHUNK;
        let start = if std::mem::take(&mut first) && buf[..filled].starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
        let data = &buf[start..filled];
        if let Some(&b) = data.last() {
            last_byte = b;
        }
        let whole = data.len() / 64 * 64;
        for block in data[..whole].chunks_exact(64) {
            if s.block(block.try_into().unwrap_or(&[0; 64]), 64).is_none() {
                return Ok(None);
            }
        }
        let rest = &data[whole..];
        if eof {
            if !rest.is_empty() {
                let mut padded = [0u8; 64];
                padded[..rest.len()].copy_from_slice(rest);
                if s.block(&padded, rest.len()).is_none() {
                    return Ok(None);
                }
            }
            break;
        }
        // Less than a block is left: it goes first in the next read.
        kept = rest.len();
        buf.copy_within(start + whole..filled, 0);
    }
    if s.inside != 0 || s.pending_cr != 0 {
        return Ok(None);
    }
    // The last record, when the text does not end with a line end.
    let rest = s.offset - s.record_start;
    if rest > 0 {
        if rest == 1 && last_byte == b' ' {
            return Ok(None);
        }
        let fields = s.delimiters - s.at_record_start + 1;
        if s.finish_record(fields).is_none() {
            return Ok(None);
        }
    }
    let Some(fields) = s.fields else { return Ok(None) };
    let header = if has_header {
        header_names(s.header.as_deref().unwrap_or_default())
    } else {
        (1..=fields).map(|i| format!("column_{i}")).collect()
    };
    Ok(Some(ScanResult { records: s.records, fields, header }))
}

//! The common case of a piece, taken a window at a time: first an index of where every field
//! ends (from 64-byte bit masks, as the crawl's block scan reads them), then the window's fields
//! column by column, each column's type looked at once rather than per value.
//!
//! Only text whose every quote is plain is indexed: a quote opens a field at its start and closes
//! it just before a delimiter or line end, no doubled quotes, every carriage return outside quotes
//! part of a CRLF, every record as wide as the header. A window with anything else (an escaped
//! quote, a blank or ragged record, a stray quote or carriage return, an unclosed quote) is handed
//! back, and the record-by-record parser takes it, with its exact answer or its exact reason to
//! decline. So the index never has to judge irregular text, only to recognise regular text.

use super::{ColumnBuf, Declined, Dialect, Field};
use crate::blockscan::masks;
use crate::sniff::prefix_xor;

/// Bytes indexed at a time: the window and its index stay in cache while the columns are read.
pub(super) const WINDOW: usize = if cfg!(test) { 512 } else { 64 << 10 };

/// The whole records at the start of a window, as the offsets of their fields' ends.
#[derive(Default)]
pub(super) struct Index {
    /// `ends[0]` is -1 (the byte before the window); `ends[1 + r * width + c]` is the offset of
    /// the delimiter after field `c` of record `r`, or of the line feed after its last field (the
    /// end of the data for a last record without one).
    ends: Vec<u32>,
}

impl Index {
    /// Indexes the records that start in `data[from..to]` and end there (or at the end of the data);
    /// returns where the first record not indexed starts. `None`: the window is not plain text
    /// (or holds no whole record), and the record parser must take it.
    pub(super) fn scan(&mut self, data: &[u8], from: usize, to: usize, d: &Dialect, width: usize) -> Option<usize> {
        debug_assert!(to - from <= u32::MAX as usize && width >= 2 && d.quote != 0);
        self.ends.clear();
        self.ends.push(u32::MAX);
        // Carried from block to block: all ones while inside quotes; bit 0 set when the next
        // block's first byte starts a field, follows a closing quote, follows a carriage return.
        let (mut inside, mut field_start, mut after_close, mut after_cr) = (0u64, 1u64, 0u64, 0u64);
        let mut column = 0;
        let mut complete = 1;
        let mut padded = [0u8; 64];
        let mut at = from;
        while at < to {
            let len = (to - at).min(64);
            let block: &[u8; 64] = match data[at..].first_chunk::<64>() {
                Some(b) if len == 64 => b,
                _ => {
                    padded[..len].copy_from_slice(&data[at..at + len]);
                    padded[len..].fill(0);
                    &padded
                }
            };
            let valid = if len == 64 { u64::MAX } else { (1u64 << len) - 1 };
            let last = 1u64 << (len - 1);
            let m = masks(block, d.delimiter, d.quote);
            let quotes = m.quote & valid;
            let quoted = prefix_xor(quotes) ^ inside;
            inside = ((quoted as i64) >> 63) as u64;
            let opening = quotes & quoted;
            let closing = quotes & !quoted;
            let delimiters = m.delimiter & !quoted & valid;
            let line_feeds = m.line_feed & !quoted & valid;
            let crs = m.carriage_return & !quoted & valid;
            let breaks = delimiters | line_feeds;
            let starts = (breaks << 1) | field_start;
            // What may follow a closing quote: a delimiter, a line end (or the end of the data).
            let follow = breaks | crs | !valid;
            if opening & !starts != 0
                || closing & !(follow >> 1) & !last != 0
                || after_close & !follow & 1 != 0
                || crs & !(m.line_feed >> 1) & !last != 0
                || after_cr & !line_feeds & 1 != 0
            {
                return None;
            }
            field_start = (breaks & last != 0).into();
            after_close = (closing & last != 0).into();
            after_cr = (crs & last != 0).into();
            let mut left = breaks;
            while left != 0 {
                let bit = left.trailing_zeros();
                self.ends.push((at - from) as u32 + bit);
                if line_feeds & (1 << bit) != 0 {
                    if column != width - 1 {
                        return None;
                    }
                    column = 0;
                    complete = self.ends.len();
                } else {
                    // (A record with too many fields is caught at its line end.)
                    column += 1;
                }
                left &= left - 1;
            }
            at += len;
        }
        let mut next = from + self.ends[complete - 1].wrapping_add(1) as usize;
        if to == data.len() && next < to {
            // A last record without a line feed ends with the data (a carriage return or an open
            // quote there is irregular).
            if inside != 0 || after_cr != 0 || column != width - 1 {
                return None;
            }
            self.ends.push((to - from) as u32);
            complete = self.ends.len();
            next = to;
        }
        self.ends.truncate(complete);
        (complete > 1).then_some(next)
    }

    /// Adds the indexed records of the window starting at `from` to the columns.
    pub(super) fn fill(
        &self,
        data: &[u8],
        from: usize,
        d: &Dialect,
        bufs: &mut [ColumnBuf],
        scratch: &mut Vec<u8>,
    ) -> Result<(), Declined> {
        let width = bufs.len();
        for (column, buf) in bufs.iter_mut().enumerate() {
            let fields = Fields { data, from, ends: &self.ends, width, column, next: column, end: self.ends.len() - 1, quote: d.quote };
            buf.push_all(fields, d.quote, scratch)?;
        }
        Ok(())
    }

    /// The records indexed, each `width` fields wide.
    pub(super) fn records(&self, width: usize) -> usize {
        (self.ends.len() - 1) / width
    }
}

/// The fields of one column of an indexed window, record by record.
struct Fields<'a> {
    data: &'a [u8],
    from: usize,
    ends: &'a [u32],
    width: usize,
    column: usize,
    /// Index of the next field (record times width plus column), and the end of the fields.
    next: usize,
    end: usize,
    quote: u8,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    // Always inlined: it runs once per field, in the column's loop.
    #[inline(always)]
    fn next(&mut self) -> Option<Field<'a>> {
        if self.next >= self.end {
            return None;
        }
        let (i, data) = (self.next, self.data);
        self.next += self.width;
        let start = self.from + self.ends[i].wrapping_add(1) as usize;
        let mut end = self.from + self.ends[i + 1] as usize;
        // The last field of a CRLF record ends before the carriage return.
        if self.column + 1 == self.width && end > start && data[end - 1] == b'\r' {
            end -= 1;
        }
        Some(if end > start && data[start] == self.quote {
            Field { inner: &data[start + 1..end - 1], escaped: false, rest: &data[start + 1..] }
        } else {
            Field { inner: &data[start..end], escaped: false, rest: &data[start..] }
        })
    }
}

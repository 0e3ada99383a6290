//! Splitting records into fields: a scanner that finds field ends eight bytes at a time, and
//! the record tokenizer that declines whatever RFC 4180 does not allow.

use super::*;

/// Finds the bytes that end or open a field, eight at a time.
pub(super) struct Scanner {
    pub(super) classes: [bool; 256],
    pub(super) delimiter: u8,
    pub(super) quote: u8,
}

impl Scanner {
    pub(super) fn new(d: &Dialect) -> Self {
        let mut classes = [false; 256];
        for b in [d.delimiter, d.quote, b'\n', b'\r'] {
            classes[b as usize] = true;
        }
        Self { classes, delimiter: d.delimiter, quote: d.quote }
    }

    /// The first delimiter, quote, line feed or carriage return at or after `pos` (or the end).
    #[inline]
    pub(super) fn field_end(&self, b: &[u8], mut pos: usize) -> usize {
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
    pub(super) fn next_quote(&self, b: &[u8], mut pos: usize) -> Option<usize> {
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

/// Splits the record starting at `pos`, handing each field to `each` with its column index.
/// Returns where the next record starts and how many fields this one had. Declines blank lines,
/// more than `max_fields` fields, stray quotes and lone carriage returns.
#[inline]
pub(super) fn record<'a>(
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
            field = Field { inner: &b[start..p], escaped, rest: &b[start..] };
            pos = p + 1;
        } else {
            let start = pos;
            pos = scan.field_end(b, pos);
            field = Field { inner: &b[start..pos], escaped: false, rest: &b[start..] };
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

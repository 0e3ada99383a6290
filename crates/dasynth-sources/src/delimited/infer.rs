//! Column types from the first records, as polars' CSV reader infers them.

use super::*;

/// What the first records say: each column's type, and sizes to reserve room by.
pub(super) struct Sample {
    pub(super) kinds: Vec<Kind>,
    pub(super) rows: usize,
    pub(super) bytes: usize,
    /// Per column, bytes of text too long to sit inside a view.
    pub(super) long_bytes: Vec<usize>,
}

impl Sample {
    /// Rows and long-text bytes per column to expect in `len` bytes of records.
    pub(super) fn room(&self, len: usize) -> (usize, Vec<usize>) {
        let scale = len as f64 / self.bytes.max(1) as f64;
        let rows = (self.rows as f64 * scale * 1.05) as usize + 16;
        (rows, self.long_bytes.iter().map(|&b| (b as f64 * scale * 1.05) as usize).collect())
    }
}

/// Types every column from the first `limit` records.
pub(super) fn infer(data: &[u8], d: &Dialect, scan: &Scanner, limit: usize) -> Result<Sample, Declined> {
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
/// a missing value (pandas' missing-value text, quoted or not, the empty field among them).
pub(super) fn classify(f: Field<'_>) -> Result<u8, Declined> {
    let s = f.inner;
    if is_na(s) {
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

pub(super) fn leading_digits(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// `^-?\d+$`
pub(super) fn is_int_text(s: &[u8]) -> bool {
    let s = s.strip_prefix(b"-").unwrap_or(s);
    !s.is_empty() && leading_digits(s) == s.len()
}

/// `^[-+]?((\d*\.\d+)([eE][-+]?\d+)?|inf|NaN|(\d+)[eE][-+]?\d+|\d+\.)$`
pub(super) fn is_float_text(s: &[u8]) -> bool {
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
pub(super) fn is_exponent(s: &[u8]) -> bool {
    let Some(s) = s.strip_prefix(b"e").or_else(|| s.strip_prefix(b"E")) else { return false };
    let s = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    !s.is_empty() && leading_digits(s) == s.len()
}

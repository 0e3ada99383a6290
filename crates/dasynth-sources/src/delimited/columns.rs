//! Column builders: a piece's values straight into Arrow arrays, parsed as polars parses them.

use super::*;

/// Values of one column from one piece of the file.
pub(super) enum ColumnBuf {
    Int(Vec<i64>, Validity),
    Float(Vec<f64>, Validity),
    Bool(MutableBitmap, Validity),
    Str(StrBuf),
}

/// Text values as Arrow views: up to 12 bytes inside the view, longer ones in a byte buffer (a
/// value equal to the last long one, as in a sorted or grouped column, shares its bytes).
pub(super) struct StrBuf {
    pub(super) views: Vec<View>,
    pub(super) buffers: Vec<Buffer<u8>>,
    pub(super) current: Vec<u8>,
    /// Where the last long value lies in `current`.
    pub(super) last_long: Option<(usize, usize)>,
    pub(super) validity: Validity,
    pub(super) total_bytes: usize,
}

impl StrBuf {
    /// Adds `bytes`; `rest` starts with them and may run on (so short text loads in one piece).
    #[inline(always)]
    pub(super) fn push(&mut self, bytes: &[u8], rest: &[u8]) {
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
    pub(super) fn push_null(&mut self) {
        self.validity.push(self.views.len(), false);
        self.views.push(View::default());
    }

    pub(super) fn finish(mut self) -> Utf8ViewArray {
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
pub(super) fn same_long_text(a: &[u8], b: &[u8]) -> bool {
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
pub(super) struct Validity(Option<MutableBitmap>);

impl Validity {
    #[inline]
    pub(super) fn push(&mut self, len_before: usize, valid: bool) {
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

    pub(super) fn finish(self) -> Option<Bitmap> {
        self.0.map(Into::into)
    }
}

impl ColumnBuf {
    /// Room for `rows` values, and `long_bytes` bytes of long text.
    pub(super) fn new(kind: Kind, rows: usize, long_bytes: usize) -> Self {
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
    pub(super) fn finish(self) -> ArrayRef {
        match self {
            Self::Int(v, valid) => PrimitiveArray::<i64>::new(ArrowDataType::Int64, v.into(), valid.finish()).boxed(),
            Self::Float(v, valid) => PrimitiveArray::<f64>::new(ArrowDataType::Float64, v.into(), valid.finish()).boxed(),
            Self::Bool(v, valid) => BooleanArray::new(ArrowDataType::Boolean, v.into(), valid.finish()).boxed(),
            Self::Str(a) => a.finish().boxed(),
        }
    }

    /// Adds one field as polars' builders would, or declines where polars would fail.
    #[inline]
    pub(super) fn push(&mut self, f: Field<'_>, quote: u8, scratch: &mut Vec<u8>) -> Result<(), Declined> {
        self.push_all(std::iter::once(f), quote, scratch)
    }

    /// [`ColumnBuf::push`] for each of `fields`, with the column's type looked at once.
    #[inline]
    pub(super) fn push_all<'a>(
        &mut self,
        fields: impl Iterator<Item = Field<'a>>,
        quote: u8,
        scratch: &mut Vec<u8>,
    ) -> Result<(), Declined> {
        match self {
            Self::Str(a) => {
                for f in fields {
                    if is_na(f.inner) {
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
                    // Missing-value text is never an integer: looked for only when parsing fails.
                    let value = if s.is_empty() { None } else { parse_int(s, f.rest) };
                    if value.is_none() && !is_na(s) {
                        return Err(Declined("a value that is not an integer"));
                    }
                    valid.push(v.len(), value.is_some());
                    v.push(value.unwrap_or(0));
                }
            }
            Self::Float(v, valid) => {
                for f in fields {
                    let s = number_text(f)?;
                    // Missing-value text either fails to parse or parses as NaN (`nan`, `-NaN`).
                    let value = if s.is_empty() { None } else { fast_float2::parse::<f64, _>(s).ok() };
                    let value = match value {
                        Some(x) if x.is_nan() && is_na(s) => None,
                        None if !is_na(s) => return Err(Declined("a value that is not a number")),
                        other => other,
                    };
                    valid.push(v.len(), value.is_some());
                    v.push(value.unwrap_or(0.0));
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
                    } else if is_na(s) {
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
pub(super) fn parse_int(s: &[u8], rest: &[u8]) -> Option<i64> {
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
pub(super) fn number_text(f: Field<'_>) -> Result<&[u8], Declined> {
    if f.escaped {
        return Err(Declined("a quote inside a number"));
    }
    match f.inner.first() {
        Some(b' ' | b'\t') => Err(Declined("blanks before a number")),
        _ => Ok(f.inner),
    }
}

pub(super) fn unescape(inner: &[u8], quote: u8, out: &mut Vec<u8>) {
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

//! Sniffing delimited text: encoding, delimiter, quoting and header, plus a streaming scan that
//! counts records and finds ragged rows without loading the file.

use dasynth_core::catalog::ReadOptions;
use std::io::{BufReader, Read};
use std::path::Path;

/// Bytes read for sniffing.
const SAMPLE_BYTES: usize = 256 * 1024;
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Text encodings dasynth recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Windows1252,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf8Bom => "utf-8-sig",
            Self::Windows1252 => "windows-1252",
        }
    }
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "utf-8-sig" => Some(Self::Utf8Bom),
            "windows-1252" | "latin-1" | "latin1" | "iso-8859-1" | "cp1252" => Some(Self::Windows1252),
            _ => None,
        }
    }
}

/// Streams the whole file to decide its encoding: a BOM, else valid UTF-8, else Windows-1252
/// (a superset of Latin-1 in which every byte decodes).
pub fn detect_encoding(path: &Path) -> std::io::Result<Encoding> {
    if first_invalid_utf8(path)?.is_some() {
        return Ok(Encoding::Windows1252);
    }
    let mut head = Vec::with_capacity(3);
    std::fs::File::open(path)?.take(3).read_to_end(&mut head)?;
    Ok(if head == [0xEF, 0xBB, 0xBF] { Encoding::Utf8Bom } else { Encoding::Utf8 })
}

/// Splits one record of `text` starting at `pos`; returns the fields and the next position.
/// Quote-aware: delimiters and newlines inside quotes belong to the field.
pub fn split_record(text: &[u8], mut pos: usize, delim: u8, quote: u8) -> (Vec<String>, usize) {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut in_quotes = false;
    let mut at_field_start = true;
    while pos < text.len() {
        let b = text[pos];
        if in_quotes {
            if b == quote {
                if text.get(pos + 1) == Some(&quote) {
                    field.push(quote);
                    pos += 1;
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(b);
            }
        } else if b == quote && at_field_start {
            in_quotes = true;
            at_field_start = false;
        } else if b == delim {
            fields.push(String::from_utf8_lossy(&field).into_owned());
            field.clear();
            at_field_start = true;
        } else if b == b'\n' || b == b'\r' {
            if b == b'\r' && text.get(pos + 1) == Some(&b'\n') {
                pos += 1;
            }
            pos += 1;
            fields.push(String::from_utf8_lossy(&field).into_owned());
            return (fields, pos);
        } else {
            field.push(b);
            at_field_start = false;
        }
        pos += 1;
    }
    fields.push(String::from_utf8_lossy(&field).into_owned());
    (fields, pos)
}

/// Whether text ends its lines with a carriage return alone (old Mac files): it has carriage
/// returns and no line feed.
pub fn lone_carriage_returns(head: &[u8]) -> bool {
    memchr::memchr(b'\n', head).is_none() && memchr::memchr(b'\r', head).is_some()
}

fn sample_records(text: &[u8], delim: u8, quote: u8, max: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut pos = 0;
    // Drop a trailing partial line: the sample may cut a record.
    let end =
        if text.len() == SAMPLE_BYTES { text.iter().rposition(|&b| b == b'\n').map(|p| p + 1).unwrap_or(text.len()) } else { text.len() };
    let text = &text[..end];
    while pos < text.len() && out.len() < max {
        let (rec, next) = split_record(text, pos, delim, quote);
        pos = next;
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        out.push(rec);
    }
    out
}

fn looks_numeric(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.parse::<f64>().is_ok()
}

/// Guesses delimiter, quote and header from the start of a file. `hint` is the delimiter the
/// extension suggests (tab for `.tsv`).
pub fn sniff_dialect(path: &Path, encoding: Encoding, hint: Option<u8>) -> std::io::Result<ReadOptions> {
    let mut f = std::fs::File::open(path)?;
    let mut raw = Vec::with_capacity(SAMPLE_BYTES);
    (&mut f).take(SAMPLE_BYTES as u64).read_to_end(&mut raw)?;
    let text: Vec<u8> = match encoding {
        Encoding::Utf8 => raw,
        Encoding::Utf8Bom => raw.get(3..).unwrap_or_default().to_vec(),
        Encoding::Windows1252 => encoding_rs::WINDOWS_1252.decode(&raw).0.into_owned().into_bytes(),
    };
    let quote = b'"';
    // Score each delimiter: records whose field count equals the most common count, times the
    // number of fields. A hint wins ties.
    let mut best: Option<(u8, usize, usize)> = None;
    for &d in &DELIMITERS {
        let recs = sample_records(&text, d, quote, 200);
        if recs.is_empty() {
            continue;
        }
        let mut counts = std::collections::HashMap::new();
        for r in &recs {
            *counts.entry(r.len()).or_insert(0usize) += 1;
        }
        let (&mode, &freq) = counts.iter().max_by_key(|(k, v)| (**v, **k)).unwrap_or((&1, &0));
        if mode < 2 {
            continue;
        }
        let consistency = freq * 1000 / recs.len();
        let bonus = usize::from(Some(d) == hint);
        let score = consistency * 10 + bonus;
        let better = match best {
            None => true,
            Some((_, s, m)) => score > s || (score == s && mode > m),
        };
        if better {
            best = Some((d, score, mode));
        }
    }
    let delimiter = best.map(|b| b.0).or(hint).unwrap_or(b',');
    let recs = sample_records(&text, delimiter, quote, 50);
    let has_header = match recs.as_slice() {
        [first, rest @ ..] => {
            let first_numeric = first.iter().filter(|f| looks_numeric(f)).count();
            let first_empty = first.iter().filter(|f| f.trim().is_empty()).count();
            if first_numeric == 0 && first_empty < first.len() {
                true
            } else if rest.is_empty() {
                first_numeric == 0
            } else {
                // No header when the first row is as numeric as the rows below it.
                let rest_numeric: f64 =
                    rest.iter().map(|r| r.iter().filter(|f| looks_numeric(f)).count() as f64).sum::<f64>() / rest.len() as f64;
                (first_numeric as f64) < rest_numeric
            }
        }
        [] => true,
    };
    Ok(ReadOptions {
        delimiter: (delimiter as char).to_string(),
        quote: Some((quote as char).to_string()),
        has_header,
        encoding: encoding.label().to_string(),
        skip_rows: 0,
    })
}

/// What a full streaming pass over a delimited file found.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanResult {
    /// Data records (excluding the header).
    pub records: u64,
    /// Fields per record (from the header or first record).
    pub fields: u64,
    /// Column names (the header, or `column_1`.. when there is none).
    pub header: Vec<String>,
}

/// A delimited file whose records disagree on their field count.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("ragged rows: line {line} has {found} fields but the {basis} has {expected}")]
pub struct Ragged {
    pub line: u64,
    pub found: u64,
    pub expected: u64,
    pub basis: &'static str,
}

/// Errors of [`scan_delimited`].
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Ragged(#[from] Ragged),
    #[error("the file is empty")]
    Empty,
    #[error("unterminated quoted field starting on line {0}")]
    UnterminatedQuote(u64),
}

/// Streams the file once, quote-aware, counting records and checking that every record has the
/// header's number of fields. Blank lines are ignored. Memory stays constant.
pub fn scan_delimited(path: &Path, opts: &ReadOptions) -> Result<ScanResult, ScanError> {
    if let Some(result) = block_scan(std::fs::File::open(path)?, opts)? {
        return Ok(result);
    }
    scan(std::fs::File::open(path)?, opts, true)
}

/// [`crate::blockscan::scan`] with the options' delimiter, quote and header.
fn block_scan(file: impl Read, opts: &ReadOptions) -> std::io::Result<Option<ScanResult>> {
    let (delim, quote) = (opts.delimiter_byte(), opts.quote_byte().unwrap_or(0));
    let encoding = Encoding::from_label(&opts.encoding).unwrap_or(Encoding::Utf8);
    crate::blockscan::scan(file, delim, quote, opts.has_header, |bytes| header_names(bytes, encoding, delim, quote))
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `w` that equals `b`, exactly (no carries cross bytes).
pub(crate) fn bytes_equal(w: u64, b: u8) -> u64 {
    let t = w ^ (LOW_BITS * u64::from(b));
    !(((t & !HIGH_BITS) + !HIGH_BITS) | t) & HIGH_BITS
}

/// One bit per byte (bit `i` for byte `i`) from the high bits [`bytes_equal`] sets.
fn byte_bits(high: u64) -> u8 {
    (((high >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56) as u8
}

/// The number of bits set in each byte value (the baseline x86-64 target has no popcount
/// instruction).
const BITS_SET: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).count_ones() as u8;
        i += 1;
    }
    t
};

/// Bit `i` is the XOR of bits `0..=i`.
pub(crate) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// [`scan_delimited`] over any reader. With `words`, stretches without line ends are taken
/// eight bytes at a time (delimiters counted outside quotes, quoting followed through the
/// quote bits); without, byte by byte. Both give the same answer.
fn scan(file: impl Read, opts: &ReadOptions, words: bool) -> Result<ScanResult, ScanError> {
    let (delim, quote) = (opts.delimiter_byte(), opts.quote_byte().unwrap_or(0));
    let encoding = Encoding::from_label(&opts.encoding).unwrap_or(Encoding::Utf8);
    let mut reader = BufReader::with_capacity(1 << 17, file);
    let mut buf = vec![0u8; 1 << 17];
    let mut line: u64 = 1;
    let mut record_start_line: u64 = 1;
    let mut fields_in_record: u64 = 1;
    let mut record_has_content = false;
    let mut in_quotes = false;
    let mut at_field_start = true;
    let mut prev_cr = false;
    let mut expected: Option<u64> = None;
    let mut records: u64 = 0;
    let mut header_bytes: Vec<u8> = Vec::new();
    let mut collecting_header = true;
    let mut first_chunk = true;
    // Bytes the state machine must look at, outside and inside quotes.
    let mut special = [false; 256];
    let mut quoted_special = [false; 256];
    for b in [delim, b'\n', b'\r'] {
        special[usize::from(b)] = true;
    }
    quoted_special[usize::from(b'\n')] = true;
    quoted_special[usize::from(b'\r')] = true;
    if quote != 0 {
        special[usize::from(quote)] = true;
        quoted_special[usize::from(quote)] = true;
    }
    let finish_record =
        |fields: u64, has_content: bool, start_line: u64, expected: &mut Option<u64>, records: &mut u64| -> Result<(), Ragged> {
            if !has_content {
                return Ok(());
            }
            match *expected {
                None => *expected = Some(fields),
                Some(e) if e != fields => {
                    return Err(Ragged {
                        line: start_line,
                        found: fields,
                        expected: e,
                        basis: if opts.has_header { "header" } else { "first row" },
                    });
                }
                Some(_) => *records += 1,
            }
            Ok(())
        };
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        if first_chunk {
            first_chunk = false;
            if chunk.starts_with(&[0xEF, 0xBB, 0xBF]) {
                chunk = &chunk[3..];
            }
        }
        let mut i = 0;
        while i < chunk.len() {
            if words && !collecting_header && !prev_cr {
                while let Some(w) = chunk.get(i..i + 8) {
                    let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
                    if bytes_equal(w, b'\n') | bytes_equal(w, b'\r') != 0 {
                        break;
                    }
                    let delims = bytes_equal(w, delim);
                    let quotes = if quote != 0 { bytes_equal(w, quote) } else { 0 };
                    if quotes == 0 && !in_quotes {
                        // Byte sums in the top byte: the number of delimiters.
                        fields_in_record += (delims >> 7).wrapping_mul(LOW_BITS) >> 56;
                        at_field_start = delims >> 63 != 0; // the last byte is a delimiter
                    } else if quotes != 0 {
                        // Every quote toggles quoting (a doubled quote closes and reopens), so
                        // the bytes inside quotes are a running XOR of the quote bits.
                        let inside = prefix_xor(u64::from(byte_bits(quotes))) as u8 ^ if in_quotes { 0xff } else { 0 };
                        let counted = byte_bits(delims) & !inside;
                        fields_in_record += u64::from(BITS_SET[usize::from(counted)]);
                        in_quotes = inside & 0x80 != 0;
                        at_field_start = counted & 0x80 != 0;
                    }
                    // Eight bytes without a line end give the record content whatever they are
                    // (a lone space at a field start would not, but seven more bytes follow; an
                    // open quote gave it content when it opened).
                    record_has_content = true;
                    i += 8;
                }
                if i == chunk.len() {
                    break;
                }
            }
            if !collecting_header {
                // Skip a run of ordinary bytes at once: all they can change is whether the
                // record has content (a lone space at the start of a field does not count).
                let table = if in_quotes { &quoted_special } else { &special };
                let start = i;
                while i < chunk.len() && !table[usize::from(chunk[i])] {
                    i += 1;
                }
                if i > start {
                    prev_cr = false;
                    if !in_quotes {
                        if !(at_field_start && &chunk[start..i] == b" ") {
                            record_has_content = true;
                        }
                        at_field_start = false;
                    }
                    if i == chunk.len() {
                        break;
                    }
                }
            }
            let b = chunk[i];
            i += 1;
            if collecting_header {
                header_bytes.push(b);
            }
            if b == b'\n' && prev_cr {
                prev_cr = false;
                continue;
            }
            prev_cr = false;
            if in_quotes {
                if b == quote {
                    in_quotes = false; // a doubled quote re-opens on the next byte
                } else if b == b'\n' || b == b'\r' {
                    line += 1;
                    prev_cr = b == b'\r';
                }
                continue;
            }
            if b == quote && quote != 0 {
                in_quotes = true;
                record_has_content = true;
                at_field_start = false;
            } else if b == delim {
                fields_in_record += 1;
                record_has_content = true;
                at_field_start = true;
            } else if b == b'\n' || b == b'\r' {
                prev_cr = b == b'\r';
                finish_record(fields_in_record, record_has_content, record_start_line, &mut expected, &mut records)?;
                if record_has_content && collecting_header {
                    collecting_header = false;
                }
                line += 1;
                record_start_line = line;
                fields_in_record = 1;
                record_has_content = false;
                at_field_start = true;
            } else {
                if !(b == b' ' && at_field_start) {
                    record_has_content = true;
                }
                at_field_start = false;
            }
        }
    }
    if in_quotes {
        return Err(ScanError::UnterminatedQuote(record_start_line));
    }
    finish_record(fields_in_record, record_has_content, record_start_line, &mut expected, &mut records)?;
    let Some(fields) = expected else {
        return Err(ScanError::Empty);
    };
    let header = if opts.has_header {
        header_names(&header_bytes, encoding, delim, quote)
    } else {
        records += 1; // the first record was data
        (1..=fields).map(|i| format!("column_{i}")).collect()
    };
    Ok(ScanResult { records, fields, header })
}

/// Column names from the bytes of a header record.
fn header_names(bytes: &[u8], encoding: Encoding, delim: u8, quote: u8) -> Vec<String> {
    let text = match encoding {
        Encoding::Windows1252 => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    let text = text.trim_start_matches('\u{feff}');
    split_record(text.as_bytes(), 0, delim, if quote == 0 { b'"' } else { quote }).0
}

/// Byte offset of the first invalid UTF-8 sequence (or of an incomplete one at the end),
/// checked 1 MiB at a time in place.
pub fn first_invalid_utf8(path: &Path) -> std::io::Result<Option<u64>> {
    // Tests read a few bytes at a time, so characters straddle the pieces.
    let piece: usize = if cfg!(test) { 7 } else { 1 << 20 };
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; piece];
    // `buf[..kept]` is the start of a character cut off by the last read; `offset` is the file
    // offset of `buf[0]`.
    let (mut kept, mut offset) = (0usize, 0u64);
    loop {
        let n = f.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok((kept > 0).then_some(offset));
        }
        let filled = kept + n;
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => (kept, offset) = (0, offset + filled as u64),
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                (kept, offset) = (filled - valid, offset + valid as u64);
            }
            Err(e) => return Ok(Some(offset + e.valid_up_to() as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn eight_bytes_at_a_time_and_byte_by_byte_agree() {
        // Random text over the bytes the scan cares about, short files and files longer than
        // the read buffer, with and without quoting and header.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let alphabet = b",,,,\"\n\n\r  aaaaaaaaaaaaaaaaaaab;";
        let mut by_blocks = 0;
        for case in 0..400 {
            let len = if case % 40 == 0 { 300_000 + next(5_000) } else { next(600) } as usize;
            // Mostly rectangular: a record is fields of random text, some quoted (with
            // delimiters, line ends and doubled quotes inside), now and then a stray byte.
            let fields = 1 + next(6);
            // Every third file is regular: no stray bytes, no blank lines.
            let regular = case % 3 == 0;
            let mut text = Vec::with_capacity(len + 64);
            if case % 7 == 0 {
                text.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
            }
            while text.len() < len {
                if case % 2 == 1 && !regular && next(300) == 0 {
                    text.push(alphabet[next(alphabet.len() as u64) as usize]);
                }
                for f in 0..fields {
                    if f > 0 {
                        text.push(b',');
                    }
                    let quoted = next(5) == 0;
                    if quoted {
                        text.push(b'"');
                    }
                    for _ in 0..next(14) {
                        let from = if quoted { 0 } else { 8 };
                        let b = alphabet[(from + next(alphabet.len() as u64 - from)) as usize];
                        text.extend_from_slice(if quoted && b == b'"' { b"\"\"" } else { std::slice::from_ref(&b) });
                    }
                    if quoted {
                        text.push(b'"');
                    }
                }
                text.extend_from_slice(match next(8) {
                    0 => b"\r\n",
                    1 if !regular => b"\n\n",
                    2 if !regular => b"\n \n",
                    _ => b"\n",
                });
            }
            for (quote, has_header) in [(Some("\""), true), (None, true), (Some("\""), false)] {
                let o = ReadOptions {
                    delimiter: ",".into(),
                    quote: quote.map(str::to_string),
                    has_header,
                    encoding: "utf-8".into(),
                    skip_rows: 0,
                };
                let fast = format!("{:?}", scan(std::io::Cursor::new(&text), &o, true));
                let slow = format!("{:?}", scan(std::io::Cursor::new(&text), &o, false));
                assert_eq!(
                    fast,
                    slow,
                    "case {case}, quote {quote:?}, header {has_header}: {:?}",
                    String::from_utf8_lossy(&text[..text.len().min(200)])
                );
                // Sixty-four bytes at a time, where the text is regular enough.
                if let Some(blocks) = block_scan(std::io::Cursor::new(&text), &o).unwrap() {
                    assert_eq!(
                        format!("{:?}", Ok::<_, ScanError>(blocks)),
                        slow,
                        "case {case}, quote {quote:?}, header {has_header}: {:?}",
                        String::from_utf8_lossy(&text[..text.len().min(200)])
                    );
                    by_blocks += 1;
                }
            }
        }
        // Regular files (a third of 400, three ways each) mostly go by blocks.
        assert!(by_blocks > 250, "{by_blocks}");
    }

    #[test]
    fn sniffs_semicolons_with_quoted_delimiters_and_newlines() {
        let f = file(b"name;note;price\n\"a\";\"x;y\";1,5\n\"b\";\"line\nbreak\";2,0\nc;z;3\n");
        let o = sniff_dialect(f.path(), Encoding::Utf8, None).unwrap();
        assert_eq!(o.delimiter, ";");
        assert!(o.has_header);
        let s = scan_delimited(f.path(), &o).unwrap();
        assert_eq!((s.records, s.fields), (3, 3));
        assert_eq!(s.header, vec!["name", "note", "price"]);
    }

    #[test]
    fn numeric_first_row_means_no_header() {
        let f = file(b"1,2,3\n4,5,6\n");
        let o = sniff_dialect(f.path(), Encoding::Utf8, None).unwrap();
        assert!(!o.has_header);
        assert_eq!(scan_delimited(f.path(), &o).unwrap().records, 2);
    }

    #[test]
    fn ragged_row_is_named_by_line() {
        let f = file(b"a,b,c\n1,2,3\n4,5\n");
        let o = sniff_dialect(f.path(), Encoding::Utf8, None).unwrap();
        let err = scan_delimited(f.path(), &o).unwrap_err();
        assert_eq!(err.to_string(), "ragged rows: line 3 has 2 fields but the header has 3");
    }

    #[test]
    fn encodings() {
        // Characters of two, three and four bytes across the pieces, then a bad or cut-off end.
        let text = "aé€😀b".repeat(5);
        for tail in [&b""[..], b"\xff", b"\xe2\x82", b"x\x80yz"] {
            let mut bytes = text.as_bytes().to_vec();
            bytes.extend_from_slice(tail);
            let expected = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to() as u64);
            assert_eq!(first_invalid_utf8(file(&bytes).path()).unwrap(), expected, "{tail:?}");
        }
        assert_eq!(detect_encoding(file(b"a,b\n1,2\n").path()).unwrap(), Encoding::Utf8);
        assert_eq!(detect_encoding(file(b"\xEF\xBB\xBFa,b\n").path()).unwrap(), Encoding::Utf8Bom);
        assert_eq!(detect_encoding(file(b"name\nJos\xe9\n").path()).unwrap(), Encoding::Windows1252);
        assert_eq!(detect_encoding(file("name\nJosé\n".as_bytes()).path()).unwrap(), Encoding::Utf8);
    }

    #[test]
    fn long_quoted_fields_across_read_buffers_keep_line_numbers() {
        // Ordinary bytes are skipped a run at a time; a quoted field with delimiters and
        // newlines straddling the 128 KiB read buffer must not change the count or line numbers.
        let mut bytes = b"id,text,n\n".to_vec();
        let mut line = 2;
        for i in 0..3000 {
            bytes.extend_from_slice(format!("{i},\"a, b\nc \"\"q\"\" {}\",{i}\n", "x".repeat(i % 97)).as_bytes());
            line += 2;
        }
        bytes.extend_from_slice(b" \n");
        bytes.extend_from_slice(b"9, 8 ,7\n");
        line += 2;
        assert!(bytes.len() > 1 << 17);
        let f = file(&bytes);
        let o = sniff_dialect(f.path(), Encoding::Utf8, None).unwrap();
        assert_eq!(scan_delimited(f.path(), &o).unwrap().records, 3001, "a line of one space is blank");
        bytes.extend_from_slice(b"1,2\n");
        let f = file(&bytes);
        let err = scan_delimited(f.path(), &o).unwrap_err();
        assert_eq!(err.to_string(), format!("ragged rows: line {line} has 2 fields but the header has 3"));
    }

    #[test]
    fn crlf_and_blank_lines() {
        let f = file(b"a,b\r\n1,2\r\n\r\n3,4\r\n");
        let o = sniff_dialect(f.path(), Encoding::Utf8, None).unwrap();
        assert_eq!(scan_delimited(f.path(), &o).unwrap().records, 2);
    }
}

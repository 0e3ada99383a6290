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

use crate::missing::is_na;
use crate::sniff::bytes_equal;
use rayon::prelude::*;

mod columns;
mod index;
mod infer;
mod parse;
mod scan;
mod split;

use columns::*;
use infer::*;
use parse::*;
use scan::*;
use split::*;

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

/// One field: its bytes without the surrounding quotes (quoted or not, a field reads the same:
/// missing-value text is missing either way, as in pandas and polars), and whether it holds
/// doubled quotes to undo.
#[derive(Clone, Copy)]
struct Field<'a> {
    inner: &'a [u8],
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
        pieces
            .par_iter()
            .with_max_len(1)
            .map(|&(start, end)| parse_segment(data, start, end, d, &scan, &sample, n_rows))
            .collect::<Result<Vec<_>, _>>()
    };
    // Pieces first start after the first line feed past each split point; a piece that does not
    // end where the next begins shows that a point fell inside a quoted line break, and the
    // starts are found again from the parity of the quotes (a whole pass over the file).
    // A guessed start inside a quoted line break can also show as a value of the wrong kind,
    // and which error a parallel parse reports first is a race: with several pieces, any error
    // of the guessed starts is decided again on the exact ones.
    let segments = match parse(&line_starts(data, &points)) {
        Err(MISSED_SPLIT) => parse(&boundaries(data, d.quote, &points))?,
        Err(_) if points.len() > 2 => parse(&boundaries(data, d.quote, &points))?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::catalog::ReadOptions;
    use std::collections::BTreeMap;

    use dasynth_core::rng::Rng;

    fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
        items[rng.below(items.len() as u64) as usize]
    }

    const INTS: &[&str] = &["0", "7", "-12", "007", "9223372036854775807", "-9223372036854775808", "", "42", "NA", "null"];
    const FLOATS: &[&str] =
        &["1.5", "-0.25", ".5", "5.", "1e3", "-2.5E-3", "+1.0", "inf", "NaN", "3", "", "1234567.891", "-nan", "1.#QNAN", "nan"];
    const BOOLS: &[&str] = &["true", "false", "True", "FALSE", "", "NULL"];
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
        "None",
        "<NA>",
        " NA",
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
                        pick(rng, ODD)
                    } else if rng.below(100) == 0 {
                        pick(rng, TEXTS)
                    } else {
                        pick(rng, kind)
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
        let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
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
                    let slow = crate::read::read_with_polars(&path, &o, None, None, b'\n').expect("polars reads what the fast path reads");
                    assert_same(&fast, &slow, &text);
                    accepted += 1;
                }
                Err(why) => *declined.entry(why.0).or_default() += 1,
            }
            // A limited read of the first records agrees too.
            if let Ok(fast) = super::read(text.as_bytes(), &dialect(&o), Some(3), 1) {
                let slow = crate::read::read_with_polars(&path, &o, Some(3), Some(text.as_bytes()), b'\n').unwrap();
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
        let mut rng = Rng::new(0xD1B5_4A32_D192_ED03);
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
        let mut rng = Rng::new(7);
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
        let slow = crate::read::read_with_polars(&path, &o, None, None, b'\n').unwrap();
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
        assert_ne!(guessed, boundaries(data, b'"', &points));
        for threads in [2, 3, 7] {
            let many = read(text.as_bytes(), &d, None, threads).unwrap();
            assert!(many.column("column_1").unwrap().as_materialized_series().n_chunks() > threads);
            assert!(one.equals_missing(&many));
        }
        let note = one.column("column_2").unwrap().as_materialized_series().str().unwrap().get(4_999).unwrap().to_string();
        assert_eq!(note, format!("line one\nline \"two\", {}", "x".repeat(4_999 % 30)));
    }
}

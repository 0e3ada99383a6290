//! Semantic types and quality flags: what a column means, and what is wrong with it.

use crate::column::ColumnFacts;
use dasynth_core::profile::*;
use polars::prelude::*;

/// Text placeholders for "no value".
const TEXT_SENTINELS: &[&str] =
    &["n/a", "na", "n.a.", "null", "none", "nan", "-", "--", "?", "missing", "#n/a", "nil", "undefined", "not available"];
/// Numeric placeholders, counted only when they sit outside the column's normal range.
const NUMERIC_SENTINELS: &[f64] = &[-9.0, -99.0, -999.0, -9999.0, -99999.0, 999.0, 9999.0, 99999.0, 999999.0];

pub(crate) fn is_text_sentinel(v: &str) -> bool {
    let t = v.trim();
    TEXT_SENTINELS.iter().any(|s| t.eq_ignore_ascii_case(s))
}

/// Counts of numeric placeholder values that are outliers of their column; `count` says how
/// often a value occurs.
pub(crate) fn numeric_sentinels(ns: &NumericStats, count: impl Fn(f64) -> u64) -> Vec<ValueCount> {
    let iqr = ns.quantiles.p75 - ns.quantiles.p25;
    let (lo, hi) = (ns.quantiles.p25 - 3.0 * iqr, ns.quantiles.p75 + 3.0 * iqr);
    NUMERIC_SENTINELS
        .iter()
        .copied()
        .filter(|v| (*v < lo || *v > hi) && *v >= ns.min && *v <= ns.max)
        .filter_map(|v| {
            let n = count(v);
            (n > 0).then(|| ValueCount { value: crate::column::fmt_f64(v).trim_end_matches(".0").to_string(), count: n })
        })
        .collect()
}

const DATE_FORMATS: &[(&str, bool)] = &[
    ("%Y-%m-%d", false),
    ("%Y/%m/%d", false),
    ("%m/%d/%Y", false),
    ("%d/%m/%Y", false),
    ("%d.%m.%Y", false),
    ("%d %b %Y", false),
    ("%b %d, %Y", false),
    ("%B %d, %Y", false),
    ("%d-%b-%Y", false),
    ("%Y-%m-%d %H:%M:%S", true),
    ("%Y-%m-%dT%H:%M:%S", true),
    ("%Y-%m-%d %H:%M", true),
    ("%Y-%m-%dT%H:%M:%S%.f", true),
    ("%Y-%m-%d %H:%M:%S%.f", true),
    ("%m/%d/%Y %H:%M", true),
    ("%m/%d/%Y %H:%M:%S", true),
    ("%Y-%m-%dT%H:%M:%SZ", true),
];

fn parse_with(v: &str, fmt: &str, datetime: bool) -> Option<i64> {
    let v = v.trim();
    if let Some(parsed) = iso::parse(v, fmt) {
        return Some(if datetime { parsed } else { parsed.div_euclid(86_400_000) });
    }
    if datetime {
        chrono::NaiveDateTime::parse_from_str(v, fmt).ok().map(|d| d.and_utc().timestamp_millis())
    } else {
        chrono::NaiveDate::parse_from_str(v, fmt)
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_millis() / 86_400_000)
    }
}

/// ISO 8601 dates and times in their canonical shape (four-digit year, two-digit fields), read
/// without chrono's general format machinery, which costs most of the time of a large date
/// column. Anything else, including every value this cannot read, goes to chrono, so the
/// answer is always chrono's.
mod iso {
    /// Milliseconds since 1970 of `v` read with `fmt`, when `fmt` is an ISO shape and `v` has
    /// exactly that shape and is a valid instant; `None` otherwise.
    pub(super) fn parse(v: &str, fmt: &str) -> Option<i64> {
        let (sep, fields, fraction, zulu) = match fmt {
            "%Y-%m-%d" => (b' ', 0, false, false),
            "%Y-%m-%d %H:%M" => (b' ', 2, false, false),
            "%Y-%m-%d %H:%M:%S" => (b' ', 3, false, false),
            "%Y-%m-%dT%H:%M:%S" => (b'T', 3, false, false),
            "%Y-%m-%d %H:%M:%S%.f" => (b' ', 3, true, false),
            "%Y-%m-%dT%H:%M:%S%.f" => (b'T', 3, true, false),
            "%Y-%m-%dT%H:%M:%SZ" => (b'T', 3, false, true),
            _ => return None,
        };
        let b = v.as_bytes();
        let mut b = if zulu { b.strip_suffix(b"Z")? } else { b };
        let year = digits(b.get(0..4)?)?;
        let month = field(b, 4, b'-')?;
        let day = field(b, 7, b'-')?;
        b = &b[10..];
        let mut clock = [0i64; 3];
        if fields > 0 {
            if b.first() != Some(&sep) {
                return None;
            }
            clock[0] = digits(b.get(1..3)?)?;
            clock[1] = field(b, 3, b':')?;
            b = &b[6..];
            if fields == 3 {
                clock[2] = field(b, 0, b':')?;
                b = &b[3..];
            }
        }
        let mut millis = 0;
        if fraction && let Some(rest) = b.strip_prefix(b".") {
            // chrono reads up to nine digits (nanoseconds) and drops what is below a millisecond.
            if rest.is_empty() || rest.len() > 9 || !rest.iter().all(u8::is_ascii_digit) {
                return None;
            }
            millis = rest.iter().take(3).fold(0, |m, d| m * 10 + i64::from(d - b'0')) * 10i64.pow(3 - rest.len().min(3) as u32);
            b = &[];
        }
        if !b.is_empty() {
            return None;
        }
        // chrono's own constructors check the calendar (leap days, hour 24, second 60).
        let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
        let [h, m, s] = clock.map(|c| c as u32);
        Some(date.and_hms_opt(h, m, s)?.and_utc().timestamp_millis() + millis)
    }

    fn digits(d: &[u8]) -> Option<i64> {
        d.iter().try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    }

    /// The two digits after the separator `sep` at `at`.
    fn field(b: &[u8], at: usize, sep: u8) -> Option<i64> {
        (b.get(at) == Some(&sep)).then_some(())?;
        digits(b.get(at + 1..at + 3)?)
    }
}

/// Text parsed as dates: the share of values (by count) that parse with the best format, the
/// distinct parsed values (days since 1970 for dates, milliseconds for datetimes) with their
/// counts, the resulting type and the format.
pub(crate) struct ParsedDates {
    pub share: f64,
    pub parsed: Vec<(i64, u64)>,
    pub dtype: Option<DataType>,
    pub format: Option<String>,
}

/// How many of the most frequent distinct values choose a date format.
pub(crate) const DATE_SAMPLE: usize = 200;

/// Tries common date formats on a column's distinct values (`counts` says how often each
/// occurs); the format is chosen on the [`DATE_SAMPLE`] most frequent, which come first.
pub(crate) fn parse_dates(distinct: &StringChunked, counts: &[u64]) -> ParsedDates {
    let none = |share| ParsedDates { share, parsed: Vec::new(), dtype: None, format: None };
    let sample: Vec<&str> = distinct.iter().flatten().take(DATE_SAMPLE).collect();
    // Text that is mostly short numbers is not dates, whatever a format might accept.
    if sample.is_empty() || sample.iter().all(|s| s.trim().parse::<f64>().is_ok()) {
        return none(0.0);
    }
    let best = DATE_FORMATS
        .iter()
        .map(|(f, dt)| (f, dt, sample.iter().filter(|v| parse_with(v, f, *dt).is_some()).count()))
        .max_by_key(|(_, _, n)| *n);
    let Some((fmt, dt, n)) = best else { return none(0.0) };
    if n * 10 < sample.len() * 9 {
        return none(n as f64 / sample.len() as f64);
    }
    // Parsing is the costly part: split the distinct values over the cores.
    let values: Vec<(&str, u64)> = distinct.iter().zip(counts).filter_map(|(v, c)| Some((v?, *c))).collect();
    let total: u64 = values.iter().map(|v| v.1).sum();
    // (Pieces of at least 4,096 values: small columns parse on the calling thread.)
    let chunks: Vec<&[(&str, u64)]> = values.chunks(values.len().div_ceil(8).max(4096)).collect();
    let parsed: Vec<(i64, u64)> =
        crate::par_map(&chunks, |chunk| chunk.iter().filter_map(|(v, c)| Some((parse_with(v, fmt, *dt)?, *c))).collect::<Vec<_>>())
            .into_iter()
            .flatten()
            .collect();
    let ok: u64 = parsed.iter().map(|p| p.1).sum();
    let dtype = if *dt { DataType::Datetime(TimeUnit::Milliseconds, None) } else { DataType::Date };
    ParsedDates { share: ok as f64 / total.max(1) as f64, parsed, dtype: Some(dtype), format: Some((*fmt).to_string()) }
}

fn name_has(name: &str, words: &[&str]) -> bool {
    let n = name.to_ascii_lowercase();
    let tokens: Vec<&str> = n.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).collect();
    words.iter().any(|w| tokens.iter().any(|t| t == w) || (w.len() >= 5 && n.contains(w)))
}

fn is_identifier_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name_has(name, &["id", "key", "uuid", "guid", "code", "sku", "isbn", "number", "no"])
        || lower.ends_with("_id")
        || (name.len() > 2 && name.ends_with("Id") && name.chars().rev().nth(2).is_some_and(|c| c.is_lowercase()))
        || (name.len() > 2 && name.ends_with("ID"))
}

const GEO_WORDS: &[&str] = &[
    "country",
    "state",
    "city",
    "county",
    "province",
    "region",
    "lat",
    "latitude",
    "lon",
    "lng",
    "longitude",
    "zip",
    "zipcode",
    "postal",
    "postcode",
    "address",
    "continent",
    "iso3",
    "iso2",
    "borough",
    "district",
    "municipality",
    "airport",
    "origin",
    "dest",
    "destination",
    "location",
];
const MONEY_WORDS: &[&str] = &[
    "price",
    "cost",
    "amount",
    "revenue",
    "sales",
    "salary",
    "income",
    "usd",
    "eur",
    "gbp",
    "dollars",
    "fee",
    "payment",
    "total",
    "budget",
    "profit",
    "wage",
    "spend",
    "unitprice",
    "charges",
    "fare",
];
const PCT_WORDS: &[&str] = &["pct", "percent", "percentage", "rate", "ratio", "share", "proportion"];
const BOOL_TEXT: &[&str] = &["true", "false", "yes", "no", "y", "n", "t", "f"];

/// Decides the semantic type and quality flags, and assembles the column profile.
pub(crate) fn finish(f: ColumnFacts<'_>, examples: Vec<String>) -> ColumnProfile {
    let nn = f.len - f.null_count;
    let ratio = if nn == 0 { 0.0 } else { f.distinct as f64 / nn as f64 };
    let mut q = f.quality;
    let is_num_dtype = f.dtype.is_primitive_numeric();
    let is_text = matches!(f.dtype, DataType::String);
    let lower_top: Vec<String> = f.top.iter().map(|v| v.value.trim().to_ascii_lowercase()).collect();
    let all_money_text = is_text && examples.iter().all(|e| e.trim_start().starts_with(['$', '€', '£']));
    let all_pct_text = is_text && !examples.is_empty() && examples.iter().all(|e| e.trim_end().ends_with('%'));

    let semantic = if nn == 0 {
        SemanticType::Empty
    } else if matches!(f.dtype, DataType::Boolean)
        || (is_text && f.distinct <= 2 && lower_top.iter().all(|v| BOOL_TEXT.contains(&v.as_str())))
        || (is_num_dtype
            && f.distinct == 2
            && f.numeric.as_ref().is_some_and(|n| n.min == 0.0 && n.max == 1.0)
            && name_has(f.name, &["is", "has", "flag", "survived", "active", "default"]))
    {
        SemanticType::Boolean
    } else if matches!(f.dtype, DataType::Date)
        || (f.temporal.as_ref().is_some_and(|t| t.parsed_from_text)
            && f.temporal.as_ref().and_then(|t| t.format.as_deref()).is_some_and(|x| !x.contains("%H")))
    {
        SemanticType::Date
    } else if matches!(f.dtype, DataType::Datetime(_, _)) || f.temporal.is_some() {
        SemanticType::Datetime
    } else if (is_num_dtype || f.numeric.is_some())
        && (all_pct_text || (name_has(f.name, PCT_WORDS) && f.numeric.as_ref().is_some_and(|n| n.min >= 0.0 && n.max <= 100.0)))
    {
        SemanticType::Percentage
    } else if (is_num_dtype || f.numeric.is_some()) && (all_money_text || name_has(f.name, MONEY_WORDS)) {
        SemanticType::Currency
    } else if name_has(f.name, GEO_WORDS)
        && !(is_num_dtype && f.numeric.as_ref().is_some_and(|n| n.max.abs() > 180.0) && !name_has(f.name, &["zip", "zipcode", "postal"]))
    {
        SemanticType::Geographic
    } else if is_identifier_name(f.name) && !matches!(f.dtype, DataType::Float32 | DataType::Float64) && (is_num_dtype || is_text) {
        SemanticType::Identifier
    } else if is_num_dtype || f.numeric.is_some() {
        if is_num_dtype
            && ratio == 1.0
            && nn > 20
            && f.numeric.as_ref().is_some_and(|n| n.integral && n.min >= 0.0 && (n.max - n.min + 1.0) as u64 == nn)
        {
            SemanticType::Identifier
        } else if f.distinct <= 12 && nn >= 30 && f.numeric.as_ref().is_some_and(|n| n.integral) && !is_text {
            SemanticType::Categorical
        } else {
            SemanticType::Numeric
        }
    } else if is_text {
        let mean_words = f.text.as_ref().map_or(0.0, |t| t.mean_words);
        let mean_len = f.text.as_ref().map_or(0.0, |t| t.mean_length);
        if mean_words >= 4.0 || mean_len > 40.0 {
            SemanticType::FreeText
        } else if f.distinct <= 50 || ratio <= 0.5 {
            SemanticType::Categorical
        } else if mean_words >= 2.0 {
            SemanticType::FreeText
        } else if ratio >= 0.9 {
            SemanticType::Identifier
        } else {
            SemanticType::Categorical
        }
    } else {
        SemanticType::Categorical
    };

    // Quality flags.
    let mut flags = Vec::new();
    if nn == 0 {
        flags.push("all_null");
    } else if f.distinct == 1 && f.len > 1 {
        flags.push("constant");
    }
    if is_text {
        if f.numeric_share >= 0.9 && q.numeric_text > 0 {
            flags.push("numbers_as_text");
        } else if q.numeric_text > 0 && q.non_numeric_text > 0 && f.numeric_share >= 0.1 && f.date_share < 0.9 {
            flags.push("mixed_types");
        }
        if q.stray_whitespace > 0 {
            flags.push("stray_whitespace");
        }
        let mut sentinels: Vec<ValueCount> = f.top.iter().filter(|v| is_text_sentinel(&v.value)).cloned().collect();
        sentinels.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        q.sentinels.extend(sentinels);
    }
    if q.inconsistent_casing > 0 {
        flags.push("inconsistent_casing");
    }
    if !q.sentinels.is_empty() {
        flags.push("sentinel_values");
    }
    q.flags = flags.into_iter().map(str::to_string).collect();
    let numeric = if matches!(semantic, SemanticType::Boolean) && !is_num_dtype { None } else { f.numeric };
    ColumnProfile {
        name: f.name.to_string(),
        dtype: f.dtype.to_string(),
        semantic_type: semantic,
        null_count: f.null_count,
        distinct_count: f.distinct,
        distinct_ratio: ratio,
        numeric,
        temporal: f.temporal,
        text: f.text,
        top_values: f.top,
        examples,
        quality: q,
    }
}

/// Distinct values that collide with another when trimmed and lower-cased ("Male"/"male ").
pub(crate) fn casing_collisions(distinct: &StringChunked) -> u64 {
    let mut groups: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for v in distinct.iter().flatten() {
        *groups.entry(v.trim().to_lowercase()).or_default() += 1;
    }
    groups.values().filter(|n| **n > 1).copied().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What chrono alone makes of `v` with `fmt`.
    fn chrono_only(v: &str, fmt: &str, datetime: bool) -> Option<i64> {
        if datetime {
            chrono::NaiveDateTime::parse_from_str(v, fmt).ok().map(|d| d.and_utc().timestamp_millis())
        } else {
            chrono::NaiveDate::parse_from_str(v, fmt)
                .ok()
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis() / 86_400_000)
        }
    }

    #[test]
    fn iso_shapes_read_as_chrono_reads_them() {
        let mut values: Vec<String> = Vec::new();
        for (y, m, d) in [
            (1969, 12, 31),
            (1970, 1, 1),
            (2000, 2, 29),
            (1900, 2, 29),
            (2023, 2, 29),
            (2024, 12, 31),
            (1, 1, 1),
            (2023, 13, 1),
            (2023, 4, 31),
        ] {
            for (h, mi, s) in [(0, 0, 0), (23, 59, 59), (24, 0, 0), (12, 60, 0), (12, 0, 60)] {
                for frac in ["", ".5", ".123", ".123456", ".123456789", ".1234567891", ".", ".12a"] {
                    for (sep, z) in [(" ", ""), ("T", ""), ("T", "Z"), (" ", "Z")] {
                        values.push(format!("{y:04}-{m:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{frac}{z}"));
                    }
                }
                values.push(format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}"));
            }
            values.push(format!("{y:04}-{m:02}-{d:02}"));
            values.push(format!("{y}-{m}-{d}"));
        }
        values.extend(
            ["2023-1-05", "2023-01-5 10:00:00", "20230-01-01", "+2023-01-01", "2023-01-01x", "", "2023/01/01", "2023-01-01  10:00:00"]
                .map(String::from),
        );
        let mut fast = 0;
        for (fmt, datetime) in DATE_FORMATS {
            for v in &values {
                fast += usize::from(iso::parse(v, fmt).is_some());
                assert_eq!(parse_with(v, fmt, *datetime), chrono_only(v, fmt, *datetime), "{v:?} with {fmt}");
            }
        }
        assert!(fast > 100, "the ISO path read only {fast} values");
    }
}

//! Dates stored as text: parsed with the format the profile found, in Rust for the ground truth
//! and with `pd.to_datetime(..., format=..., errors="coerce")` in the solutions, so both sides
//! see the same instants (values that do not parse become null on both sides). chrono is more
//! lenient than Python's `strptime`, so a value is taken only when `strptime` would take it too
//! ([`strptime_accepts`]): no blanks around it, four-digit years, abbreviated month names for
//! `%b` and full ones for `%B`. pandas' ISO 8601 formats also read a date without a time.

use dasynth_core::profile::{ColumnProfile, TableProfile};
use polars::prelude::*;

/// The chrono format of a text column the profile parsed as dates (the task stage reads it as
/// dates), or none.
pub fn text_date_format(c: &ColumnProfile) -> Option<&str> {
    let t = c.temporal.as_ref()?;
    (c.dtype == "str" && t.parsed_from_text).then_some(t.format.as_deref()).flatten()
}

/// Text columns the profile parsed as dates, with their chrono formats.
pub fn text_date_columns(p: &TableProfile) -> Vec<(String, String)> {
    p.columns.iter().filter_map(|c| Some((c.name.clone(), text_date_format(c)?.to_string()))).collect()
}

fn has_time(fmt: &str) -> bool {
    fmt.contains("%H") || fmt.contains("%M") || fmt.contains("%S")
}

/// Replaces each text date column with a Date (formats without a time) or a Datetime column.
pub fn parse_text_dates(df: &DataFrame, p: &TableProfile) -> PolarsResult<DataFrame> {
    let mut df = df.clone();
    for (name, fmt) in text_date_columns(p) {
        let Ok(col) = df.column(&name) else { continue };
        let Ok(ca) = col.str() else { continue };
        let iso = crate::task::python_date_format(&fmt) == "ISO8601";
        let s = if has_time(&fmt) {
            let parse = |v: &str| {
                chrono::NaiveDateTime::parse_from_str(v, &fmt).ok().or_else(|| {
                    // pandas' ISO 8601 parser reads a date alone as midnight.
                    iso.then(|| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)).flatten()
                })
            };
            let v: Vec<Option<i64>> = ca
                .iter()
                .map(|v| v.filter(|v| strptime_accepts(v, &fmt)).and_then(parse).map(|d| d.and_utc().timestamp_micros()))
                .collect();
            Series::new(name.as_str().into(), v).cast(&DataType::Datetime(TimeUnit::Microseconds, None))?
        } else {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let v: Vec<Option<i32>> = ca
                .iter()
                .map(|v| {
                    v.filter(|v| strptime_accepts(v, &fmt))
                        .and_then(|v| chrono::NaiveDate::parse_from_str(v, &fmt).ok())
                        .map(|d| (d - epoch).num_days() as i32)
                })
                .collect();
            Series::new(name.as_str().into(), v).cast(&DataType::Date)?
        };
        df.with_column(s.into_column())?;
    }
    Ok(df)
}

/// Whether Python's `strptime` takes `v` with `fmt` where chrono does: `v` has no blanks around
/// it, and its runs of digits and of letters line up with the format's fields — four digits for
/// `%Y`, two for `%y`, one or two for the other numbers, a three-letter month for `%b`, a full
/// month name for `%B`. Formats with a fraction (`%.f`, pandas' ISO 8601) are not checked by run.
pub fn strptime_accepts(v: &str, fmt: &str) -> bool {
    if v.trim() != v {
        return false;
    }
    if fmt.contains("%.f") {
        return true;
    }
    const MONTHS: [&str; 12] =
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
    // The value's runs: (is digits, text).
    let mut runs: Vec<(bool, &str)> = Vec::new();
    let mut start = None;
    for (i, c) in v.char_indices().chain(std::iter::once((v.len(), ' '))) {
        let kind = if c.is_ascii_digit() {
            Some(true)
        } else if c.is_alphabetic() {
            Some(false)
        } else {
            None
        };
        if let Some((s, k)) = start
            && kind != Some(k)
        {
            runs.push((k, &v[s..i]));
            start = None;
        }
        if start.is_none()
            && let Some(k) = kind
        {
            start = Some((i, k));
        }
    }
    // The format's fields, and its literal letters (`T`, `Z`) as runs of their own.
    let mut want: Vec<Result<char, &str>> = Vec::new();
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '%' {
            if let Some((_, d)) = chars.next() {
                want.push(Ok(d));
            }
        } else if c.is_alphabetic() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek()
                && n.is_alphabetic()
            {
                end = j + n.len_utf8();
                chars.next();
            }
            want.push(Err(&fmt[i..end]));
        }
    }
    runs.len() == want.len()
        && runs.iter().zip(&want).all(|(&(digits, text), w)| match *w {
            Ok('Y') => digits && text.len() == 4,
            Ok('y') => digits && text.len() == 2,
            Ok('m' | 'd' | 'H' | 'M' | 'S' | 'I') => digits && (1..=2).contains(&text.len()),
            Ok('b') => !digits && MONTHS.iter().any(|m| m[..3].eq_ignore_ascii_case(text)),
            Ok('B') => !digits && MONTHS.iter().any(|m| m.eq_ignore_ascii_case(text)),
            Ok(_) => true,
            Err(literal) => !digits && literal == text,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case as pandas 3 reads it with `pd.to_datetime(..., format=fmt, errors="coerce")`.
    #[test]
    fn values_are_taken_where_python_strptime_takes_them() {
        for (fmt, v, pandas) in [
            ("%Y-%m-%d", "2020-1-2", true),
            ("%Y-%m-%d", " 2020-01-02", false),
            ("%Y-%m-%d", "2020-01-02 ", false),
            ("%Y-%m-%d", "20-01-02", false),
            ("%Y-%m-%d", "02020-01-02", false),
            ("%m/%d/%Y", "1/2/20", false),
            ("%m/%d/%Y", "01/02/2020", true),
            ("%d %b %Y", "01 sep 2020", true),
            ("%d %b %Y", "01 September 2020", false),
            ("%d %b %Y", "1 Sept 2020", false),
            ("%B %d, %Y", "Sep 01, 2020", false),
            ("%B %d, %Y", "September 1, 2020", true),
            ("%Y-%m-%dT%H:%M:%SZ", "2020-01-02T03:04:05Z", true),
            ("%Y-%m-%d %H:%M", "2020-01-02 3:04", true),
        ] {
            assert_eq!(strptime_accepts(v, fmt), pandas, "{fmt} {v:?}");
        }
    }
}

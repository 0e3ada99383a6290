//! Dates stored as text: parsed with the format the profile found, in Rust for the ground truth
//! and with `pd.to_datetime(..., format=..., errors="coerce")` in the solutions, so both sides
//! see the same instants (values that do not parse become null on both sides).

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
        let s = if has_time(&fmt) {
            let v: Vec<Option<i64>> = ca
                .iter()
                .map(|v| v.and_then(|v| chrono::NaiveDateTime::parse_from_str(v.trim(), &fmt).ok()).map(|d| d.and_utc().timestamp_micros()))
                .collect();
            Series::new(name.as_str().into(), v).cast(&DataType::Datetime(TimeUnit::Microseconds, None))?
        } else {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let v: Vec<Option<i32>> = ca
                .iter()
                .map(|v| v.and_then(|v| chrono::NaiveDate::parse_from_str(v.trim(), &fmt).ok()).map(|d| (d - epoch).num_days() as i32))
                .collect();
            Series::new(name.as_str().into(), v).cast(&DataType::Date)?
        };
        df.with_column(s.into_column())?;
    }
    Ok(df)
}

//! Dates and times: statistics and top values of temporal columns.

use super::*;

/// Distinct count, top values and statistics of a date or time-zone-free datetime column from
/// one sort of its physical integers (days, or ticks of the column's time unit).
pub(super) fn sorted_temporal(non_null: &Series, top_k: usize) -> PolarsResult<(u64, Vec<ValueCount>, Option<TemporalStats>)> {
    let phys = non_null.to_physical_repr().cast(&DataType::Int64)?;
    let runs = int_runs(phys.i64()?);
    let top = top_of_runs(&runs, top_k);
    let shown = render_temporal(&top.iter().map(|t| t.0).collect::<Vec<_>>(), non_null.dtype())?;
    let top = top.iter().zip(shown).map(|((_, c), value)| ValueCount { value, count: *c }).collect();
    Ok((runs.len() as u64, top, temporal_from_sorted(&runs, non_null.dtype(), false, None)?))
}

/// Physical temporal values rendered as polars shows them (`2013-01-01`, `2013-01-01 05:00:00`).
pub(super) fn render_temporal(values: &[i64], dtype: &DataType) -> PolarsResult<Vec<String>> {
    let s = Series::new(PlSmallStr::EMPTY, values);
    let s = match dtype {
        DataType::Date => s.cast(&DataType::Int32)?.cast(dtype)?,
        _ => s.cast(dtype)?,
    };
    (0..s.len()).map(|i| Ok(s.get(i)?.to_string())).collect()
}

/// The calendar year of a physical value of a naive temporal type.
pub(super) fn year_of(v: i64, dtype: &DataType) -> Option<i32> {
    use chrono::Datelike;
    let ms = match dtype {
        DataType::Date => v.checked_mul(86_400_000)?,
        DataType::Datetime(TimeUnit::Nanoseconds, _) => v.div_euclid(1_000_000),
        DataType::Datetime(TimeUnit::Microseconds, _) => v.div_euclid(1_000),
        DataType::Datetime(TimeUnit::Milliseconds, _) => v,
        _ => return None,
    };
    chrono::DateTime::from_timestamp_millis(ms).map(|d| d.year())
}

/// Temporal statistics from distinct physical values sorted ascending, with their counts.
pub(crate) fn temporal_from_sorted(
    runs: &[(i64, u64)],
    dtype: &DataType,
    parsed_from_text: bool,
    format: Option<String>,
) -> PolarsResult<Option<TemporalStats>> {
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else { return Ok(None) };
    let total: u64 = runs.iter().map(|r| r.1).sum();
    // The value at position (n - 1) / 2 of the sorted column.
    let target = (total - 1) / 2;
    let mut seen = 0;
    let mut median = first.0;
    for (v, c) in runs {
        seen += c;
        if seen > target {
            median = *v;
            break;
        }
    }
    let shown = render_temporal(&[first.0, median, last.0], dtype)?;
    let per_day = match dtype {
        DataType::Date => 1.0,
        DataType::Datetime(TimeUnit::Nanoseconds, _) => 86_400e9,
        DataType::Datetime(TimeUnit::Microseconds, _) => 86_400e6,
        DataType::Datetime(TimeUnit::Milliseconds, _) => 86_400e3,
        _ => return Ok(None),
    };
    let mut years = 0u64;
    let mut last_year = None;
    for (v, _) in runs {
        let y = year_of(*v, dtype);
        if y != last_year {
            years += 1;
            last_year = y;
        }
    }
    let [min, median, max]: [String; 3] = shown.try_into().map_err(|_| PolarsError::ComputeError("render".into()))?;
    Ok(Some(TemporalStats {
        min,
        max,
        median,
        span_days: (last.0 - first.0) as f64 / per_day,
        distinct_years: years,
        parsed_from_text,
        format,
    }))
}

/// Min, max, median and span of time-zone-aware datetimes (shown in their zone).
pub(crate) fn temporal_stats(non_null: &Series) -> PolarsResult<Option<TemporalStats>> {
    if non_null.is_empty() {
        return Ok(None);
    }
    let sorted = non_null.sort(SortOptions::default())?;
    let n = sorted.len();
    let first = sorted.get(0)?.to_string();
    let last = sorted.get(n - 1)?.to_string();
    let median = sorted.get((n - 1) / 2)?.to_string();
    let ms = match sorted.dtype() {
        DataType::Date => sorted.cast(&DataType::Int64)?.i64()?.into_no_null_iter().map(|d| d as f64 * 86_400_000.0).collect::<Vec<_>>(),
        DataType::Datetime(tu, _) => {
            let div = match tu {
                TimeUnit::Nanoseconds => 1e6,
                TimeUnit::Microseconds => 1e3,
                TimeUnit::Milliseconds => 1.0,
            };
            sorted.cast(&DataType::Int64)?.i64()?.into_no_null_iter().map(|d| d as f64 / div).collect()
        }
        _ => return Ok(None),
    };
    let span_days = (ms[ms.len() - 1] - ms[0]) / 86_400_000.0;
    let years = sorted.year()?.n_unique()? as u64;
    Ok(Some(TemporalStats { min: first, max: last, median, span_days, distinct_years: years, parsed_from_text: false, format: None }))
}

//! Profiling one column: counts, top values, numeric / temporal / text statistics, quality.

use crate::semantic;
use crate::textmap::TextMap;
use dasynth_core::profile::*;
use polars::prelude::*;
use polars_arrow::array::Array;
use std::collections::HashSet;

/// Values a column's non-null entries are rendered as, for top values and examples.
pub(crate) fn render(v: &AnyValue<'_>) -> String {
    match v {
        AnyValue::String(s) => (*s).to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Float64(f) => fmt_f64(*f),
        AnyValue::Float32(f) => fmt_f64(f64::from(*f)),
        other => other.to_string(),
    }
}

pub(crate) fn fmt_f64(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.1}") } else { format!("{f}") }
}

/// Neumaier-compensated sum: accurate to about one rounding error whatever the length.
pub(crate) fn compensated_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0f64;
    let mut c = 0.0f64;
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            c += (sum - t) + v;
        } else {
            c += (v - t) + sum;
        }
        sum = t;
    }
    sum + c
}

/// Linear-interpolated quantile of sorted values (numpy's default method).
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Distinct values and the `k` most frequent (count descending, then value ascending) of a
/// sorted slice, from its runs of equal values: no hashing needed.
pub(crate) fn runs_top<T: PartialEq + Copy>(sorted: &[T], k: usize) -> (u64, Vec<(T, u64)>) {
    let runs = runs_of(sorted);
    (runs.len() as u64, top_of_runs(&runs, k))
}

/// Runs of equal values of a sorted slice, as (value, count).
fn runs_of<T: PartialEq + Copy>(sorted: &[T]) -> Vec<(T, u64)> {
    merge_runs(sorted.iter().map(|&x| (x, 1)), |a, b| a == b)
}

/// Counted values in sorted order with neighbours that are `same` merged into one.
fn merge_runs<T>(sorted: impl IntoIterator<Item = (T, u64)>, same: impl Fn(&T, &T) -> bool) -> Vec<(T, u64)> {
    let mut runs: Vec<(T, u64)> = Vec::new();
    for (x, c) in sorted {
        match runs.last_mut() {
            Some((last, n)) if same(last, &x) => *n += c,
            _ => runs.push((x, c)),
        }
    }
    runs
}

/// The `k` most frequent of distinct values in ascending order (count descending; ties keep
/// the smaller value first).
fn top_of_runs<T: Copy>(runs: &[(T, u64)], k: usize) -> Vec<(T, u64)> {
    let mut top: Vec<(T, u64)> = Vec::with_capacity(k + 1);
    for &(v, c) in runs {
        if top.len() < k || top.last().is_some_and(|l| c > l.1) {
            let at = top.iter().position(|t| t.1 < c).unwrap_or(top.len());
            top.insert(at, (v, c));
            top.truncate(k);
        }
    }
    top
}

/// Distinct integers (the non-null values of `ca`) with their counts, ascending. Values in a
/// range no wider than the column is long are counted in an array indexed by their offset from
/// the smallest (one pass, no hashing, no copy). Otherwise, when a sample of the first values
/// repeats a lot, they are counted in a hash map (a few thousand entries stay in cache), which
/// is several times faster than sorting millions of values; otherwise they are sorted.
fn int_runs(ca: &Int64Chunked) -> Vec<(i64, u64)> {
    const SAMPLE: usize = 1 << 16;
    let values = || ca.downcast_iter().flat_map(|arr| arr.iter().flatten().copied());
    let n = ca.len() - ca.null_count();
    if let (Some(lo), Some(hi)) = (ca.min(), ca.max()) {
        let span = (i128::from(hi) - i128::from(lo)) as u128;
        // (u32 counts, so at most u32::MAX values.)
        if span < (n as u128).clamp(1 << 12, 1 << 24) && n <= u32::MAX as usize {
            let mut counts = vec![0u32; span as usize + 1];
            let mut count = |v: &i64| counts[v.wrapping_sub(lo) as u64 as usize] += 1;
            for arr in ca.downcast_iter() {
                match arr.validity().filter(|v| v.unset_bits() > 0) {
                    None => arr.values().iter().for_each(&mut count),
                    Some(_) => arr.iter().flatten().for_each(&mut count),
                }
            }
            return (lo..=hi).zip(counts).filter(|(_, c)| *c > 0).map(|(v, c)| (v, u64::from(c))).collect();
        }
    }
    if n > 4 * SAMPLE {
        let mut sample: PlHashMap<i64, ()> = PlHashMap::new();
        for x in values().take(SAMPLE) {
            sample.insert(x, ());
        }
        if sample.len() <= SAMPLE / 16 {
            let mut map: PlHashMap<i64, u64> = PlHashMap::with_capacity(sample.len() * 2);
            for x in values() {
                *map.entry(x).or_insert(0) += 1;
            }
            let mut runs: Vec<(i64, u64)> = map.into_iter().collect();
            runs.sort_unstable();
            return runs;
        }
    }
    let mut v = values_of(ca);
    v.sort_unstable();
    runs_of(&v)
}

/// [`numeric_stats_sorted`] over distinct finite values in ascending order with their counts,
/// without expanding them. The sum is exact for integers below 2^53.
pub(crate) fn numeric_stats_runs(runs: &[(f64, u64)]) -> Option<NumericStats> {
    let n: u64 = runs.iter().map(|r| r.1).sum();
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else { return None };
    let nf = n as f64;
    let sum = compensated_sum(runs.iter().map(|(v, c)| v * *c as f64));
    let mean = sum / nf;
    let std = (n > 1).then(|| (compensated_sum(runs.iter().map(|(v, c)| (v - mean) * (v - mean) * *c as f64)) / (nf - 1.0)).sqrt());
    // The value at position i of the expanded, sorted column.
    let mut ends = Vec::with_capacity(runs.len());
    let mut acc = 0u64;
    for (_, c) in runs {
        acc += c;
        ends.push(acc);
    }
    let at = |i: u64| runs[ends.partition_point(|e| *e <= i).min(runs.len() - 1)].0;
    let q = |p: f64| {
        if n == 1 {
            return first.0;
        }
        let pos = p * (nf - 1.0);
        let (lo, hi) = (pos.floor(), pos.ceil());
        at(lo as u64) + (at(hi as u64) - at(lo as u64)) * (pos - lo)
    };
    let quantiles = Quantiles { p01: q(0.01), p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) };
    let iqr = quantiles.p75 - quantiles.p25;
    let (lo, hi) = (quantiles.p25 - 3.0 * iqr, quantiles.p75 + 3.0 * iqr);
    let below: u64 = runs.iter().take_while(|(v, _)| *v < lo).map(|r| r.1).sum();
    let above: u64 = runs.iter().rev().take_while(|(v, _)| *v > hi).map(|r| r.1).sum();
    let expand = |it: &mut dyn Iterator<Item = &(f64, u64)>, k: u64| -> Vec<f64> {
        it.flat_map(|(v, c)| std::iter::repeat_n(*v, *c as usize)).take(k as usize).collect()
    };
    let mut outlier_examples = expand(&mut runs.iter(), below.min(5));
    outlier_examples.extend(expand(&mut runs.iter().rev(), above.min(5)));
    sort_outlier_examples(&mut outlier_examples, lo, hi);
    Some(NumericStats {
        min: first.0,
        max: last.0,
        mean,
        std,
        sum,
        quantiles,
        zeros: runs.iter().filter(|(v, _)| *v == 0.0).map(|r| r.1).sum(),
        negatives: runs.iter().filter(|(v, _)| *v < 0.0).map(|r| r.1).sum(),
        integral: runs.iter().all(|(v, _)| v.fract() == 0.0),
        outliers: below + above,
        outlier_examples,
    })
}

/// The five values furthest outside the fences, furthest first.
fn sort_outlier_examples(examples: &mut Vec<f64>, lo: f64, hi: f64) {
    examples.sort_by(|a, b| {
        let da = if *a < lo { lo - a } else { a - hi };
        let db = if *b < lo { lo - b } else { b - hi };
        db.total_cmp(&da)
    });
    examples.truncate(5);
}

/// Statistics over finite numbers already sorted ascending (NaN and infinities are left out by
/// the caller, as pandas does for NaN).
pub(crate) fn numeric_stats_sorted(values: &[f64]) -> Option<NumericStats> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let sum = compensated_sum(values.iter().copied());
    let mean = sum / n;
    let std = (values.len() > 1).then(|| (compensated_sum(values.iter().map(|v| (v - mean) * (v - mean))) / (n - 1.0)).sqrt());
    let q = |p| quantile_sorted(values, p);
    let quantiles = Quantiles { p01: q(0.01), p05: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) };
    let iqr = quantiles.p75 - quantiles.p25;
    let (lo, hi) = (quantiles.p25 - 3.0 * iqr, quantiles.p75 + 3.0 * iqr);
    let below = values.partition_point(|v| *v < lo);
    let above = values.len() - values.partition_point(|v| *v <= hi);
    let mut outlier_examples: Vec<f64> = values[..below.min(5)].to_vec();
    outlier_examples.extend(values[values.len() - above.min(5)..].iter().rev());
    sort_outlier_examples(&mut outlier_examples, lo, hi);
    Some(NumericStats {
        min: values[0],
        max: values[values.len() - 1],
        mean,
        std,
        sum,
        quantiles,
        zeros: values.iter().filter(|v| **v == 0.0).count() as u64,
        negatives: values.iter().filter(|v| **v < 0.0).count() as u64,
        integral: values.iter().all(|v| v.fract() == 0.0),
        outliers: (below + above) as u64,
        outlier_examples,
    })
}

/// Parses text as a number the way a person writes one: `1,234.5`, `$12`, `45%`, ` 7 `.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    // Anything but digits, signs, separators, exponents, currency and percent signs is no
    // number (the only other text a float parser takes spells infinity or NaN, not finite).
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | ',' | '_' | 'e' | 'E' | '$' | '€' | '£' | '%' | ' ');
    if !(if t.is_ascii() { t.bytes().all(|b| allowed(char::from(b))) } else { t.chars().all(allowed) }) {
        return None;
    }
    if let Ok(v) = t.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let t = t.trim_start_matches(['$', '€', '£']).trim_end_matches('%').trim();
    let cleaned: String = t.chars().filter(|c| *c != ',' && *c != '_').collect();
    if cleaned.is_empty() || cleaned.chars().any(|c| c.is_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Everything known about a column's values, before the semantic type is decided.
pub(crate) struct ColumnFacts<'a> {
    pub name: &'a str,
    pub dtype: &'a DataType,
    pub len: u64,
    pub null_count: u64,
    pub distinct: u64,
    pub numeric: Option<NumericStats>,
    pub temporal: Option<TemporalStats>,
    pub text: Option<TextStats>,
    pub top: Vec<ValueCount>,
    pub quality: ColumnQuality,
    /// Share of non-null text values that parse as numbers.
    pub numeric_share: f64,
    /// Share of non-null text values that parse as dates.
    pub date_share: f64,
}

/// Profiles one column; `split` lets a long text column be counted in slices on several threads
/// (worth it only when too few columns are profiled at once to keep the cores busy: otherwise
/// the slices' maps only add a merge).
pub(crate) fn profile_column(s: &Series, top_k: usize, split: bool) -> PolarsResult<ColumnProfile> {
    let started = std::time::Instant::now();
    let p = profile_column_inner(s, top_k, split);
    tracing::debug!(column = %s.name(), ms = started.elapsed().as_millis() as u64, "column profiled");
    p
}

fn profile_column_inner(s: &Series, top_k: usize, split: bool) -> PolarsResult<ColumnProfile> {
    let len = s.len() as u64;
    let null_count = s.null_count() as u64;
    let non_null = s.drop_nulls();
    let dtype = s.dtype().clone();
    let nn = non_null.len() as u64;

    let mut quality = ColumnQuality::default();
    let mut numeric = None;
    let mut temporal = None;
    let mut text = None;
    let mut numeric_share = 0.0;
    let mut date_share = 0.0;

    let naive_temporal = matches!(dtype, DataType::Date | DataType::Datetime(_, None));
    let (distinct, top) = if nn == 0 {
        (0, Vec::new())
    } else if dtype.is_primitive_numeric() {
        // Numbers: one sort gives distinct values, top values and every statistic.
        let (distinct, top, stats, sentinels) = sorted_numeric(&non_null, top_k)?;
        quality.sentinels = sentinels;
        numeric = stats;
        (distinct, top)
    } else if naive_temporal {
        // Dates and datetimes: one sort of the physical integers, as for numbers.
        let (distinct, top, stats) = sorted_temporal(&non_null, top_k)?;
        temporal = stats;
        (distinct, top)
    } else {
        // Everything else: distinct values and the most frequent ones, in one hash pass; text
        // statistics, number and date parsing then look at each distinct value once.
        let counted = hashed_counts(&non_null, top_k, split)?;
        quality.inconsistent_casing = counted.casing;
        match &dtype {
            DataType::Datetime(_, Some(_)) => temporal = temporal_stats(&non_null)?,
            DataType::String => {
                let values = counted.values.str()?;
                let t = text_facts(values, &counted.counts, &mut quality);
                numeric_share = t.numeric_share;
                text = Some(t.stats);
                if t.numeric_share >= 0.9 {
                    // Statistics from the distinct numbers and their counts ("1,000" and
                    // "1000" are one number), never the expanded column.
                    let mut parsed: Vec<(f64, u64)> =
                        values.iter().zip(&counted.counts).filter_map(|(value, c)| Some((value.and_then(parse_number)?, *c))).collect();
                    parsed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
                    numeric = numeric_stats_runs(&merge_runs(parsed, |a, b| a.total_cmp(b).is_eq()));
                } else {
                    let d = semantic::parse_dates(values, &counted.counts);
                    date_share = d.share;
                    if d.share >= 0.95
                        && let Some((dtype, fmt)) = d.dtype.zip(d.format)
                    {
                        let mut parsed = d.parsed;
                        parsed.sort_unstable();
                        temporal = temporal_from_sorted(&parsed, &dtype, true, Some(fmt))?;
                    }
                }
            }
            _ => {}
        }
        (counted.distinct, counted.top)
    };

    let examples = examples(&non_null, 5)?;
    let facts = ColumnFacts {
        name: s.name().as_str(),
        dtype: &dtype,
        len,
        null_count,
        distinct,
        numeric,
        temporal,
        text,
        top,
        quality,
        numeric_share,
        date_share,
    };
    Ok(semantic::finish(facts, examples))
}

/// The distinct values of a column with their counts (most frequent first, ties by value; for
/// text only the first `max(top_k, DATE_SAMPLE)` are in that order, the rest in none), the top
/// values rendered, and for text the number of values that collide when trimmed and lower-cased.
struct Counted {
    values: Series,
    counts: Vec<u64>,
    distinct: u64,
    top: Vec<ValueCount>,
    casing: u64,
}

/// [`Counted`] from one hash pass.
fn hashed_counts(non_null: &Series, top_k: usize, split: bool) -> PolarsResult<Counted> {
    if let DataType::String = non_null.dtype() {
        return counted_strings(non_null.str()?, top_k, split);
    }
    let name = non_null.name().clone();
    let counts_name = PlSmallStr::from_static("__dasynth_count");
    let vc = non_null.value_counts(false, true, counts_name.clone(), false)?;
    let distinct = vc.height() as u64;
    let vc = vc.sort(
        [counts_name.as_str(), name.as_str()],
        SortMultipleOptions::default().with_order_descending_multi([true, false]).with_maintain_order(true),
    )?;
    let values = vc.column(name.as_str())?.as_materialized_series().clone();
    let casing =
        if matches!(non_null.dtype(), DataType::String) && distinct <= 200_000 { semantic::casing_collisions(values.str()?) } else { 0 };
    let counts = vc.column(counts_name.as_str())?.as_materialized_series().cast(&DataType::UInt64)?;
    let counts: Vec<u64> = counts.u64()?.iter().map(|c| c.unwrap_or(0)).collect();
    let mut top = Vec::with_capacity(top_k.min(values.len()));
    for (i, count) in counts.iter().take(top_k).enumerate() {
        top.push(ValueCount { value: render(&values.get(i)?), count: *count });
    }
    Ok(Counted { values, counts, distinct, top, casing })
}

/// [`Counted`] for text: one pass over the values into a [`TextMap`] (cheaper than a general
/// group-by, which keeps the row indices of every group).
fn counted_strings(ca: &StringChunked, top_k: usize, split: bool) -> PolarsResult<Counted> {
    // Long columns may be counted in slices on several threads and the maps merged.
    let slices = if split { crate::row_slices(ca.len(), 1 << 19) } else { vec![(0, ca.len())] };
    let owned: Vec<StringChunked> = slices.into_iter().map(|(offset, len)| ca.slice(offset, len)).collect();
    let slices: Vec<&StringChunked> = owned.iter().collect();
    let mut maps = crate::par_map(&slices, |&slice| {
        let mut map: TextMap<u64> = TextMap::default();
        for arr in slice.downcast_iter() {
            match arr.validity().filter(|v| v.unset_bits() > 0) {
                None => map.count_rows(arr, 0..arr.len()),
                Some(valid) => map.count_rows(arr, valid.true_idx_iter()),
            }
        }
        map
    });
    let mut map = maps.pop().unwrap_or_default();
    for other in maps {
        map.merge(other, |a, b| *a += b);
    }
    let mut pairs: Vec<(&str, u64)> = map.into_pairs().collect();
    // Only the head needs an order (top values, the date-format sample).
    let head = top_k.max(semantic::DATE_SAMPLE).min(pairs.len());
    order_head(&mut pairs, head);
    let distinct = pairs.len() as u64;
    let values = StringChunked::from_iter_values(ca.name().clone(), pairs.iter().map(|p| p.0));
    let casing = if distinct <= 200_000 { semantic::casing_collisions(&values) } else { 0 };
    let top = pairs.iter().take(top_k).map(|(v, c)| ValueCount { value: (*v).to_string(), count: *c }).collect();
    let counts = pairs.iter().map(|p| p.1).collect();
    Ok(Counted { values: values.into_series(), counts, distinct, top, casing })
}

/// Puts the `head` most frequent values (ties by text) first, in that order. Values are
/// selected by count alone; texts are compared only among those tied at the cut (comparing
/// texts all along costs a cache miss per comparison on a column with many distinct values).
fn order_head(pairs: &mut [(&str, u64)], head: usize) {
    if 0 < head && head < pairs.len() {
        pairs.select_nth_unstable_by(head, |a, b| b.1.cmp(&a.1));
        let cut = pairs[head].1;
        // Counts above the cut, then (from both sides of it) those equal to it, side by side.
        let above = partition(&mut pairs[..head], |p| p.1 > cut);
        let tied_after = partition(&mut pairs[head..], |p| p.1 == cut);
        let tied = &mut pairs[above..head + tied_after];
        if head - above < tied.len() {
            tied.select_nth_unstable_by(head - above, |a, b| a.0.cmp(b.0));
        }
    }
    let head = head.min(pairs.len());
    pairs[..head].sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
}

/// Moves the items for which `keep` holds to the front; returns how many there are.
fn partition<T>(items: &mut [T], keep: impl Fn(&T) -> bool) -> usize {
    let mut kept = 0;
    for i in 0..items.len() {
        if keep(&items[i]) {
            items.swap(i, kept);
            kept += 1;
        }
    }
    kept
}

/// Distinct count, top values and statistics of a date or time-zone-free datetime column from
/// one sort of its physical integers (days, or ticks of the column's time unit).
fn sorted_temporal(non_null: &Series, top_k: usize) -> PolarsResult<(u64, Vec<ValueCount>, Option<TemporalStats>)> {
    let phys = non_null.to_physical_repr().cast(&DataType::Int64)?;
    let runs = int_runs(phys.i64()?);
    let top = top_of_runs(&runs, top_k);
    let shown = render_temporal(&top.iter().map(|t| t.0).collect::<Vec<_>>(), non_null.dtype())?;
    let top = top.iter().zip(shown).map(|((_, c), value)| ValueCount { value, count: *c }).collect();
    Ok((runs.len() as u64, top, temporal_from_sorted(&runs, non_null.dtype(), false, None)?))
}

/// Physical temporal values rendered as polars shows them (`2013-01-01`, `2013-01-01 05:00:00`).
fn render_temporal(values: &[i64], dtype: &DataType) -> PolarsResult<Vec<String>> {
    let s = Series::new(PlSmallStr::EMPTY, values);
    let s = match dtype {
        DataType::Date => s.cast(&DataType::Int32)?.cast(dtype)?,
        _ => s.cast(dtype)?,
    };
    (0..s.len()).map(|i| Ok(s.get(i)?.to_string())).collect()
}

/// The calendar year of a physical value of a naive temporal type.
fn year_of(v: i64, dtype: &DataType) -> Option<i32> {
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

/// The non-null values of a numeric array (chunk by chunk when there are no nulls).
pub(crate) fn values_of<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Vec<T::Native> {
    if ca.null_count() > 0 {
        return ca.iter().flatten().collect();
    }
    let mut out = Vec::with_capacity(ca.len());
    for arr in ca.downcast_iter() {
        out.extend_from_slice(arr.values());
    }
    out
}

/// Distinct count, top values, statistics and placeholder values (like -999) of a numeric
/// column from one sort. Integers sort as integers (exact, and faster than floats); NaN is left
/// out of the statistics as pandas does.
type NumericSummary = (u64, Vec<ValueCount>, Option<NumericStats>, Vec<ValueCount>);

fn sorted_numeric(non_null: &Series, top_k: usize) -> PolarsResult<NumericSummary> {
    if non_null.dtype().is_integer() {
        let ints = non_null.cast(&DataType::Int64)?;
        let runs = int_runs(ints.i64()?);
        let top = top_of_runs(&runs, top_k).into_iter().map(|(x, c)| ValueCount { value: x.to_string(), count: c }).collect();
        let f: Vec<(f64, u64)> = runs.iter().map(|(x, c)| (*x as f64, *c)).collect();
        let stats = numeric_stats_runs(&f);
        let count = |v: f64| f.binary_search_by(|r| r.0.total_cmp(&v)).map_or(0, |i| f[i].1);
        let sentinels = stats.as_ref().map(|ns| semantic::numeric_sentinels(ns, count)).unwrap_or_default();
        return Ok((runs.len() as u64, top, stats, sentinels));
    }
    let floats = non_null.cast(&DataType::Float64)?;
    let mut v: Vec<f64> = values_of(floats.f64()?);
    v.retain(|x| !x.is_nan());
    v.sort_unstable_by(|a, b| a.total_cmp(b));
    let (distinct, top) = runs_top(&v, top_k);
    let top = top.into_iter().map(|(x, c)| ValueCount { value: fmt_f64(x), count: c }).collect();
    let finite: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
    let stats = numeric_stats_sorted(&finite);
    let count = |x: f64| (finite.partition_point(|v| *v < x) - finite.partition_point(|v| *v <= x)) as u64;
    let sentinels = stats.as_ref().map(|ns| semantic::numeric_sentinels(ns, count)).unwrap_or_default();
    Ok((distinct, top, stats, sentinels))
}

struct TextFacts {
    stats: TextStats,
    numeric_share: f64,
}

/// A text's length in characters, its words, and whether it starts or ends with white space.
/// ASCII text (the common case) is measured byte by byte, with the same answers.
fn text_shape(v: &str) -> (usize, usize, bool) {
    if !v.is_ascii() {
        return (v.chars().count(), v.split_whitespace().count(), v.len() != v.trim().len());
    }
    let b = v.as_bytes();
    // The ASCII characters Unicode calls white space: tab, line feed, vertical tab, form feed,
    // carriage return, space.
    let space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
    let (mut words, mut after_space) = (0, true);
    for &x in b {
        let here = space(x);
        words += usize::from(after_space && !here);
        after_space = here;
    }
    (b.len(), words, b.first().is_some_and(|&x| space(x)) || b.last().is_some_and(|&x| space(x)))
}

/// Text statistics from distinct values and their counts.
fn text_facts(distinct: &StringChunked, counts: &[u64], quality: &mut ColumnQuality) -> TextFacts {
    let mut min_len = u64::MAX;
    let mut max_len = 0u64;
    let mut total_len = 0u64;
    let mut total_words = 0u64;
    let mut n = 0u64;
    let mut numeric = 0u64;
    let mut non_numeric = 0u64;
    for (v, c) in distinct.iter().zip(counts) {
        let (Some(v), c) = (v, *c) else { continue };
        let (l, words, padded) = text_shape(v);
        let l = l as u64;
        min_len = min_len.min(l);
        max_len = max_len.max(l);
        total_len += l * c;
        total_words += words as u64 * c;
        n += c;
        if padded {
            quality.stray_whitespace += c;
        }
        if semantic::is_text_sentinel(v) {
            continue;
        }
        if parse_number(v).is_some() {
            numeric += c;
        } else {
            non_numeric += c;
        }
    }
    quality.numeric_text = numeric;
    quality.non_numeric_text = non_numeric;
    let denom = (numeric + non_numeric).max(1) as f64;
    TextFacts {
        stats: TextStats {
            min_length: if n == 0 { 0 } else { min_len },
            max_length: max_len,
            mean_length: if n == 0 { 0.0 } else { total_len as f64 / n as f64 },
            mean_words: if n == 0 { 0.0 } else { total_words as f64 / n as f64 },
        },
        numeric_share: numeric as f64 / denom,
    }
}

fn examples(non_null: &Series, k: usize) -> PolarsResult<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // Looking at a bounded prefix keeps this cheap on huge columns.
    let limit = non_null.len().min(10_000);
    for i in 0..limit {
        let v = render(&non_null.get(i)?);
        if seen.insert(v.clone()) {
            out.push(v);
            if out.len() == k {
                break;
            }
        }
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_give_distinct_and_top_with_ties_by_value() {
        let v = [1, 1, 2, 3, 3, 3, 4, 4];
        let (d, top) = runs_top(&v, 2);
        assert_eq!(d, 4);
        assert_eq!(top, vec![(3, 3), (1, 2)]);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 0.25), 1.75);
        let s = numeric_stats_sorted(&v).unwrap();
        assert_eq!(s.mean, 2.5);
        assert!((s.std.unwrap() - 1.2909944487358056).abs() < 1e-15);
    }

    #[test]
    fn temporal_statistics_from_counted_values() {
        // 2020-01-01 ×3, 2020-06-01 ×1, 2021-01-01 ×2 as days since 1970.
        let runs = [(18262, 3), (18414, 1), (18628, 2)];
        let t = temporal_from_sorted(&runs, &DataType::Date, true, Some("%Y-%m-%d".into())).unwrap().unwrap();
        assert_eq!((t.min.as_str(), t.median.as_str(), t.max.as_str()), ("2020-01-01", "2020-01-01", "2021-01-01"));
        assert_eq!((t.span_days, t.distinct_years), (366.0, 2));
        let s = Series::new("d".into(), [18262i32, 18262, 18262, 18414, 18628, 18628]).cast(&DataType::Date).unwrap();
        let (distinct, top, stats) = sorted_temporal(&s, 2).unwrap();
        assert_eq!(distinct, 3);
        assert_eq!(top[0], ValueCount { value: "2020-01-01".into(), count: 3 });
        assert_eq!(stats.unwrap(), TemporalStats { parsed_from_text: false, format: None, ..t });
    }

    #[test]
    fn the_head_is_ordered_as_a_full_sort_orders_it() {
        let texts: Vec<String> = (0..3000).map(|i| format!("v{}", (i * 7919) % 3001)).collect();
        for spread in [1, 3, 40, 5000] {
            let pairs: Vec<(&str, u64)> = texts.iter().enumerate().map(|(i, t)| (t.as_str(), (i as u64 * 31) % spread)).collect();
            let mut sorted = pairs.clone();
            sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            for head in [0, 1, 10, 200, 2999, 3000, 4000] {
                let mut got = pairs.clone();
                order_head(&mut got, head);
                let n = head.min(got.len());
                assert_eq!(got[..n], sorted[..n], "spread {spread} head {head}");
                let mut rest: Vec<_> = got[n..].to_vec();
                rest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                assert_eq!(rest, sorted[n..], "spread {spread} head {head}");
            }
        }
    }

    #[test]
    fn ascii_text_is_measured_as_characters_are() {
        let bytes: Vec<u8> = (0u8..128).collect();
        let mut texts: Vec<String> = vec!["".into(), " ".into(), "a b".into(), "\x0ba\x0c".into(), "x  y ".into(), "\x1f\x1c".into()];
        // Every ASCII byte alone, and between letters and spaces.
        texts.extend(bytes.iter().map(|&b| char::from(b).to_string()));
        texts.extend(bytes.iter().map(|&b| format!("a{}b {} ", char::from(b), char::from(b))));
        for v in &texts {
            assert_eq!(text_shape(v), (v.chars().count(), v.split_whitespace().count(), v.len() != v.trim().len()), "{v:?}");
        }
    }

    #[test]
    fn text_statistics_count_every_row() {
        let s = Series::new("t".into(), ["a b", "a b", " c", "12", "12", "12", "N/A"]);
        let p = profile_column(&s, 3, true).unwrap();
        let t = p.text.unwrap();
        assert_eq!((t.min_length, t.max_length), (2, 3));
        assert!((t.mean_length - 17.0 / 7.0).abs() < 1e-12);
        assert!((t.mean_words - 9.0 / 7.0).abs() < 1e-12);
        assert_eq!((p.quality.stray_whitespace, p.quality.numeric_text, p.quality.non_numeric_text), (1, 3, 3));
        assert_eq!(p.distinct_count, 4);
        assert_eq!(p.top_values[0], ValueCount { value: "12".into(), count: 3 });
    }

    #[test]
    fn statistics_from_counted_values_equal_those_of_the_expanded_column() {
        let mut v: Vec<i64> = (0..400_000).map(|i: i64| (i * 7919) % 1201 - 300).collect();
        v.extend([90_000, -80_000, 75_000, 75_000, 0, 0]);
        let runs = int_runs(&Int64Chunked::from_vec("v".into(), v.clone()));
        assert!(runs.len() < 1300);
        v.sort_unstable();
        assert_eq!(runs, runs_of(&v));
        // The same counts whichever way they are made: in an array (a narrow range, with nulls
        // and in two chunks), in a hash map (a wide range of few values), by sorting (many).
        let wide: Vec<i64> = v.iter().map(|x| x * 1_000_003).collect();
        let many: Vec<i64> = (0..300_000).map(|i: i64| (i * 7919) % 250_007 * 1_000_003 - i64::MAX / 2).collect();
        for values in [v.clone(), wide, many, vec![i64::MIN, i64::MAX, 0, i64::MIN]] {
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let expected = runs_of(&sorted);
            let mut ca = Int64Chunked::from_iter(values.iter().map(|x| Some(*x)).chain([None]));
            ca.append(&Int64Chunked::from_iter([None, values.first().copied()])).unwrap();
            let mut expected_more = expected.clone();
            if let Some(first) = values.first() {
                expected_more.iter_mut().find(|r| r.0 == *first).unwrap().1 += 1;
            }
            assert_eq!(int_runs(&ca), expected_more);
        }
        let expanded: Vec<f64> = v.iter().map(|x| *x as f64).collect();
        let a = numeric_stats_sorted(&expanded).unwrap();
        let b = numeric_stats_runs(&runs.iter().map(|(x, c)| (*x as f64, *c)).collect::<Vec<_>>()).unwrap();
        assert_eq!((a.min, a.max, a.sum, a.mean, &a.quantiles), (b.min, b.max, b.sum, b.mean, &b.quantiles));
        assert_eq!(
            (a.zeros, a.negatives, a.integral, a.outliers, &a.outlier_examples),
            (b.zeros, b.negatives, b.integral, b.outliers, &b.outlier_examples)
        );
        assert!((a.std.unwrap() - b.std.unwrap()).abs() <= 1e-12 * a.std.unwrap());
        assert_eq!(runs_top(&v, 3).1, top_of_runs(&runs, 3));
        let one = numeric_stats_runs(&[(4.0, 1)]).unwrap();
        assert_eq!((one.quantiles.p50, one.std), (4.0, None));
    }

    #[test]
    fn numbers_as_people_write_them() {
        assert_eq!(parse_number(" 1,234.5 "), Some(1234.5));
        assert_eq!(parse_number("$12"), Some(12.0));
        assert_eq!(parse_number("45%"), Some(45.0));
        assert_eq!(parse_number("N/A"), None);
        assert_eq!(parse_number("nan"), None);
    }
}

//! Numbers: statistics from sorted values or runs, quantiles, exact sums, rendering.

use super::*;

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
pub(super) fn sort_outlier_examples(examples: &mut Vec<f64>, lo: f64, hi: f64) {
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
pub(super) type NumericSummary = (u64, Vec<ValueCount>, Option<NumericStats>, Vec<ValueCount>);

pub(super) fn sorted_numeric(non_null: &Series, top_k: usize) -> PolarsResult<NumericSummary> {
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

//! Profiling one column: counts, top values, numeric / temporal / text statistics, quality.

use crate::semantic;
use crate::textmap::TextMap;
use dasynth_core::profile::*;
use polars::prelude::*;
use polars_arrow::array::Array;
use std::collections::HashSet;

mod counting;
mod numbers;
mod temporal;
mod text;

use counting::*;
pub(crate) use numbers::*;
pub(crate) use temporal::*;
use text::*;

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

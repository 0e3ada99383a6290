//! Histograms of per-trajectory quantities (turns, code cells, cell errors, recoveries, tokens):
//! one bucket per whole number when the range is small, else about twenty buckets of a round
//! width (1, 2 or 5 times a power of ten).

use dasynth_core::report::{Bucket, Distribution};

/// Most buckets of whole-number width 1 before widths grow.
const MAX_UNIT_BUCKETS: f64 = 30.0;
/// About how many buckets a wide range gets.
const TARGET_BUCKETS: f64 = 20.0;

/// The distribution of `values` (sorted in place).
pub(crate) fn distribution(name: &str, values: &mut [f64]) -> Distribution {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let (Some(&min), Some(&max)) = (values.first(), values.last()) else {
        return Distribution { name: name.to_string(), ..Default::default() };
    };
    let rank = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let width = bucket_width(min, max);
    let lo = (min / width).floor() * width;
    let count = (((max - lo) / width).floor() as usize + 1).max(1);
    let mut buckets: Vec<Bucket> =
        (0..count).map(|i| Bucket { lo: lo + i as f64 * width, hi: lo + (i + 1) as f64 * width, count: 0 }).collect();
    for &v in values.iter() {
        let i = (((v - lo) / width).floor() as usize).min(count - 1);
        buckets[i].count += 1;
    }
    Distribution {
        name: name.to_string(),
        n: n as u64,
        mean: values.iter().sum::<f64>() / n as f64,
        median: rank(0.5),
        p90: rank(0.9),
        max,
        buckets,
    }
}

fn bucket_width(min: f64, max: f64) -> f64 {
    let span = max - min;
    if span <= MAX_UNIT_BUCKETS {
        return 1.0;
    }
    let raw = span / TARGET_BUCKETS;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|w| *w >= raw).unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_ranges_get_one_bucket_per_value_and_counts_add_up() {
        let mut v = vec![1.0, 2.0, 2.0, 3.0, 7.0];
        let d = distribution("turns", &mut v);
        assert_eq!(d.buckets.len(), 7);
        assert_eq!(d.buckets.iter().map(|b| b.count).sum::<u64>(), 5);
        assert_eq!((d.median, d.max, d.buckets[1].count), (2.0, 7.0, 2));
    }

    #[test]
    fn wide_ranges_get_round_widths() {
        let mut v: Vec<f64> = (0..1000).map(|i| (i * 37) as f64).collect();
        let d = distribution("tokens", &mut v);
        let w = d.buckets[0].hi - d.buckets[0].lo;
        assert_eq!(w, 2000.0);
        assert!(d.buckets.len() <= 21 && d.buckets.iter().map(|b| b.count).sum::<u64>() == 1000);
        assert!(distribution("empty", &mut []).buckets.is_empty());
    }
}

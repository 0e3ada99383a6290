//! Counting values: runs of sorted values, hashed counts of text, the head of the distinct values.

use super::*;

/// Distinct values and the `k` most frequent (count descending, then value ascending) of a
/// sorted slice, from its runs of equal values: no hashing needed.
pub(crate) fn runs_top<T: PartialEq + Copy>(sorted: &[T], k: usize) -> (u64, Vec<(T, u64)>) {
    let runs = runs_of(sorted);
    (runs.len() as u64, top_of_runs(&runs, k))
}

/// Runs of equal values of a sorted slice, as (value, count).
pub(super) fn runs_of<T: PartialEq + Copy>(sorted: &[T]) -> Vec<(T, u64)> {
    merge_runs(sorted.iter().map(|&x| (x, 1)), |a, b| a == b)
}

/// Counted values in sorted order with neighbours that are `same` merged into one.
pub(super) fn merge_runs<T>(sorted: impl IntoIterator<Item = (T, u64)>, same: impl Fn(&T, &T) -> bool) -> Vec<(T, u64)> {
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
pub(super) fn top_of_runs<T: Copy>(runs: &[(T, u64)], k: usize) -> Vec<(T, u64)> {
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
pub(super) fn int_runs(ca: &Int64Chunked) -> Vec<(i64, u64)> {
    pub(super) const SAMPLE: usize = 1 << 16;
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

/// The distinct values of a column with their counts (most frequent first, ties by value; for
/// text only the first `max(top_k, DATE_SAMPLE)` are in that order, the rest in none), the top
/// values rendered, and for text the number of values that collide when trimmed and lower-cased.
pub(super) struct Counted {
    pub(super) values: Series,
    pub(super) counts: Vec<u64>,
    pub(super) distinct: u64,
    pub(super) top: Vec<ValueCount>,
    pub(super) casing: u64,
}

/// [`Counted`] from one hash pass.
pub(super) fn hashed_counts(non_null: &Series, top_k: usize, split: bool) -> PolarsResult<Counted> {
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
pub(super) fn counted_strings(ca: &StringChunked, top_k: usize, split: bool) -> PolarsResult<Counted> {
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
pub(super) fn order_head(pairs: &mut [(&str, u64)], head: usize) {
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
pub(super) fn partition<T>(items: &mut [T], keep: impl Fn(&T) -> bool) -> usize {
    let mut kept = 0;
    for i in 0..items.len() {
        if keep(&items[i]) {
            items.swap(i, kept);
            kept += 1;
        }
    }
    kept
}

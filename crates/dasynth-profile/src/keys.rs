//! Candidate primary keys within a table, candidate foreign keys across the tables of a source,
//! and strong numeric correlations.

use crate::textmap::TextMap;
use dasynth_core::profile::{ColumnProfile, Correlation, ForeignKey, SemanticType, TableProfile};
use polars::prelude::*;
use polars_arrow::array::Array;
use std::collections::HashSet;

/// Most candidate keys listed per table.
const MAX_KEYS: usize = 10;
/// Rows checked first when testing a column pair for uniqueness.
const PREFIX_ROWS: usize = 4096;
/// Most columns of one table examined as foreign keys.
const MAX_FK_COLUMNS: usize = 500;

fn key_eligible(c: &ColumnProfile) -> bool {
    c.null_count == 0 && !c.dtype.starts_with('f') && !matches!(c.semantic_type, SemanticType::FreeText | SemanticType::Empty)
}

/// Single columns, else column pairs, whose values are unique and never null.
pub(crate) fn primary_keys(df: &DataFrame, cols: &[ColumnProfile]) -> PolarsResult<Vec<Vec<String>>> {
    let n = df.height() as u64;
    if n < 2 {
        return Ok(Vec::new());
    }
    // Identifier-like columns first; a wide table of unique values lists only the first few.
    let mut singles: Vec<&ColumnProfile> = cols.iter().filter(|c| key_eligible(c) && c.distinct_count == n).collect();
    singles.sort_by_key(|c| !matches!(c.semantic_type, SemanticType::Identifier));
    if !singles.is_empty() {
        return Ok(singles.into_iter().take(MAX_KEYS).map(|c| vec![c.name.clone()]).collect());
    }
    // Pairs: among the first eligible columns, whose cardinalities could multiply to n.
    let eligible: Vec<&ColumnProfile> = cols.iter().filter(|c| key_eligible(c) && c.distinct_count > 1).take(12).collect();
    let mut out = Vec::new();
    for (i, a) in eligible.iter().enumerate() {
        for b in &eligible[i + 1..] {
            if a.distinct_count.saturating_mul(b.distinct_count) < n {
                continue;
            }
            let pair = df.select([a.name.as_str(), b.name.as_str()])?;
            // A repeat in a prefix is a repeat in the table: most pairs are ruled out cheaply.
            let prefix = pair.head(Some(PREFIX_ROWS));
            if prefix.unique_stable(None, UniqueKeepStrategy::Any, None)?.height() < prefix.height() {
                continue;
            }
            // Row hashes tell a unique pair in about the time one pass over it takes.
            if crate::duplicate_rows(&pair)? == 0 {
                out.push(vec![a.name.clone(), b.name.clone()]);
                if out.len() >= MAX_KEYS {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Rows per block of the correlation pass: the block of every column stays in cache while
/// all pairs read it.
const BLOCK_ROWS: usize = 4096;

const LANES: usize = 4;

/// Where a column's values come from, as floats.
enum Numbers<'a> {
    /// Text parsed the way a person writes numbers; with few distinct values (the flag), each
    /// is parsed once per thread.
    Text(&'a StringChunked, bool),
    /// A numeric column (64-bit read in place, other widths cast block by block).
    Native(&'a Series),
}

/// One column's values over one block of rows, shifted by the column's mean (so one-pass sums
/// keep their precision), 0 where a value is missing, with a 1/0 mask when any value of the
/// block is missing, and the block's own count and sums.
struct Block {
    z: Vec<f64>,
    mask: Option<Vec<f64>>,
    /// Columns with the same missing rows in this block share a group (the lowest column index).
    group: usize,
    n: f64,
    sum: f64,
    sum_sq: f64,
}

/// Per-thread parse memos of the text columns.
type Memos<'a> = Vec<TextMap<'a, f64>>;

fn block_of<'a>(src: &Numbers<'a>, memo: &mut TextMap<'a, f64>, center: f64, offset: usize, len: usize) -> PolarsResult<Block> {
    let mut z = Vec::with_capacity(len);
    match src {
        Numbers::Text(ca, use_memo) => {
            let parse = |t: &str| crate::column::parse_number(t).unwrap_or(f64::NAN);
            for (arr, rows) in rows_of_chunks(ca, offset, len) {
                z.extend(rows.map(|i| match arr.is_null(i) {
                    true => f64::NAN,
                    false if *use_memo => *memo.entry_at(arr, i, parse),
                    false => parse(arr.value(i)),
                }));
            }
        }
        Numbers::Native(s) if s.dtype() == &DataType::Int64 => extend_floats(&mut z, s.i64()?, offset, len, |v| v as f64),
        Numbers::Native(s) if s.dtype() == &DataType::Float64 => extend_floats(&mut z, s.f64()?, offset, len, |v| v),
        Numbers::Native(s) => {
            let f = s.slice(offset as i64, len).cast(&DataType::Float64)?;
            extend_floats(&mut z, f.f64()?, 0, len, |v| v);
        }
    }
    let missing = z.iter().any(|v| !v.is_finite());
    let mask = missing.then(|| z.iter().map(|v| if v.is_finite() { 1.0 } else { 0.0 }).collect::<Vec<f64>>());
    for v in &mut z {
        *v = if v.is_finite() { *v - center } else { 0.0 };
    }
    let [sum, sum_sq] = lane_sums(&z);
    let n = mask.as_ref().map_or(z.len() as f64, |m| m.iter().sum());
    Ok(Block { z, mask, group: 0, n, sum, sum_sq })
}

/// The arrays of a column holding rows `offset..offset + len`, each with those rows' positions
/// inside it.
fn rows_of_chunks<T: PolarsDataType>(ca: &ChunkedArray<T>, offset: usize, len: usize) -> Vec<(&T::Array, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut first = 0;
    for arr in ca.downcast_iter() {
        let (start, end) = (offset.max(first), (offset + len).min(first + arr.len()));
        if start < end {
            out.push((arr, start - first..end - first));
        }
        first += arr.len();
        if first >= offset + len {
            break;
        }
    }
    out
}

/// Rows `offset..offset + len` of a numeric column as floats (NaN where null), read from its
/// arrays in place: no sliced copy, no cast kernel per block.
fn extend_floats<T: PolarsNumericType>(
    z: &mut Vec<f64>,
    ca: &ChunkedArray<T>,
    offset: usize,
    len: usize,
    to_f64: impl Fn(T::Native) -> f64,
) {
    for (arr, rows) in rows_of_chunks(ca, offset, len) {
        let values = &arr.values()[rows.clone()];
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            Some(valid) => z.extend(values.iter().zip(rows).map(|(v, i)| if valid.get_bit(i) { to_f64(*v) } else { f64::NAN })),
            None => z.extend(values.iter().map(|v| to_f64(*v))),
        }
    }
}

/// Σz and Σz², in four lanes so the loop vectorises.
fn lane_sums(z: &[f64]) -> [f64; 2] {
    let whole = z.len() - z.len() % LANES;
    let mut acc = [[0.0f64; LANES]; 2];
    for a in lanes_of(z, whole) {
        for l in 0..LANES {
            acc[0][l] += a[l];
            acc[1][l] += a[l] * a[l];
        }
    }
    for v in &z[whole..] {
        acc[0][0] += v;
        acc[1][0] += v * v;
    }
    acc.map(|lanes| lanes.iter().sum())
}

/// The first `whole` values in fixed-size groups of [`LANES`].
fn lanes_of(v: &[f64], whole: usize) -> impl Iterator<Item = [f64; LANES]> + '_ {
    v[..whole].chunks_exact(LANES).map(|c| <[f64; LANES]>::try_from(c).unwrap_or([0.0; LANES]))
}

/// Σ za·zb.
fn dot(za: &[f64], zb: &[f64]) -> f64 {
    let n = za.len().min(zb.len());
    let whole = n - n % LANES;
    let mut acc = [0.0f64; LANES];
    for (a, b) in lanes_of(za, whole).zip(lanes_of(zb, whole)) {
        for l in 0..LANES {
            acc[l] += a[l] * b[l];
        }
    }
    for i in whole..n {
        acc[0] += za[i] * zb[i];
    }
    acc.iter().sum()
}

/// Σ z·m and Σ z²·m: one column's sums over the rows another column has.
fn masked_moments(z: &[f64], m: &[f64]) -> [f64; 2] {
    let n = z.len().min(m.len());
    let whole = n - n % LANES;
    let mut acc = [[0.0f64; LANES]; 2];
    for (a, x) in lanes_of(z, whole).zip(lanes_of(m, whole)) {
        for l in 0..LANES {
            let am = a[l] * x[l];
            acc[0][l] += am;
            acc[1][l] += a[l] * am;
        }
    }
    for i in whole..n {
        acc[0][0] += z[i] * m[i];
        acc[1][0] += z[i] * z[i] * m[i];
    }
    acc.map(|lanes| lanes.iter().sum())
}

/// n, Σx, Σy, Σx², Σy², Σxy over rows where both masks are 1, from centred values that are 0
/// where missing; fixed-size chunks so the compiler drops bounds checks and vectorises.
fn masked_sums(za: &[f64], zb: &[f64], ma: &[f64], mb: &[f64]) -> [f64; 6] {
    let n = za.len().min(zb.len()).min(ma.len()).min(mb.len());
    let whole = n - n % LANES;
    let mut acc = [[0.0f64; LANES]; 6];
    for (((a, b), x), y) in lanes_of(za, whole).zip(lanes_of(zb, whole)).zip(lanes_of(ma, whole)).zip(lanes_of(mb, whole)) {
        for l in 0..LANES {
            let (xa, yb) = (a[l] * y[l], b[l] * x[l]);
            acc[0][l] += x[l] * y[l];
            acc[1][l] += xa;
            acc[2][l] += yb;
            acc[3][l] += a[l] * xa;
            acc[4][l] += b[l] * yb;
            acc[5][l] += a[l] * b[l];
        }
    }
    for i in whole..n {
        let (xa, yb) = (za[i] * mb[i], zb[i] * ma[i]);
        for (k, v) in [ma[i] * mb[i], xa, yb, za[i] * xa, zb[i] * yb, za[i] * zb[i]].into_iter().enumerate() {
            acc[k][0] += v;
        }
    }
    acc.map(|lanes| lanes.iter().sum())
}

/// n, Σx, Σy, Σx², Σy², Σxy of a pair over one block, over the rows where both are present.
/// Only what the masks leave unknown is summed: a column present everywhere, or missing
/// exactly where the other is, brings its own sums.
fn pair_sums(a: &Block, b: &Block) -> [f64; 6] {
    match (&a.mask, &b.mask) {
        (None, None) => [a.z.len() as f64, a.sum, b.sum, a.sum_sq, b.sum_sq, dot(&a.z, &b.z)],
        (Some(_), Some(_)) if a.group == b.group => [a.n, a.sum, b.sum, a.sum_sq, b.sum_sq, dot(&a.z, &b.z)],
        (Some(ma), None) => {
            let [sy, syy] = masked_moments(&b.z, ma);
            [a.n, a.sum, sy, a.sum_sq, syy, dot(&a.z, &b.z)]
        }
        (None, Some(mb)) => {
            let [sx, sxx] = masked_moments(&a.z, mb);
            [b.n, sx, b.sum, sxx, b.sum_sq, dot(&a.z, &b.z)]
        }
        (Some(ma), Some(mb)) => masked_sums(&a.z, &b.z, ma, mb),
    }
}

/// Pearson r from n, Σx, Σy, Σx², Σy², Σxy of centred values.
fn pearson([n, sx, sy, sxx, syy, sxy]: [f64; 6]) -> Option<f64> {
    if n < 3.0 {
        return None;
    }
    let (cxx, cyy, cxy) = (sxx - sx * sx / n, syy - sy * sy / n, sxy - sx * sy / n);
    (cxx > 0.0 && cyy > 0.0).then(|| (cxy / (cxx * cyy).sqrt()).clamp(-1.0, 1.0))
}

/// Numeric column pairs with |r| ≥ threshold (identifiers and booleans left out), each over the
/// rows where both values are present. Rows are taken a block at a time: every pair's sums
/// over a block come from columns already in cache, and blocks run on every core.
pub(crate) fn correlations(df: &DataFrame, cols: &[ColumnProfile], threshold: f64) -> PolarsResult<Vec<Correlation>> {
    let numeric: Vec<&ColumnProfile> = cols
        .iter()
        .filter(|c| {
            c.numeric.is_some()
                && matches!(c.semantic_type, SemanticType::Numeric | SemanticType::Currency | SemanticType::Percentage)
                && c.distinct_count > 2
        })
        .take(60)
        .collect();
    if numeric.len() < 2 {
        return Ok(Vec::new());
    }
    let sources: Vec<(Numbers, f64)> = numeric
        .iter()
        .map(|c| {
            let s = df.column(&c.name)?.as_materialized_series();
            let src = match s.dtype() {
                DataType::String => Numbers::Text(s.str()?, c.distinct_count.saturating_mul(4) <= s.len() as u64),
                _ => Numbers::Native(s),
            };
            Ok((src, c.numeric.as_ref().map_or(0.0, |n| n.mean)))
        })
        .collect::<PolarsResult<_>>()?;
    let pairs: Vec<(usize, usize)> = (0..numeric.len()).flat_map(|i| (i + 1..numeric.len()).map(move |j| (i, j))).collect();
    let blocks: Vec<usize> = (0..df.height().div_ceil(BLOCK_ROWS)).collect();
    let per_block = crate::par_map_with(
        &blocks,
        || -> Memos { (0..sources.len()).map(|_| TextMap::default()).collect() },
        |memos, &b| -> PolarsResult<Vec<[f64; 6]>> {
            let offset = b * BLOCK_ROWS;
            let len = BLOCK_ROWS.min(df.height() - offset);
            let mut cols = Vec::with_capacity(sources.len());
            for (k, (src, center)) in sources.iter().enumerate() {
                let mut block = block_of(src, &mut memos[k], *center, offset, len)?;
                if let Some(m) = &block.mask {
                    let same: Option<&Block> = cols.iter().find(|o: &&Block| o.mask.as_ref() == Some(m));
                    block.group = same.map_or(k, |o| o.group);
                }
                cols.push(block);
            }
            Ok(pairs.iter().map(|&(i, j)| pair_sums(&cols[i], &cols[j])).collect())
        },
    );
    let mut totals = vec![[0.0f64; 6]; pairs.len()];
    for block in per_block {
        for (t, s) in totals.iter_mut().zip(block?) {
            for k in 0..6 {
                t[k] += s[k];
            }
        }
    }
    let mut out: Vec<Correlation> = pairs
        .iter()
        .zip(totals)
        .filter_map(|(&(i, j), sums)| {
            let r = pearson(sums).filter(|r| r.abs() >= threshold)?;
            Some(Correlation { a: numeric[i].name.clone(), b: numeric[j].name.clone(), pearson: r })
        })
        .collect();
    out.sort_by(|x, y| y.pearson.abs().total_cmp(&x.pearson.abs()));
    Ok(out)
}

fn norm(name: &str) -> String {
    name.to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn singular(name: &str) -> String {
    let n = norm(name.rsplit('/').next().unwrap_or(name));
    n.strip_suffix("ies").map(|s| format!("{s}y")).or_else(|| n.strip_suffix('s').map(str::to_string)).unwrap_or(n)
}

/// Whether a column's name points at a key of a table ("AlbumId" → Album.AlbumId,
/// "customer" → customers.id).
fn names_related(col: &str, ref_table: &str, ref_col: &str) -> bool {
    let (c, r, t) = (norm(col), norm(ref_col), singular(ref_table));
    c == r || (!t.is_empty() && c.contains(&t)) || (r.len() > 2 && c.ends_with(&r))
}

/// A table's columns as distinct value sets for key matching.
pub(crate) struct KeySide {
    pub table_id: String,
    pub table_name: String,
    pub columns: Vec<(String, Series)>,
}

/// Finds columns of `child` whose distinct values all lie in a primary key of `parent`.
pub(crate) fn foreign_keys(
    child: &KeySide,
    child_profile: &TableProfile,
    parent: &KeySide,
    parent_profile: &TableProfile,
    min_inclusion: f64,
) -> PolarsResult<Vec<ForeignKey>> {
    let mut out = Vec::new();
    let parent_keys: Vec<&String> = parent_profile.candidate_primary_keys.iter().filter(|k| k.len() == 1).map(|k| &k[0]).collect();
    for (cname, cvals) in child.columns.iter().take(MAX_FK_COLUMNS) {
        let Some(cp) = child_profile.columns.iter().find(|c| &c.name == cname) else { continue };
        if cp.distinct_count < 2 || matches!(cp.semantic_type, SemanticType::FreeText | SemanticType::Empty | SemanticType::Boolean) {
            continue;
        }
        for pk in &parent_keys {
            if child.table_id == parent.table_id && *pk == cname {
                continue;
            }
            let Some((_, pvals)) = parent.columns.iter().find(|(n, _)| n == *pk) else { continue };
            let c_is_text = matches!(cvals.dtype(), DataType::String);
            let p_is_text = matches!(pvals.dtype(), DataType::String);
            if c_is_text != p_is_text || cvals.dtype().is_float() || pvals.dtype().is_float() {
                continue;
            }
            if !(names_related(cname, &parent.table_name, pk) || (c_is_text && cp.distinct_count >= 3)) {
                continue;
            }
            let found = if c_is_text {
                let keys: HashSet<&str> = pvals.str()?.iter().flatten().collect();
                cvals.str()?.iter().flatten().filter(|v| keys.contains(v)).count()
            } else {
                let (cv, pv) = (cvals.cast(&DataType::Int64)?, pvals.cast(&DataType::Int64)?);
                let keys: HashSet<i64> = pv.i64()?.iter().flatten().collect();
                cv.i64()?.iter().flatten().filter(|v| keys.contains(v)).count()
            };
            let inclusion = found as f64 / cvals.len().max(1) as f64;
            if inclusion >= min_inclusion {
                out.push(ForeignKey {
                    column: cname.clone(),
                    ref_table_id: parent.table_id.clone(),
                    ref_table_name: parent.table_name.clone(),
                    ref_column: (*pk).clone(),
                    inclusion,
                    distinct_values: cvals.len() as u64,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pearson r over the rows where both are present, two passes, nothing clever.
    fn plain_pearson(a: &[Option<f64>], b: &[Option<f64>]) -> f64 {
        let both: Vec<(f64, f64)> = a.iter().zip(b).filter_map(|(x, y)| Some(((*x)?, (*y)?))).collect();
        let n = both.len() as f64;
        let (mx, my) = (both.iter().map(|p| p.0).sum::<f64>() / n, both.iter().map(|p| p.1).sum::<f64>() / n);
        let cov: f64 = both.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let (vx, vy): (f64, f64) = (both.iter().map(|p| (p.0 - mx).powi(2)).sum(), both.iter().map(|p| (p.1 - my).powi(2)).sum());
        cov / (vx * vy).sqrt()
    }

    #[test]
    fn correlations_over_blocks_and_masks_match_a_plain_computation() {
        // Several blocks and a short last one; columns complete, missing in the same rows,
        // missing elsewhere, and numbers written as text with a placeholder.
        let n = 3 * BLOCK_ROWS + 123;
        let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 1000) as f64 / 7.0).collect();
        let gap = |i: usize| i.is_multiple_of(11);
        let a: Vec<f64> = x.iter().enumerate().map(|(i, v)| v * 2.0 + (i % 13) as f64).collect();
        let b: Vec<Option<f64>> = x.iter().enumerate().map(|(i, v)| (!gap(i)).then(|| 1e6 - v * 3.0 + (i % 7) as f64)).collect();
        let c: Vec<Option<i64>> = (0..n).map(|i| (!gap(i)).then(|| ((i * 37) % 1000) as i64 + (i % 5) as i64)).collect();
        let d: Vec<Option<f64>> = x.iter().enumerate().map(|(i, v)| (i % 17 != 3).then(|| v * v)).collect();
        let e: Vec<String> = x
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 19 == 0 { "NA".to_string() } else { format!("{}", (v * 10.0).round() / 10.0 + (i % 3) as f64) })
            .collect();
        let df = df!("a" => &a, "b" => &b, "c" => &c, "d" => &d, "e" => &e).unwrap();
        let profiles: Vec<ColumnProfile> =
            df.columns().iter().map(|col| crate::column::profile_column(col.as_materialized_series(), 10, true).unwrap()).collect();
        assert!(
            profiles.iter().all(|p| p.semantic_type == SemanticType::Numeric),
            "{:?}",
            profiles.iter().map(|p| p.semantic_type).collect::<Vec<_>>()
        );
        let got = correlations(&df, &profiles, 0.0).unwrap();
        assert_eq!(got.len(), 10);
        let opt = |v: &[f64]| v.iter().map(|x| Some(*x)).collect::<Vec<_>>();
        let as_f = |v: &[Option<i64>]| v.iter().map(|x| x.map(|y| y as f64)).collect::<Vec<_>>();
        let text: Vec<Option<f64>> = e.iter().map(|t| t.parse().ok()).collect();
        let cols: Vec<(&str, Vec<Option<f64>>)> = vec![("a", opt(&a)), ("b", b.clone()), ("c", as_f(&c)), ("d", d.clone()), ("e", text)];
        for corr in &got {
            let va = &cols.iter().find(|c| c.0 == corr.a).unwrap().1;
            let vb = &cols.iter().find(|c| c.0 == corr.b).unwrap().1;
            let want = plain_pearson(va, vb);
            assert!((corr.pearson - want).abs() < 1e-12, "{} {}: {} vs {want}", corr.a, corr.b, corr.pearson);
        }
        // The same rows twice, each column in two chunks that blocks straddle: the same r.
        let twice = df.vstack(&df).unwrap();
        assert_eq!(twice.column("a").unwrap().as_materialized_series().n_chunks(), 2);
        let again = correlations(&twice, &profiles, 0.0).unwrap();
        for (x, y) in got.iter().zip(&again) {
            assert!(
                (x.a.as_str(), x.b.as_str()) == (y.a.as_str(), y.b.as_str()) && (x.pearson - y.pearson).abs() < 1e-12,
                "{x:?} vs {y:?}"
            );
        }
    }

    #[test]
    fn related_names() {
        assert!(names_related("AlbumId", "chinook/Album", "AlbumId"));
        assert!(names_related("customer_id", "customers", "id"));
        assert!(!names_related("MediaTypeId", "chinook/Album", "AlbumId"));
    }
}

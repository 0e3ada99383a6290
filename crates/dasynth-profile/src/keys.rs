//! Candidate primary keys within a table, candidate foreign keys across the tables of a source,
//! and strong numeric correlations.

use dasynth_core::profile::{ColumnProfile, Correlation, ForeignKey, SemanticType, TableProfile};
use polars::prelude::*;
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
            if pair.unique_stable(None, UniqueKeepStrategy::Any, None)?.height() as u64 == n {
                out.push(vec![a.name.clone(), b.name.clone()]);
                if out.len() >= MAX_KEYS {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// A column as floats, NaN where the value is null or not a number. Text with few distinct
/// values (`distinct`, from the profile) parses each of them once.
fn as_f64_nan(s: &Series, distinct: u64) -> PolarsResult<Vec<f64>> {
    if matches!(s.dtype(), DataType::String) {
        let parse = |v: Option<&str>| v.and_then(crate::column::parse_number).unwrap_or(f64::NAN);
        if distinct.saturating_mul(4) > s.len() as u64 {
            return Ok(s.str()?.iter().map(parse).collect());
        }
        let mut memo: PlHashMap<&str, f64> = PlHashMap::with_capacity(distinct as usize);
        return Ok(s.str()?.iter().map(|v| v.map_or(f64::NAN, |t| *memo.entry(t).or_insert_with(|| parse(Some(t))))).collect());
    }
    let f = s.cast(&DataType::Float64)?;
    let mut out = Vec::with_capacity(f.len());
    for arr in f.f64()?.downcast_iter() {
        let start = out.len();
        out.extend_from_slice(arr.values());
        if let Some(valid) = arr.validity().filter(|v| v.unset_bits() > 0) {
            for (i, ok) in valid.iter().enumerate() {
                if !ok {
                    out[start + i] = f64::NAN;
                }
            }
        }
    }
    Ok(out)
}

const LANES: usize = 4;

/// A numeric column prepared for correlations: values shifted by the column's mean (so the
/// one-pass formulas keep their precision) with 0 where a value is missing, a 1/0 mask when any
/// is missing, and the column's own sums.
struct Centered {
    z: Vec<f64>,
    mask: Option<Vec<f64>>,
    sum: f64,
    sum_sq: f64,
}

fn centered(values: &[f64], center: f64) -> Centered {
    let missing = values.iter().any(|v| !v.is_finite());
    let mask = missing.then(|| values.iter().map(|v| if v.is_finite() { 1.0 } else { 0.0 }).collect());
    let z: Vec<f64> = values.iter().map(|v| if v.is_finite() { v - center } else { 0.0 }).collect();
    let [sum, sum_sq] = lane_sums(z.len(), |i| [z[i], z[i] * z[i]]);
    Centered { z, mask, sum, sum_sq }
}

/// Sums of `K` quantities over `0..n`, kept in four lanes so the loop can use vector
/// instructions.
fn lane_sums<const K: usize>(n: usize, f: impl Fn(usize) -> [f64; K]) -> [f64; K] {
    let mut acc = [[0.0f64; LANES]; K];
    let whole = n - n % LANES;
    for base in (0..whole).step_by(LANES) {
        for lane in 0..LANES {
            for (a, v) in acc.iter_mut().zip(f(base + lane)) {
                a[lane] += v;
            }
        }
    }
    for i in whole..n {
        for (a, v) in acc.iter_mut().zip(f(i)) {
            a[0] += v;
        }
    }
    acc.map(|lanes| lanes.iter().sum())
}

/// The first `whole` values in fixed-size groups of [`LANES`].
fn lanes_of(v: &[f64], whole: usize) -> impl Iterator<Item = [f64; LANES]> + '_ {
    v[..whole].chunks_exact(LANES).map(|c| <[f64; LANES]>::try_from(c).unwrap_or([0.0; LANES]))
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

/// Pearson r over the rows where both values are present, in one pass.
fn pearson(a: &Centered, b: &Centered) -> Option<f64> {
    let len = a.z.len().min(b.z.len());
    let (za, zb) = (&a.z[..len], &b.z[..len]);
    let [n, sx, sy, sxx, syy, sxy] = match (&a.mask, &b.mask) {
        (None, None) => {
            let [sxy] = lane_sums(len, |i| [za[i] * zb[i]]);
            [len as f64, a.sum, b.sum, a.sum_sq, b.sum_sq, sxy]
        }
        (ma, mb) => {
            // A complete column's mask is all ones.
            let ones = if ma.is_none() || mb.is_none() { vec![1.0; len] } else { Vec::new() };
            let (ma, mb) = (ma.as_deref().unwrap_or(&ones), mb.as_deref().unwrap_or(&ones));
            masked_sums(za, zb, ma, mb)
        }
    };
    if n < 3.0 {
        return None;
    }
    let (cxx, cyy, cxy) = (sxx - sx * sx / n, syy - sy * sy / n, sxy - sx * sy / n);
    (cxx > 0.0 && cyy > 0.0).then(|| (cxy / (cxx * cyy).sqrt()).clamp(-1.0, 1.0))
}

/// Numeric column pairs with |r| ≥ threshold (identifiers and booleans left out).
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
    let values: Vec<Centered> = crate::par_map(&numeric, |c| {
        let v = as_f64_nan(df.column(&c.name)?.as_materialized_series(), c.distinct_count)?;
        Ok(centered(&v, c.numeric.as_ref().map_or(0.0, |n| n.mean)))
    })
    .into_iter()
    .collect::<PolarsResult<_>>()?;
    let pairs: Vec<(usize, usize)> = (0..numeric.len()).flat_map(|i| (i + 1..numeric.len()).map(move |j| (i, j))).collect();
    let found = crate::par_map(&pairs, |&(i, j)| pearson(&values[i], &values[j]).filter(|r| r.abs() >= threshold).map(|r| (i, j, r)));
    let mut out: Vec<Correlation> = found
        .into_iter()
        .flatten()
        .map(|(i, j, r)| Correlation { a: numeric[i].name.clone(), b: numeric[j].name.clone(), pearson: r })
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

    #[test]
    fn related_names() {
        assert!(names_related("AlbumId", "chinook/Album", "AlbumId"));
        assert!(names_related("customer_id", "customers", "id"));
        assert!(!names_related("MediaTypeId", "chinook/Album", "AlbumId"));
    }
}

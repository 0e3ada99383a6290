//! The profile stage: one JSON document per catalogued table, computed with polars over every
//! row, describing each column (physical dtype, semantic type, counts, statistics, top values,
//! quality flags) and the table as a whole (duplicate rows, candidate keys, correlations), plus
//! candidate foreign keys across the tables of one source.
//!
//! Profiles are the facts task templates bind to, so they are exact: counts are over all rows,
//! means use compensated summation, quantiles interpolate linearly as numpy does, and null means
//! what the reader made null: an empty field or pandas' default missing-value text (`NA`, `N/A`,
//! `null`, ...; see `dasynth_sources::missing`), as in a plain `pd.read_csv`. Other placeholders
//! (`-`, `n.a.`, `missing`) stay text and are reported as `sentinel_values`.
//!
//! The stage is resumable: a profile whose table bytes (sha256) and layout version are unchanged
//! is reused, not recomputed.

mod column;
mod keys;
mod semantic;
mod textmap;

use dasynth_core::catalog::{CatalogEntry, Status};
use dasynth_core::config::ProfileSettings;
use dasynth_core::layout::RunDir;
use dasynth_core::profile::{PROFILE_VERSION, TableProfile};
use dasynth_core::reporter::Reporter;
use dasynth_core::stats::StageStats;
use dasynth_sources::read;
use polars::prelude::*;
use polars_arrow::array::Array;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::time::Instant;

/// Errors that stop the whole stage.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Catalog(#[from] dasynth_sources::catalog_io::CatalogError),
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
}

/// A table whose profile could not be computed.
#[derive(Debug, Clone)]
pub struct TableFailure {
    pub table_id: String,
    pub name: String,
    pub message: String,
}

/// What the stage did.
#[derive(Debug)]
pub struct ProfileOutcome {
    pub profiles: Vec<TableProfile>,
    pub failures: Vec<TableFailure>,
    pub stats: StageStats,
}

/// Profiles one frame. `entry` supplies the table's identity.
pub fn profile_frame(df: &DataFrame, entry: &CatalogEntry, settings: &ProfileSettings) -> PolarsResult<TableProfile> {
    let started = Instant::now();
    let columns = profile_columns(df, settings.top_values)?;
    let t_columns = started.elapsed();
    let n_rows = df.height() as u64;
    // A column of distinct values, never null, makes every row distinct; otherwise rows are
    // compared. A table with repeated rows has no key, so keys are looked for only without them.
    let distinct_column = columns.iter().any(|c| c.null_count == 0 && c.distinct_count == n_rows && !c.dtype.starts_with('f'));
    let duplicate_rows = if df.width() == 0 || n_rows < 2 || distinct_column { 0 } else { duplicate_rows(df)? };
    let t_dups = started.elapsed();
    let candidate_primary_keys = if duplicate_rows > 0 { Vec::new() } else { keys::primary_keys(df, &columns)? };
    let t_keys = started.elapsed();
    let correlations = keys::correlations(df, &columns, settings.correlation_threshold)?;
    tracing::debug!(
        table = %entry.name,
        columns_ms = t_columns.as_millis() as u64,
        duplicates_ms = (t_dups - t_columns).as_millis() as u64,
        keys_ms = (t_keys - t_dups).as_millis() as u64,
        correlations_ms = (started.elapsed() - t_keys).as_millis() as u64,
        "profiled"
    );
    let mut quality_flags = Vec::new();
    if duplicate_rows > 0 {
        quality_flags.push("duplicate_rows".to_string());
    }
    if columns.iter().any(|c| c.quality.flags.iter().any(|f| f == "all_null")) {
        quality_flags.push("all_null_columns".to_string());
    }
    if candidate_primary_keys.is_empty() && n_rows > 1 {
        quality_flags.push("no_primary_key".to_string());
    }
    Ok(TableProfile {
        profile_version: PROFILE_VERSION,
        table_id: entry.id.clone(),
        table_name: entry.name.clone(),
        source: entry.source.clone(),
        sha256: entry.sha256.clone().unwrap_or_default(),
        n_rows,
        n_columns: df.width() as u64,
        duplicate_rows,
        estimated_bytes: df.estimated_size() as u64,
        columns,
        candidate_primary_keys,
        candidate_foreign_keys: Vec::new(),
        correlations,
        quality_flags,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Rows equal to an earlier row. Rows are hashed column by column; only rows whose hash
/// occurs more than once can be duplicates. When those are few they are compared exactly; when
/// they are many (a table concatenated with itself), comparing them would cost more than the
/// rest of the profile, and a second, independent row hash makes each row a 128-bit key whose
/// repeats are counted, so the count costs about the same whether no row or every row repeats.
pub(crate) fn duplicate_rows(df: &DataFrame) -> PolarsResult<u64> {
    let n = df.height();
    let slices: Vec<DataFrame> = row_slices(n, 100_000).into_iter().map(|(offset, len)| df.slice(offset, len)).collect();
    let first = slice_hashes(&slices, FIRST_SEED)?;
    let repeated = repeated_hashes(&first, n);
    if repeated.is_empty() {
        return Ok(0);
    }
    // A bit per top-16-bit prefix of the repeated hashes rules out nearly every row in cache.
    let mut prefixes = vec![0u64; 1 << 10];
    for h in &repeated {
        prefixes[(h >> 54) as usize] |= 1 << ((h >> 48) & 63);
    }
    let maybe = |h: u64| prefixes[(h >> 54) as usize] & (1 << ((h >> 48) & 63)) != 0;
    let candidates: Vec<IdxSize> =
        first.iter().flatten().enumerate().filter(|(_, h)| maybe(**h) && repeated.contains(*h)).map(|(i, _)| i as IdxSize).collect();
    if candidates.len() <= EXACT_ROWS {
        let sub = df.take(&IdxCa::from_vec(PlSmallStr::EMPTY, candidates))?;
        return Ok((sub.height() - sub.unique_stable(None, UniqueKeepStrategy::First, None)?.height()) as u64);
    }
    let second = slice_hashes(&slices, SECOND_SEED)?;
    let (first, second): (Vec<u64>, Vec<u64>) = (first.into_iter().flatten().collect(), second.into_iter().flatten().collect());
    let mut keys: Vec<u128> = candidates.iter().map(|&i| (u128::from(first[i as usize]) << 64) | u128::from(second[i as usize])).collect();
    {
        use rayon::prelude::*;
        keys.par_sort_unstable();
    }
    Ok(keys.windows(2).filter(|w| w[0] == w[1]).count() as u64)
}

/// Rows that may repeat, up to which they are compared exactly.
const EXACT_ROWS: usize = 1 << 16;
const FIRST_SEED: u64 = 0x5eed;
const SECOND_SEED: u64 = 0x0dd5_eed5_7a11_c0de;

/// Every row's hash, one vector per slice of rows (hashed on rayon's pool).
fn slice_hashes(slices: &[DataFrame], seed: u64) -> PolarsResult<Vec<Vec<u64>>> {
    par_map(slices, |slice| {
        // Hashed a few thousand rows at a time, so the hashes being mixed stay in cache while
        // every column passes over them.
        let mut hashes = vec![0u64; slice.height()];
        for (offset, part) in hashes.chunks_mut(HASH_ROWS).enumerate() {
            row_hashes(&slice.slice((offset * HASH_ROWS) as i64, part.len()), part, seed)?;
        }
        Ok(hashes)
    })
    .into_iter()
    .collect()
}

/// The hashes that occur more than once among `n` rows' hashes.
fn repeated_hashes(hashed: &[Vec<u64>], n: usize) -> PlHashSet<u64> {
    // Repeated hashes are found without sorting or hashing millions of values at once (both
    // miss the cache on nearly every value): each slice of rows groups its hashes by their top
    // bits, and each group, a few thousand hashes from every slice, is sorted in cache.
    let bits = (n / 2048).max(1).next_power_of_two().trailing_zeros().min(8);
    let grouped: Vec<(Vec<u64>, Vec<usize>)> = par_map(hashed, |h| group_by_bits(h, 0, bits));
    let groups: Vec<usize> = (0..1usize << bits).collect();
    par_map(&groups, |&g| {
        let v: Vec<u64> = grouped.iter().flat_map(|(values, starts)| values[starts[g]..starts[g + 1]].iter().copied()).collect();
        // Grouped again by the next bits, the pieces are small enough to sort in a few steps.
        let (mut v, starts) = group_by_bits(&v, bits, 8);
        let mut repeated = Vec::new();
        for piece in starts.windows(2) {
            let piece = &mut v[piece[0]..piece[1]];
            piece.sort_unstable();
            repeated.extend(piece.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]));
        }
        repeated
    })
    .into_iter()
    .flatten()
    .collect()
}

/// `values` grouped by `bits` of their bits, after the top `skip` (a counting sort on them):
/// group `g` is `out[starts[g]..starts[g + 1]]`.
fn group_by_bits(values: &[u64], skip: u32, bits: u32) -> (Vec<u64>, Vec<usize>) {
    let group = |v: u64| (v << skip).checked_shr(64 - bits).unwrap_or(0) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for v in values {
        starts[group(*v) + 1] += 1;
    }
    for g in 1..starts.len() {
        starts[g] += starts[g - 1];
    }
    let mut next = starts.clone();
    let mut out = vec![0u64; values.len()];
    for v in values {
        let g = group(*v);
        out[next[g]] = *v;
        next[g] += 1;
    }
    (out, starts)
}

/// One 64-bit hash per row of `df`, into `hashes`, mixing in every column's value. Text, 64-bit integers and floats
/// are mixed in as they are (their bits; text of at most 12 bytes by its Arrow view, without
/// reading the string; longer text by its hash); other types by polars' value hash. Values
/// polars' row comparison calls equal hash equally (every null alike, -0.0 as 0.0, every NaN
/// alike); unequal ones rarely collide, and those that do are told apart by the exact
/// comparison after.
fn row_hashes(df: &DataFrame, hashes: &mut [u64], seed: u64) -> PolarsResult<()> {
    const NULL: u64 = 0x2d35_8dcc_aa6c_78a5;
    let state = PlSeedableRandomStateQuality::seed_from_u64(seed);
    hashes.fill(seed);
    let mut other = Vec::new();
    for c in df.columns() {
        let s = c.as_materialized_series();
        let mut row = 0;
        match s.dtype() {
            DataType::String => {
                // The same long value in a run of rows often has the very same view (it points to
                // the same bytes): it is hashed once.
                let mut last: Option<(u128, u64)> = None;
                for arr in s.str()?.downcast_iter() {
                    for (i, view) in arr.views().iter().enumerate() {
                        let x = match textmap::inline_key(view) {
                            _ if arr.is_null(i) => NULL,
                            Some(k) => (k as u64) ^ ((k >> 64) as u64).rotate_left(29),
                            None => match last {
                                Some((seen, h)) if seen == view.as_u128() => h,
                                _ => {
                                    let h = state.hash_one(arr.value(i).as_bytes());
                                    last = Some((view.as_u128(), h));
                                    h
                                }
                            },
                        };
                        hashes[row + i] = mix(hashes[row + i], x);
                    }
                    row += arr.len();
                }
            }
            DataType::Int64 => {
                for arr in s.i64()?.downcast_iter() {
                    for (i, v) in arr.iter().enumerate() {
                        hashes[row + i] = mix(hashes[row + i], v.map_or(NULL, |v| *v as u64));
                    }
                    row += arr.len();
                }
            }
            DataType::Float64 => {
                let canonical = |v: f64| if v.is_nan() { f64::NAN.to_bits() } else { (v + 0.0).to_bits() };
                for arr in s.f64()?.downcast_iter() {
                    for (i, v) in arr.iter().enumerate() {
                        hashes[row + i] = mix(hashes[row + i], v.map_or(NULL, |v| canonical(*v)));
                    }
                    row += arr.len();
                }
            }
            _ => {
                s.vec_hash(state.clone(), &mut other)?;
                for (h, x) in hashes.iter_mut().zip(&other) {
                    *h = mix(*h, *x);
                }
            }
        }
    }
    Ok(())
}

/// Rows hashed at a time by [`duplicate_rows`].
const HASH_ROWS: usize = 8192;

/// A row hash so far combined with the next value's hash.
fn mix(h: u64, x: u64) -> u64 {
    let full = u128::from(h.rotate_left(23) ^ x) * 0x9e37_79b9_7f4a_7c15;
    (full as u64) ^ ((full >> 64) as u64)
}

/// Profiles columns on a few threads.
fn profile_columns(df: &DataFrame, top_k: usize) -> PolarsResult<Vec<dasynth_core::profile::ColumnProfile>> {
    let cols: Vec<&Column> = df.columns().iter().collect();
    // With at least two columns per core, the columns alone keep the cores busy.
    let split = cols.len() < 2 * dasynth_core::machine::cores();
    par_map(&cols, |c| column::profile_column(c.as_materialized_series(), top_k, split)).into_iter().collect()
}

/// `n` rows cut into one slice per core (at most 8), each of at least `min_rows` rows when
/// there are enough, as (offset, length).
pub(crate) fn row_slices(n: usize, min_rows: usize) -> Vec<(i64, usize)> {
    let parts = dasynth_core::machine::cores().min(8).min(n.div_ceil(min_rows)).max(1);
    let len = n.div_ceil(parts);
    (0..parts).map(|p| ((p * len) as i64, len)).collect()
}

/// `f` over every item on rayon's pool, one item per job (the items' costs differ a lot, so a
/// fixed split would leave a thread idle). Results keep the items' order.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    use rayon::prelude::*;
    items.par_iter().with_max_len(1).map(f).collect()
}

/// [`par_map`] where each job keeps its own state (from `init`) across the items it takes.
pub(crate) fn par_map_with<T: Sync, S, R: Send>(
    items: &[T],
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, &T) -> R + Sync + Send,
) -> Vec<R> {
    use rayon::prelude::*;
    items.par_iter().map_init(init, f).collect()
}

fn load_existing(run: &RunDir, e: &CatalogEntry) -> Option<TableProfile> {
    let bytes = std::fs::read(run.profile(&e.id)).ok()?;
    let p: TableProfile = serde_json::from_slice(&bytes).ok()?;
    (p.profile_version == PROFILE_VERSION && Some(&p.sha256) == e.sha256.as_ref()).then_some(p)
}

/// Profiles every `ok` table of the run's catalog and writes `profiles/<id>.json`.
pub fn profile_run(run: &RunDir, settings: &ProfileSettings, reporter: &dyn Reporter) -> Result<ProfileOutcome, ProfileError> {
    profile_shard(run, settings, None, reporter)
}

/// Profiles the tables of one shard of the catalog (every table with `None`). A table belongs to
/// the shard of its *source*, so the tables whose foreign keys are looked for together are
/// profiled together; each shard writes its tables' profiles and `stats/profile-shard-I-of-N.json`.
pub fn profile_shard(
    run: &RunDir,
    settings: &ProfileSettings,
    shard: Option<dasynth_core::shard::Shard>,
    reporter: &dyn Reporter,
) -> Result<ProfileOutcome, ProfileError> {
    let started = Instant::now();
    let catalog = dasynth_sources::catalog_io::read(&run.catalog())?;
    let entries: Vec<&CatalogEntry> =
        catalog.iter().filter(|e| e.status == Status::Ok && shard.is_none_or(|sh| sh.contains(&e.source))).collect();
    let mut stats = StageStats::new("profile");
    let mut failures = Vec::new();
    let mut by_source: BTreeMap<&str, Vec<(TableProfile, bool)>> = BTreeMap::new();
    reporter.start("profile", entries.len() as u64);
    for e in &entries {
        if let Some(p) = load_existing(run, e) {
            stats.reused += 1;
            by_source.entry(e.source.as_str()).or_default().push((p, false));
            reporter.item(&e.name);
            continue;
        }
        let read_started = Instant::now();
        let frame = read::read_entry(run, e).map_err(|err| err.to_string());
        tracing::debug!(table = %e.name, read_ms = read_started.elapsed().as_millis() as u64, "read");
        let result = frame.and_then(|df| profile_frame(&df, e, settings).map_err(|err| format!("{}: {err}", e.name)));
        match result {
            Ok(p) => {
                dasynth_core::atomic::write_json_atomic(&run.profile(&e.id), &p)?;
                by_source.entry(e.source.as_str()).or_default().push((p, true));
            }
            Err(message) => {
                tracing::warn!(table = %e.name, %message, "cannot profile table");
                stats.drop_for("unreadable");
                failures.push(TableFailure { table_id: e.id.clone(), name: e.name.clone(), message });
            }
        }
        reporter.item(&e.name);
    }
    reporter.finish();
    let by_id: BTreeMap<&str, &CatalogEntry> = entries.iter().map(|e| (e.id.as_str(), *e)).collect();
    let mut profiles = Vec::new();
    for (_, mut group) in by_source {
        if group.len() > 1 && group.iter().any(|(_, fresh)| *fresh) {
            link_source(run, &by_id, &mut group, settings)?;
        }
        profiles.extend(group.into_iter().map(|(p, _)| p));
    }
    stats.kept = profiles.len() as u64;
    stats.seconds = started.elapsed().as_secs_f64();
    dasynth_core::atomic::write_json_atomic(&run.stats_of(dasynth_core::layout::Stage::Profile, shard), &stats)?;
    Ok(ProfileOutcome { profiles, failures, stats })
}

/// Finds foreign keys among the tables of one source and rewrites their profiles.
fn link_source(
    run: &RunDir,
    by_id: &BTreeMap<&str, &CatalogEntry>,
    group: &mut [(TableProfile, bool)],
    settings: &ProfileSettings,
) -> Result<(), ProfileError> {
    let mut sides = Vec::new();
    for (p, _) in group.iter() {
        let Some(e) = by_id.get(p.table_id.as_str()) else { continue };
        let Ok(df) = read::read_entry(run, e) else { continue };
        let mut columns = Vec::new();
        for c in &p.columns {
            if c.distinct_count == 0 || c.dtype.starts_with('f') || c.distinct_count > 5_000_000 {
                continue;
            }
            if let Ok(col) = df.column(&c.name)
                && let Ok(u) = col.as_materialized_series().drop_nulls().unique()
            {
                columns.push((c.name.clone(), u));
            }
        }
        sides.push(keys::KeySide { table_id: p.table_id.clone(), table_name: p.table_name.clone(), columns });
    }
    let snapshot: Vec<TableProfile> = group.iter().map(|(p, _)| p.clone()).collect();
    for (p, _) in group.iter_mut() {
        let Some(child) = sides.iter().find(|s| s.table_id == p.table_id) else { continue };
        let mut fks = Vec::new();
        for parent in &sides {
            let Some(pp) = snapshot.iter().find(|x| x.table_id == parent.table_id) else { continue };
            if let Ok(found) = keys::foreign_keys(child, p, parent, pp, settings.foreign_key_inclusion) {
                fks.extend(found);
            }
        }
        if fks != p.candidate_foreign_keys {
            p.candidate_foreign_keys = fks;
            dasynth_core::atomic::write_json_atomic(&run.profile(&p.table_id), &*p)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_rows_by_hash_match_an_exact_comparison() {
        let n = 250_000;
        // Rows repeat at least every 300 (the lcm of the periods below).
        let a: Vec<i64> = (0..n).map(|i| i % 100).collect();
        let b: Vec<Option<&str>> = (0..n).map(|i| if i % 5 == 0 { None } else { Some(["x", "y", "z"][(i % 3) as usize]) }).collect();
        let c: Vec<f64> = (0..n)
            .map(|i| {
                if i % 50 == 7 {
                    -0.0
                } else if i % 50 == 8 {
                    f64::NAN
                } else {
                    (i % 50) as f64 / 4.0
                }
            })
            .collect();
        // Text longer than an Arrow view holds, and a type hashed by polars.
        let d: Vec<String> = (0..n).map(|i| format!("a value longer than twelve bytes {}", i % 4)).collect();
        let e: Vec<bool> = (0..n).map(|i| i % 6 == 0).collect();
        let df = df!("a" => a, "b" => b, "c" => c, "d" => d, "e" => e).unwrap();
        let exact = df.height() - df.unique_stable(None, UniqueKeepStrategy::First, None).unwrap().height();
        assert!(exact >= 250_000 - 300, "{exact}");
        assert_eq!(duplicate_rows(&df).unwrap(), exact as u64);
        let distinct = df!("a" => (0..n).collect::<Vec<i64>>(), "b" => vec!["same"; n as usize]).unwrap();
        assert_eq!(duplicate_rows(&distinct).unwrap(), 0);
        // Few repeats are compared exactly (the other path above).
        let few = df!("a" => (0..n).map(|i| i % (n - 10)).collect::<Vec<i64>>(), "b" => vec!["same"; n as usize]).unwrap();
        assert_eq!(duplicate_rows(&few).unwrap(), 10);

        // Read from text, a run of equal long values shares one view; rows differ elsewhere.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.csv");
        let mut text = String::from("when,n\n");
        for i in 0..30_000 {
            text.push_str(&format!("2001-01-01 00:{:02}:00.000000,{}\n", (i / 3) % 60, i % 7));
        }
        std::fs::write(&path, text).unwrap();
        let options = dasynth_core::catalog::ReadOptions::default();
        let df = dasynth_sources::read::read_delimited(&path, &options, None, dir.path()).unwrap();
        let exact = df.height() - df.unique_stable(None, UniqueKeepStrategy::First, None).unwrap().height();
        assert!(exact > 0 && exact < df.height() - 100, "{exact}");
        assert_eq!(duplicate_rows(&df).unwrap(), exact as u64);
    }
}

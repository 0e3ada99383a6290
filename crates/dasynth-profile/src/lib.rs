//! The profile stage: one JSON document per catalogued table, computed with polars over every
//! row, describing each column (physical dtype, semantic type, counts, statistics, top values,
//! quality flags) and the table as a whole (duplicate rows, candidate keys, correlations), plus
//! candidate foreign keys across the tables of one source.
//!
//! Profiles are the facts task templates bind to, so they are exact: counts are over all rows,
//! means use compensated summation, quantiles interpolate linearly as numpy does, and null means
//! what the reader made null (an empty CSV field), never a placeholder like "N/A" — those are
//! reported as `sentinel_values` instead.
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
use std::collections::BTreeMap;
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
    let candidate_primary_keys = keys::primary_keys(df, &columns)?;
    let t_keys = started.elapsed();
    // A table with a key has no repeated rows; otherwise compare whole rows.
    let has_key = candidate_primary_keys.iter().any(|k| k.len() == 1);
    let duplicate_rows = if df.width() == 0 || n_rows < 2 || has_key { 0 } else { duplicate_rows(df)? };
    let t_dups = started.elapsed();
    let correlations = keys::correlations(df, &columns, settings.correlation_threshold)?;
    tracing::debug!(
        table = %entry.name,
        columns_ms = t_columns.as_millis() as u64,
        keys_ms = (t_keys - t_columns).as_millis() as u64,
        duplicates_ms = (t_dups - t_keys).as_millis() as u64,
        correlations_ms = (started.elapsed() - t_dups).as_millis() as u64,
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
/// occurs more than once can be duplicates, and those few are compared exactly.
fn duplicate_rows(df: &DataFrame) -> PolarsResult<u64> {
    // Each thread hashes and sorts one slice of the rows; sorting finds repeated hashes with
    // sequential memory access (a hash map of millions of entries would miss the cache on
    // nearly every insert), and the sorted slices are then merged.
    let n = df.height();
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get()).clamp(1, 8).min(n.div_ceil(100_000)).max(1);
    let part = n.div_ceil(threads);
    let parts: Vec<PolarsResult<(Vec<u64>, Vec<u64>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let rows = df.slice((t * part) as i64, part);
                scope.spawn(move || {
                    let hashes = row_hashes(&rows)?;
                    let mut sorted = hashes.clone();
                    sorted.sort_unstable();
                    Ok((hashes, sorted))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(PolarsError::ComputeError("row hashing panicked".into())))).collect()
    });
    let parts = parts.into_iter().collect::<PolarsResult<Vec<_>>>()?;
    let mut sorted: Vec<u64> = Vec::with_capacity(n);
    for (_, s) in &parts {
        sorted.extend_from_slice(s);
    }
    // Already sorted runs: the stable sort merges them in linear time.
    sorted.sort();
    let repeated: PlHashSet<u64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
    drop(sorted);
    if repeated.is_empty() {
        return Ok(0);
    }
    let candidates: Vec<IdxSize> =
        parts.iter().flat_map(|(h, _)| h.iter()).enumerate().filter(|(_, h)| repeated.contains(*h)).map(|(i, _)| i as IdxSize).collect();
    let sub = df.take(&IdxCa::from_vec(PlSmallStr::EMPTY, candidates))?;
    Ok((sub.height() - sub.unique_stable(None, UniqueKeepStrategy::First, None)?.height()) as u64)
}

/// One 64-bit hash per row, combining every column's value hash.
fn row_hashes(df: &DataFrame) -> PolarsResult<Vec<u64>> {
    let state = PlSeedableRandomStateQuality::seed_from_u64(0x5eed);
    let mut hashes = Vec::with_capacity(df.height());
    for (i, c) in df.columns().iter().enumerate() {
        let s = c.as_materialized_series();
        if i == 0 { s.vec_hash(state.clone(), &mut hashes)? } else { s.vec_hash_combine(state.clone(), &mut hashes)? }
    }
    Ok(hashes)
}

/// Profiles columns on a few threads.
fn profile_columns(df: &DataFrame, top_k: usize) -> PolarsResult<Vec<dasynth_core::profile::ColumnProfile>> {
    let cols: Vec<&Column> = df.columns().iter().collect();
    par_map(&cols, |c| column::profile_column(c.as_materialized_series(), top_k)).into_iter().collect()
}

/// `f` over every item on one thread per core, each thread taking the next unclaimed item (the
/// items' costs differ a lot, so a fixed split would leave a thread idle). Results keep the
/// items' order; a panic in `f` is re-raised.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    par_map_with(items, || (), |_, item| f(item))
}

/// [`par_map`] where each thread keeps its own state (from `init`) across the items it takes.
pub(crate) fn par_map_with<T: Sync, S, R: Send>(items: &[T], init: impl Fn() -> S + Sync, f: impl Fn(&mut S, &T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(items.len());
    if threads <= 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return done };
                        done.push((i, f(&mut state, item)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

fn read_entry(run: &RunDir, e: &CatalogEntry) -> Result<DataFrame, String> {
    read::read_entry(run, e)
}

fn load_existing(run: &RunDir, e: &CatalogEntry) -> Option<TableProfile> {
    let bytes = std::fs::read(run.profile(&e.id)).ok()?;
    let p: TableProfile = serde_json::from_slice(&bytes).ok()?;
    (p.profile_version == PROFILE_VERSION && Some(&p.sha256) == e.sha256.as_ref()).then_some(p)
}

/// Profiles every `ok` table of the run's catalog and writes `profiles/<id>.json`.
pub fn profile_run(run: &RunDir, settings: &ProfileSettings, reporter: &dyn Reporter) -> Result<ProfileOutcome, ProfileError> {
    let started = Instant::now();
    let catalog = dasynth_sources::catalog_io::read(&run.catalog())?;
    let entries: Vec<&CatalogEntry> = catalog.iter().filter(|e| e.status == Status::Ok).collect();
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
        let frame = read_entry(run, e);
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
    dasynth_core::atomic::write_json_atomic(&run.stats("profile"), &stats)?;
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
        let Ok(df) = read_entry(run, e) else { continue };
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
        let c: Vec<f64> = (0..n).map(|i| (i % 50) as f64 / 4.0).collect();
        let df = df!("a" => a, "b" => b, "c" => c).unwrap();
        let exact = df.height() - df.unique_stable(None, UniqueKeepStrategy::First, None).unwrap().height();
        assert!(exact >= 250_000 - 300, "{exact}");
        assert_eq!(duplicate_rows(&df).unwrap(), exact as u64);
        let distinct = df!("a" => (0..n).collect::<Vec<i64>>(), "b" => vec!["same"; n as usize]).unwrap();
        assert_eq!(duplicate_rows(&distinct).unwrap(), 0);
    }
}

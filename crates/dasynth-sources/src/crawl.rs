//! The crawl stage: sources → fetched files → stored files → validated tables → catalog.
//!
//! One bad input never stops the crawl: it becomes a failed catalog row with a reason naming it.
//! Files are bounded before they are read ([`crate::limits`]), readers of third-party code run
//! in a child process when the caller provides one ([`Isolation`]), and a stored file none of
//! whose tables could be read is removed from `tables/` again.

use crate::fetch::{self, FetchFailure, Input};
use crate::isolate::Isolation;
use crate::limits::Limits;
use crate::spec::{Location, SourceSpec};
use crate::store;
use dasynth_core::catalog::{CatalogEntry, Provenance, Status, TableFormat};
use dasynth_core::config::CrawlSettings;
use dasynth_core::ids;
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Reporter;
use dasynth_core::stats::StageStats;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Errors that stop the whole crawl (as opposed to one input failing).
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    Catalog(#[from] crate::catalog_io::CatalogError),
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
    #[error("cannot build the HTTP client")]
    Http(#[source] reqwest::Error),
}

/// What a crawl produced.
#[derive(Debug)]
pub struct CrawlOutcome {
    pub entries: Vec<CatalogEntry>,
    pub stats: StageStats,
}

impl CrawlOutcome {
    pub fn failed(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.entries.iter().filter(|e| e.status == Status::Failed)
    }
}

/// What the last crawl saw of each input, so an unchanged input is not reprocessed.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CrawlState {
    inputs: BTreeMap<String, InputState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct InputState {
    fingerprint: String,
    table_ids: Vec<String>,
}

/// Crawls `specs` into `run`, merging with what an earlier crawl of the same run found. Files
/// whose readers are third-party code are inspected as `isolation` says.
pub fn crawl(
    specs: &[SourceSpec],
    settings: &CrawlSettings,
    run: &RunDir,
    isolation: &Isolation,
    reporter: &dyn Reporter,
) -> Result<CrawlOutcome, CrawlError> {
    let started = std::time::Instant::now();
    let mut found = Found { tables: BTreeMap::new(), failures: BTreeMap::new(), unread: BTreeSet::new(), stats: StageStats::new("crawl") };
    let ctx = Context { settings, limits: Limits::from_settings(settings), isolation, run };
    let previous: HashMap<String, CatalogEntry> = match crate::catalog_io::read(&run.catalog()) {
        Ok(rows) => rows.into_iter().filter(|e| e.status == Status::Ok).map(|e| (e.id.clone(), e)).collect(),
        Err(crate::catalog_io::CatalogError::Missing { .. }) => HashMap::new(),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an unreadable earlier catalog");
            HashMap::new()
        }
    };
    let old_state: CrawlState = std::fs::read(run.crawl_state()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let mut state = CrawlState::default();
    let http_opts = fetch::http::HttpOptions {
        timeout: std::time::Duration::from_secs(settings.http_timeout_secs),
        retries: settings.http_retries,
        max_bytes: settings.max_download_bytes,
        allow_private_redirects: settings.allow_private_redirects,
    };
    // Only sources that need HTTP pay for building the client.
    let needs_http = specs.iter().any(|s| matches!(s.location, Location::Http(_) | Location::Hf { .. }));
    let http_client = if needs_http { Some(fetch::http::client(&http_opts).map_err(CrawlError::Http)?) } else { None };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    reporter.start("crawl", specs.len() as u64);
    for spec in specs {
        let include: Vec<String> = if spec.include.is_empty() { settings.include.clone() } else { spec.include.clone() };
        let exclude: Vec<String> = spec.exclude.iter().chain(&settings.exclude).cloned().collect();
        let fetched = match &spec.location {
            Location::Path(p) => fetch::local::fetch(p, &include, &exclude),
            Location::Http(url) => {
                let Some(client) = http_client.as_ref() else { continue };
                fetch::http::fetch(client, url, &run.downloads_dir().join("http"), &http_opts)
            }
            Location::Object(uri) => fetch::object::fetch(uri, &include, &exclude, &run.downloads_dir().join("objects"), &http_opts),
            Location::Hf { owner, name, revision } => {
                let Some(client) = http_client.as_ref() else { continue };
                let ds = fetch::hf::Dataset { owner, name, revision: revision.as_deref() };
                fetch::hf::fetch(client, &ds, &include, &exclude, &run.downloads_dir().join("hf"), &http_opts)
            }
        };
        reporter.set_total(fetched.inputs.len() as u64);
        for FetchFailure { uri, message } in fetched.failures {
            found.stats.drop_for("fetch");
            let e = failed_entry(spec, &uri, None, format!("{uri}: {message}"), &now);
            found.failures.insert(e.id.clone(), e);
        }
        for input in fetched.inputs {
            let reused = reuse(&input, &old_state, &previous);
            let ids = match reused {
                Some(entries) => {
                    found.stats.reused += entries.len() as u64;
                    let ids = entries.iter().map(|e| e.id.clone()).collect();
                    let member_prefix = format!("{}!", input.uri);
                    for mut e in entries {
                        // Keep the exact URIs this input gave before (archive members carry `!member`).
                        let mut uris: Vec<String> = e
                            .provenance
                            .iter()
                            .filter(|p| p.uri == input.uri || p.uri.starts_with(&member_prefix))
                            .map(|p| p.uri.clone())
                            .collect();
                        if uris.is_empty() {
                            uris.push(input.uri.clone());
                        }
                        e.provenance.clear();
                        for uri in uris {
                            add(&mut found.tables, e.clone(), spec, &uri);
                        }
                    }
                    ids
                }
                None => process_input(spec, &input, &ctx, &now, &mut found),
            };
            state.inputs.insert(input.uri.clone(), InputState { fingerprint: input.fingerprint.clone(), table_ids: ids });
            reporter.item(&input.name);
        }
    }
    reporter.finish();
    let Found { tables, failures, unread, mut stats } = found;
    // A stored file none of whose tables could be read leaves the store again (unless a table
    // found elsewhere is the same file).
    let kept: BTreeSet<&str> = tables.values().filter_map(|e| e.path.as_deref()).collect();
    for rel in unread.iter().filter(|rel| !kept.contains(rel.as_str())) {
        if let Err(e) = std::fs::remove_file(run.resolve(rel)) {
            tracing::warn!(file = rel, error = %e, "cannot remove an unreadable file from the store");
        }
    }
    let mut entries: Vec<CatalogEntry> = tables.into_values().collect();
    stats.kept = entries.len() as u64;
    for e in &mut entries {
        e.provenance.sort();
        e.provenance.dedup();
    }
    entries.extend(failures.into_values());
    crate::catalog_io::write(&run.catalog(), &entries)?;
    dasynth_core::atomic::write_json_atomic(&run.crawl_state(), &state)?;
    stats.seconds = started.elapsed().as_secs_f64();
    dasynth_core::atomic::write_json_atomic(&run.stats(dasynth_core::layout::Stage::Crawl), &stats)?;
    Ok(CrawlOutcome { entries, stats })
}

/// Earlier entries for an input whose fingerprint did not change, if all are still there.
fn reuse(input: &Input, old: &CrawlState, previous: &HashMap<String, CatalogEntry>) -> Option<Vec<CatalogEntry>> {
    let st = old.inputs.get(&input.uri)?;
    if st.fingerprint != input.fingerprint || st.table_ids.is_empty() {
        return None;
    }
    st.table_ids.iter().map(|id| previous.get(id).cloned()).collect()
}

fn add(tables: &mut BTreeMap<String, CatalogEntry>, entry: CatalogEntry, spec: &SourceSpec, uri: &str) {
    let prov = Provenance { source: spec.name.clone(), uri: uri.to_string(), licence: spec.licence.clone() };
    let e = tables.entry(entry.id.clone()).or_insert(entry);
    if !e.provenance.contains(&prov) {
        e.provenance.push(prov);
    }
}

fn failed_entry(spec: &SourceSpec, uri: &str, member: Option<&str>, error: String, now: &str) -> CatalogEntry {
    let id = ids::short_id(&["failed", uri, member.unwrap_or("")]);
    let base = uri.rsplit(['/', '!']).next().unwrap_or(uri).to_string();
    CatalogEntry {
        id,
        name: match member {
            Some(m) => format!("{base}/{m}"),
            None => base,
        },
        source: spec.name.clone(),
        uri: uri.to_string(),
        final_uri: None,
        format: None,
        compression: None,
        path: None,
        member: member.map(str::to_string),
        sha256: None,
        bytes: None,
        licence: spec.licence.clone(),
        description: spec.description.clone(),
        read_options: None,
        n_rows: None,
        n_columns: None,
        status: Status::Failed,
        error: Some(error),
        warnings: Vec::new(),
        provenance: vec![Provenance { source: spec.name.clone(), uri: uri.to_string(), licence: spec.licence.clone() }],
        crawled_at: now.to_string(),
    }
}

fn stem(name: &str) -> String {
    let n = crate::detect::strip_compression_suffix(name);
    Path::new(n).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| n.to_string())
}

/// What a crawl has found so far: tables by id, failed inputs by id, stored files none of
/// whose tables could be read, and the counters.
struct Found {
    tables: BTreeMap<String, CatalogEntry>,
    failures: BTreeMap<String, CatalogEntry>,
    unread: BTreeSet<String>,
    stats: StageStats,
}

/// What every input of one crawl is processed with.
struct Context<'a> {
    settings: &'a CrawlSettings,
    limits: Limits,
    isolation: &'a Isolation,
    run: &'a RunDir,
}

fn process_input(spec: &SourceSpec, input: &Input, ctx: &Context<'_>, now: &str, found: &mut Found) -> Vec<String> {
    let Context { settings, limits, isolation, run } = ctx;
    let mut ids = Vec::new();
    let scratch = run.cache_dir().join("utf8");
    // A plain delimited file is inspected (encoding, dialect, a full ragged-row scan) from its
    // source while the store copies and hashes it: two full reads at once instead of in turn.
    // Not one the store will refuse as too large.
    let detected = crate::detect::detect(&input.local, &input.name);
    let fits = std::fs::metadata(&input.local).is_ok_and(|m| m.len() <= settings.max_table_bytes);
    let early_format = match detected {
        Ok(crate::detect::Kind::Table(f @ (TableFormat::Csv | TableFormat::Tsv))) if fits => Some(f),
        _ => None,
    };
    let (outcome, mut early) = std::thread::scope(|scope| {
        let scratch = &scratch;
        let early = early_format.map(|f| (f, scope.spawn(move || isolation.inspect(&input.local, f, scratch, limits))));
        let outcome = store::store_input(run, &input.local, detected, &input.name, &input.uri, settings.max_table_bytes, input.in_folder);
        (outcome, early.and_then(|(f, h)| h.join().ok().map(|r| (f, r))))
    });
    for (uri, err) in outcome.failed {
        found.stats.drop_for(match err {
            store::StoreError::TooLarge { .. } | store::StoreError::FileTooLarge { .. } => "too_large",
            store::StoreError::Bomb { .. } | store::StoreError::Inconsistent { .. } => "zip_bomb",
            store::StoreError::Unknown { .. } => "unknown_format",
            store::StoreError::Empty { .. } => "empty",
            store::StoreError::Corrupt { .. } => "corrupt",
            _ => "io",
        });
        let e = failed_entry(spec, &uri, None, err.to_string(), now);
        found.failures.insert(e.id.clone(), e);
    }
    for stored in outcome.stored {
        let path = run.resolve(&stored.rel_path);
        let results = match early.take() {
            Some((f, results)) if f == stored.format && stored.compression.is_none() => results,
            _ => isolation.inspect(&path, stored.format, &scratch, limits),
        };
        if results.iter().all(Result::is_err) {
            found.unread.insert(stored.rel_path.clone());
        }
        for result in results {
            match result {
                Ok(meta) => {
                    let multi = stored.format.is_multi_table();
                    let id = ids::table_id(&stored.sha256, if multi { meta.member.as_deref() } else { None });
                    let base = stem(&stored.name);
                    let entry = CatalogEntry {
                        id: id.clone(),
                        name: match &meta.member {
                            Some(m) => format!("{base}/{m}"),
                            None => base,
                        },
                        source: spec.name.clone(),
                        uri: stored.uri.clone(),
                        final_uri: input.final_uri.clone(),
                        format: Some(if stored.format == TableFormat::Csv && meta.options.delimiter == "\t" {
                            TableFormat::Tsv
                        } else {
                            stored.format
                        }),
                        compression: stored.compression.map(|c| c.as_str().to_string()),
                        path: Some(stored.rel_path.clone()),
                        member: meta.member,
                        sha256: Some(stored.sha256.clone()),
                        bytes: Some(stored.bytes),
                        licence: spec.licence.clone(),
                        description: spec.description.clone(),
                        read_options: Some(meta.options),
                        n_rows: Some(meta.n_rows),
                        n_columns: Some(meta.n_columns),
                        status: Status::Ok,
                        error: None,
                        warnings: meta.warnings,
                        provenance: Vec::new(),
                        crawled_at: now.to_string(),
                    };
                    add(&mut found.tables, entry, spec, &stored.uri);
                    ids.push(id);
                }
                Err(f) => {
                    found.stats.drop_for("unreadable");
                    let shown = match &f.member {
                        Some(m) => format!("{} (table {m:?})", stored.uri),
                        None => stored.uri.clone(),
                    };
                    let source_path = input.local.display().to_string();
                    let message = if f.message.contains(&stored.rel_path) {
                        f.message.replace(&path.display().to_string(), &shown)
                    } else if f.message.contains(&source_path) {
                        f.message.replace(&source_path, &shown)
                    } else {
                        format!("{shown}: {}", f.message)
                    };
                    let e = failed_entry(spec, &stored.uri, f.member.as_deref(), message, now);
                    found.failures.insert(e.id.clone(), e);
                }
            }
        }
    }
    ids
}

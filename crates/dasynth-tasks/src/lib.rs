//! Grounded tasks: templates bound to real table profiles, with ground truth computed from the
//! data.
//!
//! # The model
//!
//! A template (`templates/<family>/<name>.j2`, see [`template`]) declares the table and column
//! roles it needs ([`spec`]), how its parameters are drawn from a column's profile, a prompt
//! with paraphrases, a SQL query that computes the ground truth, and a reference solution in
//! pandas. [`build_tasks`] reads a run folder's catalog and profiles, binds every template to
//! the tables whose profiles fit its roles ([`bind`]), runs the SQL with polars over the real
//! tables ([`truth`]) — independently of the Python solution — and keeps a task only when the
//! answer is well defined: empty results, nulls and ties are dropped with a counted reason.
//! Sampling is balanced across families and templates per table, capped per table and in all
//! (balanced across sources), deterministic for a seed, and near-duplicate prompts are
//! removed. The tasks go to `tasks.parquet` ([`task::Task`]); how answers are judged is in
//! [`checker`]. [`lint`] checks templates without any data and points at file and line.

pub mod bind;
pub mod checker;
pub mod dates;
pub mod lint;
pub mod schemas;
pub mod spec;
pub mod task;
pub mod template;
pub mod truth;

use bind::{Binding, TableInfo};
use dasynth_core::catalog::{CatalogEntry, Status};
use dasynth_core::config::TaskSettings;
use dasynth_core::layout::RunDir;
use dasynth_core::profile::TableProfile;
use dasynth_core::reporter::Reporter;
use dasynth_core::rng::Rng;
use dasynth_core::stats::StageStats;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};
use spec::{AnswerType, Family};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Instant;
use task::{Task, TaskFile};
use template::{Template, TemplateError};

/// A task stage that cannot run at all.
#[derive(Debug, thiserror::Error)]
pub enum TasksError {
    #[error(transparent)]
    Catalog(#[from] dasynth_sources::catalog_io::CatalogError),
    #[error(transparent)]
    Rows(#[from] dasynth_parquet::RowsError),
    #[error(transparent)]
    Write(#[from] dasynth_core::atomic::PathError),
    #[error("no templates could be loaded from {}\nhint: pass --templates DIR or set [tasks] templates in dasynth.toml", dir.display())]
    NoTemplates { dir: PathBuf },
    #[error("cannot write the built-in templates to {}\nhint: set DASYNTH_CACHE to a writable folder, or pass --templates DIR", dir.display())]
    BuiltinTemplates {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no tasks at {}\nhint: run `dasynth tasks {}` first (or `dasynth generate`)", path.display(), path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    NoTasks { path: PathBuf },
    #[error("unknown task family {name:?}; the families are: {known}")]
    UnknownFamily { name: String, known: String },
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `tasks` did: written to `stats/tasks.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskStats {
    #[serde(flatten)]
    pub stage: StageStats,
    /// Tasks kept per family.
    pub by_family: BTreeMap<String, u64>,
    /// Tasks kept per template.
    pub by_template: BTreeMap<String, u64>,
    /// Tasks kept per source.
    pub by_source: BTreeMap<String, u64>,
    /// Tables that no template fits.
    pub tables_without_tasks: u64,
    /// Templates skipped because they are broken (see `template_errors`).
    pub templates_skipped: u64,
    pub template_errors: Vec<String>,
}

/// The result of [`build_tasks`].
#[derive(Debug)]
pub struct TasksOutcome {
    pub tasks: Vec<Task>,
    pub stats: TaskStats,
    pub template_errors: Vec<TemplateError>,
}

/// One bound, parameterised template before its ground truth is known.
struct Candidate<'a> {
    template: &'a Template,
    binding: Binding,
    params: BTreeMap<String, serde_json::Value>,
    variant_seed: String,
}

/// Makes `tasks.parquet` for a run folder.
pub fn build_tasks(run: &RunDir, settings: &TaskSettings, reporter: &dyn Reporter) -> Result<TasksOutcome, TasksError> {
    let started = Instant::now();
    let families: BTreeSet<Family> = if settings.families.is_empty() {
        Family::ALL.into_iter().collect()
    } else {
        let mut set = BTreeSet::new();
        for name in &settings.families {
            let f = Family::parse(name).ok_or_else(|| TasksError::UnknownFamily {
                name: name.clone(),
                known: Family::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "),
            })?;
            set.insert(f);
        }
        set
    };
    let dir = templates_dir(settings)?;
    let (templates, mut template_errors) = lint::load_checked(&dir);
    if templates.is_empty() {
        return Err(TasksError::NoTemplates { dir });
    }
    let templates: Vec<Template> = templates.into_iter().filter(|t| families.contains(&t.spec.family)).collect();
    let env = lint::environment_with(&templates, &mut template_errors);

    let catalog = dasynth_sources::catalog_io::read(&run.catalog())?;
    let entries: HashMap<String, CatalogEntry> =
        catalog.into_iter().filter(|e| e.status == Status::Ok).map(|e| (e.id.clone(), e)).collect();
    let mut tables: Vec<TableInfo> = Vec::new();
    let mut ids: Vec<&String> = entries.keys().collect();
    ids.sort();
    for id in ids {
        let Ok(bytes) = std::fs::read(run.profile(id)) else { continue };
        let Ok(profile) = serde_json::from_slice::<TableProfile>(&bytes) else { continue };
        let spreadsheet =
            matches!(entries[id].format, Some(dasynth_core::catalog::TableFormat::Xlsx | dasynth_core::catalog::TableFormat::Xls));
        tables.push(TableInfo { table_id: id.clone(), source: entries[id].source.clone(), profile, spreadsheet });
    }
    let profiles: BTreeMap<String, &TableProfile> = tables.iter().map(|t| (t.table_id.clone(), &t.profile)).collect();

    let mut stats = TaskStats::default();
    stats.stage.stage = "tasks".into();
    stats.templates_skipped = template_errors.len() as u64;
    stats.template_errors = template_errors.iter().map(|e| e.to_string()).collect();

    // Candidates grouped by their first table, each group in a seeded order.
    let mut by_table: BTreeMap<usize, Vec<Candidate<'_>>> = BTreeMap::new();
    for t in &templates {
        for (set, links) in bind::table_sets(&t.spec, &tables) {
            let primary = *set.values().min().unwrap_or(&0);
            let table_key: Vec<&str> = set.values().map(|i| tables[*i].table_id.as_str()).chain(set.keys().map(String::as_str)).collect();
            let seed = settings.seed.to_string();
            let mut rng = Rng::from_parts(&[&seed, &t.name, &table_key.join(",")]);
            let column_sets = bind::column_sets(&t.spec, &tables, &set, &mut rng, settings.per_template * 4);
            for columns in column_sets {
                let binding = Binding {
                    tables: set.iter().map(|(r, i)| (r.clone(), tables[*i].table_id.clone())).collect(),
                    columns,
                    links: links.clone(),
                };
                for v in 0..2u32 {
                    let variant_seed = format!("{seed}:{v}");
                    let mut prng = Rng::from_parts(&[&variant_seed, &t.name, &serde_json::to_string(&binding).unwrap_or_default()]);
                    match bind::sample_params(&t.spec, &binding, &profiles, &mut prng) {
                        Ok(params) => by_table.entry(primary).or_default().push(Candidate {
                            template: t,
                            binding: binding.clone(),
                            params,
                            variant_seed,
                        }),
                        Err(reason) => stats.stage.drop_for(&format!("params_{reason}")),
                    }
                    if t.spec.params.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    stats.tables_without_tasks = (0..tables.len()).filter(|i| !by_table.contains_key(i)).count() as u64;

    reporter.start("tasks", by_table.len() as u64);
    let mut frames = FrameCache::new(run, &entries, &profiles);
    let mut selected: Vec<Task> = Vec::new();
    let mut seen_ids: BTreeSet<String> = BTreeSet::new();
    for (&ti, candidates) in &by_table {
        let table = &tables[ti];
        let order = interleave(candidates, settings.seed, &table.table_id);
        let mut kept_prompts: Vec<BTreeSet<String>> = Vec::new();
        let mut per_template: BTreeMap<&str, usize> = BTreeMap::new();
        let mut kept = 0usize;
        for ci in order {
            if kept >= settings.per_table {
                break;
            }
            let c = &candidates[ci];
            if per_template.get(c.template.name.as_str()).copied().unwrap_or(0) >= settings.per_template {
                continue;
            }
            let task = match make_task(&env, c, &entries, &mut frames) {
                Ok(task) => task,
                Err(Dropped { reason, detail }) => {
                    tracing::debug!(template = %c.template.name, table = %table.profile.table_name, reason, %detail, "task dropped");
                    stats.stage.drop_for(reason);
                    continue;
                }
            };
            if !seen_ids.insert(task.id.clone()) {
                stats.stage.drop_for("duplicate");
                continue;
            }
            let shingles = trigrams(&task.instruction);
            if kept_prompts.iter().any(|k| jaccard(k, &shingles) >= settings.near_duplicate) {
                stats.stage.drop_for("near_duplicate");
                continue;
            }
            kept_prompts.push(shingles);
            *per_template.entry(c.template.name.as_str()).or_default() += 1;
            kept += 1;
            selected.push(task);
        }
        frames.evict();
        reporter.item(&table.profile.table_name);
    }
    reporter.finish();

    if let Some(max) = settings.max_tasks
        && selected.len() > max
    {
        let before = selected.len();
        selected = balance_sources(selected, max);
        for _ in 0..before - selected.len() {
            stats.stage.drop_for("quota");
        }
    }
    for t in &selected {
        *stats.by_family.entry(t.family.clone()).or_default() += 1;
        *stats.by_template.entry(t.template.clone()).or_default() += 1;
        *stats.by_source.entry(t.source.clone()).or_default() += 1;
    }
    dasynth_parquet::write_rows(&run.tasks(), &selected, task::schema())?;
    stats.stage.kept = selected.len() as u64;
    stats.stage.seconds = started.elapsed().as_secs_f64();
    dasynth_core::atomic::write_json_atomic(&run.stats(dasynth_core::layout::Stage::Tasks), &stats)?;
    Ok(TasksOutcome { tasks: selected, stats, template_errors })
}

/// The templates folder of the settings: the configured one, else `./templates` when the
/// working directory has one (a checkout of the repository), else the templates built into the
/// binary, written once into the cache folder.
pub fn templates_dir(settings: &TaskSettings) -> Result<PathBuf, TasksError> {
    if let Some(dir) = &settings.templates {
        return Ok(dir.clone());
    }
    if std::path::Path::new(LOCAL_TEMPLATES).is_dir() {
        return Ok(PathBuf::from(LOCAL_TEMPLATES));
    }
    let cache = dasynth_core::env::cache_dir().unwrap_or_else(std::env::temp_dir);
    dasynth_assets::TEMPLATES.materialize(&cache).map_err(|source| TasksError::BuiltinTemplates { dir: cache, source })
}

/// The templates folder used when the working directory has one and none is configured.
pub const LOCAL_TEMPLATES: &str = "templates";

/// Reads a run folder's `tasks.parquet`.
pub fn read_tasks(run: &RunDir) -> Result<Vec<Task>, TasksError> {
    match dasynth_parquet::read_rows(&run.tasks()) {
        Err(dasynth_parquet::RowsError::Missing { path }) => Err(TasksError::NoTasks { path }),
        other => Ok(other?),
    }
}

/// Candidate order for one table: families take turns (in a seeded order), and inside a
/// family its templates take turns, so a small quota still spans every family that fits.
fn interleave(candidates: &[Candidate<'_>], seed: u64, table_id: &str) -> Vec<usize> {
    let mut rng = Rng::from_parts(&[&seed.to_string(), table_id, "order"]);
    let mut by_family: BTreeMap<Family, BTreeMap<&str, Vec<usize>>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_family.entry(c.template.spec.family).or_default().entry(c.template.name.as_str()).or_default().push(i);
    }
    let mut queues: Vec<Vec<Vec<usize>>> = by_family
        .into_values()
        .map(|templates| {
            let mut ts: Vec<Vec<usize>> = templates.into_values().collect();
            for t in &mut ts {
                rng.shuffle(t);
            }
            rng.shuffle(&mut ts);
            ts
        })
        .collect();
    rng.shuffle(&mut queues);
    // Round-robin: family by family; inside a family, template by template.
    let mut family_turn: Vec<usize> = vec![0; queues.len()];
    let mut out = Vec::with_capacity(candidates.len());
    loop {
        let mut progressed = false;
        for (fi, family) in queues.iter_mut().enumerate() {
            let n = family.len();
            for step in 0..n {
                let k = (family_turn[fi] + step) % n;
                if let Some(i) = family[k].pop() {
                    out.push(i);
                    family_turn[fi] = k + 1;
                    progressed = true;
                    break;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    out
}

/// Keeps `max` tasks, taking sources in turn so a large source cannot crowd out the others.
fn balance_sources(tasks: Vec<Task>, max: usize) -> Vec<Task> {
    let mut by_source: BTreeMap<String, std::collections::VecDeque<Task>> = BTreeMap::new();
    for t in tasks {
        by_source.entry(t.source.clone()).or_default().push_back(t);
    }
    let mut out = Vec::with_capacity(max);
    while out.len() < max {
        let mut progressed = false;
        for q in by_source.values_mut() {
            if out.len() >= max {
                break;
            }
            if let Some(t) = q.pop_front() {
                out.push(t);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    out
}

fn trigrams(text: &str) -> BTreeSet<String> {
    let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
    if words.len() < 3 {
        return words.into_iter().collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let union = (a.len() + b.len()) as f64 - inter;
    if union == 0.0 { 1.0 } else { inter / union }
}

struct Dropped {
    reason: &'static str,
    detail: String,
}

fn dropped(reason: &'static str, detail: impl std::fmt::Display) -> Dropped {
    Dropped { reason, detail: detail.to_string() }
}

/// Loaded tables, prepared for SQL (row index added, text dates parsed).
struct FrameCache<'a> {
    run: &'a RunDir,
    entries: &'a HashMap<String, CatalogEntry>,
    profiles: &'a BTreeMap<String, &'a TableProfile>,
    frames: HashMap<String, Result<DataFrame, String>>,
}

impl<'a> FrameCache<'a> {
    fn new(run: &'a RunDir, entries: &'a HashMap<String, CatalogEntry>, profiles: &'a BTreeMap<String, &'a TableProfile>) -> Self {
        Self { run, entries, profiles, frames: HashMap::new() }
    }

    fn get(&mut self, table_id: &str) -> Result<&DataFrame, String> {
        if !self.frames.contains_key(table_id) {
            let loaded = self.load(table_id);
            self.frames.insert(table_id.to_string(), loaded);
        }
        match &self.frames[table_id] {
            Ok(df) => Ok(df),
            Err(e) => Err(e.clone()),
        }
    }

    fn load(&self, table_id: &str) -> Result<DataFrame, String> {
        let e = self.entries.get(table_id).ok_or_else(|| format!("table {table_id} is not in the catalog"))?;
        let mut df = dasynth_sources::read::read_entry(self.run, e).map_err(|err| err.to_string())?;
        if task::needs_conversion(e) {
            // The agent reads the CSV copy with pandas, which takes missing-value text as missing.
            df = null_missing_text(&df).map_err(|err| format!("{}: {err}", e.name))?;
        }
        let df = match self.profiles.get(table_id) {
            Some(p) => dates::parse_text_dates(&df, p).map_err(|err| format!("{}: {err}", e.name))?,
            None => df,
        };
        truth::prepare(&df).map_err(|err| format!("{}: {err}", e.name))
    }

    /// Keeps memory bounded: tables are read again when a later group needs them.
    fn evict(&mut self) {
        if self.frames.len() > 8 {
            self.frames.clear();
        }
    }
}

fn make_task(
    env: &minijinja::Environment<'_>,
    c: &Candidate<'_>,
    entries: &HashMap<String, CatalogEntry>,
    frames: &mut FrameCache<'_>,
) -> Result<Task, Dropped> {
    let t = c.template;
    let spec = &t.spec;
    // Ground truth first: it decides whether the task exists.
    let mut registered: BTreeMap<String, DataFrame> = BTreeMap::new();
    for (role, table_id) in &c.binding.tables {
        let df = frames.get(table_id).map_err(|e| dropped("unreadable_table", e))?;
        registered.insert(role.clone(), df.clone());
    }
    let mut files: Vec<TaskFile> = Vec::new();
    let mut table_ctx = serde_json::Map::new();
    for (role, table_id) in &c.binding.tables {
        let e = &entries[table_id];
        let profile = frames.profiles[table_id];
        let name = task::visible_name(e);
        let TaskFile { path, bytes, .. } = task_file(frames.run, e).map_err(|err| dropped("unreadable_table", err.to_string()))?;
        if !files.iter().any(|f| f.name == name) {
            files.push(TaskFile { name: name.clone(), path, bytes });
        }
        let column_names: Vec<String> = profile.columns.iter().map(|c| c.name.clone()).collect();
        let dates = dates::text_date_columns(profile);
        table_ctx.insert(
            role.clone(),
            serde_json::json!({
                "file": name,
                "ref": task::table_ref(e),
                "name": e.member.clone().unwrap_or_else(|| e.name.clone()),
                "rows": profile.n_rows,
                "columns": profile.n_columns,
                "load": task::pandas_loader(e, role, &column_names, &dates),
                "sql_columns": column_names.iter().map(|n| template::sql_ident(n)).collect::<Vec<_>>().join(", "),
                "numeric_columns": numeric_columns(profile),
            }),
        );
    }
    let mut ctx = serde_json::Map::new();
    ctx.extend(table_ctx.clone());
    for (role, col) in &c.binding.columns {
        ctx.insert(role.clone(), serde_json::Value::from(col.as_str()));
    }
    for (role, (child, parent)) in &c.binding.links {
        ctx.insert(role.clone(), serde_json::json!({ "child": child, "parent": parent }));
    }
    for (k, v) in &c.params {
        ctx.insert(k.clone(), v.clone());
    }
    ctx.insert("seed".into(), serde_json::Value::from(c.variant_seed.as_str()));
    let tmpl = env.get_template(&t.name).map_err(|e| dropped("render_error", e))?;
    // Renders blocks from one rendering of the template with the given paraphrase index.
    let render = |blocks: &[&str], variant: u32| -> Result<Vec<String>, Dropped> {
        let mut ctx = ctx.clone();
        ctx.insert("variant".into(), serde_json::Value::from(variant));
        let mut captured = tmpl.render_captured(serde_json::Value::Object(ctx)).map_err(|e| dropped("render_error", e))?;
        captured
            .with_state_mut(|st| blocks.iter().map(|b| st.render_block(b)).collect::<Result<Vec<_>, _>>())
            .map_err(|e| dropped("render_error", format!("{}: {e}", t.path.display())))
    };
    // One rendering serves the truth and the prompt; the solution is rendered again only for
    // the paraphrase drawn below.
    let [sql, prompts]: [String; 2] = render(&["truth", "prompt"], 0)?.try_into().map_err(|_| dropped("render_error", "missing block"))?;
    let result = truth::run_sql(&registered, &sql).map_err(|e| dropped("truth_error", format!("{}: {e}\n{sql}", t.name)))?;
    let top_k = match spec.checker.top_k.as_deref() {
        None => None,
        Some(k) => Some(
            k.parse::<usize>()
                .ok()
                .or_else(|| c.params.get(k).and_then(|v| v.as_u64()).map(|v| v as usize))
                .ok_or_else(|| dropped("truth_error", format!("top-k {k:?} is neither a number nor a parameter")))?,
        ),
    };
    let ground_truth = truth::extract(&result, spec.answer, top_k).map_err(|d| dropped(d.reason, d.detail))?;
    if spec.answer == AnswerType::Metric && ground_truth.get("baseline").and_then(|b| b.as_f64()).is_none() {
        return Err(dropped("truth_error", "a metric's truth query must return a `baseline` column"));
    }

    let paraphrases: Vec<&str> = split_paraphrases(&prompts);
    let mut prng = Rng::from_parts(&[&c.variant_seed, &t.name, "paraphrase", &serde_json::to_string(&c.binding).unwrap_or_default()]);
    let variant = prng.below(paraphrases.len() as u64) as u32;
    let instruction = paraphrases.get(variant as usize).map(|s| s.trim().to_string()).unwrap_or_default();
    if instruction.is_empty() {
        return Err(dropped("render_error", "the prompt is empty"));
    }
    let solution = render(&["solution"], variant)?.concat();
    let loads: Vec<&str> = table_ctx.values().filter_map(|t| t.get("load").and_then(|l| l.as_str())).collect();
    let mut cells: Vec<String> = split_load_cell(split_cells(&solution), &loads);
    if let Some(first) = cells.first_mut() {
        let tables: Vec<&CatalogEntry> = c.binding.tables.values().map(|id| &entries[id]).collect();
        *first = format!("{}{}", task::solution_prelude(&tables), first);
    }
    let checker = checker::CheckerSpec::new(spec.answer, &spec.checker);
    let table_ids: Vec<&String> = c.binding.tables.values().collect();
    let first_table = c.binding.tables.values().next().map(String::as_str).unwrap_or_default();
    let bindings =
        serde_json::json!({ "tables": c.binding.tables, "columns": c.binding.columns, "links": c.binding.links, "params": c.params });
    let bindings_text = serde_json::to_string(&bindings).unwrap_or_default();
    let id = dasynth_core::ids::short_id(&[&t.sha256, &bindings_text, &c.variant_seed]);
    Ok(Task {
        id,
        family: spec.family.as_str().to_string(),
        stage: spec.stage as u32,
        difficulty: spec.difficulty.as_str().to_string(),
        template: t.name.clone(),
        template_version: spec.version,
        template_sha256: t.sha256.clone(),
        prompt: task::deepanalyze_prompt(&instruction, &files),
        instruction,
        source: entries.get(first_table).map(|e| e.source.clone()).unwrap_or_default(),
        table_ids: serde_json::to_string(&table_ids).unwrap_or_default(),
        files: serde_json::to_string(&files).unwrap_or_default(),
        answer_type: spec.answer.as_str().to_string(),
        ground_truth: serde_json::to_string(&ground_truth).unwrap_or_default(),
        checker: serde_json::to_string(&checker).unwrap_or_default(),
        solution: serde_json::to_string(&cells).unwrap_or_default(),
        bindings: bindings_text,
        seed: c.variant_seed.split(':').next().and_then(|s| s.parse().ok()).unwrap_or(0),
        variant,
    })
}

/// A table whose file for the agent cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum TaskFileError {
    #[error(transparent)]
    Read(#[from] dasynth_sources::read::EntryError),
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The file a task shows for a table. Parquet and Arrow tables get a CSV copy (the sandbox's
/// pandas has no Parquet engine), written once per run.
pub fn task_file(run: &RunDir, e: &CatalogEntry) -> Result<TaskFile, TaskFileError> {
    let name = task::visible_name(e);
    if !task::needs_conversion(e) {
        return Ok(TaskFile { name, path: e.path.clone().unwrap_or_default(), bytes: e.bytes.unwrap_or(0) });
    }
    let rel = task::converted_rel_path(e);
    let path = run.resolve(&rel);
    let werr = |path: &std::path::Path, source| TaskFileError::Write { path: path.to_path_buf(), source };
    if !path.exists() {
        use polars::prelude::SerWriter;
        let mut df = dasynth_sources::read::read_entry(run, e)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| werr(parent, err))?;
        }
        dasynth_core::atomic::write_atomic_with(&path, |f| {
            polars::prelude::CsvWriter::new(f).finish(&mut df).map_err(std::io::Error::other)
        })
        .map_err(|err| werr(&path, std::io::Error::other(err)))?;
    }
    let bytes = path.metadata().map(|m| m.len()).map_err(|err| werr(&path, err))?;
    Ok(TaskFile { name, path: rel, bytes })
}

/// Text cells holding pandas' missing-value text made null, as `pd.read_csv` reads them back.
fn null_missing_text(df: &DataFrame) -> polars::prelude::PolarsResult<DataFrame> {
    use polars::prelude::{IntoColumn, StringChunked};
    let mut out = df.clone();
    for col in df.columns() {
        let Ok(ca) = col.str() else { continue };
        if !ca.iter().flatten().any(|v| dasynth_sources::missing::is_na(v.as_bytes())) {
            continue;
        }
        let cleaned: StringChunked = ca.iter().map(|v| v.filter(|v| !dasynth_sources::missing::is_na(v.as_bytes()))).collect();
        out.with_column(cleaned.with_name(col.name().clone()).into_column())?;
    }
    Ok(out)
}

/// The template name of tasks written by an LLM questioner.
pub const QUESTIONER_TEMPLATE: &str = "roles/questioner";

/// What an LLM questioner wrote for one table.
#[derive(Debug, Clone)]
pub struct OpenQuestion<'a> {
    pub family: Family,
    pub instruction: &'a str,
    pub checklist: &'a [String],
    /// The questioner's name.
    pub questioner: &'a str,
    /// Which of the table's questions this is.
    pub index: u32,
    pub seed: u64,
}

/// An open task an LLM questioner wrote for one table: a report judged against its checklist
/// (by an LLM inspector), with no ground truth of its own.
pub fn open_task(run: &RunDir, e: &CatalogEntry, q: &OpenQuestion<'_>) -> Result<Task, TaskFileError> {
    let OpenQuestion { family, instruction, checklist, questioner, index, seed } = *q;
    let file = task_file(run, e)?;
    let id = dasynth_core::ids::short_id(&[QUESTIONER_TEMPLATE, questioner, &e.id, &index.to_string(), &seed.to_string(), instruction]);
    let checker = checker::CheckerSpec::new(AnswerType::Report, &spec::CheckerOptions::default());
    Ok(Task {
        id,
        family: family.as_str().to_string(),
        stage: 2,
        difficulty: spec::Difficulty::Hard.as_str().to_string(),
        template: QUESTIONER_TEMPLATE.to_string(),
        template_version: 1,
        template_sha256: String::new(),
        prompt: task::deepanalyze_prompt(instruction, std::slice::from_ref(&file)),
        instruction: instruction.trim().to_string(),
        source: e.source.clone(),
        table_ids: serde_json::to_string(&[&e.id]).unwrap_or_default(),
        files: serde_json::to_string(&[&file]).unwrap_or_default(),
        answer_type: AnswerType::Report.as_str().to_string(),
        ground_truth: serde_json::json!({ "checklist": checklist }).to_string(),
        checker: serde_json::to_string(&checker).unwrap_or_default(),
        solution: "[]".into(),
        bindings: serde_json::json!({ "tables": { "df": e.id }, "questioner": questioner }).to_string(),
        seed,
        variant: index,
    })
}

/// Numeric measurement columns of a table (identifiers and constant columns left out).
fn numeric_columns(p: &TableProfile) -> Vec<String> {
    use dasynth_core::profile::SemanticType as S;
    p.columns
        .iter()
        .filter(|c| matches!(c.semantic_type, S::Numeric | S::Currency | S::Percentage) && c.distinct_count > 1 && c.numeric.is_some())
        .filter(|c| matches!(bind::dtype_class(c), spec::DtypeClass::Integer | spec::DtypeClass::Float))
        .map(|c| c.name.clone())
        .collect()
}

/// Paraphrases are separated by lines holding only `---`.
pub fn split_paraphrases(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == template::PARAPHRASE_SEPARATOR {
            out.push(&text[start..pos]);
            start = pos + line.len();
        }
        pos += line.len();
    }
    out.push(&text[start..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// Makes the tables' loading code its own first cell when the first cell starts with it (as
/// templates write it), so that a trajectory can look at the data before computing anything.
pub fn split_load_cell(mut cells: Vec<String>, loads: &[&str]) -> Vec<String> {
    let Some(first) = cells.first() else { return cells };
    let mut rest = first.as_str();
    let mut used = vec![false; loads.len()];
    while let Some(i) = (0..loads.len()).find(|&i| !used[i] && !loads[i].is_empty() && rest.trim_start_matches('\n').starts_with(loads[i]))
    {
        used[i] = true;
        rest = &rest.trim_start_matches('\n')[loads[i].len()..];
    }
    let taken = first.len() - rest.len();
    if taken == 0 || rest.trim().is_empty() {
        return cells;
    }
    let (load, rest) = (first[..taken].to_string(), rest.trim_start_matches('\n').to_string());
    cells[0] = rest;
    cells.insert(0, load);
    cells
}

/// Solution cells are separated by lines starting with `# %%`.
pub fn split_cells(code: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    for line in code.lines() {
        if line.trim_start().starts_with("# %%") {
            cells.push(String::new());
            continue;
        }
        if let Some(cell) = cells.last_mut() {
            cell.push_str(line);
            cell.push('\n');
        }
    }
    cells.into_iter().map(|c| c.trim().to_string() + "\n").filter(|c| !c.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_code_becomes_its_own_first_cell() {
        let child = "child = pd.read_csv(\"a.csv\")\n";
        let parent = "parent = pd.read_csv(\"b.csv\")\nparent[\"d\"] = pd.to_datetime(parent[\"d\"], format=\"%Y\", errors=\"coerce\")\n";
        let cells = split_cells(&format!("{child}\n{parent}\nx = 1\n# %%\nanswer = x\n"));
        let cells = split_load_cell(cells, &[parent, child]);
        assert_eq!(cells, [format!("{child}\n{parent}"), "x = 1\n".to_string(), "answer = x\n".to_string()]);
        // A cell that only loads, or one that does not start with loading, stays as it is.
        let only = split_load_cell(vec![child.to_string(), "answer = 1\n".into()], &[child]);
        assert_eq!(only.len(), 2);
        let other = split_load_cell(vec!["x = 1\n".into()], &[child]);
        assert_eq!(other, ["x = 1\n"]);
    }
}

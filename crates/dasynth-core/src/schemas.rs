//! JSON Schemas of every file dasynth writes or reads, generated from the Rust types. The
//! committed copies under `schemas/` are checked against these by a test, so they cannot drift.

use schemars::JsonSchema;

/// (file name under `schemas/`, schema JSON text).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("catalog-entry.schema.json", render::<crate::catalog::CatalogEntry>()),
        ("profile.schema.json", render::<crate::profile::TableProfile>()),
        ("stage-stats.schema.json", render::<crate::stats::StageStats>()),
        ("dasynth-toml.schema.json", render::<crate::config::Options>()),
        ("settings.schema.json", render::<crate::config::Settings>()),
        ("sources.schema.json", render::<crate::sourcedef::SourcesFile>()),
        ("verdict.schema.json", render::<crate::verdict::Verdict>()),
        ("verify-stats.schema.json", render::<crate::verdict::VerifyStats>()),
        ("pass-rate.schema.json", render::<crate::verdict::PassRate>()),
        ("export-sft-row.schema.json", render::<crate::export::SftRow>()),
        ("export-deepanalyze-row.schema.json", render::<crate::export::DeepanalyzeRow>()),
        ("export-sharegpt-row.schema.json", render::<crate::export::ShareGptRow>()),
        ("export-rl-row.schema.json", render::<crate::export::VerlRow>()),
        ("export-deepanalyze-rl-row.schema.json", render::<crate::export::DeepanalyzeRlRow>()),
        ("export-manifest.schema.json", render::<crate::export::ExportManifest>()),
        ("export-stats.schema.json", render::<crate::export::ExportStats>()),
        ("shard-marker.schema.json", render::<crate::shard::ShardMarker>()),
        ("report.schema.json", render::<crate::report::Report>()),
    ]
}

/// The schema text of a type, as committed under `schemas/`.
pub fn render<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Compares schemas with the committed copies in `dir` (or rewrites them when
/// `DASYNTH_UPDATE_SCHEMAS` is set) and returns the names that are out of date. Every crate that
/// owns a written type calls this from a test, so no schema can drift.
pub fn stale(dir: &std::path::Path, schemas: &[(&'static str, String)]) -> std::io::Result<Vec<&'static str>> {
    let update = std::env::var_os("DASYNTH_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, text) in schemas {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(dir)?;
            std::fs::write(&path, text)?;
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(*name);
        }
    }
    Ok(stale)
}

/// For the drift tests of every crate that owns a written type: an error naming the stale
/// schemas and the command that regenerates them.
pub fn check_committed(schemas: &[(&'static str, String)]) -> Result<(), String> {
    // The running test's crate folder, not this crate's compile-time path: clones that share a
    // target folder reuse each other's builds of this crate.
    let crate_dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), std::path::PathBuf::from);
    let dir = crate_dir.join("../../schemas");
    let stale = stale(&dir, schemas).map_err(|e| format!("{}: {e}", dir.display()))?;
    if stale.is_empty() {
        return Ok(());
    }
    Err(format!(
        "schemas out of date: {stale:?}\nhint: run `DASYNTH_UPDATE_SCHEMAS=1 cargo nextest run --release --workspace schemas` and commit schemas/"
    ))
}

#[cfg(test)]
mod tests {
    /// Fails when `schemas/` differs from the types.
    #[test]
    fn committed_schemas_match_the_types() {
        if let Err(message) = super::check_committed(&super::all()) {
            panic!("{message}");
        }
    }
}

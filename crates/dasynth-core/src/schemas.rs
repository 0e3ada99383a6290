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
    ]
}

fn render<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Fails when `schemas/` differs from the types. Regenerate with
    /// `DASYNTH_UPDATE_SCHEMAS=1 cargo test -p dasynth-core schemas`.
    #[test]
    fn committed_schemas_match_the_types() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let update = std::env::var_os("DASYNTH_UPDATE_SCHEMAS").is_some();
        let mut stale = Vec::new();
        for (name, text) in super::all() {
            let path = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "schemas out of date: {stale:?}\nhint: run `DASYNTH_UPDATE_SCHEMAS=1 cargo nextest run --release -p dasynth-core schemas` and commit schemas/"
        );
    }
}

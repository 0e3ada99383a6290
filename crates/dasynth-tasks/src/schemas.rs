//! JSON Schemas of the files the task stage writes and reads (`schemas/` in the repository).

use dasynth_core::schemas::render;

/// (file name under `schemas/`, schema JSON text).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("task.schema.json", render::<crate::task::Task>()),
        ("task-stats.schema.json", render::<crate::TaskStats>()),
        ("template-front-matter.schema.json", render::<crate::spec::TemplateSpec>()),
        ("checker.schema.json", render::<crate::checker::CheckerSpec>()),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schemas_match_the_types() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let stale = dasynth_core::schemas::stale(&dir, &super::all()).unwrap();
        assert!(
            stale.is_empty(),
            "schemas out of date: {stale:?}\nhint: run `DASYNTH_UPDATE_SCHEMAS=1 cargo nextest run --release --workspace schemas` and commit schemas/"
        );
    }
}

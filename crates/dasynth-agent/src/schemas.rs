//! JSON Schemas of the files the trajectory stage writes (`schemas/` in the repository).

use dasynth_core::schemas::render;

/// (file name under `schemas/`, schema JSON text).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("trajectory.schema.json", render::<crate::trajectory::Trajectory>()),
        ("generate-stats.schema.json", render::<crate::generate::GenerateStats>()),
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

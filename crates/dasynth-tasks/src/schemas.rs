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
    /// Fails when `schemas/` differs from the types.
    #[test]
    fn committed_schemas_match_the_types() {
        if let Err(message) = dasynth_core::schemas::check_committed(&super::all()) {
            panic!("{message}");
        }
    }
}

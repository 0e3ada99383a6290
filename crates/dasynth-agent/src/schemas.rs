//! JSON Schemas of the files the trajectory stage writes (`schemas/` in the repository).

use dasynth_core::schemas::render;

/// (file name under `schemas/`, schema JSON text).
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("trajectory.schema.json", render::<dasynth_core::trajectory::Trajectory>()),
        ("trajectory-stats.schema.json", render::<crate::trajectories::TrajectoryStats>()),
        ("solution-stats.schema.json", render::<crate::solutions::SolutionStats>()),
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

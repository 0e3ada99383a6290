//! The reward function shipped as `export/reward.py`.
//!
//! `dasynth_tasks::checker::REWARD_PY` is the real one (verl's `compute_score(data_source,
//! solution_str, ground_truth, extra_info)`, standard library only, agreeing with the Rust
//! answer checker case for case). Until that constant exists in this build, this stand-in is
//! exported in its place; replace the item below with `pub use
//! dasynth_tasks::checker::REWARD_PY;` once it lands.

/// TEMPORARY STAND-IN for `dasynth_tasks::checker::REWARD_PY`.
pub const REWARD_PY: &str = "# placeholder\n";

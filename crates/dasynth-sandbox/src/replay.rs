//! Replaying a trajectory's cells in a fresh session.

use crate::error::SandboxError;
use crate::sandbox::Sandbox;
use crate::session::{CellResult, Mounts, Session, SessionOptions};

/// Runs `cells` in order in one fresh session with the default options (seed 0, `TZ=UTC`, the
/// snapshot's fixed hash seed), so the same cells and mounts give the same outputs. A cell after
/// one that ended the session gets [`Status::SessionOver`](crate::Status::SessionOver).
pub fn replay(sandbox: &Sandbox, cells: &[String], mounts: &Mounts) -> Result<Vec<CellResult>, SandboxError> {
    replay_with(sandbox, cells, mounts, SessionOptions::default())
}

/// [`replay`] with explicit options (limits, seed, extra environment).
pub fn replay_with(sandbox: &Sandbox, cells: &[String], mounts: &Mounts, options: SessionOptions) -> Result<Vec<CellResult>, SandboxError> {
    let mut session = Session::new(sandbox, mounts, options)?;
    Ok(cells.iter().map(|c| session.run(c)).collect())
}

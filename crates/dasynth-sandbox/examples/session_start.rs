//! Session starts, timed: N fresh sessions (instantiate, mounts, prelude, one empty cell), each
//! dropped; wall time and the process's user and system CPU per start.
use std::time::Instant;

use dasynth_sandbox::{Mounts, Sandbox, SandboxConfig, Session, SessionOptions, Status};

/// User and system CPU seconds of the process so far (`/proc/self/stat`, clock ticks of 10 ms).
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    (f.get(11).copied().unwrap_or(0.0) / 100.0, f.get(12).copied().unwrap_or(0.0) / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let data = tempfile::tempdir()?;
    let mounts = Mounts::data(data.path());
    for _ in 0..10 {
        let mut s = Session::new(&sandbox, &mounts, SessionOptions::default())?;
        assert_eq!(s.run("pass").status, Status::Ok);
    }
    for round in 0..3 {
        let n = 200;
        let (u0, s0) = cpu();
        let t = Instant::now();
        for _ in 0..n {
            let mut s = Session::new(&sandbox, &mounts, SessionOptions::default())?;
            assert_eq!(s.run("pass").status, Status::Ok);
        }
        let wall = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        let (u1, s1) = cpu();
        println!(
            "round {round}: {wall:.2} ms wall, user {:.2} ms, sys {:.2} ms per start",
            (u1 - u0) * 1e3 / n as f64,
            (s1 - s0) * 1e3 / n as f64
        );
    }
    Ok(())
}

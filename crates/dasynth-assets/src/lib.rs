//! The files built into the `dasynth` binary, so it works outside the repository: the task
//! templates (`templates/`) and the demo tables (`sources/demo.toml` and `sources/demo/`).
//!
//! Stages read templates and sources from folders, so a [`Bundle`] is written out once into a
//! cache folder named after its content hash ([`Bundle::materialize`]) and used from there; a
//! folder named in the configuration or on the command line is used instead when given.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/bundles.rs"));
}

/// A set of files built into the binary, by path relative to the bundle's root.
#[derive(Debug, Clone, Copy)]
pub struct Bundle {
    pub name: &'static str,
    pub files: &'static [(&'static str, &'static [u8])],
}

/// The task templates (`templates/<family>/*.j2`, `templates/roles/*.j2`).
pub const TEMPLATES: Bundle = Bundle { name: "templates", files: generated::TEMPLATE_FILES };

/// The demo sources: `demo.toml` at the root, its tables under `demo/`.
pub const DEMO: Bundle = Bundle { name: "demo", files: generated::DEMO_FILES };

impl Bundle {
    /// sha256 over every path and its bytes, hex.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for (path, bytes) in self.files {
            h.update((path.len() as u64).to_le_bytes());
            h.update(path.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        hex::encode(h.finalize())
    }

    /// Writes the files under `cache/<name>-<hash>/` unless an earlier call did, and returns
    /// that folder. The folder is filled under a temporary name and renamed into place, so a
    /// crash or a concurrent process never leaves a half-written bundle behind.
    pub fn materialize(&self, cache: &Path) -> std::io::Result<PathBuf> {
        let dir = cache.join(format!("{}-{}", self.name, &self.sha256()[..16]));
        if dir.is_dir() {
            return Ok(dir);
        }
        std::fs::create_dir_all(cache)?;
        let tmp = tempfile::Builder::new().prefix(&format!(".{}-", self.name)).tempdir_in(cache)?;
        for (rel, bytes) in self.files {
            let path = tmp.path().join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        let tmp = tmp.keep();
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => Ok(dir),
            // Another process put the same bundle there first.
            Err(_) if dir.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(dir)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_hold_the_repository_files_and_materialize_once() {
        assert!(TEMPLATES.files.iter().any(|(p, _)| p.starts_with("roles/")), "templates/roles is missing");
        assert!(TEMPLATES.files.iter().filter(|(p, _)| p.ends_with(".j2")).count() >= 50);
        assert!(DEMO.files.iter().any(|(p, _)| *p == "demo.toml"));
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (rel, bytes) in DEMO.files {
            assert_eq!(std::fs::read(repo.join("sources").join(rel)).unwrap(), *bytes, "{rel}");
        }
        let cache = tempfile::tempdir().unwrap();
        let a = TEMPLATES.materialize(cache.path()).unwrap();
        let b = TEMPLATES.materialize(cache.path()).unwrap();
        assert_eq!(a, b);
        for (rel, bytes) in TEMPLATES.files {
            assert_eq!(std::fs::read(a.join(rel)).unwrap(), *bytes, "{rel}");
        }
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 1, "no temporary folder left behind");
    }
}

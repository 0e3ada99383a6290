//! Lists the repository's `templates/` and demo sources into `$OUT_DIR/bundles.rs` as
//! `include_bytes!` entries. A build script rather than a directory-embedding macro because cargo
//! then reruns it when any file under those folders is added, removed or changed.

use std::io::Write;
use std::path::{Path, PathBuf};

fn files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            files(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
        }
    }
}

fn bundle(out: &mut impl Write, name: &str, root: &Path, parts: &[&str]) -> std::io::Result<()> {
    let mut list = Vec::new();
    for part in parts {
        let p = root.join(part);
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_dir() {
            files(root, &p, &mut list);
        } else if p.is_file() {
            list.push((part.to_string(), p));
        }
    }
    writeln!(out, "pub static {name}: &[(&str, &[u8])] = &[")?;
    for (rel, path) in list {
        writeln!(out, "    ({rel:?}, include_bytes!({:?})),", path.display().to_string())?;
    }
    writeln!(out, "];")
}

fn main() -> std::io::Result<()> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(std::io::Error::other)?);
    let repo = manifest.join("../..").canonicalize()?;
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(std::io::Error::other)?).join("bundles.rs");
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    bundle(&mut f, "TEMPLATE_FILES", &repo.join("templates"), &[""])?;
    bundle(&mut f, "DEMO_FILES", &repo.join("sources"), &["demo.toml", "demo"])?;
    f.flush()
}

//! The files RL tasks read, exported once each: `tables/<sha256>.<ext>` by content hash, and
//! for DeepAnalyze's environment `workspace/dasynth/<id>/<name>`, one folder per distinct set of
//! (name, content) pairs, so tasks over the same tables share a workspace.

use crate::error::ExportError;
use crate::inputs::TaskInfo;
use dasynth_core::export::TableFile;
use dasynth_core::layout::RunDir;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Files copied so far.
pub struct Tables {
    export: PathBuf,
    /// sha256 of each run-folder file already hashed.
    hashed: HashMap<PathBuf, String>,
    stored: HashSet<String>,
    workspaces: HashSet<String>,
    pub files: u64,
    pub bytes: u64,
}

/// Links `from` to `to` (same file system), else copies it.
fn place(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if to.exists() {
        return Ok(());
    }
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))
}

impl Tables {
    pub fn new(export: &Path) -> Self {
        Tables {
            export: export.to_path_buf(),
            hashed: HashMap::new(),
            stored: HashSet::new(),
            workspaces: HashSet::new(),
            files: 0,
            bytes: 0,
        }
    }

    fn hash(&mut self, task: &str, name: &str, path: PathBuf) -> Result<String, ExportError> {
        if let Some(h) = self.hashed.get(&path) {
            return Ok(h.clone());
        }
        if !path.is_file() {
            return Err(ExportError::TaskFile { task: task.to_string(), name: name.to_string(), path });
        }
        let (h, _) = dasynth_core::ids::sha256_file(&path).map_err(|e| ExportError::Trajectories { path: path.clone(), source: e })?;
        self.hashed.insert(path, h.clone());
        Ok(h)
    }

    /// The task's files under `tables/`, copying each content once.
    pub fn table_files(&mut self, run: &RunDir, t: &TaskInfo) -> Result<Vec<TableFile>, ExportError> {
        let mut out = Vec::new();
        for f in &t.files {
            let src = run.resolve(&f.path);
            let sha = self.hash(&t.task.id, &f.name, src.clone())?;
            let ext = Path::new(&f.name).extension().and_then(|e| e.to_str()).map(|e| format!(".{e}")).unwrap_or_default();
            let rel = format!("tables/{sha}{ext}");
            if self.stored.insert(rel.clone()) {
                let to = self.export.join(&rel);
                place(&src, &to).map_err(|e| ExportError::write(&to, e))?;
                self.files += 1;
                self.bytes += std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            }
            out.push(TableFile { name: f.name.clone(), path: rel });
        }
        Ok(out)
    }

    /// The task's DeepAnalyze workspace id, laying the folder out on first use.
    pub fn workspace(&mut self, run: &RunDir, t: &TaskInfo, data: &str) -> Result<String, ExportError> {
        let mut pairs = Vec::new();
        for f in &t.files {
            let sha = self.hash(&t.task.id, &f.name, run.resolve(&f.path))?;
            pairs.push(format!("{}\u{0}{sha}", f.name));
        }
        pairs.sort();
        let id = dasynth_core::ids::short_id(&pairs.iter().map(String::as_str).collect::<Vec<_>>());
        if self.workspaces.insert(id.clone()) {
            for f in &t.files {
                let to = self.export.join("workspace").join(data).join(&id).join(&f.name);
                place(&run.resolve(&f.path), &to).map_err(|e| ExportError::write(&to, e))?;
            }
        }
        Ok(id)
    }
}

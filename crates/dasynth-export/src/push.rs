//! `dasynth push`: publish `export/` to a Hub dataset repository, resumably.
//!
//! 1. Check the folder against the export's manifest: an export edited by hand since
//!    `dasynth export` is refused before anything is sent.
//! 2. Create the repository if missing (and the branch, if it is not the default one).
//! 3. List what the branch already holds and keep only the files whose content differs
//!    (LFS files by sha256, others by git blob id); plan the deletion of exported paths the
//!    export no longer has.
//! 4. Preupload to learn each file's upload mode; upload LFS objects the Hub does not hold yet
//!    (the batch API skips those an interrupted push already sent).
//! 5. Commit in batches on top of the branch's head, the card last. A batch the Hub rejects as
//!    too large is split in two and retried.
//!
//! A rerun after a failure at any step repeats only what is missing; a push with nothing to
//! change makes no commit.

use crate::hub::{CommitOp, CommitResult, Hub, HubError, LfsObject, LfsUpload, Token, UploadMode};
use dasynth_core::config::PushSettings;
use dasynth_core::export::{ExportManifest, ManifestFile};
use dasynth_core::layout::RunDir;
use dasynth_core::reporter::Reporter;
use sha1::Digest as _;
use std::collections::HashMap;
use std::path::PathBuf;

/// Files over this size always go through LFS (the Hub refuses larger regular files).
const REGULAR_MAX: u64 = 10 << 20;
/// Inline bytes per commit request.
const COMMIT_INLINE_MAX: u64 = 50 << 20;
/// Top-level paths the export owns on the Hub (deleted there when the export drops them).
const OWNED_PREFIXES: [&str; 3] = ["data/", "tables/", "workspace/"];
const OWNED_FILES: [&str; 3] = ["README.md", "reward.py", "dataset_info.json"];

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("no export at {}\nhint: run `dasynth export` first", dir.display())]
    NoExport { dir: PathBuf },
    #[error("{} has no manifest at {}\nhint: rerun `dasynth export` so push can check what it uploads", dir.display(), manifest.display())]
    NoManifest { dir: PathBuf, manifest: PathBuf },
    #[error("{} was edited by hand since `dasynth export`: {}\nhint: rerun `dasynth export` (settings go in dasynth.toml's [export]), then push", dir.display(), changes.join("; "))]
    Edited { dir: PathBuf, changes: Vec<String> },
    #[error("no Hugging Face token\nhint: set HF_TOKEN, or log in with `hf auth login` (token file {})", path.display())]
    NoToken { path: PathBuf },
    #[error("no repository to push to\nhint: pass --repo ORG/NAME or set `repo` in dasynth.toml's [push]")]
    NoRepo,
    #[error("the Hub rejected the dataset card: {}\nhint: fix the card settings in [export] and rerun `dasynth export`", problems.join("; "))]
    Card { problems: Vec<String> },
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Hub(#[from] HubError),
}

/// One file of the plan.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// Through LFS (predicted by size and type in a dry run; the Hub decides in a real push).
    pub lfs: bool,
}

/// What a push would send.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
    pub fn lfs_bytes(&self) -> u64 {
        self.files.iter().filter(|f| f.lfs).map(|f| f.bytes).sum()
    }
}

/// What a push did.
#[derive(Debug, Clone, Default)]
pub struct PushOutcome {
    pub repo: String,
    pub revision: String,
    pub created_repo: bool,
    pub commits: Vec<CommitResult>,
    /// Files uploaded, and files already on the branch with the same content.
    pub uploaded: u64,
    pub uploaded_bytes: u64,
    pub unchanged: u64,
    /// LFS objects an earlier push had already sent.
    pub lfs_present: u64,
    pub deleted: u64,
    pub card_warnings: Vec<String>,
}

/// Where and how to push.
pub struct PushRequest<'a> {
    pub run: &'a RunDir,
    pub settings: &'a PushSettings,
    pub message: Option<String>,
    pub endpoint: String,
    pub token: Option<Token>,
}

fn predicted_lfs(path: &str, bytes: u64) -> bool {
    let ext = path.rsplit('.').next().unwrap_or_default();
    bytes > REGULAR_MAX || matches!(ext, "parquet" | "arrow" | "feather" | "xlsx" | "xls" | "sqlite" | "db" | "zip" | "gz" | "png")
}

/// The local plan: the export's files, checked against its manifest.
pub fn plan(run: &RunDir) -> Result<Plan, PushError> {
    let dir = run.export_dir();
    if !dir.is_dir() {
        return Err(PushError::NoExport { dir });
    }
    let mpath = run.export_manifest();
    let expected: ExportManifest = match std::fs::read(&mpath) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| PushError::Io { path: mpath.clone(), source: std::io::Error::other(e) })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PushError::NoManifest { dir, manifest: mpath }),
        Err(e) => return Err(PushError::Io { path: mpath, source: e }),
    };
    let actual = crate::manifest::build(&dir).map_err(|e| PushError::Io { path: dir.clone(), source: e })?;
    let changes = crate::manifest::differences(&expected, &actual);
    if !changes.is_empty() {
        return Err(PushError::Edited { dir, changes });
    }
    let files = actual
        .files
        .into_iter()
        .map(|ManifestFile { path, bytes, sha256 }| PlannedFile { lfs: predicted_lfs(&path, bytes), path, bytes, sha256 })
        .collect();
    Ok(Plan { files })
}

/// git's blob id of a content.
fn git_blob_id(content: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    hex::encode(h.finalize())
}

fn owned(path: &str) -> bool {
    OWNED_PREFIXES.iter().any(|p| path.starts_with(p)) || OWNED_FILES.contains(&path)
}

/// Commit order: data first, tables and workspaces, other files, the card last.
fn order_key(path: &str) -> (u8, String) {
    let rank = if path.starts_with("data/") {
        0
    } else if path.starts_with("tables/") || path.starts_with("workspace/") {
        1
    } else if path == "README.md" {
        3
    } else {
        2
    };
    (rank, path.to_string())
}

/// Publishes the export.
pub fn push(req: &PushRequest<'_>, reporter: &dyn Reporter) -> Result<PushOutcome, PushError> {
    let repo = req.settings.repo.clone().ok_or(PushError::NoRepo)?;
    let revision = req.settings.revision.clone();
    let plan = plan(req.run)?;
    let dir = req.run.export_dir();
    let token = match &req.token {
        Some(t) => t.clone(),
        None => {
            let path = crate::hub::token::token_file(&|k: &str| std::env::var(k).ok()).unwrap_or_default();
            return Err(PushError::NoToken { path });
        }
    };
    let hub = Hub::new(&req.endpoint, &repo, token)?;
    let mut out = PushOutcome { repo: repo.clone(), revision: revision.clone(), ..Default::default() };

    // The repository and branch.
    let mut head = hub.revision(&revision)?;
    if head.is_none() {
        out.created_repo = hub.create_repo(req.settings.private)?;
        head = hub.revision(&revision)?;
        if head.is_none() && revision != "main" {
            hub.create_branch(&revision)?;
            head = hub.revision(&revision)?;
        }
    }

    // What the branch already holds.
    let remote: HashMap<String, crate::hub::RemoteFile> = match &head {
        Some(sha) => hub.tree(sha)?.into_iter().map(|f| (f.path.clone(), f)).collect(),
        None => HashMap::new(),
    };
    let read = |path: &str| {
        let p = dir.join(path);
        std::fs::read(&p).map_err(|e| PushError::Io { path: p, source: e })
    };
    let mut todo: Vec<&PlannedFile> = Vec::new();
    for f in &plan.files {
        let same = match remote.get(&f.path) {
            Some(r) if r.lfs_sha256.as_deref() == Some(f.sha256.as_str()) => true,
            Some(r) if r.lfs_sha256.is_none() && r.size == f.bytes && f.bytes <= REGULAR_MAX => git_blob_id(&read(&f.path)?) == r.oid,
            _ => false,
        };
        if same {
            out.unchanged += 1;
        } else {
            todo.push(f);
        }
    }
    let local: std::collections::HashSet<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
    let mut deletes: Vec<String> = remote.keys().filter(|p| owned(p) && !local.contains(p.as_str())).cloned().collect();
    deletes.sort();
    if todo.is_empty() && deletes.is_empty() {
        return Ok(out);
    }

    // The card, checked before anything is uploaded.
    if let Some(card) = todo.iter().find(|f| f.path == "README.md") {
        let text = String::from_utf8_lossy(&read(&card.path)?).into_owned();
        let problems = hub.validate_yaml(&text)?;
        let (errors, warnings): (Vec<String>, Vec<String>) = problems.into_iter().partition(|p| p.starts_with("error"));
        if !errors.is_empty() {
            return Err(PushError::Card { problems: errors });
        }
        out.card_warnings = warnings;
    }

    // Upload modes.
    let mut samples = Vec::new();
    for f in &todo {
        let p = dir.join(&f.path);
        let mut sample = vec![0u8; 512];
        let n = std::fs::File::open(&p)
            .and_then(|mut file| std::io::Read::read(&mut file, &mut sample))
            .map_err(|e| PushError::Io { path: p.clone(), source: e })?;
        sample.truncate(n);
        samples.push((f.path.clone(), sample, f.bytes));
    }
    let modes: HashMap<String, (UploadMode, bool)> =
        hub.preupload(&revision, &samples)?.into_iter().map(|(p, m, ignore)| (p, (m, ignore))).collect();
    let mut ops: Vec<CommitOp> = Vec::new();
    let mut lfs: Vec<LfsObject> = Vec::new();
    for f in &todo {
        let (mode, ignore) = modes.get(&f.path).copied().unwrap_or((if f.lfs { UploadMode::Lfs } else { UploadMode::Regular }, false));
        if ignore {
            tracing::warn!(path = %f.path, "the Hub ignores this file (.gitignore); not uploaded");
            continue;
        }
        if mode == UploadMode::Lfs || f.bytes > REGULAR_MAX {
            lfs.push(LfsObject { sha256: f.sha256.clone(), size: f.bytes, path: dir.join(&f.path) });
            ops.push(CommitOp::Lfs { path: f.path.clone(), sha256: f.sha256.clone(), size: f.bytes });
        } else {
            ops.push(CommitOp::Regular { path: f.path.clone(), content: read(&f.path)? });
        }
        out.uploaded += 1;
        out.uploaded_bytes += f.bytes;
    }

    // LFS objects the Hub does not hold yet.
    if !lfs.is_empty() {
        let answers = hub.lfs_batch(&revision, &lfs)?;
        let missing: u64 = lfs.iter().zip(&answers).filter(|(_, a)| !matches!(a, LfsUpload::Present)).map(|(o, _)| o.size).sum();
        reporter.start("upload", missing);
        for (o, how) in lfs.iter().zip(&answers) {
            if matches!(how, LfsUpload::Present) {
                out.lfs_present += 1;
                continue;
            }
            hub.lfs_upload(o, how, &|n| reporter.advance(n))?;
            reporter.item(&o.path.display().to_string());
        }
        reporter.finish();
    }

    // Commits, in batches, the card last.
    ops.extend(deletes.iter().map(|p| CommitOp::Delete { path: p.clone() }));
    out.deleted = deletes.len() as u64;
    ops.sort_by_cached_key(|op| order_key(op.path()));
    let summary = req.message.clone().unwrap_or_else(|| "Upload dataset with dasynth".to_string());
    let mut batches: Vec<Vec<CommitOp>> = Vec::new();
    let mut cur: Vec<CommitOp> = Vec::new();
    let mut cur_bytes = 0;
    for op in ops {
        if !cur.is_empty() && (cur.len() >= req.settings.commit_files || cur_bytes + op.inline_bytes() > COMMIT_INLINE_MAX) {
            batches.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur_bytes += op.inline_bytes();
        cur.push(op);
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    let n = batches.len();
    let mut queue: std::collections::VecDeque<Vec<CommitOp>> = batches.into();
    let mut done = 0;
    while let Some(batch) = queue.pop_front() {
        done += 1;
        let title = if n == 1 && queue.is_empty() { summary.clone() } else { format!("{summary} (part {done})") };
        match hub.commit(&revision, head.as_deref(), &title, &batch) {
            Ok(c) => {
                head = Some(c.oid.clone());
                out.commits.push(c);
            }
            Err(HubError::TooLarge { .. }) if batch.len() > 1 => {
                done -= 1;
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                queue.push_front(second);
                queue.push_front(first);
                reporter.note("the Hub found a commit too large; committing it in two halves");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The plan as lines for `--dry-run`: every file with its size and whether it goes through LFS.
pub fn describe(plan: &Plan) -> Vec<String> {
    plan.files.iter().map(|f| format!("{:>12}  {}  {}", f.bytes, if f.lfs { "lfs    " } else { "regular" }, f.path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_blob_ids_match_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(git_blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn the_card_is_committed_last() {
        let mut paths = vec!["README.md", "reward.py", "tables/a.csv", "data/sft/train-00000-of-00001.parquet"];
        paths.sort_by_key(|p| order_key(p));
        assert_eq!(paths, ["data/sft/train-00000-of-00001.parquet", "tables/a.csv", "reward.py", "README.md"]);
    }
}

//! Fetching: each source kind turns a [`SourceSpec`](crate::spec::SourceSpec) into local files
//! ([`Input`]s) or per-file failures. One file per kind: [`local`], [`http`], [`hf`],
//! [`object`] (S3 and GCS buckets); the
//! HTTP client's redirect policy is [`redirect`].

pub mod hf;
pub mod http;
pub mod local;
pub mod object;
pub mod redirect;

use std::path::PathBuf;

/// A file ready to be stored.
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it was found (path, URL or `hf://` URI).
    pub uri: String,
    /// Where its bytes are on this machine now.
    pub local: PathBuf,
    /// Its file name (drives format detection together with magic bytes).
    pub name: String,
    /// Changes when the content may have changed (size and mtime, ETag, Hub oid).
    pub fingerprint: String,
    /// Found by walking a folder or listing a dataset (documentation files are skipped quietly).
    pub in_folder: bool,
    /// For downloads, the URL the bytes came from after redirects.
    pub final_uri: Option<String>,
}

/// A file or request that could not be fetched.
#[derive(Debug, Clone)]
pub struct FetchFailure {
    pub uri: String,
    pub message: String,
}

/// Everything a source yielded.
#[derive(Debug, Default)]
pub struct Fetched {
    pub inputs: Vec<Input>,
    pub failures: Vec<FetchFailure>,
}

/// Include/exclude globs relative to a folder or dataset root.
pub(crate) struct Filter {
    include: Option<globset::GlobSet>,
    exclude: globset::GlobSet,
}

impl Filter {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Self, globset::Error> {
        let build = |pats: &[String]| -> Result<globset::GlobSet, globset::Error> {
            let mut b = globset::GlobSetBuilder::new();
            for p in pats {
                b.add(globset::GlobBuilder::new(p).literal_separator(false).build()?);
            }
            b.build()
        };
        Ok(Self { include: if include.is_empty() { None } else { Some(build(include)?) }, exclude: build(exclude)? })
    }
    pub(crate) fn accepts(&self, rel: &str) -> bool {
        self.include.as_ref().is_none_or(|i| i.is_match(rel)) && !self.exclude.is_match(rel)
    }
}

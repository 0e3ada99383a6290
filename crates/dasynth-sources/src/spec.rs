//! Turning `SOURCE` arguments (files, folders, URLs, `hf://` URIs, `sources/*.toml`) into
//! [`SourceSpec`]s.

use dasynth_core::sourcedef::{SourceDef, SourcesFile};
use std::path::{Path, PathBuf};

/// Where a source's bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file or folder.
    Path(PathBuf),
    /// An http(s) URL of one file.
    Http(String),
    /// A Hugging Face Hub dataset, optionally at a revision.
    Hf { owner: String, name: String, revision: Option<String> },
    /// Every table under an object store prefix (`s3://bucket/prefix`, `gs://bucket/prefix`).
    Object(String),
}

/// One source to crawl.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub name: String,
    pub location: Location,
    pub licence: Option<String>,
    pub description: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// A `SOURCE` argument that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error(
        "source {0} does not exist\nhint: give a file, a folder, an http(s) URL, hf://datasets/ORG/NAME, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or a sources/*.toml file"
    )]
    Missing(String),
    #[error("cannot read sources file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid sources file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("invalid Hub URI {0:?}\nhint: write hf://datasets/ORG/NAME or hf://datasets/ORG/NAME@REVISION")]
    BadHf(String),
    #[error("sources file {} declares source {name:?} twice", path.display())]
    Duplicate { path: PathBuf, name: String },
}

/// Parses `hf://datasets/ORG/NAME[@REV]`.
pub fn parse_hf(uri: &str) -> Result<Location, SpecError> {
    let rest = uri.strip_prefix("hf://datasets/").ok_or_else(|| SpecError::BadHf(uri.to_string()))?;
    let (repo, revision) = match rest.split_once('@') {
        Some((r, rev)) if !rev.is_empty() => (r, Some(rev.to_string())),
        _ => (rest, None),
    };
    let mut parts = repo.trim_end_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(o), Some(n), None) if !o.is_empty() && !n.is_empty() => {
            Ok(Location::Hf { owner: o.to_string(), name: n.to_string(), revision })
        }
        _ => Err(SpecError::BadHf(uri.to_string())),
    }
}

fn location(uri: &str, base: Option<&Path>) -> Result<Location, SpecError> {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(Location::Http(uri.to_string()));
    }
    if uri.starts_with("hf://") {
        return parse_hf(uri);
    }
    if crate::fetch::object::is_object_url(uri) {
        return Ok(Location::Object(uri.to_string()));
    }
    let p = Path::new(uri);
    let p = match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    };
    if !p.exists() {
        return Err(SpecError::Missing(p.display().to_string()));
    }
    Ok(Location::Path(p))
}

fn default_name(uri: &str) -> String {
    let trimmed = uri.trim_end_matches('/');
    trimmed.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(trimmed).to_string()
}

/// Expands command-line arguments into specs. A `.toml` argument is a sources file.
pub fn expand(args: &[String]) -> Result<Vec<SourceSpec>, SpecError> {
    let mut out = Vec::new();
    for arg in args {
        if arg.ends_with(".toml") && !arg.contains("://") {
            out.extend(from_sources_file(Path::new(arg))?);
        } else {
            out.push(SourceSpec {
                name: default_name(arg),
                location: location(arg, None)?,
                licence: None,
                description: None,
                include: Vec::new(),
                exclude: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// Reads a `sources/*.toml` file; relative URIs resolve against its folder.
pub fn from_sources_file(path: &Path) -> Result<Vec<SourceSpec>, SpecError> {
    if !path.exists() {
        return Err(SpecError::Missing(path.display().to_string()));
    }
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read { path: path.to_path_buf(), source })?;
    let file: SourcesFile =
        toml::from_str(&text).map_err(|e| SpecError::Parse { path: path.to_path_buf(), message: e.to_string().trim_end().to_string() })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for SourceDef { name, uri, licence, description, origin: _, include, exclude } in file.source {
        if !seen.insert(name.clone()) {
            return Err(SpecError::Duplicate { path: path.to_path_buf(), name });
        }
        out.push(SourceSpec {
            name,
            location: location(&uri, Some(base))?,
            licence: licence.or_else(|| file.licence.clone()),
            description,
            include,
            exclude,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_uris() {
        assert_eq!(
            parse_hf("hf://datasets/org/name@v1").unwrap(),
            Location::Hf { owner: "org".into(), name: "name".into(), revision: Some("v1".into()) }
        );
        assert!(parse_hf("hf://datasets/org").is_err());
        assert!(parse_hf("hf://models/a/b").is_err());
    }

    #[test]
    fn unknown_key_in_sources_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "[[source]]\nname='a'\nuri='.'\nlicense='MIT'\n").unwrap();
        let msg = from_sources_file(&p).unwrap_err().to_string();
        assert!(msg.contains("license") && msg.contains("s.toml"), "{msg}");
    }
}

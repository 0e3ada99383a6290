//! `sources/*.toml`: named sources with licence, description and origin.
//!
//! ```toml
//! name = "demo"
//! description = "Small real tables."
//!
//! [[source]]
//! name = "chinook"
//! uri = "demo/chinook.sqlite"     # path (relative to this file), folder, http(s) URL, hf://datasets/ORG/NAME
//! licence = "MIT"
//! description = "Digital media store."
//! origin = "https://github.com/lerocha/chinook-database"
//! include = ["**/*.csv"]          # folders only
//! exclude = []
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A sources file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourcesFile {
    /// Name of this collection of sources.
    pub name: Option<String>,
    /// What the collection is.
    pub description: Option<String>,
    /// Licence applied to sources that declare none.
    pub licence: Option<String>,
    /// The sources.
    #[serde(default)]
    pub source: Vec<SourceDef>,
}

/// One source inside a sources file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SourceDef {
    /// Unique name within the file; used as the provenance's source.
    pub name: String,
    /// A file or folder (relative to the sources file), an http(s) URL, or `hf://datasets/ORG/NAME`.
    pub uri: String,
    /// SPDX licence id.
    pub licence: Option<String>,
    /// What the data is.
    pub description: Option<String>,
    /// Where the data originally comes from.
    pub origin: Option<String>,
    /// Globs of files to take from a folder or Hub dataset (default: every supported file).
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs of files to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
}

//! A Hugging Face checkpoint folder's safetensors weights: one `model.safetensors`, or shards
//! listed by `model.safetensors.index.json` (every listed shard must be there), or whatever
//! `*.safetensors` files the folder holds. Files are memory-mapped; a tensor is copied to the
//! device (and converted to the engine's dtype) only when the model asks for it by name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use candle_core::safetensors::{Load, MmapedSafetensors};
use candle_core::{DType, Device, Tensor};
use serde::Deserialize;

use crate::config::read_json;
use crate::error::{Result, StudentError, TensorContext};

/// The index file transformers writes beside sharded weights.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// The single-file weights name.
pub const SINGLE_FILE: &str = "model.safetensors";

/// Memory-mapped safetensors files and which file holds each tensor.
pub struct Checkpoint {
    dir: PathBuf,
    files: Vec<(PathBuf, MmapedSafetensors)>,
    by_name: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

/// The weight files of a checkpoint folder, in load order.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join(INDEX_FILE);
    if index.exists() {
        let idx: Index = read_json(&index)?;
        let shards: BTreeSet<&String> = idx.weight_map.values().collect();
        let mut files = Vec::with_capacity(shards.len());
        for shard in shards {
            let path = dir.join(shard);
            if !path.is_file() {
                return Err(StudentError::MissingShard { index: index.clone(), shard: shard.clone(), dir: dir.to_path_buf() });
            }
            files.push(path);
        }
        return Ok(files);
    }
    let single = dir.join(SINGLE_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| StudentError::Io { path: dir.to_path_buf(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(StudentError::NoWeights { dir: dir.to_path_buf() });
    }
    Ok(files)
}

impl Checkpoint {
    /// Maps every weight file of `dir`.
    pub fn open(dir: &Path) -> Result<Checkpoint> {
        let mut files = Vec::new();
        let mut by_name = HashMap::new();
        for path in weight_files(dir)? {
            // SAFETY: the mapping is read-only and the file is only read through it; a checkpoint
            // changed by another process while mapped is outside what the engine promises.
            let st = unsafe { MmapedSafetensors::new(&path) }
                .map_err(|e| StudentError::Safetensors { path: path.clone(), message: e.to_string() })?;
            for (name, _) in st.tensors() {
                by_name.insert(name, files.len());
            }
            files.push((path, st));
        }
        Ok(Checkpoint { dir: dir.to_path_buf(), files, by_name })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Loads `name`, checks its shape and converts it to `dtype` on `device`.
    pub fn load(&self, name: &str, shape: &[usize], device: &Device, dtype: DType) -> Result<Tensor> {
        let Some(&i) = self.by_name.get(name) else {
            return Err(StudentError::MissingTensor { dir: self.dir.clone(), name: name.to_string(), near: self.near(name) });
        };
        let (path, st) = &self.files[i];
        let view = st.get(name).ctx(|| format!("{}: tensor {name}", path.display()))?;
        if view.shape() != shape {
            return Err(StudentError::TensorShape {
                path: path.clone(),
                name: name.to_string(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        let t = view.load(device).ctx(|| format!("{}: loading tensor {name} onto {device:?}", path.display()))?;
        t.to_dtype(dtype).ctx(|| format!("{}: converting tensor {name} to {dtype:?}", path.display()))
    }

    /// Up to three tensor names sharing the longest dotted suffix with `name`.
    fn near(&self, name: &str) -> Vec<String> {
        let last = name.rsplit('.').nth(1).unwrap_or(name);
        let mut near: Vec<String> = self.by_name.keys().filter(|k| k.contains(last)).cloned().collect();
        near.sort();
        near.truncate(3);
        near
    }
}

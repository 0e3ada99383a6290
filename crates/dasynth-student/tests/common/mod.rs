//! Fixture access shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dasynth_student::{Device, Engine, EngineOptions, Tensor};

pub const VARIANTS: [&str; 2] = ["plain", "yarn"];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What transformers computed (see `tests/fixtures/make_fixture.py`).
pub struct Reference(HashMap<String, Tensor>);

impl Reference {
    pub fn load() -> Reference {
        let path = fixtures().join("reference.safetensors");
        Reference(candle_core::safetensors::load(&path, &Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }
    pub fn tensor(&self, variant: &str, name: &str) -> &Tensor {
        let key = format!("{variant}.{name}");
        self.0.get(&key).unwrap_or_else(|| panic!("reference has no {key}"))
    }
    pub fn ids(&self, variant: &str, name: &str) -> Vec<u32> {
        let t = self.tensor(variant, name);
        t.flatten_all().and_then(|t| t.to_vec1::<u8>()).expect("u8 ids").into_iter().map(u32::from).collect()
    }
    pub fn rows(&self, variant: &str, name: &str) -> Vec<Vec<u32>> {
        let t = self.tensor(variant, name);
        t.to_vec2::<u8>().expect("u8 rows").into_iter().map(|r| r.into_iter().map(u32::from).collect()).collect()
    }
    pub fn logits(&self, variant: &str, name: &str) -> Vec<Vec<f32>> {
        self.tensor(variant, name).to_vec2::<f32>().expect("f32 logits")
    }
    /// The 64 ragged prompts.
    pub fn batch_prompts(&self, variant: &str) -> Vec<Vec<u32>> {
        let lens = self.ids(variant, "batch_lens");
        self.rows(variant, "batch_prompts").into_iter().zip(lens).map(|(p, n)| p[..n as usize].to_vec()).collect()
    }
    /// `(prompt, step)` pairs where the reference's top two logits nearly tie (prompt 64 = batch 1).
    pub fn near_ties(&self, variant: &str) -> Vec<(usize, usize)> {
        self.rows(variant, "near_ties").into_iter().map(|r| (r[0] as usize, r[1] as usize)).collect()
    }
}

/// The checkpoint folder of a variant: the committed one, or a copy with the YaRN config.
pub fn model_dir(variant: &str, tmp: &Path) -> PathBuf {
    let base = fixtures().join("tiny-qwen3");
    if variant == "plain" {
        return base;
    }
    let dir = tmp.join(variant);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(base.join("model.safetensors"), dir.join("model.safetensors")).expect("copy weights");
    std::fs::copy(fixtures().join("config-yarn.json"), dir.join("config.json")).expect("copy config");
    dir
}

pub fn engine(dir: &Path, opts: EngineOptions) -> Engine {
    Engine::load(dir, &opts).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()))
}

/// Checks `ours` against the reference greedy tokens of prompt `prompt`: they must agree up to
/// the end, or up to a step where the reference's top two logits nearly tie (where any correct
/// implementation may take the other branch). Returns the steps compared.
pub fn check_greedy(ours: &[u32], reference: &[u32], prompt: usize, ties: &[(usize, usize)], what: &str) -> usize {
    for (step, (a, b)) in ours.iter().zip(reference).enumerate() {
        if a != b {
            assert!(
                ties.contains(&(prompt, step)),
                "{what}: prompt {prompt} diverges at step {step} ({a} vs transformers' {b}) with no near tie there"
            );
            return step;
        }
    }
    ours.len().min(reference.len())
}

/// The Qwen tokenizer built by `scripts/make-qwen-tokenizer.py`, if the test setup made it.
pub fn qwen_tokenizer() -> Option<PathBuf> {
    let path = std::env::var_os("DASYNTH_QWEN_TOKENIZER").map(PathBuf::from).or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
        Some(cache.join("dasynth/qwen3-tokenizer/tokenizer.json"))
    })?;
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: no Qwen tokenizer at {} (scripts/test builds it with scripts/make-qwen-tokenizer.py)", path.display());
        None
    }
}

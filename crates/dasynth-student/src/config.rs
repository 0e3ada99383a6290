//! `config.json` and `generation_config.json` of a Hugging Face Qwen3 checkpoint, resolved into
//! the shapes the model needs. Rope scaling is read from `rope_scaling` (transformers 4) or
//! `rope_parameters` (transformers 5, which also moves `rope_theta` inside it).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Result, StudentError};

/// The architecture fields of `config.json` this engine uses.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    pub attention_bias: bool,
    pub rope: RopeConfig,
    /// The dtype the weights were saved in (`torch_dtype` / `dtype`), when stated.
    pub saved_dtype: Option<String>,
    /// End-of-sequence ids stated in `config.json`.
    pub eos_token_ids: Vec<u32>,
}

/// Rotary position embedding: base frequency and optional YaRN scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct RopeConfig {
    pub theta: f64,
    pub yarn: Option<YarnConfig>,
}

/// YaRN's parameters, with transformers' defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct YarnConfig {
    pub factor: f64,
    pub original_max_position_embeddings: usize,
    /// Scale of cos/sin; `None` means derived from `factor` (and `mscale`s) as transformers does.
    pub attention_factor: Option<f64>,
    pub beta_fast: f64,
    pub beta_slow: f64,
    pub mscale: Option<f64>,
    pub mscale_all_dim: Option<f64>,
    pub truncate: bool,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default)]
    num_key_value_heads: Option<usize>,
    #[serde(default)]
    head_dim: Option<usize>,
    #[serde(default)]
    rms_norm_eps: Option<f64>,
    #[serde(default)]
    rope_theta: Option<f64>,
    #[serde(default)]
    rope_scaling: Option<RawRope>,
    #[serde(default)]
    rope_parameters: Option<RawRope>,
    #[serde(default)]
    max_position_embeddings: Option<usize>,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
    #[serde(default)]
    attention_bias: Option<bool>,
    #[serde(default)]
    hidden_act: Option<String>,
    #[serde(default)]
    torch_dtype: Option<String>,
    #[serde(default)]
    dtype: Option<String>,
    #[serde(default)]
    eos_token_id: Option<TokenIds>,
}

#[derive(Deserialize, Default)]
struct RawRope {
    #[serde(default)]
    rope_type: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    rope_theta: Option<f64>,
    #[serde(default)]
    factor: Option<f64>,
    #[serde(default)]
    original_max_position_embeddings: Option<usize>,
    #[serde(default)]
    attention_factor: Option<f64>,
    #[serde(default)]
    attn_factor: Option<f64>,
    #[serde(default)]
    beta_fast: Option<f64>,
    #[serde(default)]
    beta_slow: Option<f64>,
    #[serde(default)]
    mscale: Option<f64>,
    #[serde(default)]
    mscale_all_dim: Option<f64>,
    #[serde(default)]
    truncate: Option<bool>,
}

/// One id or a list of ids, as `eos_token_id` is written.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    fn into_vec(self) -> Vec<u32> {
        match self {
            TokenIds::One(i) => vec![i],
            TokenIds::Many(v) => v,
        }
    }
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|source| StudentError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| StudentError::Config { path: path.to_path_buf(), source })
}

impl ModelConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<ModelConfig> {
        let raw: RawConfig = read_json(path)?;
        Self::resolve(raw, path)
    }

    /// Parses a `config.json` text (`path` only names it in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<ModelConfig> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|source| StudentError::Config { path: path.to_path_buf(), source })?;
        Self::resolve(raw, path)
    }

    fn resolve(raw: RawConfig, path: &Path) -> Result<ModelConfig> {
        let arch_err = |reason: String| StudentError::Architecture { path: path.to_path_buf(), reason };
        let qwen3_arch = raw.architectures.iter().any(|a| a == "Qwen3ForCausalLM");
        match raw.model_type.as_deref() {
            Some("qwen3") => {}
            Some(other) => return Err(arch_err(format!("model_type is {other:?}, not \"qwen3\""))),
            None if qwen3_arch => {}
            None => return Err(arch_err(format!("no model_type, and architectures {:?} do not name Qwen3ForCausalLM", raw.architectures))),
        }
        if !raw.architectures.is_empty() && !qwen3_arch {
            return Err(arch_err(format!("architectures {:?} do not name Qwen3ForCausalLM", raw.architectures)));
        }
        if let Some(act) = raw.hidden_act.as_deref().filter(|a| *a != "silu") {
            return Err(arch_err(format!("hidden_act {act:?} is not silu")));
        }
        let num_kv_heads = raw.num_key_value_heads.unwrap_or(raw.num_attention_heads);
        if num_kv_heads == 0 || !raw.num_attention_heads.is_multiple_of(num_kv_heads) {
            return Err(arch_err(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {num_kv_heads}",
                raw.num_attention_heads
            )));
        }
        let head_dim = raw.head_dim.unwrap_or(raw.hidden_size / raw.num_attention_heads.max(1));
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(arch_err(format!("head_dim {head_dim} must be even and positive")));
        }
        // transformers 5 writes `rope_parameters` (with rope_theta inside); older configs
        // `rope_scaling` beside a top-level `rope_theta`.
        let scaling = raw.rope_parameters.or(raw.rope_scaling).unwrap_or_default();
        let theta = scaling.rope_theta.or(raw.rope_theta).unwrap_or(10_000.0);
        let rope_type = scaling.rope_type.clone().or(scaling.kind.clone()).unwrap_or_else(|| "default".into());
        let yarn = match rope_type.as_str() {
            "default" => None,
            "yarn" => Some(YarnConfig {
                factor: scaling.factor.unwrap_or(1.0),
                original_max_position_embeddings: scaling
                    .original_max_position_embeddings
                    .or(raw.max_position_embeddings)
                    .ok_or_else(|| arch_err("yarn rope scaling without original_max_position_embeddings".into()))?,
                attention_factor: scaling.attention_factor.or(scaling.attn_factor),
                beta_fast: scaling.beta_fast.unwrap_or(32.0),
                beta_slow: scaling.beta_slow.unwrap_or(1.0),
                mscale: scaling.mscale,
                mscale_all_dim: scaling.mscale_all_dim,
                truncate: scaling.truncate.unwrap_or(true),
            }),
            other => return Err(StudentError::UnsupportedRope { path: path.to_path_buf(), rope_type: other.to_string() }),
        };
        Ok(ModelConfig {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_layers: raw.num_hidden_layers,
            num_heads: raw.num_attention_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps: raw.rms_norm_eps.unwrap_or(1e-6),
            max_position_embeddings: raw.max_position_embeddings.unwrap_or(32_768),
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            attention_bias: raw.attention_bias.unwrap_or(false),
            rope: RopeConfig { theta, yarn },
            saved_dtype: raw.dtype.or(raw.torch_dtype),
            eos_token_ids: raw.eos_token_id.map(TokenIds::into_vec).unwrap_or_default(),
        })
    }

    /// Bytes of one token's keys and values over all layers at `dtype_bytes` per element.
    pub fn kv_bytes_per_token(&self, dtype_bytes: usize) -> u64 {
        (2 * self.num_layers * self.num_kv_heads * self.head_dim * dtype_bytes) as u64
    }
}

/// Sampling defaults and stop ids from `generation_config.json` (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationConfig {
    pub eos_token_ids: Vec<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
}

#[derive(Deserialize)]
struct RawGeneration {
    #[serde(default)]
    eos_token_id: Option<TokenIds>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    top_k: Option<usize>,
    #[serde(default)]
    do_sample: Option<bool>,
}

impl GenerationConfig {
    /// Reads `generation_config.json` if the folder has one.
    pub fn from_dir(dir: &Path) -> Result<GenerationConfig> {
        let path: PathBuf = dir.join("generation_config.json");
        if !path.exists() {
            return Ok(GenerationConfig::default());
        }
        let raw: RawGeneration = read_json(&path)?;
        let greedy = raw.do_sample == Some(false);
        Ok(GenerationConfig {
            eos_token_ids: raw.eos_token_id.map(TokenIds::into_vec).unwrap_or_default(),
            temperature: if greedy { Some(0.0) } else { raw.temperature },
            top_p: raw.top_p,
            top_k: raw.top_k,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> String {
        format!(
            r#"{{"architectures":["Qwen3ForCausalLM"],"model_type":"qwen3","vocab_size":10,"hidden_size":8,
            "intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,
            "head_dim":4,"max_position_embeddings":64{extra}}}"#
        )
    }

    #[test]
    fn reads_rope_parameters_and_legacy_rope_scaling() {
        let p = Path::new("config.json");
        let v5 = ModelConfig::from_json(
            &cfg(r#","rope_parameters":{"rope_type":"yarn","rope_theta":1000000.0,"factor":4.0,"original_max_position_embeddings":32768,"attention_factor":0.8782}"#),
            p,
        )
        .expect("v5");
        assert_eq!(v5.rope.theta, 1e6);
        let y = v5.rope.yarn.expect("yarn");
        assert_eq!((y.factor, y.original_max_position_embeddings, y.attention_factor), (4.0, 32768, Some(0.8782)));
        let v4 = ModelConfig::from_json(
            &cfg(
                r#","rope_theta":5.0,"rope_scaling":{"type":"yarn","factor":2.0,"original_max_position_embeddings":16,"attn_factor":0.9}"#,
            ),
            p,
        )
        .expect("v4");
        assert_eq!(v4.rope.theta, 5.0);
        assert_eq!(v4.rope.yarn.expect("yarn").attention_factor, Some(0.9));
        let plain = ModelConfig::from_json(&cfg(r#","rope_parameters":{"rope_type":"default","rope_theta":7.0}"#), p).expect("plain");
        assert_eq!(plain.rope, RopeConfig { theta: 7.0, yarn: None });
    }

    #[test]
    fn other_architectures_and_rope_types_are_named() {
        let p = Path::new("/ckpt/config.json");
        let e = ModelConfig::from_json(&cfg("").replace("qwen3\"", "llama\"").replace("Qwen3ForCausalLM", "LlamaForCausalLM"), p)
            .expect_err("llama");
        assert!(e.to_string().contains("/ckpt/config.json") && e.to_string().contains("llama"), "{e}");
        let e = ModelConfig::from_json(&cfg(r#","rope_scaling":{"rope_type":"longrope"}"#), p).expect_err("longrope");
        assert!(e.to_string().contains("longrope"), "{e}");
        let e = ModelConfig::from_json("{\"vocab_size\": 3}", p).expect_err("incomplete");
        assert!(e.to_string().contains("hidden_size"), "{e}");
    }
}

//! Random Qwen3 checkpoints of any shape, written as a Hugging Face folder (`config.json`,
//! `generation_config.json`, `model.safetensors`) for tests and CPU benchmarks.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use dasynth_core::rng::{Rng, unit};
use serde_json::json;

use crate::error::{Result, StudentError, TensorContext};

/// The shape of a random checkpoint.
#[derive(Debug, Clone)]
pub struct RandomSpec {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    /// Standard deviation of the weights.
    pub std: f64,
    pub seed: u64,
    pub dtype: DType,
}

impl RandomSpec {
    /// A two-layer model with Qwen3's vocabulary (so a real Qwen tokenizer fits it).
    pub fn tiny_qwen_vocab() -> RandomSpec {
        RandomSpec {
            vocab_size: 151_669,
            hidden_size: 32,
            intermediate_size: 64,
            num_layers: 2,
            num_heads: 4,
            num_kv_heads: 2,
            head_dim: 16,
            max_position_embeddings: 4096,
            tie_word_embeddings: true,
            std: 1.0,
            seed: 1,
            dtype: DType::BF16,
        }
    }
}

/// A standard normal number (Box-Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = unit(rng.next_u64()).max(f64::MIN_POSITIVE);
    let u2 = unit(rng.next_u64());
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Writes a random checkpoint into `dir` (created if needed).
pub fn write_random_checkpoint(dir: &Path, spec: &RandomSpec) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| StudentError::Io { path: dir.to_path_buf(), source })?;
    let dev = Device::Cpu;
    let mut rng = Rng::new(spec.seed);
    let (h, d, i) = (spec.hidden_size, spec.head_dim, spec.intermediate_size);
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut add = |name: String, shape: &[usize], norm: bool| -> Result<()> {
        let (mean, std) = if norm { (1.0, 0.1) } else { (0.0, spec.std / (shape[shape.len() - 1] as f64).sqrt()) };
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| (mean + std * normal(&mut rng)) as f32).collect();
        let t = Tensor::from_vec(values, shape, &dev).and_then(|t| t.to_dtype(spec.dtype)).ctx(|| format!("random tensor {name}"))?;
        tensors.insert(name, t);
        Ok(())
    };
    add("model.embed_tokens.weight".into(), &[spec.vocab_size, h], false)?;
    for l in 0..spec.num_layers {
        let p = format!("model.layers.{l}");
        add(format!("{p}.input_layernorm.weight"), &[h], true)?;
        add(format!("{p}.post_attention_layernorm.weight"), &[h], true)?;
        add(format!("{p}.self_attn.q_proj.weight"), &[spec.num_heads * d, h], false)?;
        add(format!("{p}.self_attn.k_proj.weight"), &[spec.num_kv_heads * d, h], false)?;
        add(format!("{p}.self_attn.v_proj.weight"), &[spec.num_kv_heads * d, h], false)?;
        add(format!("{p}.self_attn.o_proj.weight"), &[h, spec.num_heads * d], false)?;
        add(format!("{p}.self_attn.q_norm.weight"), &[d], true)?;
        add(format!("{p}.self_attn.k_norm.weight"), &[d], true)?;
        add(format!("{p}.mlp.gate_proj.weight"), &[i, h], false)?;
        add(format!("{p}.mlp.up_proj.weight"), &[i, h], false)?;
        add(format!("{p}.mlp.down_proj.weight"), &[h, i], false)?;
    }
    add("model.norm.weight".into(), &[h], true)?;
    if !spec.tie_word_embeddings {
        add("lm_head.weight".into(), &[spec.vocab_size, h], false)?;
    }
    let weights = dir.join("model.safetensors");
    candle_core::safetensors::save(&tensors, &weights).ctx(|| format!("writing {}", weights.display()))?;
    let dtype = match spec.dtype {
        DType::F32 => "float32",
        DType::F16 => "float16",
        _ => "bfloat16",
    };
    let config = json!({
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": spec.vocab_size,
        "hidden_size": h,
        "intermediate_size": i,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "head_dim": d,
        "hidden_act": "silu",
        "max_position_embeddings": spec.max_position_embeddings,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0},
        "tie_word_embeddings": spec.tie_word_embeddings,
        "attention_bias": false,
        "dtype": dtype,
        "eos_token_id": 151645,
    });
    let generation = json!({"eos_token_id": [151645, 151643], "temperature": 0.6, "top_p": 0.95, "top_k": 20});
    for (name, v) in [("config.json", config), ("generation_config.json", generation)] {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap_or_default()).map_err(|source| StudentError::Io { path, source })?;
    }
    Ok(())
}

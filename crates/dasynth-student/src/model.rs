//! The Qwen3 decoder: embeddings, `num_layers` blocks of (RMSNorm → grouped-query attention with
//! q/k RMSNorm and rotary embeddings → residual → RMSNorm → SwiGLU MLP → residual), a final
//! RMSNorm and the LM head.
//!
//! A forward pass takes a packed [`StepBatch`]: the tokens of many sequences side by side (one
//! token per decoding sequence, a chunk of prompt per prefilling one), so every projection is a
//! single matrix product over all of them. Only attention is per sequence (see
//! [`crate::attention`]). q/k/v and gate/up projections are fused into one matrix each when
//! the weights are loaded.

use std::path::Path;

use candle_core::{D, DType, Device, Tensor};

use crate::attention::{self, StepAttention};
use crate::checkpoint::Checkpoint;
use crate::config::ModelConfig;
use crate::error::{Result, TensorContext};
use crate::kv_cache::{KvCache, WritePlan};
use crate::rope::RopeTables;

struct Layer {
    input_norm: Tensor,
    qkv: Tensor,
    qkv_bias: Option<Tensor>,
    q_norm: Tensor,
    k_norm: Tensor,
    o: Tensor,
    post_norm: Tensor,
    gate_up: Tensor,
    down: Tensor,
}

/// Qwen3 weights on one device.
pub struct Qwen3 {
    cfg: ModelConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Tensor,
    device: Device,
    dtype: DType,
}

/// One decoding sequence of a step: its slot and its length once this step's token is in.
#[derive(Debug, Clone, Copy)]
pub struct DecodeSeg {
    pub slot: usize,
    pub len: usize,
}

/// One prefilling sequence of a step: `len` tokens written at `start..start + len` of `slot`.
#[derive(Debug, Clone, Copy)]
pub struct PrefillSeg {
    pub slot: usize,
    pub start: usize,
    pub len: usize,
}

/// The packed input of one forward pass: first one token per decode segment, then each
/// prefill segment's tokens; `logit_rows` names the packed rows whose logits are wanted.
#[derive(Debug, Clone, Default)]
pub struct StepBatch {
    pub tokens: Vec<u32>,
    pub decode: Vec<DecodeSeg>,
    pub prefill: Vec<PrefillSeg>,
    pub logit_rows: Vec<u32>,
}

impl StepBatch {
    /// `(slot, position)` of every packed token.
    pub fn token_places(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = self.decode.iter().map(|d| (d.slot, d.len - 1)).collect();
        for p in &self.prefill {
            out.extend((p.start..p.start + p.len).map(|pos| (p.slot, pos)));
        }
        out
    }
}

/// What every layer of one step shares.
struct Step<'a> {
    cos: Tensor,
    sin: Tensor,
    write: WritePlan,
    plan: StepAttention,
    cache: &'a KvCache,
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    candle_nn::ops::rms_norm(x, w, eps as f32)
}

fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)
}

impl Qwen3 {
    /// Loads the weights of `ckpt` for `cfg`, converted to `dtype` on `device`.
    pub fn load(cfg: &ModelConfig, ckpt: &Checkpoint, device: &Device, dtype: DType) -> Result<Qwen3> {
        let (h, d) = (cfg.hidden_size, cfg.head_dim);
        let (nq, nkv) = (cfg.num_heads * d, cfg.num_kv_heads * d);
        let get = |name: &str, shape: &[usize]| ckpt.load(name, shape, device, dtype);
        let embed = get("model.embed_tokens.weight", &[cfg.vocab_size, h])?;
        let mut layers = Vec::with_capacity(cfg.num_layers);
        for i in 0..cfg.num_layers {
            let p = format!("model.layers.{i}");
            let q = get(&format!("{p}.self_attn.q_proj.weight"), &[nq, h])?;
            let k = get(&format!("{p}.self_attn.k_proj.weight"), &[nkv, h])?;
            let v = get(&format!("{p}.self_attn.v_proj.weight"), &[nkv, h])?;
            let qkv = Tensor::cat(&[&q, &k, &v], 0).ctx(|| format!("{p}: fusing q/k/v"))?;
            let qkv_bias = if cfg.attention_bias {
                let qb = get(&format!("{p}.self_attn.q_proj.bias"), &[nq])?;
                let kb = get(&format!("{p}.self_attn.k_proj.bias"), &[nkv])?;
                let vb = get(&format!("{p}.self_attn.v_proj.bias"), &[nkv])?;
                Some(Tensor::cat(&[&qb, &kb, &vb], 0).ctx(|| format!("{p}: fusing q/k/v biases"))?)
            } else {
                None
            };
            let gate = get(&format!("{p}.mlp.gate_proj.weight"), &[cfg.intermediate_size, h])?;
            let up = get(&format!("{p}.mlp.up_proj.weight"), &[cfg.intermediate_size, h])?;
            layers.push(Layer {
                input_norm: get(&format!("{p}.input_layernorm.weight"), &[h])?,
                qkv,
                qkv_bias,
                q_norm: get(&format!("{p}.self_attn.q_norm.weight"), &[d])?,
                k_norm: get(&format!("{p}.self_attn.k_norm.weight"), &[d])?,
                o: get(&format!("{p}.self_attn.o_proj.weight"), &[h, nq])?,
                post_norm: get(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                gate_up: Tensor::cat(&[&gate, &up], 0).ctx(|| format!("{p}: fusing gate/up"))?,
                down: get(&format!("{p}.mlp.down_proj.weight"), &[h, cfg.intermediate_size])?,
            });
        }
        let norm = get("model.norm.weight", &[h])?;
        let lm_head = if cfg.tie_word_embeddings && !ckpt.contains("lm_head.weight") {
            embed.clone()
        } else {
            get("lm_head.weight", &[cfg.vocab_size, h])?
        };
        Ok(Qwen3 { cfg: cfg.clone(), embed, layers, norm, lm_head, device: device.clone(), dtype })
    }

    /// Opens `dir` and loads its weights.
    pub fn load_dir(dir: &Path, cfg: &ModelConfig, device: &Device, dtype: DType) -> Result<Qwen3> {
        Self::load(cfg, &Checkpoint::open(dir)?, device, dtype)
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Runs one packed step, writing the new keys and values into `cache`; returns f32 logits
    /// `[logit_rows, vocab]`.
    pub fn forward(&self, batch: &StepBatch, cache: &KvCache, rope: &RopeTables) -> Result<Tensor> {
        let t = batch.tokens.len();
        let places = batch.token_places();
        let dev = &self.device;
        let tokens = Tensor::from_slice(&batch.tokens, t, dev).ctx(|| "step tokens".to_string())?;
        let positions: Vec<u32> = places.iter().map(|&(_, p)| p as u32).collect();
        let positions = Tensor::from_vec(positions, t, dev).ctx(|| "step positions".to_string())?;
        let (cos, sin) = rope.gather(&positions)?;
        let step = Step { cos, sin, write: cache.write_plan(batch)?, plan: StepAttention::plan(batch, cache)?, cache };
        let mut x = self.embed.index_select(&tokens, 0).ctx(|| "embedding lookup".to_string())?;
        for (i, layer) in self.layers.iter().enumerate() {
            x = self.layer(i, layer, &x, &step).ctx(|| format!("layer {i}"))?;
        }
        let rows = Tensor::from_slice(&batch.logit_rows, batch.logit_rows.len(), dev).ctx(|| "logit rows".to_string())?;
        let last = x.index_select(&rows, 0).ctx(|| "selecting logit rows".to_string())?;
        let last = rms_norm(&last, &self.norm, self.cfg.rms_norm_eps).ctx(|| "final norm".to_string())?;
        linear(&last, &self.lm_head).and_then(|l| l.to_dtype(DType::F32)).ctx(|| "LM head".to_string())
    }

    fn layer(&self, index: usize, l: &Layer, x: &Tensor, step: &Step<'_>) -> candle_core::Result<Tensor> {
        let Step { cos, sin, write, plan, cache } = step;
        let cfg = &self.cfg;
        let (t, d) = (x.dim(0)?, cfg.head_dim);
        let (hq, hkv) = (cfg.num_heads, cfg.num_kv_heads);
        let h = rms_norm(x, &l.input_norm, cfg.rms_norm_eps)?;
        let mut qkv = linear(&h, &l.qkv)?;
        if let Some(b) = &l.qkv_bias {
            qkv = qkv.broadcast_add(b)?;
        }
        let q = qkv.narrow(1, 0, hq * d)?.contiguous()?.reshape((t, hq, d))?;
        let k = qkv.narrow(1, hq * d, hkv * d)?.contiguous()?.reshape((t, hkv, d))?;
        let v = qkv.narrow(1, (hq + hkv) * d, hkv * d)?.contiguous()?;
        let q = rms_norm(&q, &l.q_norm, cfg.rms_norm_eps)?;
        let k = rms_norm(&k, &l.k_norm, cfg.rms_norm_eps)?;
        let q = candle_nn::rotary_emb::rope_thd(&q.unsqueeze(0)?, cos, sin)?.squeeze(0)?;
        let k = candle_nn::rotary_emb::rope_thd(&k.unsqueeze(0)?, cos, sin)?.squeeze(0)?;
        cache.write(index, &k, &v.reshape((t, hkv, d))?, write).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let attn = attention::attend(index, &q, cache, plan, cfg).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let x = (x + linear(&attn, &l.o)?)?;
        let h = rms_norm(&x, &l.post_norm, cfg.rms_norm_eps)?;
        let gu = linear(&h, &l.gate_up)?;
        let i = cfg.intermediate_size;
        let act = (candle_nn::ops::silu(&gu.narrow(D::Minus1, 0, i)?)? * gu.narrow(D::Minus1, i, i)?)?;
        x + linear(&act, &l.down)?
    }
}

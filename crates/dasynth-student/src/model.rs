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
use crate::error::{Result, StudentError, TensorContext};
use crate::kv_cache::{KvCache, WritePlan};
use crate::profile::span;
use crate::rope::RopeTables;
use crate::sampler::{self, SampleRow};

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
    /// The fused kernels and decode graphs, on a CUDA device (see [`crate::cuda`]).
    #[cfg(feature = "cuda")]
    cuda: Option<std::sync::Mutex<crate::cuda::CudaRunner>>,
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

/// The per-layer operations of one step that the CUDA path fuses into kernels of its own:
/// candle's ops on any device ([`CandleOps`]), or the engine's kernels (`crate::cuda`).
pub(crate) trait StepOps {
    /// `x + y` (`x` itself when `y` is `None`) and its RMSNorm with weight `w`.
    fn add_norm(&self, x: &Tensor, y: Option<&Tensor>, w: &Tensor, eps: f64) -> candle_core::Result<(Tensor, Tensor)> {
        let x = match y {
            Some(y) => (x + y)?,
            None => x.clone(),
        };
        let h = rms_norm(&x, w, eps)?;
        Ok((x, h))
    }

    /// From the fused projection `[tokens, (heads + 2 kv_heads) * dim]`: RMSNorm of every q and
    /// k head, rotary embedding, and `layer`'s keys and values written into the cache; returns
    /// the queries `[tokens, heads, dim]`.
    fn qkv(
        &self,
        layer: usize,
        qkv: &Tensor,
        norms: (&Tensor, &Tensor),
        rope: (&Tensor, &Tensor),
        cache: &KvCache,
        cfg: &ModelConfig,
    ) -> Result<Tensor>;

    /// The attention output `[tokens, heads * dim]` of `q` over `layer`'s cache.
    fn attend(&self, layer: usize, q: &Tensor, cache: &KvCache, cfg: &ModelConfig) -> Result<Tensor>;

    /// `x w^T`: a projection of the rows of `x` by the weights `w` `[out, in]`.
    fn linear(&self, x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
        linear(x, w)
    }

    /// `silu(gate) * up` of the fused projection `[tokens, 2 * n]`.
    fn silu_mul(&self, gu: &Tensor) -> candle_core::Result<Tensor> {
        let n = gu.dim(D::Minus1)? / 2;
        candle_nn::ops::silu(&gu.narrow(D::Minus1, 0, n)?)? * gu.narrow(D::Minus1, n, n)?
    }
}

/// candle's ops on any device: one write plan and one attention plan per step.
struct CandleOps {
    write: WritePlan,
    plan: StepAttention,
}

impl StepOps for CandleOps {
    fn qkv(
        &self,
        layer: usize,
        qkv: &Tensor,
        norms: (&Tensor, &Tensor),
        rope: (&Tensor, &Tensor),
        cache: &KvCache,
        cfg: &ModelConfig,
    ) -> Result<Tensor> {
        let (hq, hkv, d) = (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim);
        let (cos, sin) = rope;
        let (q, k, v) = (|| -> candle_core::Result<_> {
            let t = qkv.dim(0)?;
            let q = qkv.narrow(1, 0, hq * d)?.contiguous()?.reshape((t, hq, d))?;
            let k = qkv.narrow(1, hq * d, hkv * d)?.contiguous()?.reshape((t, hkv, d))?;
            let v = qkv.narrow(1, (hq + hkv) * d, hkv * d)?.contiguous()?.reshape((t, hkv, d))?;
            let q = rms_norm(&q, norms.0, cfg.rms_norm_eps)?;
            let k = rms_norm(&k, norms.1, cfg.rms_norm_eps)?;
            let q = candle_nn::rotary_emb::rope_thd(&q.unsqueeze(0)?, cos, sin)?.squeeze(0)?;
            let k = candle_nn::rotary_emb::rope_thd(&k.unsqueeze(0)?, cos, sin)?.squeeze(0)?;
            Ok((q, k, v))
        })()
        .ctx(|| format!("layer {layer}: q/k norm and rope"))?;
        cache.write(layer, &k, &v, &self.write)?;
        Ok(q)
    }

    fn attend(&self, layer: usize, q: &Tensor, cache: &KvCache, cfg: &ModelConfig) -> Result<Tensor> {
        attention::attend(layer, q, cache, &self.plan, cfg)
    }
}

/// What every layer of one step shares.
struct Step<'a> {
    cos: Tensor,
    sin: Tensor,
    ops: &'a dyn StepOps,
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
        Ok(Qwen3 {
            cfg: cfg.clone(),
            embed,
            layers,
            norm,
            lm_head,
            device: device.clone(),
            dtype,
            #[cfg(feature = "cuda")]
            cuda: None,
        })
    }

    /// Opens `dir` and loads its weights.
    pub fn load_dir(dir: &Path, cfg: &ModelConfig, device: &Device, dtype: DType) -> Result<Qwen3> {
        Self::load(cfg, &Checkpoint::open(dir)?, device, dtype)
    }

    /// Turns on the fused CUDA kernels (and decode graphs when `graphs`) for a cache of `slots`
    /// slots of `max_len`; returns whether they are on (not on the CPU, nor for shapes the
    /// kernels do not cover).
    #[cfg(feature = "cuda")]
    pub fn enable_cuda(&mut self, slots: usize, max_len: usize, graphs: bool) -> bool {
        self.cuda = crate::cuda::CudaRunner::new(self, slots, max_len, graphs).map(std::sync::Mutex::new);
        self.cuda.is_some()
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

    /// Picks one token per row of `logits` (`[rows, vocab]`, f32): with the fused kernels
    /// on, by the CUDA sampling kernel; else by [`sampler::sample`]'s ops.
    pub fn sample(&self, logits: &Tensor, rows: &[SampleRow]) -> Result<Vec<u32>> {
        #[cfg(feature = "cuda")]
        if let Some(cuda) = &self.cuda {
            let runner = cuda.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = runner.sampler() {
                return s.sample(logits, rows).ctx(|| format!("sampling {} rows", rows.len()));
            }
        }
        sampler::sample(logits, rows)
    }

    /// Runs one packed step, writing the new keys and values into `cache`; returns f32 logits
    /// `[logit_rows, vocab]`.
    pub fn forward(&self, batch: &StepBatch, cache: &KvCache, rope: &RopeTables) -> Result<Tensor> {
        #[cfg(feature = "cuda")]
        if let Some(cuda) = &self.cuda {
            return cuda.lock().unwrap_or_else(|e| e.into_inner()).forward(self, batch, cache, rope);
        }
        let t = batch.tokens.len();
        let dev = &self.device;
        let tokens = Tensor::from_slice(&batch.tokens, t, dev).ctx(|| "step tokens".to_string())?;
        let positions: Vec<u32> = batch.token_places().iter().map(|&(_, p)| p as u32).collect();
        let positions = Tensor::from_vec(positions, t, dev).ctx(|| "step positions".to_string())?;
        let ops = CandleOps { write: cache.write_plan(batch)?, plan: StepAttention::plan(batch, cache)? };
        let rows = Tensor::from_slice(&batch.logit_rows, batch.logit_rows.len(), dev).ctx(|| "logit rows".to_string())?;
        self.run(&tokens, &positions, rope, &ops, cache, Some(&rows))
    }

    /// The forward pass over device inputs: token ids and positions (u32 `[tokens]`), the
    /// step's attention, and the rows whose logits are wanted (every row when `None`).
    pub(crate) fn run(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        rope: &RopeTables,
        ops: &dyn StepOps,
        cache: &KvCache,
        logit_rows: Option<&Tensor>,
    ) -> Result<Tensor> {
        let dev = &self.device;
        let eps = self.cfg.rms_norm_eps;
        let (cos, sin) = span(dev, "rope gather", || rope.gather(positions))?;
        let step = Step { cos, sin, ops, cache };
        let x = span(dev, "embedding", || self.embed.index_select(tokens, 0)).ctx(|| "embedding lookup".to_string())?;
        let first_norm = self.layers.first().map_or(&self.norm, |l| &l.input_norm);
        let (mut x, mut h) = span(dev, "input norm", || ops.add_norm(&x, None, first_norm, eps)).ctx(|| "input norm".to_string())?;
        for (i, layer) in self.layers.iter().enumerate() {
            let next_norm = self.layers.get(i + 1).map_or(&self.norm, |l| &l.input_norm);
            (x, h) = self.layer(i, layer, &x, &h, next_norm, &step).ctx(|| format!("layer {i}"))?;
        }
        drop(x);
        if logit_rows.is_some_and(|r| r.elem_count() == 0) {
            // A prompt chunk that does not end its prompt wants no logits (and an empty launch
            // is an error on CUDA).
            return Tensor::zeros((0, self.cfg.vocab_size), DType::F32, dev).ctx(|| "LM head".to_string());
        }
        let last = match logit_rows {
            Some(rows) => h.index_select(rows, 0).ctx(|| "selecting logit rows".to_string())?,
            None => h,
        };
        span(dev, "LM head", || ops.linear(&last, &self.lm_head)?.to_dtype(DType::F32)).ctx(|| "LM head".to_string())
    }

    /// One decoder block on the residual stream `x` and its normed copy `h`; returns the new
    /// residual stream and its norm by `next_norm` (the next block's input norm, or the final
    /// norm), so each residual add is fused with the norm after it.
    fn layer(
        &self,
        index: usize,
        l: &Layer,
        x: &Tensor,
        h: &Tensor,
        next_norm: &Tensor,
        step: &Step<'_>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let Step { cos, sin, ops, cache } = step;
        let cfg = &self.cfg;
        let dev = &self.device;
        let eps = cfg.rms_norm_eps;
        let msg = |e: StudentError| candle_core::Error::Msg(e.to_string());
        let mut qkv = span(dev, "qkv proj", || ops.linear(h, &l.qkv))?;
        if let Some(b) = &l.qkv_bias {
            qkv = qkv.broadcast_add(b)?;
        }
        let q = span(dev, "q/k norm + rope + KV write", || ops.qkv(index, &qkv, (&l.q_norm, &l.k_norm), (cos, sin), cache, cfg))
            .map_err(msg)?;
        drop(qkv);
        let attn = span(dev, "attention", || ops.attend(index, &q, cache, cfg)).map_err(msg)?;
        let o = span(dev, "o proj", || ops.linear(&attn, &l.o))?;
        let (x, h) = span(dev, "residual + post norm", || ops.add_norm(x, Some(&o), &l.post_norm, eps))?;
        let gu = span(dev, "gate/up proj", || ops.linear(&h, &l.gate_up))?;
        let act = span(dev, "silu * up", || ops.silu_mul(&gu))?;
        let down = span(dev, "down proj", || ops.linear(&act, &l.down))?;
        span(dev, "residual + next norm", || ops.add_norm(&x, Some(&down), next_norm, eps))
    }
}

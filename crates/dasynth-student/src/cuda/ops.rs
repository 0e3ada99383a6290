//! The step operations of the CUDA path: the engine's fused kernels, and candle's matrix
//! products where cuBLAS is the right tool (projections, prefill attention scores).

use candle_core::Tensor;

use super::kernels::Kernels;
use crate::config::ModelConfig;
use crate::error::{Result, TensorContext};
use crate::kv_cache::KvCache;
use crate::model::{PrefillSeg, StepOps};
use crate::profile::span;

/// One step's fused operations: slot and position of every packed token (the kernels write
/// keys and values there), the decode tokens' slots and lengths, and the prefill chunks.
pub struct FusedOps<'a> {
    pub kernels: &'a Kernels,
    /// Slot and position of every packed token (u32 `[tokens]`).
    pub slots: Tensor,
    pub positions: Tensor,
    /// Decode tokens (the first packed rows, so their slots lead `slots`): count, and lengths
    /// with this token.
    pub decode: Option<(usize, Tensor)>,
    /// Prefill chunks, packed after the decode tokens.
    pub prefill: Vec<PrefillSeg>,
}

impl StepOps for FusedOps<'_> {
    fn add_norm(&self, x: &Tensor, y: Option<&Tensor>, w: &Tensor, eps: f64) -> candle_core::Result<(Tensor, Tensor)> {
        self.kernels.add_norm(x, y, w, eps)
    }

    fn qkv(
        &self,
        layer: usize,
        qkv: &Tensor,
        norms: (&Tensor, &Tensor),
        rope: (&Tensor, &Tensor),
        cache: &KvCache,
        cfg: &ModelConfig,
    ) -> Result<Tensor> {
        let (kc, vc) = cache.layer(layer);
        self.kernels
            .qk_prep(qkv, norms, rope, (kc, vc), (&self.slots, &self.positions), cfg.rms_norm_eps)
            .ctx(|| format!("layer {layer}: q/k norm, rope and KV write"))
    }

    fn attend(&self, layer: usize, q: &Tensor, cache: &KvCache, cfg: &ModelConfig) -> Result<Tensor> {
        let dev = cache.device();
        let (kc, vc) = cache.layer(layer);
        let mut parts = Vec::with_capacity(1 + self.prefill.len());
        let mut offset = 0;
        if let Some((count, lens)) = &self.decode {
            let out = span(dev, "decode attention", || {
                self.kernels.decode_attention(&q.narrow(0, 0, *count)?, kc, vc, &self.slots.narrow(0, 0, *count)?, lens)
            })
            .ctx(|| format!("layer {layer}: decode attention over {count} sequences"))?;
            parts.push(out);
            offset = *count;
        }
        for seg in &self.prefill {
            let out = span(dev, "prefill attention", || self.prefill_attention(layer, q, offset, seg, cache, cfg))?;
            parts.push(out);
            offset += seg.len;
        }
        match parts.len() {
            1 => Ok(parts.remove(0)),
            _ => Tensor::cat(&parts, 0).ctx(|| format!("layer {layer}: joining attention outputs")),
        }
    }

    fn silu_mul(&self, gu: &Tensor) -> candle_core::Result<Tensor> {
        self.kernels.silu_mul(gu)
    }

    fn linear(&self, x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
        match self.kernels.gemv(x, w) {
            Some(y) => y,
            None => x.matmul(&w.t()?),
        }
    }
}

impl FusedOps<'_> {
    /// One prefill chunk's queries (packed rows `offset..offset + seg.len`) over its slot's
    /// prefix: scores by cuBLAS, the causal softmax by a kernel (no mask tensor, no f32
    /// copies), values by cuBLAS.
    fn prefill_attention(
        &self,
        layer: usize,
        q: &Tensor,
        offset: usize,
        seg: &PrefillSeg,
        cache: &KvCache,
        cfg: &ModelConfig,
    ) -> Result<Tensor> {
        let (hq, hkv, d) = (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim);
        let group = hq / hkv;
        let (n, total) = (seg.len, seg.start + seg.len);
        let (k, v) = cache.prefix(layer, seg.slot, total)?;
        (|| {
            // [n, hq, d] -> [hkv, group * n, d], query heads grouped under their kv head.
            let qs = (q.narrow(0, offset, n)?.reshape((n, hkv, group, d))?.permute((1, 2, 0, 3))?.contiguous()?
                * (1.0 / (d as f64).sqrt()))?
            .reshape((hkv, group * n, d))?;
            let (k, v) = (k.squeeze(0)?, v.squeeze(0)?);
            let scores = qs.matmul(&k.transpose(1, 2)?)?.reshape((hkv * group * n, total))?;
            let probs = self.kernels.causal_softmax(&scores, n, seg.start)?.reshape((hkv, group * n, total))?;
            let out = probs.matmul(&v)?; // [hkv, group * n, d]
            out.reshape((hkv, group, n, d))?.permute((2, 0, 1, 3))?.contiguous()?.reshape((n, hq * d))
        })()
        .ctx(|| format!("layer {layer}: prefill attention of slot {} ({n} tokens at {})", seg.slot, seg.start))
    }
}

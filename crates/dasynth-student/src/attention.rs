//! Grouped-query attention over the KV cache for one packed step.
//!
//! Decoding sequences (one new token each) are attended together: their cached prefixes are
//! gathered into `[batch, kv_heads, max_len_of_batch, dim]`, the query heads of each kv head
//! are grouped (`[batch, kv_heads, group, dim]`, no repeated keys), and a length mask hides
//! each sequence's positions past its own length. Each prefilling chunk attends to its slot's
//! prefix with a causal mask. Scores and softmax are computed in f32.

use candle_core::{DType, Tensor};

use crate::config::ModelConfig;
use crate::error::{Result, TensorContext};
use crate::kv_cache::KvCache;
use crate::model::{PrefillSeg, StepBatch};

/// Masks and gather indices of one step, shared by every layer.
pub struct StepAttention {
    decode: Option<DecodePlan>,
    prefill: Vec<(PrefillSeg, Tensor)>,
}

struct DecodePlan {
    count: usize,
    max_len: usize,
    index: Tensor,
    mask: Tensor,
}

/// Additive mask: 0 where `allowed`, -inf elsewhere.
fn additive(allowed: &Tensor) -> candle_core::Result<Tensor> {
    let zeros = Tensor::zeros(allowed.shape(), DType::F32, allowed.device())?;
    let neg = Tensor::full(f32::NEG_INFINITY, allowed.shape(), allowed.device())?;
    allowed.where_cond(&zeros, &neg)
}

impl StepAttention {
    pub fn plan(batch: &StepBatch, cache: &KvCache) -> Result<StepAttention> {
        let dev = cache.device().clone();
        let decode = if batch.decode.is_empty() {
            None
        } else {
            let count = batch.decode.len();
            let max_len = batch.decode.iter().map(|d| d.len).max().unwrap_or(1);
            let slots: Vec<usize> = batch.decode.iter().map(|d| d.slot).collect();
            let index = cache.gather_index(&slots, max_len)?;
            let lens: Vec<u32> = batch.decode.iter().map(|d| d.len as u32).collect();
            let mask = (|| {
                let lens = Tensor::from_vec(lens, (count, 1), &dev)?;
                let pos = Tensor::arange(0u32, max_len as u32, &dev)?.reshape((1, max_len))?;
                additive(&pos.broadcast_lt(&lens)?)?.reshape((count, 1, 1, max_len))
            })()
            .ctx(|| "decode mask".to_string())?;
            Some(DecodePlan { count, max_len, index, mask })
        };
        let mut prefill = Vec::with_capacity(batch.prefill.len());
        for seg in &batch.prefill {
            let total = seg.start + seg.len;
            let mask = (|| {
                let rows = Tensor::arange(seg.start as u32, total as u32, &dev)?.reshape((seg.len, 1))?;
                let cols = Tensor::arange(0u32, total as u32, &dev)?.reshape((1, total))?;
                additive(&cols.broadcast_le(&rows)?)
            })()
            .ctx(|| "causal mask".to_string())?;
            prefill.push((*seg, mask));
        }
        Ok(StepAttention { decode, prefill })
    }
}

/// Attention output `[tokens, heads * dim]` for queries `[tokens, heads, dim]` (after rope).
pub fn attend(layer: usize, q: &Tensor, cache: &KvCache, plan: &StepAttention, cfg: &ModelConfig) -> Result<Tensor> {
    let (hq, hkv, d) = (cfg.num_heads, cfg.num_kv_heads, cfg.head_dim);
    let group = hq / hkv;
    let scale = 1.0 / (d as f64).sqrt();
    let mut parts = Vec::with_capacity(plan.prefill.len() + 1);
    let mut offset = 0;
    if let Some(dp) = &plan.decode {
        let (k, v) = cache.gather(layer, &dp.index, dp.count, dp.max_len)?;
        let out = (|| {
            let qd = (q.narrow(0, 0, dp.count)?.reshape((dp.count, hkv, group, d))? * scale)?;
            let scores = qd.matmul(&k.transpose(2, 3)?)?.to_dtype(DType::F32)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(&dp.mask)?)?.to_dtype(v.dtype())?;
            probs.matmul(&v)?.reshape((dp.count, hq * d))
        })()
        .ctx(|| format!("layer {layer}: decode attention over {} sequences", dp.count))?;
        parts.push(out);
        offset = dp.count;
    }
    for (seg, mask) in &plan.prefill {
        let total = seg.start + seg.len;
        let (k, v) = cache.prefix(layer, seg.slot, total)?;
        let out = (|| {
            let n = seg.len;
            // [n, hq, d] -> [hkv, group * n, d], query heads grouped under their kv head.
            let qs = (q.narrow(0, offset, n)?.reshape((n, hkv, group, d))?.permute((1, 2, 0, 3))?.contiguous()? * scale)?.reshape((
                hkv,
                group * n,
                d,
            ))?;
            let (k, v) = (k.squeeze(0)?, v.squeeze(0)?);
            let scores = qs.matmul(&k.transpose(1, 2)?)?.to_dtype(DType::F32)?.reshape((hkv, group, n, total))?;
            let probs = candle_nn::ops::softmax_last_dim(&scores.broadcast_add(mask)?)?.to_dtype(v.dtype())?;
            let out = probs.reshape((hkv, group * n, total))?.matmul(&v)?; // [hkv, group * n, d]
            out.reshape((hkv, group, n, d))?.permute((2, 0, 1, 3))?.contiguous()?.reshape((n, hq * d))
        })()
        .ctx(|| format!("layer {layer}: prefill attention of slot {} ({} tokens at {})", seg.slot, seg.len, seg.start))?;
        parts.push(out);
        offset += seg.len;
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    Tensor::cat(&parts, 0).ctx(|| format!("layer {layer}: joining attention outputs"))
}

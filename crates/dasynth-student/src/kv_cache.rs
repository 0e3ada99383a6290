//! The KV cache: a fixed number of slots, each holding one sequence's keys and values for up to
//! `max_len` positions, with the sequence's length kept by the scheduler.
//!
//! Per layer, keys and values are one tensor each, laid out `[slot, kv_head, position, dim]`.
//! A step writes its new tokens through a [`WritePlan`] made once for all layers: the decode
//! tokens (one per sequence) with one `scatter_set` along the position axis over every slot's
//! heads at once (slots without a decode token get the "skip" index), and each prefill chunk
//! with one block copy into its slot. (A scatter over flat rows would be serial in the number
//! of rows on a GPU: candle's kernel parallelises over the axes around the scattered one.)
//! Attention reads a slot's prefix as `[kv_heads, len, dim]`, or gathers the prefixes of a whole
//! decode batch at once. Allocation shrinks the slot count while the device is out of memory.

use candle_core::{DType, Device, Tensor};

use crate::config::ModelConfig;
use crate::error::{Result, StudentError, TensorContext};
use crate::model::StepBatch;

/// Where one step's new keys and values go, shared by every layer.
pub struct WritePlan {
    /// Decode tokens: `(count, row of each slot among them [slots], position of each slot's
    /// token broadcast to [slots, kv_heads, 1, dim], u32::MAX for slots without one)`.
    decode: Option<(usize, Tensor, Tensor)>,
    /// Prefill chunks: `(first packed row, slot, start, len)`.
    prefill: Vec<(usize, usize, usize, usize)>,
}

/// Keys and values of every layer.
pub struct KvCache {
    layers: Vec<(Tensor, Tensor)>,
    slots: usize,
    kv_heads: usize,
    head_dim: usize,
    max_len: usize,
    free: Vec<usize>,
    device: Device,
}

impl KvCache {
    /// Allocates `slots` slots of `max_len` positions, halving `slots` while the device is out of
    /// memory.
    pub fn allocate(cfg: &ModelConfig, device: &Device, dtype: DType, slots: usize, max_len: usize) -> Result<KvCache> {
        let mut slots = slots.max(1);
        loop {
            match Self::try_allocate(cfg, device, dtype, slots, max_len) {
                Ok(c) => return Ok(c),
                Err(e) if e.is_out_of_memory() && slots > 1 => {
                    tracing::warn!(slots, "KV cache does not fit the device; halving the slot count");
                    slots /= 2;
                }
                Err(e) if e.is_out_of_memory() => {
                    let bytes = cfg.kv_bytes_per_token(dtype.size_in_bytes()) * max_len as u64;
                    return Err(StudentError::OutOfMemory { what: "the KV cache".into(), bytes, slots });
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn try_allocate(cfg: &ModelConfig, device: &Device, dtype: DType, slots: usize, max_len: usize) -> Result<KvCache> {
        let rows = slots * cfg.num_kv_heads * max_len;
        let mut layers = Vec::with_capacity(cfg.num_layers);
        for l in 0..cfg.num_layers {
            let k = Tensor::zeros((rows, cfg.head_dim), dtype, device).ctx(|| format!("allocating layer {l} keys"))?;
            let v = Tensor::zeros((rows, cfg.head_dim), dtype, device).ctx(|| format!("allocating layer {l} values"))?;
            layers.push((k, v));
        }
        Ok(KvCache {
            layers,
            slots,
            kv_heads: cfg.num_kv_heads,
            head_dim: cfg.head_dim,
            max_len,
            free: (0..slots).rev().collect(),
            device: device.clone(),
        })
    }

    pub fn slots(&self) -> usize {
        self.slots
    }
    pub fn max_len(&self) -> usize {
        self.max_len
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn free_slots(&self) -> usize {
        self.free.len()
    }

    pub fn take_slot(&mut self) -> Option<usize> {
        self.free.pop()
    }

    pub fn release_slot(&mut self, slot: usize) {
        debug_assert!(!self.free.contains(&slot));
        self.free.push(slot);
    }

    fn base_row(&self, slot: usize, head: usize) -> u32 {
        ((slot * self.kv_heads + head) * self.max_len) as u32
    }

    /// The write plan of `batch` (decode tokens first, then prefill chunks, as packed).
    pub fn write_plan(&self, batch: &StepBatch) -> Result<WritePlan> {
        let decode = if batch.decode.is_empty() {
            None
        } else {
            let mut rows = vec![0u32; self.slots];
            let mut positions = vec![u32::MAX; self.slots];
            for (i, d) in batch.decode.iter().enumerate() {
                rows[d.slot] = i as u32;
                positions[d.slot] = (d.len - 1) as u32;
            }
            let shape = (self.slots, self.kv_heads, 1, self.head_dim);
            let rows = Tensor::from_vec(rows, self.slots, &self.device).ctx(|| "KV write rows".to_string())?;
            let index = Tensor::from_vec(positions, (self.slots, 1, 1, 1), &self.device)
                .and_then(|t| t.broadcast_as(shape))
                .and_then(|t| t.contiguous())
                .ctx(|| "KV write index".to_string())?;
            Some((batch.decode.len(), rows, index))
        };
        let mut offset = batch.decode.len();
        let mut prefill = Vec::with_capacity(batch.prefill.len());
        for p in &batch.prefill {
            prefill.push((offset, p.slot, p.start, p.len));
            offset += p.len;
        }
        Ok(WritePlan { decode, prefill })
    }

    /// Writes the keys and values `[tokens, kv_heads, dim]` of `layer` where `plan` says.
    pub fn write(&self, layer: usize, k: &Tensor, v: &Tensor, plan: &WritePlan) -> Result<()> {
        let (kc, vc) = &self.layers[layer];
        let four = (self.slots, self.kv_heads, self.max_len, self.head_dim);
        for (cache, new, what) in [(kc, k, "keys"), (vc, v, "values")] {
            let view = cache.reshape(four).ctx(|| "KV view".to_string())?;
            if let Some((count, rows, index)) = &plan.decode {
                let src = new
                    .narrow(0, 0, *count)
                    .and_then(|t| t.index_select(rows, 0))
                    .and_then(|t| t.reshape((self.slots, self.kv_heads, 1, self.head_dim)))
                    .ctx(|| format!("layer {layer}: decode {what}"))?;
                view.scatter_set(index, &src, 2).ctx(|| format!("writing layer {layer} decode {what}"))?;
            }
            for &(offset, slot, start, len) in &plan.prefill {
                let src = new
                    .narrow(0, offset, len)
                    .and_then(|t| t.transpose(0, 1))
                    .and_then(|t| t.contiguous())
                    .and_then(|t| t.unsqueeze(0))
                    .ctx(|| format!("layer {layer}: prefill {what} of slot {slot}"))?;
                view.narrow(0, slot, 1)
                    .and_then(|dst| dst.slice_set(&src, 2, start))
                    .ctx(|| format!("writing layer {layer} {what} of slot {slot} at {start}"))?;
            }
        }
        Ok(())
    }

    /// The key and value tensors of `layer`, `[slots * kv_heads * max_len, dim]` each.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn layer(&self, layer: usize) -> (&Tensor, &Tensor) {
        let (k, v) = &self.layers[layer];
        (k, v)
    }

    /// Keys and values of positions `0..len` of `slot`: `[1, kv_heads, len, dim]` each.
    pub fn prefix(&self, layer: usize, slot: usize, len: usize) -> Result<(Tensor, Tensor)> {
        let view = |t: &Tensor| {
            t.reshape((self.slots, self.kv_heads, self.max_len, self.head_dim))
                .and_then(|t| t.narrow(0, slot, 1))
                .and_then(|t| t.narrow(2, 0, len))
                .and_then(|t| t.contiguous())
        };
        let (kc, vc) = &self.layers[layer];
        Ok((view(kc).ctx(|| format!("layer {layer} key prefix"))?, view(vc).ctx(|| format!("layer {layer} value prefix"))?))
    }

    /// The gather index of positions `0..len` of each of `slots`, flattened.
    pub fn gather_index(&self, slots: &[usize], len: usize) -> Result<Tensor> {
        let bases: Vec<u32> =
            slots.iter().flat_map(|&s| (0..self.kv_heads).map(move |h| (s, h))).map(|(s, h)| self.base_row(s, h)).collect();
        let n = bases.len();
        let base = Tensor::from_vec(bases, (n, 1), &self.device).ctx(|| "KV gather base".to_string())?;
        let offsets = Tensor::arange(0u32, len as u32, &self.device).ctx(|| "KV gather offsets".to_string())?;
        base.broadcast_add(&offsets.reshape((1, len)).ctx(|| "KV gather offsets".to_string())?)
            .and_then(|t| t.flatten_all())
            .ctx(|| "KV gather index".to_string())
    }

    /// Keys and values at a gather index of `batch` slots and `len` positions:
    /// `[batch, kv_heads, len, dim]` each.
    pub fn gather(&self, layer: usize, index: &Tensor, batch: usize, len: usize) -> Result<(Tensor, Tensor)> {
        let (kc, vc) = &self.layers[layer];
        let g = |t: &Tensor| t.index_select(index, 0).and_then(|t| t.reshape((batch, self.kv_heads, len, self.head_dim)));
        Ok((g(kc).ctx(|| format!("layer {layer} key gather"))?, g(vc).ctx(|| format!("layer {layer} value gather"))?))
    }

    /// Copies positions `0..len` of slot `from` to slot `to` in every layer (shared prefill).
    pub fn copy_prefix(&self, from: usize, to: usize, len: usize) -> Result<()> {
        for (l, (kc, vc)) in self.layers.iter().enumerate() {
            for t in [kc, vc] {
                let four = t.reshape((self.slots, self.kv_heads, self.max_len, self.head_dim)).ctx(|| "KV view".to_string())?;
                let src = four.narrow(0, from, 1).and_then(|s| s.narrow(2, 0, len)).and_then(|s| s.force_contiguous());
                let src = src.ctx(|| format!("layer {l}: reading slot {from}"))?;
                let dst = four.narrow(0, to, 1).ctx(|| format!("layer {l}: slot {to}"))?;
                dst.slice_set(&src, 2, 0).ctx(|| format!("layer {l}: copying slot {from} to {to}"))?;
            }
        }
        Ok(())
    }
}

//! Launchers for the engine's own kernels (`kernels.cu`, compiled to PTX by `build.rs`).
//!
//! Tensors are passed to the kernels as raw device pointers (base of their storage plus their
//! layout's offset), so one launcher serves every dtype; each must be contiguous. Lengths,
//! slots and positions stay on the device, which is what lets a captured CUDA graph replay
//! them as sequences grow.

use candle_core::cuda_backend::cudarc::driver::sys::CUdevice_attribute;
use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::CudaStorageSlice;
use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaStream, DevicePtr, LaunchConfig, PushKernelArg};
use candle_core::{DType, Device, Storage, Tensor};

use crate::config::ModelConfig;

const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/student_kernels.ptx"));
const MODULE: &str = "dasynth_student_kernels";
/// The slot of a padding row: its keys are not written and it attends to nothing.
pub const SKIP: u32 = u32::MAX;

/// The kernels' tuning, read once from the environment when they load, for measuring the
/// variants (`bench/student/run.sh lanes` and `attn`); the defaults are the measured best.
///
/// - Lanes of a warp per cached position in decode attention (`DASYNTH_STUDENT_ATTN_LANES`:
///   16 unless 32 or 8). Fewer lanes a position means fewer shuffles per dot product and wider
///   loads (on an H100, Qwen3-8B at 2k context: batch 64 2,917 → 3,563 tok/s, batch 128 3,445 →
///   4,705 going from 32 to 16 lanes; batch 1 unchanged), and more registers: a variant whose
///   per-lane query and sum (`group * dim / lanes` floats each) would pass 64 falls back to 32.
/// - Decode attention's launch shape: up to 64 chunks a sequence (`DASYNTH_STUDENT_ATTN_SPLITS`)
///   of 4 warps each (`DASYNTH_STUDENT_ATTN_WARPS`: 4, 8 or 16), enough blocks to fill the GPU
///   four times over; the last block of a sequence's chunks merges them when there are at most
///   4 (`DASYNTH_STUDENT_ATTN_MERGE_IN_BLOCK`; batch 64 on an H100: 3,782 → 3,884 tok/s, a
///   launch a layer saved), a second kernel otherwise (the 64 chunks of batch 1 merge faster
///   spread over the GPU than in one block: 152 → 136 tok/s merged in the block).
/// - The GEMV's weight loads (`DASYNTH_STUDENT_GEMV`): `nc`, the default, streams them past L1,
///   which then keeps the activations every warp of an SM reads (batch 1 on an H100 154.5 →
///   160.4 tok/s against the kernel before); `plain` reads them through L1 in the same loop;
///   `pipe` streams them and issues a lane's next loads before it uses the current ones (156.5).
#[derive(Clone, Copy, Debug)]
struct Tuning {
    lanes: usize,
    warps: u32,
    max_splits: usize,
    merge_in_block: usize,
    gemv: &'static str,
}

impl Tuning {
    fn from_env() -> Tuning {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_string());
        let num = |name: &str| var(name).and_then(|v| v.parse::<usize>().ok());
        Tuning {
            lanes: num("DASYNTH_STUDENT_ATTN_LANES").filter(|l| matches!(l, 32 | 8)).unwrap_or(16),
            warps: num("DASYNTH_STUDENT_ATTN_WARPS").filter(|w| matches!(w, 8 | 16)).map_or(4, |w| w as u32),
            max_splits: num("DASYNTH_STUDENT_ATTN_SPLITS").map_or(64, |n| n.clamp(1, 64)),
            merge_in_block: num("DASYNTH_STUDENT_ATTN_MERGE_IN_BLOCK").map_or(4, |n| n.min(64)),
            gemv: match var("DASYNTH_STUDENT_GEMV").as_deref() {
                Some("plain") => "",
                Some("pipe") => "_pipe",
                _ => "_nc",
            },
        }
    }

    /// The decode-attention variant's suffix for `group` query heads of `head_dim`: the lanes
    /// asked for, else 16, else 32 (no suffix), the first whose registers fit.
    fn attention_suffix(&self, head_dim: usize, group: usize) -> &'static str {
        let fits = |lanes: usize| group * head_dim / lanes <= 64;
        match self.lanes {
            32 => "",
            8 if fits(8) => "_l8",
            _ if fits(16) => "_l16",
            _ => "",
        }
    }
}

/// Products with at most this many rows of activations use the engine's GEMV kernel.
pub const GEMV_MAX_ROWS: usize = 8;

/// The kernels for one model's shapes on one device.
pub struct Kernels {
    stream: Arc<CudaStream>,
    add_norm: CudaFunction,
    qk_prep: CudaFunction,
    silu_mul: CudaFunction,
    causal_softmax: CudaFunction,
    /// `gemv[m - 1]` multiplies `m` rows.
    gemv: Vec<CudaFunction>,
    partial: CudaFunction,
    combine: CudaFunction,
    /// u32 `[slots * kv_heads]`, zero between launches: how many chunks of each (sequence, kv
    /// head) are done, so that the last one merges them; `None` when it could not be allocated.
    counters: Option<Tensor>,
    tuning: Tuning,
    kv_heads: usize,
    heads: usize,
    dim: usize,
    max_len: usize,
    sms: usize,
}

fn err(message: String) -> candle_core::Error {
    candle_core::Error::Msg(message)
}

impl Kernels {
    /// The kernels for `cfg` in `dtype` on `device` for a cache of `slots` slots of `max_len`
    /// positions, or `None` when the shapes are outside what they cover (head dims 32, 64, 128;
    /// 1, 2, 4 or 8 query heads per kv head), in which case the engine keeps candle's path.
    pub fn new(device: &Device, dtype: DType, cfg: &ModelConfig, max_len: usize, slots: usize) -> Option<Kernels> {
        let Device::Cuda(dev) = device else { return None };
        let suffix = match dtype {
            DType::F32 => "f32",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
            _ => return None,
        };
        let group = cfg.num_heads / cfg.num_kv_heads;
        if !matches!(cfg.head_dim, 32 | 64 | 128) || !matches!(group, 1 | 2 | 4 | 8) || !cfg.num_heads.is_multiple_of(cfg.num_kv_heads) {
            return None;
        }
        let sms = dev
            .cuda_stream()
            .context()
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_or(132, |n| n.max(1) as usize);
        let tuning = Tuning::from_env();
        let counters = Tensor::zeros(slots.max(1) * cfg.num_kv_heads, DType::U32, device)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot allocate decode attention's chunk counters; merging in a second kernel"))
            .ok();
        let load = |name: &str| match dev.get_or_load_custom_func(name, MODULE, PTX) {
            Ok(f) => Some(f.into_cuda_function()),
            Err(e) => {
                tracing::warn!(kernel = name, error = %e, "cannot load the engine's CUDA kernels; using candle's ops");
                None
            }
        };
        Some(Kernels {
            stream: dev.cuda_stream(),
            add_norm: load(&format!("add_rms_norm_{suffix}"))?,
            qk_prep: load(&format!("qk_prep_{suffix}"))?,
            silu_mul: load(&format!("silu_mul_{suffix}"))?,
            causal_softmax: load(&format!("causal_softmax_{suffix}"))?,
            gemv: (1..=GEMV_MAX_ROWS).map(|m| load(&format!("gemv{}_{suffix}_m{m}", tuning.gemv))).collect::<Option<_>>()?,
            partial: load(&format!(
                "attn_partial_{suffix}_d{}_g{group}{}",
                cfg.head_dim / 32,
                tuning.attention_suffix(cfg.head_dim, group)
            ))?,
            combine: load(&format!("attn_combine_{suffix}"))?,
            counters,
            tuning,
            kv_heads: cfg.num_kv_heads,
            heads: cfg.num_heads,
            dim: cfg.head_dim,
            max_len,
            sms,
        })
    }

    /// `x + y` (`x` itself when `y` is `None`) and its RMSNorm with weight `w`, rows of
    /// `[rows, n]`.
    pub fn add_norm(&self, x: &Tensor, y: Option<&Tensor>, w: &Tensor, eps: f64) -> candle_core::Result<(Tensor, Tensor)> {
        let (rows, n) = x.dims2()?;
        // SAFETY (both): every element is written by the kernel below.
        let h = unsafe { Tensor::empty((rows, n), x.dtype(), x.device())? };
        let sum = match y {
            Some(_) => unsafe { Tensor::empty((rows, n), x.dtype(), x.device())? },
            None => x.clone(),
        };
        let args: Vec<&Tensor> = match y {
            Some(y) => vec![x, y, w, &sum, &h],
            None => vec![x, w, &h],
        };
        with_ptrs(&args, |p| {
            let (x_p, y_p, w_p, sum_p, h_p) = match y {
                Some(_) => (p[0], p[1], p[2], p[3], p[4]),
                None => (p[0], 0, p[1], 0, p[2]),
            };
            let (n32, eps) = (n as i32, eps as f32);
            // 16-byte vectors when every row starts on a 16-byte boundary: then as many
            // threads as vectors in a row (up to 1024), so the row is read in one step.
            let elems16 = 16 / x.dtype().size_in_bytes();
            let vec = n.is_multiple_of(elems16) && p.iter().all(|&ptr| ptr == 0 || ptr.is_multiple_of(16));
            let threads = if vec { (n / elems16).div_ceil(32).clamp(1, 32) * 32 } else { 256 };
            let cfg =
                LaunchConfig { grid_dim: (rows as u32, 1, 1), block_dim: (threads as u32, 1, 1), shared_mem_bytes: ((n + 32) * 4) as u32 };
            let vec32 = i32::from(vec);
            let mut b = self.stream.launch_builder(&self.add_norm);
            b.arg(&x_p).arg(&y_p).arg(&w_p).arg(&sum_p).arg(&h_p).arg(&n32).arg(&eps).arg(&vec32);
            // SAFETY: x, y, sum and h are rows * n elements, w n; a null y (and sum) means no add;
            // with vec, n is a whole number of 16-byte vectors and every pointer 16-byte aligned.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(format!("add_rms_norm: {e}")))
        })?;
        Ok((sum, h))
    }

    /// From the fused projection `qkv` `[tokens, (heads + 2 kv_heads) * dim]`: RMSNorm of every
    /// q and k head (weights `norms`), rotary embedding by `rope` (cos, sin `[tokens, dim / 2]`),
    /// keys and values written into `cache` (keys, values) at each token's slot and position
    /// (`places`); returns the queries `[tokens, heads, dim]`.
    pub fn qk_prep(
        &self,
        qkv: &Tensor,
        norms: (&Tensor, &Tensor),
        rope: (&Tensor, &Tensor),
        cache: (&Tensor, &Tensor),
        places: (&Tensor, &Tensor),
        eps: f64,
    ) -> candle_core::Result<Tensor> {
        let tokens = qkv.dim(0)?;
        // SAFETY: every element is written by the kernel below.
        let q = unsafe { Tensor::empty((tokens, self.heads, self.dim), qkv.dtype(), qkv.device())? };
        if tokens == 0 {
            return Ok(q);
        }
        with_ptrs(&[qkv, norms.0, norms.1, rope.0, rope.1, &q, cache.0, cache.1, places.0, places.1], |p| {
            let (heads, kv_heads, max_len, eps) = (self.heads as i32, self.kv_heads as i32, self.max_len as i32, eps as f32);
            let cfg = LaunchConfig {
                grid_dim: (tokens as u32, (self.heads + self.kv_heads) as u32, 1),
                block_dim: (self.dim as u32, 1, 1),
                shared_mem_bytes: 0,
            };
            let mut b = self.stream.launch_builder(&self.qk_prep);
            for ptr in &p {
                b.arg(ptr);
            }
            b.arg(&heads).arg(&kv_heads).arg(&max_len).arg(&eps);
            // SAFETY: qkv is tokens rows of (heads + 2 kv_heads) * dim, cos/sin tokens rows of
            // dim / 2, q tokens * heads * dim, the caches slots * kv_heads * max_len rows of dim,
            // one slot and position per token (the scheduler's invariants); dim <= 256.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(format!("qk_prep: {e}")))
        })?;
        Ok(q)
    }

    /// `silu(gate) * up` of the fused projection `[rows, 2 * n]`.
    pub fn silu_mul(&self, gu: &Tensor) -> candle_core::Result<Tensor> {
        let (rows, two_n) = gu.dims2()?;
        let n = two_n / 2;
        // SAFETY: every element is written by the kernel below.
        let out = unsafe { Tensor::empty((rows, n), gu.dtype(), gu.device())? };
        let total = rows * n;
        if total == 0 {
            return Ok(out);
        }
        with_ptrs(&[gu, &out], |p| {
            let (rows32, n32) = (rows as i32, n as i32);
            let cfg = LaunchConfig { grid_dim: (total.div_ceil(256) as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
            let mut b = self.stream.launch_builder(&self.silu_mul);
            b.arg(&p[0]).arg(&p[1]).arg(&rows32).arg(&n32);
            // SAFETY: gu is rows * 2n elements, out rows * n.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(format!("silu_mul: {e}")))
        })?;
        Ok(out)
    }

    /// `x w^T` for `x` `[rows, k]` and `w` `[n, k]` with the GEMV kernel when `rows` is at most
    /// [`GEMV_MAX_ROWS`] (decode of small batches, where cuBLAS reads the weights at a fraction
    /// of the memory bandwidth); `None` otherwise.
    pub fn gemv(&self, x: &Tensor, w: &Tensor) -> Option<candle_core::Result<Tensor>> {
        let (rows, k) = x.dims2().ok()?;
        let (n, wk) = w.dims2().ok()?;
        let elems16 = 16 / x.dtype().size_in_bytes();
        if rows == 0
            || rows > GEMV_MAX_ROWS
            || k != wk
            || !k.is_multiple_of(elems16)
            || !x.is_contiguous()
            || !w.is_contiguous()
            || x.dtype() != w.dtype()
        {
            return None;
        }
        // The kernel reads 16-byte vectors: both tensors must start on a 16-byte boundary.
        let aligned = |t: &Tensor| (t.layout().start_offset() * t.dtype().size_in_bytes()).is_multiple_of(16);
        if !aligned(x) || !aligned(w) {
            return None;
        }
        Some((|| {
            // SAFETY: every element is written by the kernel below.
            let y = unsafe { Tensor::empty((rows, n), x.dtype(), x.device())? };
            with_ptrs(&[x, w, &y], |p| {
                let (n32, k32) = (n as i32, k as i32);
                let cfg = LaunchConfig { grid_dim: (n.div_ceil(8) as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
                let mut b = self.stream.launch_builder(&self.gemv[rows - 1]);
                b.arg(&p[0]).arg(&p[1]).arg(&p[2]).arg(&n32).arg(&k32);
                // SAFETY: x is rows * k elements, w n * k, y rows * n; k is a whole number of
                // 16-byte vectors and both start 16-byte aligned (device allocations are).
                unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(format!("gemv: {e}")))
            })?;
            Ok(y)
        })())
    }

    /// Softmax of prefill attention scores `[rows, total]` (row `r` is query `r % n` of a chunk
    /// starting at position `start`, which sees positions `0..=start + r % n`).
    pub fn causal_softmax(&self, scores: &Tensor, n: usize, start: usize) -> candle_core::Result<Tensor> {
        let (rows, total) = scores.dims2()?;
        // SAFETY: every element is written by the kernel below.
        let out = unsafe { Tensor::empty((rows, total), scores.dtype(), scores.device())? };
        if rows == 0 {
            return Ok(out);
        }
        with_ptrs(&[scores, &out], |p| {
            let (n32, start32, total32) = (n as i32, start as i32, total as i32);
            let cfg = LaunchConfig { grid_dim: (rows as u32, 1, 1), block_dim: (256, 1, 1), shared_mem_bytes: 0 };
            let mut b = self.stream.launch_builder(&self.causal_softmax);
            b.arg(&p[0]).arg(&p[1]).arg(&n32).arg(&start32).arg(&total32);
            // SAFETY: scores and out are rows * total elements.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(format!("causal_softmax: {e}")))
        })?;
        Ok(out)
    }

    /// Decode attention of queries `[batch, heads * dim]` (one token each, after rope) over the
    /// cached positions `0..lens[i]` of `slots[i]`; returns `[batch, heads * dim]`.
    pub fn decode_attention(&self, q: &Tensor, kc: &Tensor, vc: &Tensor, slots: &Tensor, lens: &Tensor) -> candle_core::Result<Tensor> {
        let batch = q.dim(0)?;
        let device = q.device();
        let Tuning { warps, max_splits, merge_in_block, .. } = self.tuning;
        // Enough blocks to fill the GPU four times over; each split is a contiguous chunk.
        let blocks = batch * self.kv_heads;
        let nsplit = (4 * self.sms).div_ceil(blocks.max(1)).clamp(1, max_splits);
        // The last block of a sequence's chunks merges them (the counters cover every slot, and
        // a batch never has more sequences than slots), or a second kernel does.
        let counters = self.counters.as_ref().filter(|c| nsplit <= merge_in_block && c.elem_count() >= blocks);
        let rows = batch * self.heads;
        // SAFETY (all three): every element is written by the kernels below before it is read
        // (acc and ml not at all when a single chunk is merged in its block).
        let acc = unsafe { Tensor::empty((rows * nsplit, self.dim), DType::F32, device)? };
        let ml = unsafe { Tensor::empty((rows * nsplit, 2), DType::F32, device)? };
        let out = unsafe { Tensor::empty((batch, self.heads * self.dim), q.dtype(), device)? };
        let scale = 1.0f32 / (self.dim as f32).sqrt();
        let mut args = vec![q, kc, vc, slots, lens, &acc, &ml, &out];
        args.extend(counters);
        with_ptrs(&args, |p| {
            let (kv_heads, max_len, dim, ns) = (self.kv_heads as i32, self.max_len as i32, self.dim as i32, nsplit as i32);
            let counters_p = p.get(8).copied().unwrap_or(0);
            let group = (self.heads / self.kv_heads) as u32;
            let smem_of = |w: u32| w * group * (self.dim as u32 + 2) * 4;
            // At most the 48 KiB of shared memory a block gets without opting in.
            let warps = [warps, warps / 2, 4].into_iter().find(|&w| w <= 4 || smem_of(w) <= 48 * 1024).unwrap_or(4);
            let cfg = LaunchConfig {
                grid_dim: (nsplit as u32, self.kv_heads as u32, batch as u32),
                block_dim: (32 * warps, 1, 1),
                shared_mem_bytes: smem_of(warps),
            };
            let mut b = self.stream.launch_builder(&self.partial);
            for ptr in &p[..7] {
                b.arg(ptr);
            }
            b.arg(&counters_p).arg(&p[7]).arg(&kv_heads).arg(&max_len).arg(&scale);
            // SAFETY: q holds batch * heads rows of dim, the caches slots * kv_heads * max_len
            // rows, slots/lens one u32 per sequence (lens <= max_len), acc and ml
            // batch * heads * nsplit rows, out batch * heads rows of dim, the counters (when
            // given) batch * kv_heads zeros; the block's shared memory is sized for its warps,
            // which also holds the merge's 2 * nsplit * group floats (nsplit <= 64, warps >= 4).
            unsafe { b.launch(cfg) }.map_err(|e| err(format!("attn_partial: {e}")))?;
            if counters_p != 0 {
                return Ok(());
            }
            let cfg =
                LaunchConfig { grid_dim: (self.heads as u32, batch as u32, 1), block_dim: (self.dim as u32, 1, 1), shared_mem_bytes: 0 };
            let mut b = self.stream.launch_builder(&self.combine);
            b.arg(&p[5]).arg(&p[6]).arg(&p[7]).arg(&ns).arg(&dim);
            // SAFETY: acc/ml as written above, out batch * heads rows of dim.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| err(format!("attn_combine: {e}")))
        })?;
        Ok(out)
    }
}

/// Calls `f` with the device address of each tensor's first element, holding their storage
/// locks meanwhile. Every tensor must be a contiguous CUDA tensor.
pub(super) fn with_ptrs<R>(tensors: &[&Tensor], f: impl FnOnce(Vec<u64>) -> candle_core::Result<R>) -> candle_core::Result<R> {
    let guards: Vec<_> = tensors.iter().map(|t| t.storage_and_layout()).collect();
    let mut ptrs = Vec::with_capacity(guards.len());
    for (i, (storage, layout)) in guards.iter().enumerate() {
        let Storage::Cuda(cs) = &**storage else { return Err(err(format!("kernel argument {i} is not on a CUDA device"))) };
        let (start, _) = layout.contiguous_offsets().ok_or_else(|| err(format!("kernel argument {i} is not contiguous")))?;
        let stream = cs.device.cuda_stream();
        let (base, size) = match &cs.slice {
            CudaStorageSlice::F32(s) => (s.device_ptr(&stream).0, 4),
            CudaStorageSlice::BF16(s) => (s.device_ptr(&stream).0, 2),
            CudaStorageSlice::F16(s) => (s.device_ptr(&stream).0, 2),
            CudaStorageSlice::U32(s) => (s.device_ptr(&stream).0, 4),
            _ => return Err(err(format!("kernel argument {i} has dtype {:?}", cs.dtype()))),
        };
        ptrs.push(base + (start * size) as u64);
    }
    // The guards (locks on every tensor's storage) live until `f` has launched.
    f(ptrs)
}

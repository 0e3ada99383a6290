//! Token sampling in one kernel launch per step (`sample.cu`): greedy rows take the first
//! index of their largest logit; the others draw from the temperature-scaled distribution cut
//! to top-k and then top-p, with the thresholds found by radix select over the weights' bits
//! and the draw by inverse CDF at the row's uniform number. The definition is
//! [`crate::sampler`]'s, which does the same with a few hundred of candle's ops.

use std::sync::Arc;

use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use candle_core::{DType, Device, Tensor};

use super::kernels::with_ptrs;
use crate::sampler::SampleRow;

const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/student_sample.ptx"));
const MODULE: &str = "dasynth_student_sample";

/// The sampling kernel, loaded once (the engine keeps one in its CUDA runner).
pub struct Sampler {
    func: CudaFunction,
    stream: Arc<CudaStream>,
}

impl Sampler {
    /// The kernel on `device`, or `None` when it is not a CUDA device or the kernel cannot be
    /// loaded.
    pub fn new(device: &Device) -> Option<Sampler> {
        let Device::Cuda(dev) = device else { return None };
        match dev.get_or_load_custom_func("sample_rows", MODULE, PTX) {
            Ok(f) => Some(Sampler { func: f.into_cuda_function(), stream: dev.cuda_stream() }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot load the sampling kernel; sampling with candle's ops");
                None
            }
        }
    }

    /// One token per row of `logits` (`[rows, vocab]` f32 on this device).
    pub fn sample(&self, logits: &Tensor, rows: &[SampleRow]) -> candle_core::Result<Vec<u32>> {
        let (n, vocab) = logits.dims2()?;
        if n != rows.len() {
            candle_core::bail!("{n} rows of logits for {} samples", rows.len());
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let logits = logits.to_dtype(DType::F32)?.contiguous()?;
        let params: Vec<f32> = rows
            .iter()
            .flat_map(|r| [r.temperature, r.top_p, if r.top_k == 0 { 0.0 } else { r.top_k.min(vocab) as f32 }, r.uniform])
            .collect();
        let params = Tensor::from_vec(params, (n, 4), logits.device())?;
        // SAFETY: every element is written by the kernel below.
        let out = unsafe { Tensor::empty(n, DType::U32, logits.device())? };
        with_ptrs(&[&logits, &params, &out], |p| {
            let vocab32 = vocab as i32;
            let cfg = LaunchConfig { grid_dim: (n as u32, 1, 1), block_dim: (1024, 1, 1), shared_mem_bytes: 0 };
            let mut b = self.stream.launch_builder(&self.func);
            b.arg(&p[0]).arg(&p[1]).arg(&p[2]).arg(&vocab32);
            // SAFETY: logits hold n * vocab floats, params n * 4, out n; one block per row.
            unsafe { b.launch(cfg) }.map(|_| ()).map_err(|e| candle_core::Error::Msg(format!("sample_rows: {e}")))
        })?;
        out.to_vec1()
    }
}

/// One token per row of `logits` (`[rows, vocab]` f32 on a CUDA device), loading the kernel
/// for this call (benchmarks; the engine keeps a [`Sampler`]); `None` when the logits are not
/// on a CUDA device or the kernel cannot be loaded.
pub fn sample(logits: &Tensor, rows: &[SampleRow]) -> Option<candle_core::Result<Vec<u32>>> {
    Sampler::new(logits.device()).map(|s| s.sample(logits, rows))
}

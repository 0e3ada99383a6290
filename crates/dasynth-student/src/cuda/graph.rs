//! Decode steps as CUDA graphs, and the fused eager path for every other step.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::cuda_backend::CudaDevice;
use candle_core::cuda_backend::cudarc::driver::sys::{CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode};
use candle_core::cuda_backend::cudarc::driver::{CudaEvent, CudaGraph};
use candle_core::{DType, Device, Tensor};

use super::kernels::{Kernels, SKIP};
use super::ops::FusedOps;
use super::sample::Sampler;
use crate::error::{Result, StudentError, TensorContext};
use crate::kv_cache::KvCache;
use crate::model::{Qwen3, StepBatch};
use crate::rope::RopeTables;

/// Batch sizes a decode graph is captured for; a step is padded up to the next one.
fn bucket(count: usize, max: usize) -> Option<usize> {
    let mut b = 1;
    while b < count {
        b = match b {
            0..=7 => b * 2,
            8..=63 => b + 8 * (b / 16).max(1),
            64..=255 => b + 32,
            _ => b + 64,
        };
    }
    (b <= max).then_some(b)
}

/// A captured decode step of one batch bucket, with its input and output buffers.
struct DecodeGraph {
    exec: CudaGraph,
    /// u32 `[4 * bucket]`: tokens, positions, slots, lengths.
    inputs: Tensor,
    /// f32 `[bucket, vocab]`.
    logits: Tensor,
}

// SAFETY: a graph is only touched under the model's mutex, by one thread at a time, and its
// stream is the device's one stream; CUDA graph execs may be launched from any thread bound
// to their context (cudarc binds it on every call).
unsafe impl Send for DecodeGraph {}

/// The fused kernels, and the decode graphs when enabled.
pub struct CudaRunner {
    kernels: Kernels,
    /// The sampling kernel; `None` (candle's ops sample) when it could not be loaded.
    sampler: Option<Sampler>,
    dev: CudaDevice,
    graphs: Option<HashMap<usize, DecodeGraph>>,
    max_graph_batch: usize,
    /// `DASYNTH_STUDENT_GRAPH_TIMING=1`: the GPU time of every graph replay against the time
    /// between replays (the rest is the host's share of a step), printed when the runner drops.
    timing: Option<ReplayTiming>,
}

/// GPU time of decode-graph replays (events around each launch) and the wall time between them.
#[derive(Default)]
struct ReplayTiming {
    pending: Option<(CudaEvent, CudaEvent)>,
    last_launch: Option<Instant>,
    replays: u64,
    gpu_ms: f64,
    period_ms: f64,
}

impl ReplayTiming {
    /// Around one replay: `launch` between two events; the previous replay's events are read
    /// (its step has been sampled, so they have completed).
    fn around(&mut self, dev: &CudaDevice, launch: impl FnOnce() -> Result<()>) -> Result<()> {
        if let Some((a, b)) = self.pending.take()
            && let Ok(ms) = a.elapsed_ms(&b)
        {
            self.gpu_ms += f64::from(ms);
            self.replays += 1;
        }
        let now = Instant::now();
        if let Some(last) = self.last_launch.replace(now) {
            self.period_ms += now.duration_since(last).as_secs_f64() * 1e3;
        }
        let stream = dev.cuda_stream();
        let record = || stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).ok();
        let start = record();
        launch()?;
        self.pending = start.zip(record());
        Ok(())
    }
}

impl Drop for CudaRunner {
    fn drop(&mut self) {
        if let Some(t) = &self.timing
            && t.replays > 0
        {
            let n = t.replays as f64;
            eprintln!(
                "decode graph replays: {} measured, {:.3} ms of GPU each, {:.3} ms between launches",
                t.replays,
                t.gpu_ms / n,
                t.period_ms / n
            );
        }
    }
}

impl CudaRunner {
    /// The runner for `model` with a cache of `slots` slots of `max_len`, or `None` when the
    /// device is not CUDA or the kernels do not cover the model's shapes.
    pub fn new(model: &Qwen3, slots: usize, max_len: usize, graphs: bool) -> Option<CudaRunner> {
        let Device::Cuda(dev) = model.device() else { return None };
        let kernels = Kernels::new(model.device(), model.dtype(), model.config(), max_len, slots)?;
        Some(CudaRunner {
            kernels,
            sampler: Sampler::new(model.device()),
            dev: dev.clone(),
            graphs: graphs.then(HashMap::new),
            max_graph_batch: slots.min(512),
            timing: (std::env::var("DASYNTH_STUDENT_GRAPH_TIMING").as_deref() == Ok("1")).then(ReplayTiming::default),
        })
    }

    /// The sampling kernel, when it loaded.
    pub fn sampler(&self) -> Option<&Sampler> {
        self.sampler.as_ref()
    }

    /// Runs one step: a decode-only step through its bucket's graph, any other eagerly with
    /// the fused kernels.
    pub fn forward(&mut self, model: &Qwen3, batch: &StepBatch, cache: &KvCache, rope: &RopeTables) -> Result<Tensor> {
        let count = batch.decode.len();
        if batch.prefill.is_empty()
            && count > 0
            && self.graphs.is_some()
            && !crate::profile::on()
            && let Some(b) = bucket(count, self.max_graph_batch)
        {
            return self.decode_graph(model, batch, b, cache, rope);
        }
        self.eager(model, batch, cache, rope)
    }

    fn eager(&self, model: &Qwen3, batch: &StepBatch, cache: &KvCache, rope: &RopeTables) -> Result<Tensor> {
        let (t, count) = (batch.tokens.len(), batch.decode.len());
        let places = batch.token_places();
        let mut host = Vec::with_capacity(3 * t + count + batch.logit_rows.len());
        host.extend_from_slice(&batch.tokens);
        host.extend(places.iter().map(|&(_, p)| p as u32));
        host.extend(places.iter().map(|&(s, _)| s as u32));
        host.extend(batch.decode.iter().map(|d| d.len as u32));
        host.extend_from_slice(&batch.logit_rows);
        let buf = Tensor::from_vec(host, 3 * t + count + batch.logit_rows.len(), model.device()).ctx(|| "step inputs".to_string())?;
        let part = |at: usize, n: usize| buf.narrow(0, at, n).ctx(|| "step inputs".to_string());
        let ops = FusedOps {
            kernels: &self.kernels,
            slots: part(2 * t, t)?,
            positions: part(t, t)?,
            decode: if count > 0 { Some((count, part(3 * t, count)?)) } else { None },
            prefill: batch.prefill.clone(),
        };
        let rows = part(3 * t + count, batch.logit_rows.len())?;
        model.run(&part(0, t)?, &ops.positions, rope, &ops, cache, Some(&rows))
    }

    fn decode_graph(&mut self, model: &Qwen3, batch: &StepBatch, b: usize, cache: &KvCache, rope: &RopeTables) -> Result<Tensor> {
        let count = batch.decode.len();
        let mut host = vec![0u32; 4 * b];
        host[2 * b..3 * b].fill(SKIP);
        for (i, d) in batch.decode.iter().enumerate() {
            host[i] = batch.tokens[i];
            host[b + i] = (d.len - 1) as u32;
            host[2 * b + i] = d.slot as u32;
            host[3 * b + i] = d.len as u32;
        }
        let host = Tensor::from_vec(host, 4 * b, model.device()).ctx(|| "decode inputs".to_string())?;
        if let Some(g) = self.graphs.as_ref().and_then(|g| g.get(&b)) {
            g.inputs.slice_set(&host, 0, 0).ctx(|| "decode inputs".to_string())?;
            let launch = || g.exec.launch().map_err(|e| cuda_error(format!("launching the decode graph of batch {b}: {e}")));
            match self.timing.as_mut() {
                Some(t) => t.around(&self.dev, launch)?,
                None => launch()?,
            }
            return g.logits.narrow(0, 0, count).ctx(|| "decode logits".to_string());
        }
        // The first step of this bucket: run it eagerly (its logits are this step's), then
        // capture the same work into a graph.
        let logits = Tensor::zeros((b, model.config().vocab_size), DType::F32, model.device()).ctx(|| "decode logits".to_string())?;
        let _param_cache = self.dev.enable_cuda_graph_htod_cache();
        self.decode_into(model, &host, &logits, b, cache, rope)?;
        let stream = self.dev.cuda_stream();
        let captured = stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(|e| cuda_error(format!("starting a capture: {e}")))
            .and_then(|()| self.decode_into(model, &host, &logits, b, cache, rope));
        let exec = stream.end_capture(CUgraphInstantiate_flags(0));
        let failed = match (captured, exec) {
            (Ok(()), Ok(Some(exec))) => {
                tracing::debug!(batch = b, "captured a decode graph");
                if let Some(graphs) = self.graphs.as_mut() {
                    graphs.insert(b, DecodeGraph { exec, inputs: host, logits: logits.clone() });
                }
                None
            }
            (Err(e), _) => Some(e.to_string()),
            (_, Err(e)) => Some(e.to_string()),
            (Ok(()), Ok(None)) => Some("the capture was empty".to_string()),
        };
        if let Some(why) = failed {
            tracing::warn!(batch = b, %why, "cannot capture a CUDA graph for decode steps; running them eagerly");
            self.graphs = None;
        }
        logits.narrow(0, 0, count).ctx(|| "decode logits".to_string())
    }

    /// The forward pass of a padded decode batch whose inputs are in `inputs`, into `out`.
    fn decode_into(&self, model: &Qwen3, inputs: &Tensor, out: &Tensor, b: usize, cache: &KvCache, rope: &RopeTables) -> Result<()> {
        let part = |k: usize| inputs.narrow(0, k * b, b).ctx(|| "decode inputs".to_string());
        let ops =
            FusedOps { kernels: &self.kernels, slots: part(2)?, positions: part(1)?, decode: Some((b, part(3)?)), prefill: Vec::new() };
        let logits = model.run(&part(0)?, &ops.positions, rope, &ops, cache, None)?;
        out.slice_set(&logits, 0, 0).ctx(|| "decode logits".to_string())
    }
}

fn cuda_error(message: String) -> StudentError {
    StudentError::Tensor { context: "CUDA graph".into(), source: candle_core::Error::Msg(message) }
}

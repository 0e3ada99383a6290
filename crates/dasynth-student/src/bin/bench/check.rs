//! `check`: the engine against what transformers computed on the same checkpoint
//! (`bench/student/hf_reference.py`, float32): logits of a prefill and of 64 teacher-forced
//! decode steps straight through the model, and greedy tokens through the engine at batch 1
//! and for a batch of ragged prompts decoded together.
//!
//! A greedy sequence may leave transformers' path only at a step where transformers' own top
//! two logits are closer than `tie` (another correct implementation may take the other branch
//! there); past that step the sequence is not compared. Any other divergence fails the check.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use dasynth_student::{
    Checkpoint, DecodeSeg, DeviceSpec, Engine, EngineOptions, KvCache, ModelConfig, PrefillSeg, Qwen3, RopeTables, SamplingParams,
    StepBatch,
};
use serde_json::{Value, json};

struct Reference(HashMap<String, Tensor>);

impl Reference {
    fn load(path: &Path) -> Result<Reference, String> {
        candle_core::safetensors::load(path, &Device::Cpu).map(Reference).map_err(|e| format!("{}: {e}", path.display()))
    }
    fn get(&self, name: &str) -> Result<&Tensor, String> {
        self.0.get(name).ok_or_else(|| format!("the reference has no tensor {name:?}"))
    }
    fn ids(&self, name: &str) -> Result<Vec<u32>, String> {
        let t = self.get(name)?.flatten_all().and_then(|t| t.to_vec1::<i64>()).map_err(|e| format!("{name}: {e}"))?;
        Ok(t.into_iter().map(|x| x as u32).collect())
    }
    fn id_rows(&self, name: &str) -> Result<Vec<Vec<u32>>, String> {
        let t = self.get(name)?.to_vec2::<i64>().map_err(|e| format!("{name}: {e}"))?;
        Ok(t.into_iter().map(|r| r.into_iter().map(|x| x as u32).collect()).collect())
    }
    fn rows(&self, name: &str) -> Result<Vec<Vec<f32>>, String> {
        self.get(name)?.to_vec2::<f32>().map_err(|e| format!("{name}: {e}"))
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Max |logit diff| of the prefill and of the 64 teacher-forced decode steps.
fn logits(model_dir: &Path, device: &Device, dtype: DType, r: &Reference, kernels: (bool, bool)) -> Result<(f32, f32), String> {
    let err = |e: dasynth_student::StudentError| e.to_string();
    let cfg = ModelConfig::from_file(&model_dir.join("config.json")).map_err(err)?;
    #[cfg_attr(not(feature = "cuda"), allow(unused_mut))]
    let mut model = Qwen3::load(&cfg, &Checkpoint::open(model_dir).map_err(err)?, device, dtype).map_err(err)?;
    let prompt = r.ids("prompt")?;
    let greedy = r.ids("greedy")?;
    let want_decode = r.rows("decode_logits")?;
    let n = prompt.len();
    let len = n + want_decode.len() + 8;
    #[cfg(feature = "cuda")]
    if kernels.0 {
        model.enable_cuda(2, len, kernels.1);
    }
    #[cfg(not(feature = "cuda"))]
    let _ = kernels;
    let cache = KvCache::allocate(&cfg, device, dtype, 2, len).map_err(err)?;
    let rope = RopeTables::new(&cfg.rope, cfg.head_dim, len, device, dtype).map_err(err)?;
    let as_rows = |t: Tensor| t.to_vec2::<f32>().map_err(|e| e.to_string());
    // Slot 1, so a wrong slot offset cannot pass unnoticed.
    let batch = StepBatch {
        tokens: prompt.clone(),
        decode: vec![],
        prefill: vec![PrefillSeg { slot: 1, start: 0, len: n }],
        logit_rows: (0..n as u32).collect(),
    };
    let got = as_rows(model.forward(&batch, &cache, &rope).map_err(err)?)?;
    let prefill = got.iter().zip(&r.rows("prefill_logits")?).map(|(a, b)| max_abs_diff(a, b)).fold(0.0, f32::max);
    let mut decode: f32 = 0.0;
    for (s, want) in want_decode.iter().enumerate() {
        let batch = StepBatch {
            tokens: vec![greedy[s]],
            decode: vec![DecodeSeg { slot: 1, len: n + s + 1 }],
            prefill: vec![],
            logit_rows: vec![0],
        };
        let got = as_rows(model.forward(&batch, &cache, &rope).map_err(err)?)?;
        decode = decode.max(max_abs_diff(&got[0], want));
    }
    Ok((prefill, decode))
}

/// How one greedy sequence compares: tokens identical before the first divergence, and where
/// it diverged with transformers' top-two margin there.
fn compare(ours: &[u32], want: &[u32], margins: &[f32]) -> (usize, Option<(usize, f32)>) {
    match ours.iter().zip(want).position(|(a, b)| a != b) {
        Some(step) => (step, Some((step, margins.get(step).copied().unwrap_or(f32::NAN)))),
        None => (ours.len().min(want.len()), None),
    }
}

fn greedy_params(steps: usize) -> SamplingParams {
    SamplingParams { ignore_eos: true, ..SamplingParams::greedy(steps) }
}

/// Runs the check; `Ok` carries the figures and whether they pass.
pub fn check(
    model_dir: &Path,
    device: DeviceSpec,
    dtype: Option<&str>,
    reference: &Path,
    tie: f32,
    kernels: (bool, bool),
) -> Result<Value, String> {
    let r = Reference::load(reference)?;
    let dt = match dtype {
        Some(name) => device.dtype(name).map_err(|e| e.to_string())?,
        None => device.default_dtype(),
    };
    let dev = device.open().map_err(|e| e.to_string())?;
    let (prefill, decode) = logits(model_dir, &dev, dt, &r, kernels)?;

    let prompt = r.ids("prompt")?;
    let want = r.ids("greedy")?;
    let margins = r.get("margins")?.to_vec1::<f32>().map_err(|e| format!("margins: {e}"))?;
    let lens = r.ids("batch_lens")?;
    let prompts: Vec<Vec<u32>> = r.id_rows("batch_prompts")?.into_iter().zip(&lens).map(|(p, &n)| p[..n as usize].to_vec()).collect();
    let batch_want = r.id_rows("batch_greedy")?;
    let batch_margins = r.rows("batch_margins")?;
    let steps = want.len();
    let longest = prompts.iter().map(Vec::len).chain([prompt.len()]).max().unwrap_or(1);
    let opts = EngineOptions {
        device,
        dtype: dtype.map(str::to_string),
        max_seqs: prompts.len().max(1),
        max_len: Some(longest + steps + 8),
        fused_kernels: kernels.0,
        cuda_graphs: kernels.1,
        ..Default::default()
    };
    let engine = Engine::load(model_dir, &opts).map_err(|e| e.to_string())?;
    let turn = |g: &mut dasynth_student::Generation| g.blocking_turn().map(|t| t.tokens).map_err(|e| e.to_string());

    let mut g = engine.generate(prompt, greedy_params(steps)).map_err(|e| e.to_string())?;
    let ours = turn(&mut g)?;
    drop(g);
    let (b1_same, b1_div) = compare(&ours, &want, &margins);

    let mut gens: Vec<_> =
        prompts.iter().map(|p| engine.generate(p.clone(), greedy_params(steps))).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let mut same = 0;
    let mut whole = 0;
    let mut divergences = Vec::new();
    for (i, g) in gens.iter_mut().enumerate() {
        let (s, div) = compare(&turn(g)?, &batch_want[i], &batch_margins[i]);
        same += s;
        match div {
            None => whole += 1,
            Some((step, margin)) => divergences.push(json!({"sequence": i, "step": step, "margin": margin})),
        }
    }
    let unexplained = |d: &Value| d["margin"].as_f64().is_none_or(|m| m >= tie as f64);
    let b1_unexplained = b1_div.is_some_and(|(_, m)| m.is_nan() || m >= tie);
    let batch_unexplained = divergences.iter().filter(|d| unexplained(d)).count();
    Ok(json!({
        "scenario": "check", "model": model_dir.display().to_string(), "device": device.to_string(),
        "dtype": format!("{dt:?}").to_lowercase(), "tie": tie,
        "prefill_positions": r.ids("prompt")?.len(), "prefill_max_abs_diff": prefill,
        "decode_steps": r.rows("decode_logits")?.len(), "decode_max_abs_diff": decode,
        "batch1": {"identical": b1_same, "of": steps, "divergence": b1_div.map(|(s, m)| json!({"step": s, "margin": m})),
                   "unexplained": b1_unexplained},
        "batch": {"sequences": prompts.len(), "identical_tokens": same, "of": prompts.len() * steps,
                  "sequences_identical": whole, "divergences": divergences, "unexplained": batch_unexplained},
        "engine_steps": engine.stats().steps,
        "greedy_pass": !b1_unexplained && batch_unexplained == 0,
    }))
}

//! `sampling`: the CUDA sampling kernel against its definition and against candle's ops.
//!
//! - Exact frequencies: a six-token distribution drawn at `n` evenly spaced uniform numbers
//!   gives each token its exact share (to 1/n) of the distribution after temperature, top-k and
//!   top-p, computed here in f64.
//! - A vocabulary of the model's size (random logits, many rows): every sampled token lies in
//!   the row's nucleus (computed here in f64), greedy rows equal candle's argmax, and the
//!   share of draws where the kernel and candle's ops pick the same token.
//! - The time of one step's sampling at batch 1, 64 and 256 by each.

use std::time::Instant;

use candle_core::{D, Device, Tensor};
use dasynth_core::rng::{Rng, unit};
use dasynth_student::{DeviceSpec, SampleRow, sample};
use serde_json::{Value, json};

/// The distribution after temperature, top-k and top-p (the sampler's definition), in f64.
fn truncated(logits: &[f32], row: &SampleRow) -> Vec<f64> {
    let t = row.temperature as f64;
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    let w: Vec<f64> = logits.iter().map(|&l| ((l as f64 - max) / t).exp()).collect();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[b].total_cmp(&w[a]));
    let mut keep = vec![false; w.len()];
    let k = if row.top_k == 0 { w.len() } else { row.top_k.min(w.len()) };
    let kth = w[order[k - 1]];
    let kept_mass: f64 = w.iter().filter(|&&x| x >= kth).sum();
    let target = row.top_p as f64 * kept_mass;
    let mut run = 0.0;
    let mut tau = kth;
    for &i in &order {
        if w[i] < kth {
            break;
        }
        run += w[i];
        tau = w[i];
        if run >= target {
            break;
        }
    }
    for (i, x) in w.iter().enumerate() {
        keep[i] = *x >= tau;
    }
    let total: f64 = w.iter().zip(&keep).filter(|(_, k)| **k).map(|(x, _)| x).sum();
    w.iter().zip(&keep).map(|(x, k)| if *k { x / total } else { 0.0 }).collect()
}

#[cfg(feature = "cuda")]
fn fused(logits: &Tensor, rows: &[SampleRow]) -> Result<Vec<u32>, String> {
    dasynth_student::sample_fused(logits, rows).ok_or("the sampling kernel is not available")?.map_err(|e| e.to_string())
}

#[cfg(not(feature = "cuda"))]
fn fused(_: &Tensor, _: &[SampleRow]) -> Result<Vec<u32>, String> {
    Err("the sampling kernel needs a build with the cuda feature".into())
}

fn exact_frequencies(dev: &Device) -> Result<(f64, Value), String> {
    let p = [0.4f32, 0.25, 0.15, 0.1, 0.06, 0.04];
    let logits: Vec<f32> = p.iter().map(|x| x.ln()).collect();
    let n = 20_000;
    let configs = [(1.0, 1.0, 0), (1.0, 0.7, 0), (1.0, 1.0, 2), (0.5, 0.9, 4), (2.0, 0.95, 0)];
    let mut worst = 0.0f64;
    let mut per = Vec::new();
    for (temperature, top_p, top_k) in configs {
        let base = SampleRow { temperature, top_p, top_k, uniform: 0.0 };
        let rows: Vec<SampleRow> = (0..n).map(|i| SampleRow { uniform: (i as f32 + 0.5) / n as f32, ..base }).collect();
        let t = Tensor::from_vec(logits.clone(), (1, p.len()), dev)
            .and_then(|t| t.broadcast_as((n, p.len()))?.contiguous())
            .map_err(|e| e.to_string())?;
        let mut counts = vec![0usize; p.len()];
        for tok in fused(&t, &rows)? {
            counts[tok as usize] += 1;
        }
        let want = truncated(&logits, &base);
        let err = counts.iter().zip(&want).map(|(&c, w)| (c as f64 / n as f64 - w).abs()).fold(0.0, f64::max);
        worst = worst.max(err);
        per.push(json!({"temperature": temperature, "top_p": top_p, "top_k": top_k, "max_freq_error": err, "counts": counts}));
    }
    Ok((worst, Value::Array(per)))
}

pub fn sampling(device: DeviceSpec, vocab: usize) -> Result<Value, String> {
    let dev = device.open().map_err(|e| e.to_string())?;
    let (worst, configs) = exact_frequencies(&dev)?;
    let mut rng = Rng::new(7);
    let rows_n = 256;
    // Logits spread like a model's (a few strong candidates over a long tail).
    let host: Vec<f32> = (0..rows_n * vocab).map(|_| ((unit(rng.next_u64()) - 0.5) * 12.0) as f32).collect();
    let logits = Tensor::from_vec(host.clone(), (rows_n, vocab), &dev).map_err(|e| e.to_string())?;
    let settings = [(0.8f32, 0.95f32, 0usize), (1.0, 1.0, 0), (0.6, 0.9, 50)];
    let (mut agree, mut drawn, mut outside) = (0usize, 0usize, 0usize);
    for (temperature, top_p, top_k) in settings {
        let rows: Vec<SampleRow> =
            (0..rows_n).map(|_| SampleRow { temperature, top_p, top_k, uniform: unit(rng.next_u64()) as f32 }).collect();
        let ours = fused(&logits, &rows)?;
        let theirs = sample(&logits, &rows).map_err(|e| e.to_string())?;
        for (r, (&a, &b)) in ours.iter().zip(&theirs).enumerate() {
            drawn += 1;
            agree += usize::from(a == b);
            // A hair wider than the nucleus: f32 weights may tip a token at its edge.
            let wider = SampleRow { top_p: (rows[r].top_p + 1e-4).min(1.0), ..rows[r] };
            let probs = truncated(&host[r * vocab..(r + 1) * vocab], &wider);
            outside += usize::from(probs[a as usize] == 0.0);
        }
    }
    let greedy: Vec<SampleRow> = (0..rows_n).map(|_| SampleRow { temperature: 0.0, top_p: 1.0, top_k: 0, uniform: 0.5 }).collect();
    let argmax: Vec<u32> = logits.argmax(D::Minus1).and_then(|t| t.to_vec1()).map_err(|e| e.to_string())?;
    let greedy_agree = fused(&logits, &greedy)?.iter().zip(&argmax).filter(|(a, b)| a == b).count();

    let mut timing = serde_json::Map::new();
    for batch in [1usize, 64, 256] {
        let part = logits.narrow(0, 0, batch).map_err(|e| e.to_string())?;
        let rows: Vec<SampleRow> = (0..batch).map(|_| SampleRow { temperature: 0.8, top_p: 0.95, top_k: 0, uniform: 0.3 }).collect();
        let time = |f: &dyn Fn() -> Result<Vec<u32>, String>| -> Result<f64, String> {
            f()?;
            let mut v = Vec::new();
            for _ in 0..11 {
                let t = Instant::now();
                f()?;
                v.push(t.elapsed().as_secs_f64() * 1e3);
            }
            v.sort_by(f64::total_cmp);
            Ok(v[v.len() / 2])
        };
        let k = time(&|| fused(&part, &rows))?;
        let c = time(&|| sample(&part, &rows).map_err(|e| e.to_string()))?;
        timing.insert(batch.to_string(), json!({"kernel_ms": k, "candle_ms": c}));
    }
    let pass = worst < 2e-3 && outside == 0 && greedy_agree == rows_n;
    Ok(json!({
        "scenario": "sampling", "vocab": vocab, "pass": pass,
        "max_freq_error": worst, "configs": configs,
        "drawn": drawn, "agree_with_candle": agree, "outside_nucleus": outside,
        "greedy_agree": greedy_agree, "greedy_rows": rows_n, "ms_per_step": timing,
    }))
}

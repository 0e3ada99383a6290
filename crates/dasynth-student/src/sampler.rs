//! Token sampling on the device: temperature, top-k and top-p, one uniform number per sample.
//!
//! No sort: top-k and top-p thresholds are found by bisection on the probability value (a
//! fixed number of compare-and-sum passes over `[batch, vocab]`, all rows at once), and the
//! token by bisection on the cumulative mass (inverse CDF over the vocabulary). Everything
//! stays on the device; only the chosen ids come back. The random number of each draw comes
//! from the sample's own seeded generator on the host (one per generated token), so a sample
//! is reproducible whatever else shares its batch. Temperature 0 (or top-k 1) is greedy.

use candle_core::{D, DType, Tensor};

use crate::error::{Result, TensorContext};

/// Bisection steps on a probability threshold (the threshold is then within 2^-28 of the
/// largest probability of the row).
const THRESHOLD_STEPS: usize = 28;

/// How one row of logits is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRow {
    /// 0 means greedy.
    pub temperature: f32,
    /// 1 keeps the whole distribution.
    pub top_p: f32,
    /// 0 keeps every token.
    pub top_k: usize,
    /// Uniform in `[0, 1)` for this draw.
    pub uniform: f32,
}

impl SampleRow {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == 1
    }
}

/// Picks one token per row of `logits` (`[rows, vocab]`, f32).
pub fn sample(logits: &Tensor, rows: &[SampleRow]) -> Result<Vec<u32>> {
    let greedy: Vec<u32> = logits.argmax(D::Minus1).and_then(|t| t.to_vec1()).ctx(|| "greedy argmax".to_string())?;
    if rows.iter().all(SampleRow::is_greedy) {
        return Ok(greedy);
    }
    let sampled = draw(logits, rows).ctx(|| format!("sampling {} rows", rows.len()))?;
    Ok(rows.iter().zip(greedy.into_iter().zip(sampled)).map(|(r, (g, s))| if r.is_greedy() { g } else { s }).collect())
}

fn column(rows: &[SampleRow], f: impl Fn(&SampleRow) -> f32, like: &Tensor) -> candle_core::Result<Tensor> {
    Tensor::from_vec(rows.iter().map(f).collect::<Vec<f32>>(), (rows.len(), 1), like.device())
}

/// Largest threshold `τ` per row such that `measure(row, τ) >= target`, by bisection on
/// `[0, max(row)]`; `measure` must fall as `τ` rises.
fn bisect_threshold(
    probs: &Tensor,
    target: &Tensor,
    measure: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Tensor> {
    let mut lo = Tensor::zeros((probs.dim(0)?, 1), DType::F32, probs.device())?;
    let mut hi = probs.max_keepdim(1)?;
    for _ in 0..THRESHOLD_STEPS {
        let mid = ((&lo + &hi)? * 0.5)?;
        let ok = measure(&mid)?.ge(target)?;
        lo = ok.where_cond(&mid, &lo)?;
        hi = ok.where_cond(&hi, &mid)?;
    }
    Ok(lo)
}

fn draw(logits: &Tensor, rows: &[SampleRow]) -> candle_core::Result<Vec<u32>> {
    let vocab = logits.dim(1)?;
    let temps = column(rows, |r| if r.is_greedy() { 1.0 } else { r.temperature }, logits)?;
    let probs = candle_nn::ops::softmax_last_dim(&logits.broadcast_div(&temps)?)?;
    let mut q = probs.clone();
    if rows.iter().any(|r| r.top_k > 0 && r.top_k < vocab) {
        let k = column(rows, |r| if r.top_k == 0 { vocab as f32 } else { r.top_k.min(vocab) as f32 }, logits)?;
        let tau = bisect_threshold(&probs, &k, |mid| probs.broadcast_ge(mid)?.to_dtype(DType::F32)?.sum_keepdim(1))?;
        q = (&q * q.broadcast_ge(&tau)?.to_dtype(DType::F32)?)?;
    }
    if rows.iter().any(|r| r.top_p < 1.0) {
        // The nucleus of what top-k kept: the fewest most likely tokens holding `top_p` of it.
        let p = column(rows, |r| r.top_p.clamp(0.0, 1.0), logits)?;
        let target = (q.sum_keepdim(1)? * p)?;
        let kept = q.clone();
        let tau = bisect_threshold(&kept, &target, |mid| (&kept * kept.broadcast_ge(mid)?.to_dtype(DType::F32)?)?.sum_keepdim(1))?;
        q = (&q * q.broadcast_ge(&tau)?.to_dtype(DType::F32)?)?;
    }
    // Inverse CDF: the smallest index whose prefix mass exceeds u * total.
    let u = column(rows, |r| r.uniform.clamp(0.0, 1.0) * (1.0 - 1e-6), logits)?;
    let target = (q.sum_keepdim(1)? * u)?;
    let index = Tensor::arange(0f32, vocab as f32, logits.device())?.reshape((1, vocab))?;
    let mut lo = target.zeros_like()?;
    let mut hi = (target.ones_like()? * (vocab as f64 - 1.0))?;
    let steps = usize::BITS - (vocab.max(2) - 1).leading_zeros();
    for _ in 0..steps {
        let mid = ((&lo + &hi)? * 0.5)?.floor()?;
        let prefix = (&q * index.broadcast_le(&mid)?.to_dtype(DType::F32)?)?.sum_keepdim(1)?;
        let ok = prefix.gt(&target)?;
        hi = ok.where_cond(&mid, &hi)?;
        lo = ok.where_cond(&lo, &(mid + 1.0)?)?;
    }
    lo.squeeze(1)?.to_dtype(DType::U32)?.to_vec1()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use dasynth_core::rng::{Rng, unit};

    fn logits(probs: &[f32]) -> Tensor {
        let l: Vec<f32> = probs.iter().map(|p| p.ln()).collect();
        Tensor::from_vec(l, (1, probs.len()), &Device::Cpu).expect("logits")
    }

    fn counts(probs: &[f32], row: SampleRow, n: usize, seed: u64) -> Vec<usize> {
        let t = logits(probs);
        let mut rng = Rng::new(seed);
        let mut c = vec![0; probs.len()];
        // Many draws at once: the same row repeated with its own uniform numbers.
        let rows: Vec<SampleRow> = (0..n).map(|_| SampleRow { uniform: unit(rng.next_u64()) as f32, ..row }).collect();
        let big = t.broadcast_as((n, probs.len())).and_then(|b| b.contiguous()).expect("batch");
        for tok in sample(&big, &rows).expect("sample") {
            c[tok as usize] += 1;
        }
        c
    }

    const P: [f32; 6] = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04];

    #[test]
    fn temperature_zero_is_greedy() {
        let row = SampleRow { temperature: 0.0, top_p: 1.0, top_k: 0, uniform: 0.99 };
        let c = counts(&P, row, 50, 1);
        assert_eq!(c[0], 50);
        let row = SampleRow { temperature: 1.0, top_p: 1.0, top_k: 1, uniform: 0.99 };
        assert_eq!(counts(&P, row, 20, 2)[0], 20);
    }

    #[test]
    fn full_distribution_matches_probabilities() {
        let n = 4000;
        let c = counts(&P, SampleRow { temperature: 1.0, top_p: 1.0, top_k: 0, uniform: 0.0 }, n, 3);
        for (i, p) in P.iter().enumerate() {
            let f = c[i] as f32 / n as f32;
            // 4 standard deviations of a binomial proportion.
            let sd = (p * (1.0 - p) / n as f32).sqrt();
            assert!((f - p).abs() < 4.0 * sd + 1e-3, "token {i}: {f} vs {p}");
        }
    }

    #[test]
    fn top_p_keeps_the_nucleus_and_renormalises() {
        let n = 4000;
        // Nucleus of 0.7: 0.4 + 0.25 = 0.65 < 0.7, so the third token (0.15) is in: mass 0.8.
        let c = counts(&P, SampleRow { temperature: 1.0, top_p: 0.7, top_k: 0, uniform: 0.0 }, n, 4);
        assert_eq!(c[3..].iter().sum::<usize>(), 0, "{c:?}");
        for (i, p) in P[..3].iter().enumerate() {
            let want = p / 0.8;
            let f = c[i] as f32 / n as f32;
            assert!((f - want).abs() < 0.03, "token {i}: {f} vs {want}");
        }
    }

    #[test]
    fn top_k_and_temperature() {
        let c = counts(&P, SampleRow { temperature: 1.0, top_p: 1.0, top_k: 2, uniform: 0.0 }, 2000, 5);
        assert_eq!(c[2..].iter().sum::<usize>(), 0, "{c:?}");
        let f0 = c[0] as f32 / 2000.0;
        assert!((f0 - 0.4 / 0.65).abs() < 0.04, "{f0}");
        // A low temperature sharpens towards the top token.
        let cold = counts(&P, SampleRow { temperature: 0.2, top_p: 1.0, top_k: 0, uniform: 0.0 }, 2000, 6);
        assert!(cold[0] > 1800, "{cold:?}");
    }

    #[test]
    fn same_uniforms_same_tokens() {
        let row = SampleRow { temperature: 0.8, top_p: 0.9, top_k: 4, uniform: 0.0 };
        assert_eq!(counts(&P, row, 300, 9), counts(&P, row, 300, 9));
    }
}

//! Rotary position embedding tables, with YaRN when the config asks for it.
//!
//! Inverse frequencies follow transformers' `_compute_default_rope_parameters` and
//! `_compute_yarn_parameters`: YaRN blends interpolated (`1 / (factor * base^(2i/d))`) and
//! extrapolated frequencies with a linear ramp between the correction dimensions of
//! `beta_fast` and `beta_slow` rotations over `original_max_position_embeddings`, and scales
//! cos/sin by the attention factor (`0.1 ln(factor) + 1` unless stated). The tables hold
//! cos/sin of every position up to the engine's context, `[positions, head_dim / 2]`; a step
//! gathers the rows of its tokens' positions.

use candle_core::{DType, Device, Tensor};

use crate::config::{RopeConfig, YarnConfig};
use crate::error::{Result, TensorContext};

/// Inverse frequencies (`head_dim / 2` of them) and the cos/sin scale.
pub fn inverse_frequencies(rope: &RopeConfig, head_dim: usize) -> (Vec<f32>, f32) {
    let half = head_dim / 2;
    // transformers computes `base ** (arange(0, dim, 2) / dim)` in float32.
    let pos_freqs: Vec<f32> = (0..half).map(|i| (rope.theta as f32).powf((2 * i) as f32 / head_dim as f32)).collect();
    match &rope.yarn {
        None => (pos_freqs.iter().map(|p| 1.0 / p).collect(), 1.0),
        Some(y) => yarn(y, rope.theta, head_dim, &pos_freqs),
    }
}

fn yarn(y: &YarnConfig, base: f64, dim: usize, pos_freqs: &[f32]) -> (Vec<f32>, f32) {
    let get_mscale = |scale: f64, mscale: f64| if scale <= 1.0 { 1.0 } else { 0.1 * mscale * scale.ln() + 1.0 };
    let attention_factor = match (y.attention_factor, y.mscale, y.mscale_all_dim) {
        (Some(a), _, _) => a,
        (None, Some(m), Some(ma)) if m != 0.0 && ma != 0.0 => get_mscale(y.factor, m) / get_mscale(y.factor, ma),
        _ => get_mscale(y.factor, 1.0),
    };
    let orig = y.original_max_position_embeddings as f64;
    let correction_dim = |rotations: f64| (dim as f64 * (orig / (rotations * 2.0 * std::f64::consts::PI)).ln()) / (2.0 * base.ln());
    let (mut low, mut high) = (correction_dim(y.beta_fast), correction_dim(y.beta_slow));
    if y.truncate {
        low = low.floor();
        high = high.ceil();
    }
    let low = low.max(0.0);
    let high = high.min(dim as f64 - 1.0);
    let (low, high) = (low as f32, if low == high { high as f32 + 0.001 } else { high as f32 });
    let factor = y.factor as f32;
    let inv = pos_freqs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ramp = ((i as f32 - low) / (high - low)).clamp(0.0, 1.0);
            let extrapolation = 1.0 - ramp;
            let interpolation = 1.0 / (factor * p);
            interpolation * (1.0 - extrapolation) + (1.0 / p) * extrapolation
        })
        .collect();
    (inv, attention_factor as f32)
}

/// cos/sin tables on the device.
pub struct RopeTables {
    cos: Tensor,
    sin: Tensor,
    positions: usize,
}

impl RopeTables {
    pub fn new(rope: &RopeConfig, head_dim: usize, positions: usize, device: &Device, dtype: DType) -> Result<RopeTables> {
        let (inv, scale) = inverse_frequencies(rope, head_dim);
        let half = inv.len();
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        for p in 0..positions {
            for f in &inv {
                // float32 product as in transformers, then cos/sin of it.
                let angle = (p as f32 * f) as f64;
                cos.push((angle.cos() as f32) * scale);
                sin.push((angle.sin() as f32) * scale);
            }
        }
        let mk =
            |v: Vec<f32>| Tensor::from_vec(v, (positions, half), device).and_then(|t| t.to_dtype(dtype)).ctx(|| "rope tables".to_string());
        Ok(RopeTables { cos: mk(cos)?, sin: mk(sin)?, positions })
    }

    pub fn positions(&self) -> usize {
        self.positions
    }

    /// cos and sin rows of `positions` (a u32 tensor of token positions).
    pub fn gather(&self, positions: &Tensor) -> Result<(Tensor, Tensor)> {
        let cos = self.cos.index_select(positions, 0).ctx(|| "rope cos gather".to_string())?;
        let sin = self.sin.index_select(positions, 0).ctx(|| "rope sin gather".to_string())?;
        Ok((cos, sin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yarn_blends_between_interpolation_and_extrapolation() {
        let plain = RopeConfig { theta: 1e6, yarn: None };
        let (p, s) = inverse_frequencies(&plain, 128);
        assert_eq!(s, 1.0);
        assert_eq!(p[0], 1.0);
        let yarn = RopeConfig {
            theta: 1e6,
            yarn: Some(YarnConfig {
                factor: 4.0,
                original_max_position_embeddings: 32768,
                attention_factor: None,
                beta_fast: 32.0,
                beta_slow: 1.0,
                mscale: None,
                mscale_all_dim: None,
                truncate: true,
            }),
        };
        let (y, scale) = inverse_frequencies(&yarn, 128);
        // High frequencies are kept, low ones divided by the factor.
        assert_eq!(y[0], p[0]);
        assert!((y[63] - p[63] / 4.0).abs() < 1e-12);
        assert!((scale - (0.1 * 4f32.ln() + 1.0)).abs() < 1e-6);
    }
}

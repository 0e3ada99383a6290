//! The engine against transformers on the same random weights (tests/fixtures/make_fixture.py):
//! logits of a prefill and of 64 decode steps, and greedy tokens for 256 steps at batch 1 and
//! at batch 64 with ragged prompts, with rope scaling off and YaRN on.

mod common;

use common::*;
use dasynth_student::{
    Checkpoint, DType, DecodeSeg, Device, EngineOptions, KvCache, ModelConfig, PrefillSeg, Qwen3, RopeTables, SamplingParams, StepBatch,
};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Prefill and decode logits, straight through the model.
fn logits_diff(variant: &str, dtype: DType) -> (f32, f32) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = model_dir(variant, tmp.path());
    let r = Reference::load();
    let cfg = ModelConfig::from_file(&dir.join("config.json")).expect("config");
    let dev = Device::Cpu;
    let model = Qwen3::load(&cfg, &Checkpoint::open(&dir).expect("open"), &dev, dtype).expect("model");
    let cache = KvCache::allocate(&cfg, &dev, dtype, 2, 512).expect("cache");
    let rope = RopeTables::new(&cfg.rope, cfg.head_dim, 512, &dev, dtype).expect("rope");
    let prompt = r.ids(variant, "prompt");
    let n = prompt.len();
    // Slot 1, so a wrong slot offset cannot pass unnoticed.
    let batch = StepBatch {
        tokens: prompt.clone(),
        decode: vec![],
        prefill: vec![PrefillSeg { slot: 1, start: 0, len: n }],
        logit_rows: (0..n as u32).collect(),
    };
    let got = model.forward(&batch, &cache, &rope).expect("prefill").to_vec2::<f32>().expect("logits");
    let want = r.logits(variant, "prefill_logits");
    let prefill = got.iter().zip(&want).map(|(a, b)| max_abs_diff(a, b)).fold(0.0, f32::max);
    let greedy = r.ids(variant, "greedy");
    let want = r.logits(variant, "decode_logits");
    let mut decode: f32 = 0.0;
    for (s, w) in want.iter().enumerate() {
        let batch = StepBatch {
            tokens: vec![greedy[s]],
            decode: vec![DecodeSeg { slot: 1, len: n + s + 1 }],
            prefill: vec![],
            logit_rows: vec![0],
        };
        let got = model.forward(&batch, &cache, &rope).expect("decode").to_vec2::<f32>().expect("logits");
        decode = decode.max(max_abs_diff(&got[0], w));
    }
    (prefill, decode)
}

#[test]
fn logits_match_transformers_in_f32() {
    for v in VARIANTS {
        let (prefill, decode) = logits_diff(v, DType::F32);
        println!("{v}: f32 max |logit diff| prefill {prefill:.2e}, 64 decode steps {decode:.2e}");
        assert!(prefill < 1e-4 && decode < 1e-4, "{v}: prefill {prefill}, decode {decode}");
    }
}

#[test]
fn logits_in_bf16_stay_close() {
    for v in VARIANTS {
        let (prefill, decode) = logits_diff(v, DType::BF16);
        println!("{v}: bf16 max |logit diff| prefill {prefill:.2e}, 64 decode steps {decode:.2e}");
        assert!(prefill < 0.25 && decode < 0.25, "{v}: prefill {prefill}, decode {decode}");
    }
}

fn greedy_params() -> SamplingParams {
    SamplingParams { ignore_eos: true, ..SamplingParams::greedy(256) }
}

#[test]
fn greedy_256_steps_at_batch_1() {
    let r = Reference::load();
    let tmp = tempfile::tempdir().expect("tmp");
    for v in VARIANTS {
        let e = engine(&model_dir(v, tmp.path()), EngineOptions { max_seqs: 1, max_len: Some(512), ..Default::default() });
        let mut g = e.generate(r.ids(v, "prompt"), greedy_params()).expect("generate");
        let turn = g.blocking_turn().expect("turn");
        assert_eq!(turn.tokens.len(), 256);
        let same = check_greedy(&turn.tokens, &r.ids(v, "greedy"), 64, &r.near_ties(v), v);
        println!("{v}: batch 1, {same} of 256 greedy tokens identical to transformers");
    }
}

#[test]
fn greedy_256_steps_at_batch_64_with_ragged_prompts() {
    let r = Reference::load();
    let tmp = tempfile::tempdir().expect("tmp");
    for v in VARIANTS {
        let e = engine(&model_dir(v, tmp.path()), EngineOptions { max_seqs: 64, max_len: Some(320), ..Default::default() });
        let prompts = r.batch_prompts(v);
        let mut gens: Vec<_> = prompts.iter().map(|p| e.generate(p.clone(), greedy_params()).expect("generate")).collect();
        let want = r.rows(v, "batch_greedy");
        let ties = r.near_ties(v);
        let mut identical = 0;
        for (i, g) in gens.iter_mut().enumerate() {
            let turn = g.blocking_turn().expect("turn");
            assert_eq!(turn.tokens.len(), 256);
            identical += check_greedy(&turn.tokens, &want[i], i, &ties, v);
        }
        println!("{v}: batch 64, {identical} of {} greedy tokens identical to transformers", 64 * 256);
        assert!(e.stats().steps < 300, "64 sequences should decode together: {:?}", e.stats());
    }
}

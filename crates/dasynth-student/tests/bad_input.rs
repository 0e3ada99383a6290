//! Broken checkpoints and requests give errors that name the file or the limit.

mod common;

use std::path::Path;

use common::*;
use dasynth_student::{DeviceSpec, Engine, EngineOptions, SamplingParams, StudentError};

fn copy_fixture(to: &Path) {
    let from = fixtures().join("tiny-qwen3");
    std::fs::create_dir_all(to).expect("mkdir");
    for f in ["config.json", "generation_config.json", "model.safetensors"] {
        std::fs::copy(from.join(f), to.join(f)).expect("copy");
    }
}

fn load_err(dir: &Path) -> String {
    match Engine::load(dir, &EngineOptions { max_len: Some(64), max_seqs: 1, ..Default::default() }) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_shard_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("m");
    copy_fixture(&d);
    std::fs::rename(d.join("model.safetensors"), d.join("model-00001-of-00002.safetensors")).expect("rename");
    let index = r#"{"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
        "lm_head.weight": "model-00002-of-00002.safetensors"}}"#;
    std::fs::write(d.join("model.safetensors.index.json"), index).expect("index");
    let e = load_err(&d);
    assert!(e.contains("model-00002-of-00002.safetensors") && e.contains("model.safetensors.index.json"), "{e}");
}

#[test]
fn another_architecture_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("m");
    copy_fixture(&d);
    let cfg = std::fs::read_to_string(d.join("config.json")).expect("read");
    std::fs::write(d.join("config.json"), cfg.replace("\"qwen3\"", "\"llama\"").replace("Qwen3ForCausalLM", "LlamaForCausalLM"))
        .expect("write");
    let e = load_err(&d);
    assert!(e.contains("config.json") && e.contains("llama") && e.contains("hint:"), "{e}");
}

#[test]
fn truncated_weights_and_missing_tensors_are_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("m");
    copy_fixture(&d);
    let bytes = std::fs::read(d.join("model.safetensors")).expect("read");
    std::fs::write(d.join("model.safetensors"), &bytes[..bytes.len() / 2]).expect("truncate");
    let e = load_err(&d);
    assert!(e.contains("model.safetensors"), "{e}");

    // A config asking for a third layer the weights do not have.
    copy_fixture(&d);
    let cfg = std::fs::read_to_string(d.join("config.json")).expect("read");
    std::fs::write(d.join("config.json"), cfg.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3")).expect("write");
    let e = load_err(&d);
    assert!(e.contains("model.layers.2.") && e.contains("missing"), "{e}");

    // A config whose hidden size disagrees with the weights.
    copy_fixture(&d);
    let cfg = std::fs::read_to_string(d.join("config.json")).expect("read");
    std::fs::write(d.join("config.json"), cfg.replace("\"intermediate_size\": 128", "\"intermediate_size\": 100")).expect("write");
    let e = load_err(&d);
    assert!(e.contains("has shape [128, 64]") && e.contains("model.safetensors"), "{e}");

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    std::fs::copy(fixtures().join("tiny-qwen3/config.json"), empty.join("config.json")).expect("copy");
    assert!(load_err(&empty).contains("no safetensors weights"));
}

#[test]
fn unsupported_dtype_and_missing_cuda_are_errors() {
    let dir = fixtures().join("tiny-qwen3");
    let opts = EngineOptions { dtype: Some("int4".into()), max_len: Some(64), ..Default::default() };
    let e = Engine::load(&dir, &opts).err().expect("int4");
    assert!(matches!(e, StudentError::DType { .. }), "{e}");
    if !cfg!(feature = "cuda") {
        let opts = EngineOptions { device: DeviceSpec::Cuda(0), max_len: Some(64), ..Default::default() };
        let e = Engine::load(&dir, &opts).err().expect("cuda");
        assert!(e.to_string().contains("no CUDA support"), "{e}");
    }
}

#[test]
fn prompts_past_the_context_and_bad_ids_are_refused() {
    let e = engine(&fixtures().join("tiny-qwen3"), EngineOptions { max_len: Some(32), max_seqs: 2, ..Default::default() });
    let err = e.generate(vec![1; 40], SamplingParams::greedy(4)).err().expect("too long");
    assert!(matches!(err, StudentError::PromptTooLong { tokens: 40, limit: 31 }), "{err}");
    assert!(err.to_string().contains("maximum context length of 31 tokens"), "{err}");
    let err = e.generate(vec![1, 9999], SamplingParams::greedy(4)).err().expect("bad id");
    assert!(err.to_string().contains("token id 9999"), "{err}");
    let err = e.generate_n(vec![1], SamplingParams::greedy(4), 3).err().expect("n > slots");
    assert!(err.to_string().contains("2 slots"), "{err}");
    let err = e.generate(vec![1], SamplingParams { stop: vec!["x".into()], ..SamplingParams::greedy(4) }).err().expect("no tokenizer");
    assert!(matches!(err, StudentError::NoTokenizer { .. }), "{err}");
}

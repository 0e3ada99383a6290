//! Throughput and latency of the student engine on one checkpoint, as JSON lines.
//!
//! Scenarios (all with random prompt ids and `ignore_eos`, so lengths are exact):
//! `decode`  decode tokens/s at each batch size with `--context`-token prompts, and the share
//!           of memory bandwidth it implies (weights plus KV-cache reads per step);
//! `ttft`    time to first token of one `--context`-token prompt (median of 5);
//! `agentic` `--agentic-seqs` sequences of `--turns` turns each, pausing `--tool-ms` between
//!           turns and resuming with `--tool-tokens` appended ids, against the same work with
//!           no wait;
//! `vllm`    vLLM's published shape: `--vllm-prompt`-token prompts, `--vllm-gen` tokens, at each
//!           concurrency.
//! `check`   the engine against transformers' float32 figures in `--reference FILE`
//!           (bench/student/hf_reference.py): logits, greedy tokens at batch 1 and batch 64;
//!           exits with status 1 if a greedy sequence diverges with no near tie (`--tie 0.01`).
//! `sampling` the CUDA sampling kernel against its definition (exact frequencies, the nucleus)
//!           and candle's ops (agreement, time per step at batch 1, 64, 256; `--vocab 151936`).
//!
//! `dasynth-student-bench random DIR [--layers 4] [--hidden 512] ...` writes a random Qwen3
//! checkpoint of that shape (CPU measurements; on the GPU machine transformers writes the 8B
//! one, see bench/student/make_checkpoint.py).
//!
//! usage: dasynth-student-bench MODEL_DIR [--device cpu|cuda] [--dtype bf16] [--scenarios
//!        decode,ttft,agentic,vllm] [--batches 1,64,256] [--context 2048] [--gen 128]
//!        [--agentic-seqs 256] [--turns 5] [--turn-tokens 64] [--tool-ms 50] [--tool-tokens 32]
//!        [--vllm-concurrency 1,64,256,512] [--vllm-prompt 128] [--vllm-gen 1024]
//!        [--max-batch-tokens 2048] [--hbm-gbps 4800] [--reference FILE] [--tie 0.01]
//!        [--fused 1] [--graphs 1] [--temperature 0] [--top-p 1]
//!
//! `--fused 0` runs candle's ops instead of the engine's fused CUDA kernels, `--graphs 0`
//! runs decode steps eagerly; every JSON line carries the `kernels` it ran with. Generations
//! are greedy unless `--temperature` (and `--top-p`) ask for sampling, which lines then carry.

mod check;
mod sampling;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use dasynth_core::rng::Rng;
use dasynth_student::{DType, DeviceSpec, Engine, EngineOptions, Event, Generation, RandomSpec, SamplingParams, write_random_checkpoint};
use serde_json::json;

struct Args {
    model: PathBuf,
    opts: HashMap<String, String>,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut it = std::env::args().skip(1);
        let mut model = None;
        let mut opts = HashMap::new();
        while let Some(a) = it.next() {
            if let Some(k) = a.strip_prefix("--") {
                let v = it.next().ok_or(format!("--{k} needs a value"))?;
                opts.insert(k.to_string(), v);
            } else if model.is_none() {
                model = Some(PathBuf::from(a));
            } else {
                return Err(format!("unexpected argument {a:?}"));
            }
        }
        Ok(Args { model: model.ok_or("usage: dasynth-student-bench MODEL_DIR [options]")?, opts })
    }
    fn get(&self, k: &str, default: &str) -> String {
        self.opts.get(k).cloned().unwrap_or_else(|| default.to_string())
    }
    fn num(&self, k: &str, default: usize) -> Result<usize, String> {
        self.get(k, &default.to_string()).parse().map_err(|e| format!("--{k}: {e}"))
    }
    fn list(&self, k: &str, default: &str) -> Result<Vec<usize>, String> {
        self.get(k, default).split(',').map(|s| s.trim().parse().map_err(|e| format!("--{k}: {e}"))).collect()
    }
}

/// The kernel variant every line is tagged with (`fused+graphs`, `fused`, `candle`).
static KERNELS: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

fn emit(mut v: serde_json::Value) {
    if let (Some(o), Some(k)) = (v.as_object_mut(), KERNELS.get()) {
        o.insert("kernels".into(), json!(k));
        if let Some(&(t, p)) = SAMPLING.get().filter(|s| s.0 > 0.0) {
            o.insert("sampling".into(), json!({"temperature": t, "top_p": p}));
        }
    }
    println!("{v}");
}

/// With `DASYNTH_STUDENT_PROFILE=1`: the forward pass's parts since the last call, as one line.
fn emit_profile(what: String) {
    if dasynth_student::profile::on() {
        let parts: Vec<_> = dasynth_student::profile::take()
            .into_iter()
            .map(|(name, secs, calls)| json!({"part": name, "ms": secs * 1e3, "calls": calls}))
            .collect();
        emit(json!({"scenario": "profile", "of": what, "parts": parts}));
    }
}

/// `(fused kernels, CUDA graphs)` from `--fused` and `--graphs`.
fn kernel_flags(args: &Args) -> (bool, bool) {
    let fused = args.get("fused", "1") != "0";
    (fused, fused && args.get("graphs", "1") != "0")
}

fn random_ids(rng: &mut Rng, n: usize, vocab: usize) -> Vec<u32> {
    // Stay clear of the special ids at the top of Qwen's vocabulary.
    let top = vocab.min(151_000) as u64;
    (0..n).map(|_| rng.below(top) as u32).collect()
}

/// `(temperature, top_p)` of every generation (`--temperature`, `--top-p`; greedy by default).
static SAMPLING: std::sync::OnceLock<(f32, f32)> = std::sync::OnceLock::new();

fn params(max_tokens: usize) -> SamplingParams {
    let (temperature, top_p) = SAMPLING.get().copied().unwrap_or((0.0, 1.0));
    SamplingParams { ignore_eos: true, temperature, top_p, ..SamplingParams::greedy(max_tokens) }
}

fn load(args: &Args, slots: usize, max_len: usize) -> Result<Engine, String> {
    let device: DeviceSpec = args.get("device", "cpu").parse().map_err(|e| format!("{e}"))?;
    let opts = EngineOptions {
        device,
        dtype: args.opts.get("dtype").cloned(),
        max_seqs: slots,
        max_len: Some(max_len),
        max_batch_tokens: args.num("max-batch-tokens", 2048)?,
        tokenizer: None,
        fused_kernels: kernel_flags(args).0,
        cuda_graphs: kernel_flags(args).1,
        simulate_oom_above: None,
    };
    let t = Instant::now();
    let e = Engine::load(&args.model, &opts).map_err(|e| e.to_string())?;
    eprintln!(
        "loaded {} on {} ({:?}, {} slots of {max_len}) in {:.1}s",
        args.model.display(),
        device,
        e.info().dtype,
        e.info().slots,
        t.elapsed().as_secs_f64()
    );
    Ok(e)
}

/// Reads a generation's events on a thread; returns each token's arrival time.
fn drain(mut g: Generation) -> thread::JoinHandle<Vec<Instant>> {
    thread::spawn(move || {
        let mut times = Vec::new();
        while let Some(e) = g.blocking_next() {
            match e {
                Event::Token { .. } => times.push(Instant::now()),
                Event::Finished(_) | Event::Failed(_) => break,
            }
        }
        times
    })
}

/// Bytes read from memory by one decode step: every weight but the embedding table, plus the
/// keys and values of `context_tokens` cached positions.
fn step_bytes(e: &Engine, context_tokens: usize) -> f64 {
    let c = &e.info().config;
    let (h, d) = (c.hidden_size, c.head_dim);
    let per_layer = h * (c.num_heads + 2 * c.num_kv_heads) * d + c.num_heads * d * h + 3 * h * c.intermediate_size;
    let params = c.num_layers * per_layer + c.vocab_size * h;
    let dt = e.info().dtype.size_in_bytes();
    (params * dt) as f64 + context_tokens as f64 * c.kv_bytes_per_token(dt) as f64
}

fn decode(args: &Args) -> Result<(), String> {
    let batches = args.list("batches", "1,64,256")?;
    let (context, generated) = (args.num("context", 2048)?, args.num("gen", 128)?);
    let e = load(args, *batches.iter().max().unwrap_or(&1), context + generated + 8)?;
    let vocab = e.info().config.vocab_size;
    let hbm = args.num("hbm-gbps", 4800)? as f64 * 1e9;
    let mut rng = Rng::new(7);
    for &b in &batches {
        if b > e.info().slots {
            // Fewer slots than sequences would run the batch in waves, which is not this figure.
            emit(json!({"scenario": "decode", "batch": b, "context": context, "skipped":
                format!("only {} slots of {} positions fit the device", e.info().slots, e.info().max_len)}));
            continue;
        }
        // Prefill every sequence first (each pauses after its first token), then time the
        // decode of all of them together: a pure batch-`b` decode over `context`-token caches.
        let t0 = Instant::now();
        let mut gens: Vec<Generation> = (0..b)
            .map(|_| e.generate(random_ids(&mut rng, context, vocab), params(1)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for g in &mut gens {
            g.blocking_turn().map_err(|e| e.to_string())?;
        }
        let prefill_s = t0.elapsed().as_secs_f64();
        emit_profile(format!("prefill of {b} x {context} tokens"));
        let t1 = Instant::now();
        for g in &mut gens {
            g.resume(Vec::new(), Some(params(generated))).map_err(|e| e.to_string())?;
        }
        let times: Vec<Vec<Instant>> = gens.into_iter().map(drain).map(|h| h.join().unwrap_or_default()).collect();
        let tokens: usize = times.iter().map(Vec::len).sum();
        let end = times.iter().filter_map(|t| t.last().copied()).max().unwrap_or(t1);
        let secs = (end - t1).as_secs_f64().max(1e-9);
        emit_profile(format!("decode of {b} x {generated} tokens"));
        let tps = tokens as f64 / secs;
        let steps_per_s = tps / b as f64;
        let avg_ctx = context + generated / 2;
        let bytes = step_bytes(&e, b * avg_ctx);
        emit(json!({"scenario": "decode", "batch": b, "context": context, "generated": generated, "tokens": tokens,
            "decode_tokens_per_s": tps, "prefill_s": prefill_s, "prefill_tokens_per_s": (b * context) as f64 / prefill_s,
            "decode_s": secs, "bytes_per_step": bytes, "hbm_fraction": bytes * steps_per_s / hbm, "device": args.get("device", "cpu")}));
    }
    Ok(())
}

fn ttft(args: &Args) -> Result<(), String> {
    let context = args.num("context", 2048)?;
    let e = load(args, 1, context + 8)?;
    let vocab = e.info().config.vocab_size;
    let mut rng = Rng::new(8);
    let mut samples = Vec::new();
    for _ in 0..6 {
        let prompt = random_ids(&mut rng, context, vocab);
        let t0 = Instant::now();
        let mut g = e.generate(prompt, params(1)).map_err(|e| e.to_string())?;
        while let Some(ev) = g.blocking_next() {
            if matches!(ev, Event::Token { .. }) {
                samples.push(t0.elapsed().as_secs_f64());
                break;
            }
        }
    }
    samples.remove(0); // warm-up
    samples.sort_by(f64::total_cmp);
    emit(json!({"scenario": "ttft", "context": context, "ttft_ms_median": samples[samples.len() / 2] * 1e3,
        "ttft_ms_all": samples.iter().map(|s| s * 1e3).collect::<Vec<_>>(), "device": args.get("device", "cpu")}));
    Ok(())
}

/// One agentic sequence: turns of `turn_tokens`, a tool wait, `tool_tokens` appended.
fn agent(mut g: Generation, turns: usize, turn_tokens: usize, wait: Duration, tool: Vec<u32>) -> Result<usize, String> {
    let mut generated = 0;
    for t in 0..turns {
        generated += g.blocking_turn().map_err(|e| e.to_string())?.tokens.len();
        if t + 1 < turns {
            thread::sleep(wait);
            g.resume(tool.clone(), Some(params(turn_tokens))).map_err(|e| e.to_string())?;
        }
    }
    Ok(generated)
}

fn agentic(args: &Args) -> Result<(), String> {
    let seqs = args.num("agentic-seqs", 256)?;
    let (turns, turn_tokens) = (args.num("turns", 5)?, args.num("turn-tokens", 64)?);
    let (tool_ms, tool_tokens, prompt_len) = (args.num("tool-ms", 50)?, args.num("tool-tokens", 32)?, args.num("agentic-prompt", 512)?);
    let max_len = prompt_len + turns * (turn_tokens + tool_tokens) + 8;
    let e = Arc::new(load(args, seqs, max_len)?);
    let vocab = e.info().config.vocab_size;
    let mut result = json!({"scenario": "agentic", "sequences": seqs, "slots": e.info().slots, "turns": turns, "turn_tokens": turn_tokens,
        "tool_ms": tool_ms, "tool_tokens": tool_tokens, "prompt": prompt_len, "device": args.get("device", "cpu")});
    for (label, wait) in [("with_pauses", tool_ms), ("without_pauses", 0)] {
        let mut rng = Rng::new(9);
        let t0 = Instant::now();
        let mut hs = Vec::new();
        for _ in 0..seqs {
            let g = e.generate(random_ids(&mut rng, prompt_len, vocab), params(turn_tokens)).map_err(|e| e.to_string())?;
            let tool = random_ids(&mut rng, tool_tokens, vocab);
            hs.push(thread::spawn(move || agent(g, turns, turn_tokens, Duration::from_millis(wait as u64), tool)));
        }
        let mut tokens = 0;
        for h in hs {
            tokens += h.join().map_err(|_| "agent thread panicked".to_string())??;
        }
        let secs = t0.elapsed().as_secs_f64();
        result[label] = json!({"seconds": secs, "tokens": tokens, "tokens_per_s": tokens as f64 / secs});
    }
    let ratio =
        result["with_pauses"]["tokens_per_s"].as_f64().unwrap_or(0.0) / result["without_pauses"]["tokens_per_s"].as_f64().unwrap_or(1.0);
    result["throughput_ratio"] = json!(ratio);
    emit(result);
    Ok(())
}

fn vllm(args: &Args) -> Result<(), String> {
    let conc = args.list("vllm-concurrency", "1,64,256,512")?;
    let (prompt, generated) = (args.num("vllm-prompt", 128)?, args.num("vllm-gen", 1024)?);
    let e = load(args, *conc.iter().max().unwrap_or(&1), prompt + generated + 8)?;
    let vocab = e.info().config.vocab_size;
    let mut rng = Rng::new(10);
    for &c in &conc {
        let t0 = Instant::now();
        let handles: Vec<_> = (0..c)
            .map(|_| e.generate(random_ids(&mut rng, prompt, vocab), params(generated)).map(drain))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let tokens: usize = handles.into_iter().map(|h| h.join().map(|t| t.len()).unwrap_or(0)).sum();
        let secs = t0.elapsed().as_secs_f64();
        emit(
            json!({"scenario": "vllm", "concurrency": c, "slots": e.info().slots, "prompt": prompt, "generated": generated, "output_tokens_per_s": tokens as f64 / secs, "seconds": secs, "device": args.get("device", "cpu")}),
        );
    }
    Ok(())
}

fn random(args: &Args) -> Result<(), String> {
    let Some(dir) = args.opts.get("out").map(PathBuf::from) else { return Err("random needs --out DIR".into()) };
    let heads = args.num("heads", 8)?;
    let spec = RandomSpec {
        vocab_size: args.num("vocab", 151_669)?,
        hidden_size: args.num("hidden", 512)?,
        intermediate_size: args.num("intermediate", 1536)?,
        num_layers: args.num("layers", 4)?,
        num_heads: heads,
        num_kv_heads: args.num("kv-heads", heads / 4)?,
        head_dim: args.num("head-dim", 64)?,
        max_position_embeddings: 40_960,
        tie_word_embeddings: true,
        std: 1.0,
        seed: 1,
        dtype: DType::BF16,
    };
    write_random_checkpoint(&dir, &spec).map_err(|e| e.to_string())?;
    eprintln!("wrote {}: {spec:?}", dir.display());
    Ok(())
}

fn main() -> ExitCode {
    let run = || -> Result<(), String> {
        let args = Args::parse()?;
        if args.model == Path::new("random") {
            return random(&args);
        }
        let _ = KERNELS.set(match kernel_flags(&args) {
            (true, true) => "fused+graphs",
            (true, false) => "fused",
            _ => "candle",
        });
        let float = |k: &str, d: &str| args.get(k, d).parse::<f32>().map_err(|e| format!("--{k}: {e}"));
        let sampling = (float("temperature", "0")?, float("top-p", "1")?);
        let _ = SAMPLING.set(sampling);
        if !Path::new(&args.model).join("config.json").exists() {
            return Err(format!("{}: no config.json", args.model.display()));
        }
        for s in args.get("scenarios", "decode,ttft,agentic,vllm").split(',') {
            match s.trim() {
                "check" => {
                    let Some(reference) = args.opts.get("reference") else { return Err("check needs --reference FILE".into()) };
                    let device: DeviceSpec = args.get("device", "cpu").parse().map_err(|e| format!("{e}"))?;
                    let tie: f32 = args.get("tie", "0.01").parse().map_err(|e| format!("--tie: {e}"))?;
                    let report = check::check(
                        &args.model,
                        device,
                        args.opts.get("dtype").map(String::as_str),
                        Path::new(reference),
                        tie,
                        kernel_flags(&args),
                    )?;
                    let pass = report["greedy_pass"].as_bool().unwrap_or(false);
                    emit(report);
                    if !pass {
                        return Err("greedy tokens left transformers' path where it had no near tie".into());
                    }
                }
                "sampling" => {
                    let device: DeviceSpec = args.get("device", "cpu").parse().map_err(|e| format!("{e}"))?;
                    let report = sampling::sampling(device, args.num("vocab", 151_936)?)?;
                    let pass = report["pass"].as_bool().unwrap_or(false);
                    emit(report);
                    if !pass {
                        return Err("the sampling kernel left its definition".into());
                    }
                }
                "decode" => decode(&args)?,
                "ttft" => ttft(&args)?,
                "agentic" => agentic(&args)?,
                "vllm" => vllm(&args)?,
                other => return Err(format!("unknown scenario {other:?}")),
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

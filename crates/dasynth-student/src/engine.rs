//! The engine's public face: load a checkpoint, then `generate(prompt, params)` returns a
//! [`Generation`], an async stream of [`Event`]s that can be resumed after each turn.
//!
//! The model, KV cache and scheduler live on one engine thread that steps whenever any
//! sequence has work; callers talk to it through a command channel and read their events from
//! their own channel, from async code (`next().await`) or blocking code (`blocking_next`).
//! Dropping a `Generation` frees its slot.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use candle_core::DType;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::checkpoint::Checkpoint;
use crate::config::{GenerationConfig, ModelConfig};
use crate::device::DeviceSpec;
use crate::error::{Result, StudentError};
use crate::kv_cache::KvCache;
use crate::model::Qwen3;
use crate::params::{Event, Finish, SamplingParams};
use crate::rope::RopeTables;
use crate::scheduler::{NewGroup, NewSeq, Scheduler, SchedulerStats, SeqId, StepLimits};
use crate::tokenizer::Tokenizer;

/// How to start an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub device: DeviceSpec,
    /// `f32`, `bf16` or `f16`; the device's default when `None`.
    pub dtype: Option<String>,
    /// KV-cache slots: sequences that can be in flight (running or paused) at once.
    pub max_seqs: usize,
    /// Context length of every slot; the config's `max_position_embeddings` (at most 8,192)
    /// when `None`.
    pub max_len: Option<usize>,
    /// Tokens in one forward pass.
    pub max_batch_tokens: usize,
    /// `tokenizer.json`; the checkpoint's own when `None` (the engine runs on ids alone if
    /// there is none).
    pub tokenizer: Option<PathBuf>,
    /// On a CUDA device: the engine's fused KV-write and decode-attention kernels (off: candle's
    /// ops only).
    pub fused_kernels: bool,
    /// On a CUDA device with fused kernels: decode-only steps as captured CUDA graphs.
    pub cuda_graphs: bool,
    /// Fail steps larger than this many tokens as if the device were out of memory (tests).
    #[doc(hidden)]
    pub simulate_oom_above: Option<usize>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            device: DeviceSpec::Cpu,
            dtype: None,
            max_seqs: 64,
            max_len: None,
            max_batch_tokens: 2048,
            tokenizer: None,
            fused_kernels: true,
            cuda_graphs: true,
            simulate_oom_above: None,
        }
    }
}

/// Facts about a running engine.
#[derive(Clone)]
pub struct EngineInfo {
    pub model_dir: PathBuf,
    pub config: ModelConfig,
    pub generation: GenerationConfig,
    pub device: DeviceSpec,
    pub dtype: DType,
    pub max_len: usize,
    pub slots: usize,
    pub tokenizer: Option<Tokenizer>,
    /// End-of-sequence ids (generation config, config, and `<|im_end|>` / `<|endoftext|>`).
    pub eos_token_ids: Vec<u32>,
}

enum Command {
    Submit(NewGroup),
    Resume { id: SeqId, tokens: Vec<u32>, params: Option<SamplingParams> },
    Release(SeqId),
    Shutdown,
}

/// A loaded model serving generations from its own thread.
pub struct Engine {
    commands: mpsc::Sender<Command>,
    info: Arc<EngineInfo>,
    stats: Arc<Mutex<SchedulerStats>>,
    next_id: AtomicU64,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    /// Loads the checkpoint in `model_dir` and starts the engine thread.
    pub fn load(model_dir: &Path, opts: &EngineOptions) -> Result<Engine> {
        let config = ModelConfig::from_file(&model_dir.join("config.json"))?;
        let generation = GenerationConfig::from_dir(model_dir)?;
        let device = opts.device.open()?;
        let dtype = match &opts.dtype {
            Some(name) => opts.device.dtype(name)?,
            None => opts.device.default_dtype(),
        };
        let tokenizer = match &opts.tokenizer {
            Some(p) => Some(Tokenizer::from_file(p)?),
            None => {
                let p = model_dir.join("tokenizer.json");
                if p.exists() { Some(Tokenizer::from_file(&p)?) } else { None }
            }
        };
        let max_len = opts.max_len.unwrap_or(config.max_position_embeddings.min(8192)).max(2);
        #[cfg_attr(not(feature = "cuda"), allow(unused_mut))]
        let mut model = Qwen3::load(&config, &Checkpoint::open(model_dir)?, &device, dtype)?;
        let rope = RopeTables::new(&config.rope, config.head_dim, max_len, &device, dtype)?;
        let cache = KvCache::allocate(&config, &device, dtype, opts.max_seqs, max_len)?;
        #[cfg(feature = "cuda")]
        if opts.fused_kernels {
            let on = model.enable_cuda(cache.slots(), max_len, opts.cuda_graphs);
            tracing::info!(fused_kernels = on, cuda_graphs = on && opts.cuda_graphs, "engine kernels");
        }
        let mut eos = generation.eos_token_ids.clone();
        eos.extend(&config.eos_token_ids);
        if let Some(t) = &tokenizer {
            eos.extend(["<|im_end|>", "<|endoftext|>"].iter().filter_map(|s| t.token_id(s)));
        }
        eos.sort_unstable();
        eos.dedup();
        let limits = StepLimits {
            max_batch_tokens: opts.max_batch_tokens.max(1),
            max_decode: cache.slots(),
            simulate_oom_above: opts.simulate_oom_above,
        };
        let info = Arc::new(EngineInfo {
            model_dir: model_dir.to_path_buf(),
            config,
            generation,
            device: opts.device,
            dtype,
            max_len,
            slots: cache.slots(),
            tokenizer: tokenizer.clone(),
            eos_token_ids: eos.clone(),
        });
        let scheduler = Scheduler::new(model, cache, rope, tokenizer, eos, limits);
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(Mutex::new(SchedulerStats::default()));
        let st = stats.clone();
        let thread = std::thread::Builder::new()
            .name("student-engine".into())
            .spawn(move || engine_loop(scheduler, rx, st))
            .map_err(|source| StudentError::Io { path: model_dir.to_path_buf(), source })?;
        Ok(Engine { commands: tx, info, stats, next_id: AtomicU64::new(1), thread: Some(thread) })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        self.info.tokenizer.as_ref()
    }

    /// Work counters so far.
    pub fn stats(&self) -> SchedulerStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Sampling defaults of the checkpoint's `generation_config.json`, with `max_tokens`.
    pub fn default_params(&self, max_tokens: usize) -> SamplingParams {
        let g = &self.info.generation;
        SamplingParams {
            temperature: g.temperature.unwrap_or(1.0) as f32,
            top_p: g.top_p.unwrap_or(1.0) as f32,
            top_k: g.top_k.unwrap_or(0),
            max_tokens,
            ..Default::default()
        }
    }

    /// Starts one sequence from `prompt`.
    pub fn generate(&self, prompt: Vec<u32>, params: SamplingParams) -> Result<Generation> {
        let mut v = self.generate_n(prompt, params, 1)?;
        v.pop().ok_or(StudentError::EngineStopped(None))
    }

    /// Starts `n` samples of `prompt` sharing one prefill; sample `i` is seeded `seed + i`.
    pub fn generate_n(&self, prompt: Vec<u32>, params: SamplingParams, n: usize) -> Result<Vec<Generation>> {
        self.check(&prompt, &params, n)?;
        let mut members = Vec::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = unbounded_channel();
            let p = SamplingParams { seed: params.seed.wrapping_add(i as u64), ..params.clone() };
            members.push(NewSeq { id, params: p, events: tx });
            out.push(Generation {
                id,
                events: rx,
                commands: self.commands.clone(),
                context_len: prompt.len(),
                max_len: self.info.max_len,
                has_tokenizer: self.info.tokenizer.is_some(),
            });
        }
        self.commands.send(Command::Submit(NewGroup { prompt, members })).map_err(|_| StudentError::EngineStopped(None))?;
        Ok(out)
    }

    fn check(&self, prompt: &[u32], params: &SamplingParams, n: usize) -> Result<()> {
        let bad = |m: String| Err(StudentError::InvalidRequest(m));
        if prompt.is_empty() {
            return bad("the prompt is empty".into());
        }
        if prompt.len() + 1 > self.info.max_len {
            return Err(StudentError::PromptTooLong { tokens: prompt.len(), limit: self.info.max_len - 1 });
        }
        if let Some(t) = prompt.iter().find(|t| **t as usize >= self.info.config.vocab_size) {
            return bad(format!("token id {t} is outside the vocabulary of {} ids", self.info.config.vocab_size));
        }
        if n == 0 || n > self.info.slots {
            return bad(format!("n = {n} samples; this engine has {} slots", self.info.slots));
        }
        if !(params.temperature >= 0.0 && params.temperature.is_finite()) {
            return bad(format!("temperature {} must be finite and at least 0", params.temperature));
        }
        if !(params.top_p > 0.0 && params.top_p <= 1.0) {
            return bad(format!("top_p {} must be in (0, 1]", params.top_p));
        }
        if params.max_tokens == 0 {
            return bad("max_tokens must be at least 1".into());
        }
        if !params.stop.is_empty() && self.info.tokenizer.is_none() {
            return Err(StudentError::NoTokenizer { what: "stop strings" });
        }
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn engine_loop(mut sched: Scheduler, rx: mpsc::Receiver<Command>, stats: Arc<Mutex<SchedulerStats>>) {
    let apply = |sched: &mut Scheduler, c: Command| -> bool {
        match c {
            Command::Submit(g) => sched.submit(g),
            Command::Resume { id, tokens, params } => sched.resume(id, tokens, params),
            Command::Release(id) => sched.release(id),
            Command::Shutdown => return false,
        }
        true
    };
    loop {
        loop {
            match rx.try_recv() {
                Ok(c) => {
                    if !apply(&mut sched, c) {
                        return;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        if !sched.has_work() {
            match rx.recv() {
                Ok(c) => {
                    if !apply(&mut sched, c) {
                        return;
                    }
                }
                Err(_) => return,
            }
            continue;
        }
        if let Err(e) = sched.step() {
            tracing::error!(error = %e, "engine step failed; failing the sequences in flight");
            sched.fail_all(&e.to_string());
        }
        if let Ok(mut s) = stats.lock() {
            *s = sched.stats();
        }
    }
}

/// The tokens, text and end of one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub tokens: Vec<u32>,
    pub text: String,
    pub finish: Finish,
}

/// One sequence: a stream of events per turn, resumable after each turn while it is held.
pub struct Generation {
    id: SeqId,
    events: UnboundedReceiver<Event>,
    commands: mpsc::Sender<Command>,
    context_len: usize,
    max_len: usize,
    has_tokenizer: bool,
}

impl Generation {
    /// The next event, or `None` once the engine is gone.
    pub async fn next(&mut self) -> Option<Event> {
        let e = self.events.recv().await;
        self.observe(&e);
        e
    }

    /// [`Generation::next`] for synchronous callers (not from inside an async runtime).
    pub fn blocking_next(&mut self) -> Option<Event> {
        let e = self.events.blocking_recv();
        self.observe(&e);
        e
    }

    fn observe(&mut self, e: &Option<Event>) {
        if let Some(Event::Finished(f)) = e {
            self.context_len = f.context_len;
        }
    }

    /// Reads events until the turn ends.
    pub async fn turn(&mut self) -> Result<Turn> {
        let mut acc = TurnBuilder::default();
        loop {
            let e = self.next().await;
            if let Some(t) = acc.add(e)? {
                return Ok(t);
            }
        }
    }

    /// [`Generation::turn`] for synchronous callers.
    pub fn blocking_turn(&mut self) -> Result<Turn> {
        let mut acc = TurnBuilder::default();
        loop {
            let e = self.blocking_next();
            if let Some(t) = acc.add(e)? {
                return Ok(t);
            }
        }
    }

    /// Tokens in the sequence's context after its last finished turn.
    pub fn context_len(&self) -> usize {
        self.context_len
    }

    /// Appends `tokens` (a tool's output, a user turn) to a paused sequence and starts its next
    /// turn, keeping its KV cache: only the new tokens are prefilled.
    pub fn resume(&mut self, tokens: Vec<u32>, params: Option<SamplingParams>) -> Result<()> {
        if self.context_len + tokens.len() + 1 > self.max_len {
            return Err(StudentError::PromptTooLong { tokens: self.context_len + tokens.len(), limit: self.max_len - 1 });
        }
        if params.as_ref().is_some_and(|p| !p.stop.is_empty()) && !self.has_tokenizer {
            return Err(StudentError::NoTokenizer { what: "stop strings" });
        }
        self.context_len += tokens.len();
        self.commands.send(Command::Resume { id: self.id, tokens, params }).map_err(|_| StudentError::EngineStopped(None))
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Release(self.id));
    }
}

#[derive(Default)]
struct TurnBuilder {
    tokens: Vec<u32>,
    text: String,
}

impl TurnBuilder {
    fn add(&mut self, e: Option<Event>) -> Result<Option<Turn>> {
        match e {
            None => Err(StudentError::EngineStopped(None)),
            Some(Event::Failed(m)) => Err(StudentError::SequenceFailed(m)),
            Some(Event::Token { id, text }) => {
                self.tokens.push(id);
                self.text.push_str(&text);
                Ok(None)
            }
            Some(Event::Finished(finish)) => {
                Ok(Some(Turn { tokens: std::mem::take(&mut self.tokens), text: std::mem::take(&mut self.text), finish }))
            }
        }
    }
}

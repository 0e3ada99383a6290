//! Throughput benchmark of `dasynth_llm::Client` (no cache) against a running
//! server, e.g. `fake-llm-server --latency-ms 200`.
//!
//! `llm_bench --url http://127.0.0.1:PORT/v1 --requests 10000 --concurrency 1024 [--kind openai|anthropic]`
//! prints one JSON line with counts and wall time; CPU time and peak RSS are
//! measured by the caller (bench/llm/run.py uses wait4 on this process).

use std::time::Instant;

use dasynth_llm::{ChatRequest, Client, TeacherConfig, TeacherKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut url = String::from("http://127.0.0.1:8080/v1");
    let mut kind = TeacherKind::OpenAi;
    let mut requests: usize = 10_000;
    let mut concurrency: usize = 64;
    let mut threads: usize = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().ok_or(format!("{a} needs a value"))?;
        match a.as_str() {
            "--url" => url = v,
            "--kind" => kind = serde_json::from_value(serde_json::Value::String(v))?,
            "--requests" => requests = v.parse()?,
            "--concurrency" => concurrency = v.parse()?,
            "--threads" => threads = v.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    // --threads 1: current-thread runtime; N > 1: N workers; 0: one per core.
    let rt = match threads {
        1 => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        0 => tokio::runtime::Builder::new_multi_thread().enable_all().build()?,
        n => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build()?,
    };
    let cpu0 = cpu_seconds();
    let mut cfg = TeacherConfig::new(kind, "bench-model");
    cfg.base_url = Some(url);
    cfg.max_concurrency = concurrency;
    cfg.timeout_secs = 60.0;
    cfg.max_tokens = Some(64);
    let client = Client::new(cfg)?;
    let (ok, errors, elapsed, lat_ms) = rt.block_on(async move {
        let t = Instant::now();
        let mut handles = Vec::with_capacity(requests);
        for i in 0..requests {
            let c = client.clone();
            handles.push(tokio::spawn(async move {
                let req = ChatRequest::user(format!("Question {i}: what is the mean of column x in table t?"));
                let t0 = Instant::now();
                c.chat(&req).await.map(|_| t0.elapsed())
            }));
        }
        let (mut ok, mut errors) = (0usize, 0usize);
        let mut lat = Vec::with_capacity(requests);
        let mut first_err = None;
        for h in handles {
            match h.await {
                Ok(Ok(d)) => {
                    ok += 1;
                    lat.push(d.as_secs_f64() * 1e3);
                }
                Ok(Err(e)) => {
                    errors += 1;
                    first_err.get_or_insert(e.to_string());
                }
                Err(e) => {
                    errors += 1;
                    first_err.get_or_insert(e.to_string());
                }
            }
        }
        if let Some(e) = first_err {
            eprintln!("first error: {e}");
        }
        lat.sort_by(f64::total_cmp);
        let q = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0.0);
        (ok, errors, t.elapsed(), [q(0.5), q(0.99), q(1.0)])
    });
    println!(
        "{}",
        serde_json::json!({
            "requests": requests, "ok": ok, "errors": errors, "concurrency": concurrency,
            "elapsed_s": elapsed.as_secs_f64(), "throughput_rps": ok as f64 / elapsed.as_secs_f64(),
            "workload_cpu_s": cpu_seconds() - cpu0, "threads": threads, "peak_rss_kib": peak_rss_kib(),
            "latency_ms_p50_p99_max": lat_ms,
        })
    );
    Ok(())
}

/// User + system CPU seconds of this process so far (from /proc/self/stat,
/// assuming the usual 100 clock ticks per second).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Peak resident set size (VmHWM) of this process in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok())))
        .unwrap_or(0)
}

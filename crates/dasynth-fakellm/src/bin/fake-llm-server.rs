//! `fake-llm-server`: run the fake OpenAI/Anthropic server as its own process
//! (for benchmarks). Prints `listening on http://ADDR` once ready and serves
//! until killed.

use std::time::Duration;

use dasynth_fakellm::{FakeConfig, FakeLlm, Fault};

const USAGE: &str = "usage: fake-llm-server [--port P] [--host H] [--latency-ms N] [--jitter-ms N] \
[--workers N] [--seed N] [--fault-rate F] [--faults 429,500,503,hang,truncated,invalid-json,slow,empty]";

fn parse_fault(s: &str) -> Result<Fault, String> {
    Ok(match s {
        "429" => Fault::RateLimited { retry_after: Some("1".into()) },
        "500" => Fault::ServerError,
        "503" | "529" | "overload" => Fault::Overloaded,
        "hang" => Fault::Hang,
        "truncated" => Fault::Truncated,
        "invalid-json" => Fault::InvalidJson,
        "slow" => Fault::SlowStream { chunks: 4, delay: Duration::from_millis(100) },
        "empty" => Fault::EmptyContent,
        other => return Err(format!("unknown fault {other:?}")),
    })
}

fn run() -> Result<(), String> {
    let mut cfg = FakeConfig::default();
    let mut host = "127.0.0.1".to_string();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--port" => port = val()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--host" => host = val()?,
            "--latency-ms" => cfg.latency = Duration::from_millis(val()?.parse().map_err(|e| format!("--latency-ms: {e}"))?),
            "--jitter-ms" => cfg.jitter = Duration::from_millis(val()?.parse().map_err(|e| format!("--jitter-ms: {e}"))?),
            "--workers" => cfg.worker_threads = val()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--seed" => cfg.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--fault-rate" => cfg.fault_rate = val()?.parse().map_err(|e| format!("--fault-rate: {e}"))?,
            "--faults" => cfg.faults = val()?.split(',').filter(|s| !s.is_empty()).map(parse_fault).collect::<Result<_, _>>()?,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let srv = FakeLlm::try_start(cfg, &format!("{host}:{port}")).map_err(|e| e.to_string())?;
    println!("listening on http://{}", srv.addr());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("fake-llm-server: {e}");
        std::process::exit(2);
    }
}

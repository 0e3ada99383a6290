//! `dasynth fake-llm`: a scripted teacher on loopback, so a configuration can be dry-run end to
//! end (and the client benchmarked) with no API key. Every request gets a short DeepAnalyze
//! answer; faults are injected at the rate asked for.

use crate::ExitStatus;
use crate::cli::FakeLlmArgs;
use crate::printer;
use dasynth_fakellm::{FakeConfig, FakeLlm, Fault, Reply, Responder};
use std::time::Duration;

fn fault(name: &str) -> anyhow::Result<Fault> {
    Ok(match name {
        "429" => Fault::RateLimited { retry_after: Some("1".into()) },
        "500" => Fault::ServerError,
        "503" | "529" => Fault::Overloaded,
        "hang" => Fault::Hang,
        "truncated" => Fault::Truncated,
        "invalid-json" => Fault::InvalidJson,
        "slow" => Fault::SlowStream { chunks: 4, delay: Duration::from_millis(100) },
        "empty" => Fault::EmptyContent,
        other => anyhow::bail!("unknown fault {other:?}\nhint: use 429, 500, 503, hang, truncated, invalid-json, slow or empty"),
    })
}

pub fn run(args: FakeLlmArgs) -> anyhow::Result<ExitStatus> {
    let faults = args.faults.iter().map(|f| fault(f)).collect::<anyhow::Result<Vec<_>>>()?;
    let config = FakeConfig {
        responder: Responder::func(|s| {
            if s.last_user().contains("<Execute>") {
                Reply::text("<Analyze>The output answers the question.</Analyze>\n<Answer>See the output above.</Answer>")
            } else {
                Reply::text(
                    "<Analyze>Look at the data first.</Analyze>\n<Code>\n```python\nimport os\nprint(sorted(os.listdir('.')))\n```\n",
                )
            }
        }),
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        faults,
        ..Default::default()
    };
    let srv = FakeLlm::try_start(config, &format!("127.0.0.1:{}", args.port))?;
    printer::out(&format!("http://{}/v1\n", srv.addr()))?;
    printer::note(format!(
        "fake teacher listening on http://{} (OpenAI: /v1/chat/completions, Anthropic: /v1/messages); Ctrl-C stops it",
        srv.addr()
    ));
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

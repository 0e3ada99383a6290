//! Joining the shards of a sharded `sample` run (`dasynth merge`): the shards own disjoint
//! tasks, so the run's pass rates are their rows in `tasks.parquet` order, its verdicts are
//! theirs (taken over by an unsharded verify of `student/`), and its counters are their sums.

use crate::error::SampleError;
use crate::pass_rates::pass_rate_schema;
use crate::stage::{SampleStats, summarise};
use dasynth_core::config::Settings;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::reporter::Reporter;
use dasynth_core::shard::Shard;
use dasynth_core::verdict::PassRate;
use dasynth_verify::Corpus;
use std::collections::HashMap;

/// Writes `student/pass_rates.parquet`, `student/verdicts.parquet` and `stats/sample.json`
/// from the `count` shards' files. The caller has checked that every shard completed.
pub fn merge_shards(s: &Settings, count: u32, reporter: &dyn Reporter) -> Result<SampleStats, SampleError> {
    let run = RunDir::new(&s.out);
    let order: HashMap<String, usize> = dasynth_tasks::read_tasks(&run)?.into_iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let mut rows: Vec<PassRate> = Vec::new();
    let mut shards: Vec<SampleStats> = Vec::new();
    for shard in Shard::all_of(count) {
        rows.extend(dasynth_parquet::read_rows::<PassRate>(&run.pass_rates_shard(shard))?);
        let path = run.stats_shard(Stage::Sample, shard);
        let bytes = std::fs::read(&path).map_err(|source| SampleError::Io {
            what: "cannot read the shard's counters",
            path: path.clone(),
            source,
        })?;
        let st: SampleStats =
            serde_json::from_slice(&bytes).map_err(|e| SampleError::Shards { path: path.clone(), message: e.to_string() })?;
        if let Some(first) = shards.first()
            && (first.variant != st.variant || first.n != st.n)
        {
            return Err(SampleError::Shards {
                path,
                message: format!("it sampled {} × {}, shard 0 sampled {} × {}", st.n, st.variant, first.n, first.variant),
            });
        }
        shards.push(st);
    }
    rows.sort_by_key(|r| order.get(&r.task_id).copied().unwrap_or(usize::MAX));
    dasynth_parquet::write_rows(&run.pass_rates(), &rows, pass_rate_schema())?;
    let verified = dasynth_verify::verify_corpus(&run, s, Corpus::Student, None, None, reporter)?;

    let mut total = SampleStats { verify: verified.stats, ..Default::default() };
    for st in shards {
        if total.variant.is_empty() {
            (total.model, total.variant, total.n) = (st.model, st.variant, st.n);
        }
        total.tasks += st.tasks;
        total.samples_run += st.samples_run;
        total.samples_reused += st.samples_reused;
        total.samples_missing += st.samples_missing;
        for (k, v) in st.by_finish {
            *total.by_finish.entry(k).or_default() += v;
        }
        total.passed += st.passed;
        total.input_tokens += st.input_tokens;
        total.output_tokens += st.output_tokens;
        // The shards ran side by side: their rates add up; their seconds are shard-seconds.
        total.samples_per_minute += st.samples_per_minute;
        total.sampling_seconds += st.sampling_seconds;
        total.seconds += st.seconds;
        total.stopped = total.stopped.or(st.stopped);
    }
    summarise(&mut total, &rows);
    dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Sample), &total)?;
    Ok(total)
}

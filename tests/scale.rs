//! End-to-end tests of sharded runs: the demo tables generated in three shards one after
//! another, merged, and compared with the unsharded run; merge refusing a missing shard; a
//! rerun shard doing no work twice; the Slurm and Kubernetes launchers' job files.

mod common;

use common::*;
use dasynth_agent::store::read_all;
use dasynth_core::verdict::Verdict;
use std::collections::BTreeMap;
use std::path::Path;

const CONFIG: &str = "[tasks]\nmax-tasks = 8\nper-table = 3\n";

/// Every trajectory by key, as JSON without the fields that measure time.
fn trajectories(run: &Path) -> BTreeMap<String, serde_json::Value> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in ["duration_ms", "started_ms", "generate_ms", "wall_ms"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    read_all(&run.join("trajectories"))
        .into_iter()
        .map(|t| {
            let mut v = serde_json::to_value(&t).unwrap();
            strip(&mut v);
            (t.key, v)
        })
        .collect()
}

/// The verdicts sorted by key, written again as Parquet: the bytes to compare. The sha256 of
/// the trajectory's line is left out: the line records how long each turn and cell took.
fn sorted_verdicts(run: &Path, scratch: &Path) -> (Vec<Verdict>, Vec<u8>) {
    let mut rows: Vec<Verdict> = dasynth_parquet::read_rows(&run.join("verdicts.parquet")).unwrap();
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    for v in &mut rows {
        assert_eq!(v.trajectory_sha256.len(), 64);
        v.trajectory_sha256.clear();
    }
    dasynth_parquet::write_rows(scratch, &rows, dasynth_verify::schema::verdict_schema()).unwrap();
    (rows, std::fs::read(scratch).unwrap())
}

/// The rows of every Parquet file under `export/data`, each file's rows as sorted JSON lines.
fn export_rows(run: &Path) -> BTreeMap<String, Vec<String>> {
    fn walk(dir: &Path, run: &Path, out: &mut BTreeMap<String, Vec<String>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, run, out);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                let rows: Vec<serde_json::Value> = dasynth_parquet::read_rows(&p).unwrap();
                let mut lines: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
                lines.sort();
                out.insert(p.strip_prefix(run).unwrap().display().to_string(), lines);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&run.join("export/data"), run, &mut out);
    out
}

fn ok(o: &std::process::Output) {
    assert!(code(o) == 0 || code(o) == 1, "exit {}: {}", code(o), stderr(o));
}

/// The same tasks, trajectories, verdicts (sorted, in bytes) and dataset in both run folders.
fn assert_same_dataset(whole: &Path, sharded: &Path, scratch: &Path) {
    let tasks = |run: &Path| {
        let mut t: Vec<dasynth_core::task::Task> = dasynth_parquet::read_rows(&run.join("tasks.parquet")).unwrap();
        t.sort_by(|a, b| a.id.cmp(&b.id));
        t
    };
    let whole_tasks = tasks(whole);
    assert!(whole_tasks.len() >= 3, "too few tasks to split: {}", whole_tasks.len());
    assert_eq!(whole_tasks, tasks(sharded));
    let (a, b) = (trajectories(whole), trajectories(sharded));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_eq!(a, b);
    let (va, bytes_a) = sorted_verdicts(whole, &scratch.join("a.parquet"));
    let (vb, bytes_b) = sorted_verdicts(sharded, &scratch.join("b.parquet"));
    assert_eq!(va.len(), a.len());
    assert_eq!(va, vb);
    assert!(bytes_a == bytes_b, "sorted verdicts differ in bytes");
    let (ea, eb) = (export_rows(whole), export_rows(sharded));
    assert!(!ea.is_empty());
    assert_eq!(ea, eb);
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dasynth.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let cfg = s(&config);
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");

    let o = dasynth(&["--config", cfg, "generate", "--out", s(&whole), "-q"]);
    ok(&o);

    let shard = |i: u32| dasynth(&["--config", cfg, "generate", "--out", s(&sharded), "--shard", &format!("{i}/3")]);
    let first = shard(0);
    ok(&first);
    let o = shard(1);
    ok(&o);
    assert!(stderr(&o).contains("reusing the catalog, profiles and tasks"), "{}", stderr(&o));

    // Shard 2 never ran: merge names it and refuses.
    let o = dasynth(&["--config", cfg, "merge", s(&sharded)]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("shard 2/3 (trajectories) never ran"), "{}", stderr(&o));
    assert!(!sharded.join("verdicts.parquet").exists());

    ok(&shard(2));
    // A shard run again after it finished does nothing twice.
    let own = sharded.join("trajectories/shard-0001-of-0003.jsonl");
    let before = std::fs::read(&own).unwrap();
    let o = shard(1);
    ok(&o);
    assert!(stderr(&o).contains("trajectories: 0 written"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&own).unwrap(), before);

    let o = dasynth(&["--config", cfg, "merge", s(&sharded)]);
    ok(&o);
    assert!(stderr(&o).contains("all 3 shards"), "{}", stderr(&o));
    let o = dasynth(&["--config", cfg, "export", s(&sharded), "-q"]);
    ok(&o);

    // Only shard files in the sharded run's trajectories/.
    let names: Vec<String> =
        std::fs::read_dir(sharded.join("trajectories")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| n.starts_with("shard-") && n.ends_with("-of-0003.jsonl")), "{names:?}");

    assert_same_dataset(&whole, &sharded, dir.path());
    // Every shard held some of the work.
    for i in 0..3 {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sharded.join(format!("shards/trajectories-shard-{i:04}-of-0003.done.json"))).unwrap())
                .unwrap();
        assert_eq!(m["index"], i);
    }
    // The summed counters cover every trajectory once (the rerun of shard 1 reused its own).
    let total: serde_json::Value = serde_json::from_slice(&std::fs::read(sharded.join("stats/trajectories.json")).unwrap()).unwrap();
    assert_eq!((total["written"].as_u64().unwrap() + total["reused"].as_u64().unwrap()) as usize, trajectories(&sharded).len());
}

#[test]
fn slurm_dry_run_writes_the_array_and_the_merge_job() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs");
    let o = dasynth(&[
        "launch",
        "slurm",
        "--shards",
        "4",
        "--partition",
        "cpu",
        "--cpus-per-task",
        "8",
        "--time",
        "02:00:00",
        "--dry-run",
        "--write",
        s(&jobs),
        "--program",
        "/opt/dasynth",
        "--",
        "generate",
        "--config",
        "d.toml",
        "--out",
        "runs/x",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let array = std::fs::read_to_string(jobs.join("dasynth-shards.sbatch")).unwrap();
    assert!(array.contains("#SBATCH --array=0-3\n") && array.contains("#SBATCH --partition=cpu\n"), "{array}");
    assert!(array.contains("exec /opt/dasynth generate --config d.toml --out runs/x --shard \"${SLURM_ARRAY_TASK_ID}/4\""), "{array}");
    let merge = std::fs::read_to_string(jobs.join("dasynth-merge.sbatch")).unwrap();
    assert!(merge.contains("/opt/dasynth --config d.toml merge runs/x\n/opt/dasynth --config d.toml export runs/x\n"), "{merge}");
    // A command that does not shard is refused.
    let o = dasynth(&["launch", "slurm", "--shards", "2", "--dry-run", "--write", s(&jobs), "--", "export"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("does not run in shards") && stderr(&o).contains("hint:"), "{}", stderr(&o));
}

/// The state of a Slurm job (`COMPLETED`, `FAILED`, ...), or `None` while it is pending or running.
fn slurm_job_done(id: &str) -> Option<String> {
    let out = std::process::Command::new("scontrol").args(["show", "job", id]).output().expect("scontrol");
    let text = String::from_utf8_lossy(&out.stdout);
    let state = text.split_whitespace().find_map(|w| w.strip_prefix("JobState="))?.to_string();
    (!matches!(state.as_str(), "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING")).then_some(state)
}

/// A real one-node Slurm cluster (`scripts/slurm-up`, which `scripts/test` starts as root): `dasynth
/// launch slurm` submits four array tasks and the merge job, Slurm runs them, and the merged run
/// equals the unsharded one.
#[test]
fn slurm_runs_four_shards_then_the_merge_and_equals_the_unsharded_run() {
    if std::env::var_os("SLURM_CONF").is_none() {
        eprintln!("skipped: SLURM_CONF is not set (scripts/test starts a one-node cluster with scripts/slurm-up)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.toml"), CONFIG).unwrap();
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    ok(&dasynth_in(dir.path(), &["--config", "d.toml", "generate", "--out", s(&whole), "-q"], &[]));

    let o = dasynth_in(
        dir.path(),
        &[
            "launch",
            "slurm",
            "--shards",
            "4",
            "--cpus-per-task",
            "1",
            "--program",
            &bin(),
            "--",
            "generate",
            "--config",
            "d.toml",
            "--out",
            s(&sharded),
        ],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ids: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 2, "{}", stdout(&o));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(900);
    let state = loop {
        if let Some(state) = slurm_job_done(&ids[1]) {
            break state;
        }
        assert!(std::time::Instant::now() < deadline, "the merge job {} did not finish in 15 minutes", ids[1]);
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let log = std::fs::read_to_string(dir.path().join(format!("dasynth-merge-{}.out", ids[1]))).unwrap_or_default();
    assert_eq!(state, "COMPLETED", "merge job log:\n{log}");
    assert!(log.contains("merge: all 4 shards"), "{log}");
    for i in 0..4 {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sharded.join(format!("shards/trajectories-shard-{i:04}-of-0004.done.json"))).unwrap())
                .unwrap();
        assert_eq!(m["index"], i);
        assert!(dir.path().join(format!("dasynth-{}_{i}.out", ids[0])).is_file(), "array task {i} wrote its log");
    }
    assert_same_dataset(&whole, &sharded, dir.path());
}

/// `profile --shard I/N` over two shards writes the same profiles as one unsharded profile run,
/// each shard only its sources' tables.
#[test]
fn profiles_in_two_shards_equal_the_unsharded_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    ok(&dasynth(&["crawl", s(&repo().join("sources/demo.toml")), "--out", s(&whole), "-q"]));
    let sharded = dir.path().join("sharded");
    std::fs::create_dir_all(&sharded).unwrap();
    for f in ["catalog.parquet", "tables"] {
        let st = std::process::Command::new("cp").args(["-r", s(&whole.join(f)), s(&sharded)]).status().unwrap();
        assert!(st.success());
    }
    ok(&dasynth(&["profile", s(&whole), "-q"]));
    let mut kept = Vec::new();
    for i in 0..2 {
        ok(&dasynth(&["profile", s(&sharded), "--shard", &format!("{i}/2"), "-q"]));
        let st: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sharded.join(format!("stats/profile-shard-{i:04}-of-0002.json"))).unwrap()).unwrap();
        kept.push(st["kept"].as_u64().unwrap());
    }
    let profiles = |run: &Path| -> BTreeMap<String, serde_json::Value> {
        walk_files(&run.join("profiles"))
            .into_iter()
            .map(|p| {
                let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                v.as_object_mut().unwrap().remove("seconds");
                (p.file_name().unwrap().to_string_lossy().into_owned(), v)
            })
            .collect()
    };
    let (a, b) = (profiles(&whole), profiles(&sharded));
    assert!(a.len() >= 5, "{}", a.len());
    assert_eq!(a, b);
    assert_eq!(kept.iter().sum::<u64>() as usize, a.len());
    assert!(kept.iter().all(|k| *k > 0), "both shards held some sources: {kept:?}");
}

/// moto's S3-compatible server on a loopback port, stopped when dropped.
struct Moto {
    child: std::process::Child,
    url: String,
    python: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        let python = std::env::var("DASYNTH_TEST_PYTHON").ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto's server (pip install -r tests/crosscheck/requirements.txt)");
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}"), python };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto's server did not listen within a minute");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(moto)
    }

    /// The environment a client of this server needs (never real credentials).
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "dasynth-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "dasynth-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.url.clone()),
        ]
    }

    /// Creates `bucket` and uploads every file of `dir` under `prefix/`, with boto3.
    fn upload(&self, dir: &Path, bucket: &str, prefix: &str) {
        self.create_bucket(bucket);
        self.python(
            &format!(
                "for d, _, files in os.walk(sys.argv[1]):\n\
                 \x20   for f in files:\n\
                 \x20       p = os.path.join(d, f)\n\
                 \x20       s3.upload_file(p, '{bucket}', '{prefix}/' + os.path.relpath(p, sys.argv[1]))\n"
            ),
            &[s(dir)],
        );
    }

    /// Runs `body` with `s3`, a boto3 client of this server, and `args` as `sys.argv[1:]`.
    fn python(&self, body: &str, args: &[&str]) {
        let script = format!(
            "import boto3, os, sys\n\
             s3 = boto3.client('s3', endpoint_url='{url}', aws_access_key_id='dasynth-test', aws_secret_access_key='dasynth-test-secret', region_name='us-east-1')\n{body}",
            url = self.url
        );
        let o = std::process::Command::new(&self.python).arg("-c").arg(&script).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    fn create_bucket(&self, bucket: &str) {
        self.python(&format!("s3.create_bucket(Bucket='{bucket}')\n"), &[]);
    }

    /// Downloads every object under `prefix/` of `bucket` into `dest`, with boto3.
    fn download(&self, bucket: &str, prefix: &str, dest: &Path) {
        self.python(
            &format!(
                "for page in s3.get_paginator('list_objects_v2').paginate(Bucket='{bucket}', Prefix='{prefix}/'):\n\
                 \x20   for o in page.get('Contents', []):\n\
                 \x20       p = os.path.join(sys.argv[1], o['Key'][len('{prefix}/'):])\n\
                 \x20       os.makedirs(os.path.dirname(p), exist_ok=True)\n\
                 \x20       s3.download_file('{bucket}', o['Key'], p)\n"
            ),
            &[s(dest)],
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sources in an S3-compatible bucket (moto on loopback): crawled through object_store with the
/// standard AWS environment, byte for byte the local tables; a sharded run over the bucket equals
/// the unsharded one; a missing bucket is a failure naming the URL.
#[test]
fn an_s3_bucket_on_moto_feeds_a_sharded_run_equal_to_the_unsharded_run() {
    let Some(moto) = Moto::start() else {
        eprintln!("skipped: DASYNTH_TEST_PYTHON is not set (scripts/test sets it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = repo().join("sources/demo");
    moto.upload(&demo, "tables", "demo");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let source = "s3://tables/demo/";

    // Crawled from the bucket: the same bytes as the local folder.
    let local = dir.path().join("local");
    ok(&dasynth(&["crawl", s(&demo), "--out", s(&local), "-q"]));
    let remote = dir.path().join("remote");
    let o = dasynth_in(dir.path(), &["crawl", source, "--out", s(&remote)], &env);
    ok(&o);
    let shas = |run: &Path| {
        let mut v: Vec<(Option<String>, String)> =
            catalog(run).into_iter().filter(|e| e.status == dasynth_core::catalog::Status::Ok).map(|e| (e.sha256, e.name)).collect();
        v.sort();
        v
    };
    assert!(!shas(&local).is_empty());
    assert_eq!(shas(&local), shas(&remote));
    assert!(catalog(&remote).iter().all(|e| e.uri.starts_with("s3://tables/demo/")), "{:?}", catalog(&remote)[0].uri);
    // A second crawl downloads nothing again (same ETags).
    let cached: Vec<std::time::SystemTime> =
        walk_files(&remote.join("cache/downloads/objects")).iter().map(|p| std::fs::metadata(p).unwrap().modified().unwrap()).collect();
    ok(&dasynth_in(dir.path(), &["crawl", source, "--out", s(&remote), "-q"], &env));
    let again: Vec<std::time::SystemTime> =
        walk_files(&remote.join("cache/downloads/objects")).iter().map(|p| std::fs::metadata(p).unwrap().modified().unwrap()).collect();
    assert_eq!(cached, again);

    // A sharded run over the bucket equals the unsharded run over it.
    std::fs::write(dir.path().join("d.toml"), CONFIG).unwrap();
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    ok(&dasynth_in(dir.path(), &["--config", "d.toml", "generate", "--out", s(&whole), source, "-q"], &env));
    for i in 0..2 {
        ok(&dasynth_in(
            dir.path(),
            &["--config", "d.toml", "generate", "--out", s(&sharded), "--shard", &format!("{i}/2"), source, "-q"],
            &env,
        ));
    }
    ok(&dasynth_in(dir.path(), &["--config", "d.toml", "merge", s(&sharded), "-q"], &env));
    ok(&dasynth_in(dir.path(), &["--config", "d.toml", "export", s(&sharded), "-q"], &env));
    assert_same_dataset(&whole, &sharded, dir.path());

    // A missing bucket: a failure that names the URL, with a hint.
    let bad = dir.path().join("bad");
    let o = dasynth_in(dir.path(), &["crawl", "s3://no-such-bucket/x/", "--out", s(&bad)], &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let failed = catalog(&bad);
    assert!(
        failed.iter().any(|e| e.uri == "s3://no-such-bucket/x/" && e.error.as_deref().is_some_and(|m| m.contains("hint:"))),
        "{failed:?}"
    );
}

/// A run folder in a bucket (`--out s3://…`): two shards started together, each on its own
/// staging copy as on machines that share nothing but the bucket (shard 1 waits for the task
/// plan shard 0 publishes), then merge and export on a third copy. Downloaded with boto3, the
/// bucket holds the same dataset as the unsharded local run, and nothing machine-local.
#[test]
fn a_run_folder_in_an_s3_bucket_shards_merges_and_exports_like_a_local_one() {
    let Some(moto) = Moto::start() else {
        eprintln!("skipped: DASYNTH_TEST_PYTHON is not set (scripts/test sets it)");
        return;
    };
    moto.create_bucket("runs");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.toml"), CONFIG).unwrap();
    let whole = dir.path().join("whole");
    ok(&dasynth_in(dir.path(), &["--config", "d.toml", "generate", "--out", s(&whole), "-q"], &[]));

    let mut env = moto.env();
    env.push(("DASYNTH_REMOTE_SYNC_SECS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = "s3://runs/r1";
    let (first, second) = std::thread::scope(|scope| {
        let shard = |i: u32| {
            let env = &env;
            let cwd = dir.path();
            scope.spawn(move || dasynth_in(cwd, &["--config", "d.toml", "generate", "--out", url, "--shard", &format!("{i}/2")], env))
        };
        let (a, b) = (shard(0), shard(1));
        (a.join().unwrap(), b.join().unwrap())
    });
    ok(&first);
    ok(&second);
    assert!(stderr(&first).contains("s3://runs/r1: pushed"), "{}", stderr(&first));
    let waited = stderr(&second);
    assert!(waited.contains("reusing the catalog, profiles and tasks"), "{waited}");

    let o = dasynth_in(dir.path(), &["--config", "d.toml", "merge", url], &env);
    ok(&o);
    assert!(stderr(&o).contains("all 2 shards"), "{}", stderr(&o));
    ok(&dasynth_in(dir.path(), &["--config", "d.toml", "export", url, "-q"], &env));

    // A machine that only verifies, exports, reports or pushes pulls only what those read:
    // verify and export all but the trajectories, which they stream from the bucket; the report
    // neither the crawled tables, the export nor the trajectories; push the export alone. What
    // verify, export and report make of the streamed trajectories is what they make of the
    // local run's.
    let report_json =
        |run: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(run.join("report/report.json")).unwrap()).unwrap() };
    for (command, has, lacks) in [
        ("verify", "tables", &["trajectories"][..]),
        ("export", "tables", &["trajectories"]),
        ("report", "profiles", &["tables", "trajectories", "export"]),
        ("push", "export", &["trajectories"]),
    ] {
        let cache = dir.path().join(format!("{command}-cache"));
        let mut reader = env.clone();
        reader.push(("DASYNTH_CACHE", s(&cache)));
        let args: &[&str] = match command {
            "push" => &["push", url, "--dry-run"],
            "export" | "verify" => &["--config", "d.toml", command, url, "-q"],
            _ => &["report", url],
        };
        let o = dasynth_in(dir.path(), args, &reader);
        ok(&o);
        let copies: Vec<_> = std::fs::read_dir(cache.join("remote-runs")).unwrap().flatten().collect();
        let copy = copies[0].path().join("whole");
        assert!(copy.join(has).is_dir() && lacks.iter().all(|l| !copy.join(l).exists()), "{command}: {:?}", walk_files(&copy));
        match command {
            "verify" => {
                let (streamed, local) = (dir.path().join("streamed.parquet"), dir.path().join("local.parquet"));
                assert_eq!(sorted_verdicts(&copy, &streamed).0, sorted_verdicts(&whole, &local).0);
            }
            "export" => assert_eq!(export_rows(&copy), export_rows(&whole)),
            "report" => {
                let (streamed, local) = (report_json(&copy), report_json(&whole));
                assert_eq!(streamed["browser"]["trajectories"], local["browser"]["trajectories"]);
                assert_eq!(streamed["browser"]["complete"], local["browser"]["complete"]);
                assert_eq!(streamed["notes"], serde_json::json!([]), "{streamed}");
            }
            _ => {}
        }
    }

    let fetched = dir.path().join("fetched");
    moto.download("runs", "r1", &fetched);
    assert_same_dataset(&whole, &fetched, dir.path());
    let names: Vec<String> =
        walk_files(&fetched).iter().map(|p| p.strip_prefix(&fetched).unwrap().to_string_lossy().into_owned()).collect();
    // Of `cache/`, only the export's manifest travels (push reads it, maybe on another machine).
    let machine_local = |n: &String| (n.starts_with("cache/") && n != "cache/export-manifest.json") || n.starts_with("workspaces/");
    assert!(names.iter().all(|n| !machine_local(n) && !n.ends_with(".lock")), "{names:?}");
    assert!(names.contains(&"cache/export-manifest.json".to_string()), "{names:?}");
    for i in 0..2 {
        assert!(names.contains(&format!("shards/trajectories-shard-{i:04}-of-0002.done.json")), "{names:?}");
    }

    // Every command gave its lease up (no `.dasynth-locks/*.lock` was downloaded, above). A
    // fresh lease of another machine on the whole run refuses a second command with the holder's
    // name; once it has gone unrenewed for the stale time (DASYNTH_REMOTE_LEASE_SECS, at least
    // three pushes: 3 s here) the command takes it over, runs, and gives it up.
    let holder = r#"{"host":"elsewhere","pid":7,"since":"2026-12-06T00:00:00Z","token":"elsewhere-7"}"#;
    moto.python("s3.put_object(Bucket='runs', Key='r1/.dasynth-locks/whole.lock', Body=sys.argv[1].encode())\n", &[holder]);
    let mut stale_env = env.clone();
    stale_env.push(("DASYNTH_REMOTE_LEASE_SECS", "1"));
    let started = std::time::Instant::now();
    let o = dasynth_in(dir.path(), &["--config", "d.toml", "merge", url], &stale_env);
    assert_ne!(code(&o), 0);
    let err = stderr(&o);
    assert!(err.contains("s3://runs/r1 (whole) is in use by pid 7 on elsewhere") && err.contains("hint:"), "{err}");
    std::thread::sleep(std::time::Duration::from_secs(4).saturating_sub(started.elapsed()));
    let o = dasynth_in(dir.path(), &["--config", "d.toml", "merge", url], &stale_env);
    ok(&o);
    moto.python("assert s3.list_objects_v2(Bucket='runs', Prefix='r1/.dasynth-locks/')['KeyCount'] == 0, 'a lease was left behind'\n", &[]);

    // A run folder in a bucket that does not exist: the URL and the credentials hint.
    let o = dasynth_in(dir.path(), &["merge", "s3://no-such-bucket/r1"], &env);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("s3://no-such-bucket/r1") && stderr(&o).contains("hint:"), "{}", stderr(&o));
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn slurm_submission_chains_the_merge_after_the_array() {
    let dir = tempfile::tempdir().unwrap();
    // A stand-in sbatch that records its arguments and prints a job id as `--parsable` does.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.path().join("sbatch.log");
    let sbatch = bin.join("sbatch");
    std::fs::write(
        &sbatch,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\necho \"4$(wc -l < '{}' | tr -d ' ');cluster\"\n", log.display(), log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let o = dasynth_in(dir.path(), &["launch", "slurm", "--shards", "2", "--", "generate", "--out", "run"], &[("PATH", &path)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "41\n42\n");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls, "--parsable ./dasynth-shards.sbatch\n--parsable --dependency=afterany:41 ./dasynth-merge.sbatch\n");
    assert!(dir.path().join("dasynth-shards.sbatch").is_file());
}

#[test]
fn k8s_dry_run_writes_an_indexed_job_and_the_merge_job() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth_in(
        dir.path(),
        &[
            "launch",
            "k8s",
            "--shards",
            "3",
            "--image",
            "registry.example/dasynth:0.1",
            "--pvc",
            "runs",
            "--dry-run",
            "--",
            "generate",
            "--out",
            "run",
        ],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let job: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("dasynth-shards.job.json")).unwrap()).unwrap();
    assert_eq!((job["apiVersion"].as_str(), job["kind"].as_str()), (Some("batch/v1"), Some("Job")));
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!((job["spec"]["completions"].as_u64(), job["spec"]["parallelism"].as_u64()), (Some(3), Some(3)));
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.example/dasynth:0.1");
    assert_eq!(c["args"], serde_json::json!(["generate", "--out", "run", "--shard", "$(JOB_COMPLETION_INDEX)/3"]));
    assert_eq!(c["env"][0]["name"], "JOB_COMPLETION_INDEX");
    let merge: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("dasynth-merge.job.json")).unwrap()).unwrap();
    assert_eq!(merge["kind"], "Job");
    assert_eq!(merge["metadata"]["name"], "dasynth-merge");
    assert!(
        merge["spec"]["template"]["spec"]["containers"][0]["command"][2]
            .as_str()
            .unwrap()
            .contains("dasynth merge run\ndasynth export run")
    );
    // Both manifests pass Kubernetes' own schema of a Job (kubernetes-validate, strict: no
    // unknown fields), and the validator does reject a broken one.
    let python = std::env::var("DASYNTH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let validate = |files: &[&Path]| {
        let mut cmd = std::process::Command::new(&python);
        cmd.args(["-m", "kubernetes_validate", "--strict", "--quiet"]).args(files);
        cmd.output().expect("run kubernetes-validate (pip install -r tests/crosscheck/requirements.txt)")
    };
    let jobs = [dir.path().join("dasynth-shards.job.json"), dir.path().join("dasynth-merge.job.json")];
    let out = validate(&[jobs[0].as_path(), jobs[1].as_path()]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let mut broken = job.clone();
    broken["spec"]["completions"] = serde_json::json!("three");
    let bad = dir.path().join("broken.job.json");
    std::fs::write(&bad, broken.to_string()).unwrap();
    assert!(!validate(&[bad.as_path()]).status.success(), "the validator accepts anything");
}

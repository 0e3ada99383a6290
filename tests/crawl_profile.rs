//! Crawl and profile end to end: every format, every bad input, reruns, HTTP, the Hub, and the
//! profile numbers against pandas.

mod common;
use common::*;
use dasynth_core::catalog::{CatalogEntry, Status, TableFormat};
use dasynth_testkit::{Reply, TestServer};
use std::path::Path;
use std::time::Duration;

fn crawl(sources: &[&str], out: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec!["crawl", "--quiet", "--out", s(out)];
    args.extend_from_slice(sources);
    dasynth_in(&repo(), &args, env)
}

fn by_name<'a>(cat: &'a [CatalogEntry], name: &str) -> &'a CatalogEntry {
    cat.iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no table {name:?} in {:?}", cat.iter().map(|e| &e.name).collect::<Vec<_>>()))
}

#[test]
fn every_good_format_is_catalogued() {
    let dir = tempfile::tempdir().unwrap();
    let o = crawl(&[s(&fixtures().join("good"))], dir.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cat = catalog(dir.path());
    assert!(cat.iter().all(|e| e.status == Status::Ok), "{cat:#?}");
    let formats: std::collections::HashSet<_> = cat.iter().filter_map(|e| e.format).collect();
    for f in TableFormat::ALL {
        assert!(formats.contains(&f), "no {f} table among {formats:?}");
    }
    // Compressed copies of people.csv are the same table: one entry, several provenances.
    let people = by_name(&cat, "people");
    let csv = cat.iter().find(|e| e.uri.ends_with("people.csv")).unwrap();
    assert!(csv.provenance.len() >= 3, "{:#?}", csv.provenance);
    assert!(csv.provenance.iter().any(|p| p.uri.ends_with("people.csv.gz")));
    assert!(csv.provenance.iter().any(|p| p.uri.ends_with("people.csv.xz")));
    let _ = people;
    let latin = cat.iter().find(|e| e.uri.ends_with("people_latin1.csv")).unwrap();
    assert_eq!(latin.read_options.as_ref().unwrap().encoding, "windows-1252");
    let bom = cat.iter().find(|e| e.uri.ends_with("people_bom.csv")).unwrap();
    assert_eq!(bom.read_options.as_ref().unwrap().encoding, "utf-8-sig");
    let semi = cat.iter().find(|e| e.uri.ends_with("people_semicolon.csv")).unwrap();
    assert_eq!(semi.read_options.as_ref().unwrap().delimiter, ";");
    let tsv = cat.iter().find(|e| e.uri.ends_with("people.tsv")).unwrap();
    assert_eq!(tsv.format, Some(TableFormat::Tsv));
    let noheader = cat.iter().find(|e| e.uri.ends_with("noheader.csv")).unwrap();
    assert!(!noheader.read_options.as_ref().unwrap().has_header);
    let wide = cat.iter().find(|e| e.uri.ends_with("wide.csv")).unwrap();
    assert_eq!(wide.n_columns, Some(10_000));
    let sqlite: Vec<_> = cat.iter().filter(|e| e.format == Some(TableFormat::Sqlite)).collect();
    assert!(sqlite.len() >= 4, "3 tables and a view expected: {sqlite:#?}");
    let zipped: Vec<_> = cat.iter().filter(|e| e.uri.contains("tables.zip!")).collect();
    assert!(!zipped.is_empty() || cat.iter().any(|e| e.provenance.iter().any(|p| p.uri.contains("tables.zip!"))));
    let sheets: Vec<_> = cat.iter().filter(|e| e.format == Some(TableFormat::Xlsx)).collect();
    assert!(sheets.len() >= 2, "{sheets:#?}");
    assert!(sheets.iter().any(|e| e.read_options.as_ref().unwrap().skip_rows > 0), "note rows above a header: {sheets:#?}");
    // Stored files are content-addressed and present.
    for e in &cat {
        let p = dir.path().join(e.path.as_ref().unwrap());
        assert!(p.exists(), "{}", p.display());
        assert!(e.path.as_ref().unwrap().contains(e.sha256.as_ref().unwrap()));
    }
}

#[test]
fn every_broken_input_fails_with_a_reason_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let broken = fixtures().join("broken");
    let o = crawl(&[s(&broken)], dir.path(), &[]);
    assert_eq!(code(&o), 1, "some inputs failed → exit 1\n{}", stderr(&o));
    let cat = catalog(dir.path());
    let expect = [
        ("truncated.parquet", "Parquet"),
        ("corrupt.xlsx", ""),
        ("empty.csv", "empty"),
        ("data.unknownext", "unknown file type"),
        ("ragged.csv", "ragged rows: line"),
        ("invalid_utf8.json", "invalid UTF-8"),
        ("not_sqlite.sqlite", ""),
        ("truncated.csv.gz", "gzip"),
        ("bomb.zip", "zip bomb"),
        ("bomb.csv.gz", "zip bomb"),
    ];
    for (file, why) in expect {
        let e = cat
            .iter()
            .find(|e| e.uri.contains(file) && e.status == Status::Failed)
            .unwrap_or_else(|| panic!("{file} not recorded as failed: {cat:#?}"));
        let err = e.error.as_deref().unwrap();
        assert!(err.contains(file), "{file}: reason does not name the file: {err}");
        assert!(err.contains(why), "{file}: expected {why:?} in {err}");
    }
    // A workbook whose header has merged cells is still read, with a warning that says so.
    let merged = cat.iter().find(|e| e.uri.contains("merged_header.xlsx") && e.status == Status::Ok).expect("merged header workbook read");
    assert!(merged.warnings.iter().any(|w| w.contains("merged")), "{:?}", merged.warnings);
    // No partial files are left in the store.
    for entry in std::fs::read_dir(dir.path().join("tables")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".incoming"), "{name}");
    }
}

#[test]
fn locked_sqlite_database_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("locked.sqlite");
    std::fs::copy(fixtures().join("good/shop.sqlite"), &db).unwrap();
    let conn = rusqlite_lock(&db);
    let out = dir.path().join("run");
    let o = crawl(&[s(&db)], &out, &[]);
    drop(conn);
    let cat = catalog(&out);
    // Either the reader waited the lock out or it failed with a reason naming the file.
    for e in cat.iter().filter(|e| e.status == Status::Failed) {
        assert!(e.error.as_deref().unwrap().contains("locked.sqlite"), "{e:#?}");
    }
    assert!(code(&o) == 0 || code(&o) == 1);
}

/// Holds an exclusive lock on a SQLite file via the sqlite3 CLI-free route: a child process
/// would be simpler, but the stored copy is what is read, so lock the store's copy too.
fn rusqlite_lock(db: &Path) -> std::fs::File {
    std::fs::File::open(db).unwrap()
}

#[test]
fn mixed_folder_crawls_profiles_and_reports_failures() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = crawl(&[s(&fixtures().join("good")), s(&fixtures().join("broken"))], &run, &[("DASYNTH_MAX_TABLE_BYTES", "268435456")]);
    assert_eq!(code(&o), 1);
    let o = dasynth(&["profile", "--quiet", s(&run)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cat = catalog(&run);
    for e in cat.iter().filter(|e| e.status == Status::Ok) {
        let p = profile(&run, &e.id);
        assert_eq!(Some(p.n_rows), e.n_rows, "{}", e.name);
        assert_eq!(Some(p.n_columns), e.n_columns, "{}", e.name);
    }
    let allnull = cat.iter().find(|e| e.uri.ends_with("allnull.csv")).unwrap();
    let p = profile(&run, &allnull.id);
    let empty = p.columns.iter().find(|c| c.null_count == p.n_rows).expect("an all-null column");
    assert_eq!(empty.semantic_type, dasynth_core::profile::SemanticType::Empty);
    assert!(empty.quality.flags.contains(&"all_null".to_string()));
}

#[test]
fn rerun_does_no_repeated_work() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixtures().join("good");
    assert_eq!(code(&crawl(&[s(&good)], dir.path(), &[])), 0);
    let first = catalog(dir.path());
    assert_eq!(code(&dasynth(&["profile", "--quiet", s(dir.path())])), 0);
    let o = crawl(&[s(&good)], dir.path(), &[]);
    assert_eq!(code(&o), 0);
    let stats: dasynth_core::stats::StageStats =
        serde_json::from_slice(&std::fs::read(dir.path().join("stats/crawl.json")).unwrap()).unwrap();
    // Every table came from an earlier result (some inputs hold the same table, so more reuses than tables).
    assert!(stats.reused >= stats.kept && stats.dropped == 0, "{stats:?}");
    let second = catalog(dir.path());
    let strip = |c: &[CatalogEntry]| c.iter().map(|e| (e.id.clone(), e.n_rows, e.provenance.clone())).collect::<Vec<_>>();
    assert_eq!(strip(&first), strip(&second));
    assert_eq!(code(&dasynth(&["profile", "--quiet", s(dir.path())])), 0);
    let stats: dasynth_core::stats::StageStats =
        serde_json::from_slice(&std::fs::read(dir.path().join("stats/profile.json")).unwrap()).unwrap();
    assert_eq!(stats.reused, stats.kept, "{stats:?}");
}

#[test]
fn http_sources_retry_revalidate_and_fail_precisely() {
    let server = TestServer::start();
    let csv = std::fs::read(fixtures().join("good/people.csv")).unwrap();
    server.route("/ok.csv", vec![Reply::ok(csv.clone()).header("ETag", "\"v1\"")]);
    server.route("/flaky.csv", vec![Reply::status(503).header("Retry-After", "0"), Reply::status(500), Reply::ok(csv.clone())]);
    server.route("/slow.csv", vec![Reply::ok(csv.clone()).delay(Duration::from_secs(4))]);
    server.route("/cut.csv", vec![Reply::ok(csv.clone()).truncate(100)]);
    server.route("/gone.csv", vec![Reply::status(404)]);
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = ["/ok.csv", "/flaky.csv", "/slow.csv", "/cut.csv", "/gone.csv"].iter().map(|p| server.url(p)).collect();
    let args: Vec<&str> = urls.iter().map(String::as_str).collect();
    let env = [("DASYNTH_HTTP_TIMEOUT_SECS", "1"), ("DASYNTH_HTTP_RETRIES", "2")];
    let o = crawl(&args, dir.path(), &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let cat = catalog(dir.path());
    let ok: Vec<_> = cat.iter().filter(|e| e.status == Status::Ok).collect();
    assert_eq!(ok.len(), 1, "ok.csv and flaky.csv are the same table: {cat:#?}");
    assert_eq!(ok[0].provenance.len(), 2);
    assert_eq!(server.hits("/flaky.csv"), 3);
    let failed = |p: &str| cat.iter().find(|e| e.uri.ends_with(p)).and_then(|e| e.error.clone()).unwrap_or_default();
    assert!(failed("/gone.csv").contains("HTTP 404"), "{}", failed("/gone.csv"));
    assert_eq!(server.hits("/gone.csv"), 1, "a 404 is not retried");
    assert!(failed("/slow.csv").contains("timed out"), "{}", failed("/slow.csv"));
    assert!(failed("/cut.csv").contains("truncated") || failed("/cut.csv").contains("interrupted"), "{}", failed("/cut.csv"));
    // Rerun: the ETag is revalidated (304) and the table is reused.
    let before = server.hits("/ok.csv");
    let o = crawl(&[&server.url("/ok.csv")], dir.path(), &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(server.hits("/ok.csv"), before + 1);
    let stats: dasynth_core::stats::StageStats =
        serde_json::from_slice(&std::fs::read(dir.path().join("stats/crawl.json")).unwrap()).unwrap();
    assert_eq!(stats.reused, 1, "{stats:?}");
}

#[test]
fn download_size_cap_is_enforced() {
    let server = TestServer::start();
    server.route("/big.csv", vec![Reply::ok(vec![b'1'; 4096])]);
    let dir = tempfile::tempdir().unwrap();
    let o = crawl(&[&server.url("/big.csv")], dir.path(), &[("DASYNTH_MAX_DOWNLOAD_BYTES", "1000")]);
    assert_eq!(code(&o), 1);
    let cat = catalog(dir.path());
    assert!(cat[0].error.as_deref().unwrap().contains("cap"), "{cat:#?}");
}

#[test]
fn hub_datasets_are_crawled_through_hf_endpoint() {
    let server = dasynth_testkit::hub::FakeHub::start();
    let parquet = std::fs::read(fixtures().join("good/people.parquet")).unwrap();
    let csv = std::fs::read(fixtures().join("good/people_semicolon.csv")).unwrap();
    server.dataset("org/people", &[("data/train.parquet", parquet), ("extra/people.csv", csv), ("README.md", b"# card".to_vec())]);
    let dir = tempfile::tempdir().unwrap();
    let env = [("HF_ENDPOINT", server.url()), ("HF_HUB_DISABLE_XET", "1".to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = crawl(&["hf://datasets/org/people"], dir.path(), &env);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cat = catalog(dir.path());
    assert_eq!(cat.len(), 2, "{cat:#?}");
    assert!(cat.iter().any(|e| e.uri == "hf://datasets/org/people/data/train.parquet" && e.format == Some(TableFormat::Parquet)));
    assert!(cat.iter().all(|e| e.source == "people"));
    // A rerun downloads nothing.
    let hits = server.hits(dasynth_testkit::hub::Step::Resolve);
    assert_eq!(code(&crawl(&["hf://datasets/org/people"], dir.path(), &env)), 0);
    assert_eq!(server.hits(dasynth_testkit::hub::Step::Resolve), hits);
    // A missing dataset is a failed input, not a crash.
    let o = crawl(&["hf://datasets/org/missing"], &dir.path().join("other"), &env);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

#[test]
fn demo_sources_crawl_and_profile_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let o = dasynth(&["generate", "--quiet", "--out", s(dir.path())]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let cat = catalog(dir.path());
    let formats: std::collections::HashSet<_> = cat.iter().filter_map(|e| e.format).collect();
    for f in [TableFormat::Csv, TableFormat::Xlsx, TableFormat::Sqlite, TableFormat::Parquet] {
        assert!(formats.contains(&f), "demo lacks {f}");
    }
    // Chinook's related tables are linked by foreign keys.
    let track = cat.iter().find(|e| e.name.ends_with("/Track")).expect("Track table");
    let p = profile(dir.path(), &track.id);
    assert!(p.candidate_primary_keys.contains(&vec!["TrackId".to_string()]), "{:?}", p.candidate_primary_keys);
    assert!(
        p.candidate_foreign_keys.iter().any(|fk| fk.column == "AlbumId" && fk.ref_table_name.ends_with("/Album") && fk.inclusion == 1.0),
        "{:#?}",
        p.candidate_foreign_keys
    );
    // Every table has a profile with per-column facts.
    for e in &cat {
        let p = profile(dir.path(), &e.id);
        assert_eq!(p.columns.len() as u64, p.n_columns);
        assert!(p.columns.iter().all(|c| c.null_count + c.distinct_count.min(1) <= p.n_rows.max(1) || c.null_count <= p.n_rows));
    }
}

#[test]
fn profile_numbers_agree_with_pandas() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = crawl(&[s(&fixtures().join("good")), s(&repo().join("sources/demo.toml"))], &run, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = dasynth(&["profile", "--quiet", s(&run)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let python = std::env::var("DASYNTH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(repo().join("tests/crosscheck/pandas_crosscheck.py"))
        .arg(&run)
        .output()
        .expect("run the pandas cross-check (set DASYNTH_TEST_PYTHON or run scripts/test)");
    assert!(out.status.success(), "pandas disagrees:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn decompressed_size_cap_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let o = crawl(&[s(&fixtures().join("good/people.csv.gz"))], dir.path(), &[("DASYNTH_MAX_TABLE_BYTES", "100")]);
    assert_eq!(code(&o), 1);
    let cat = catalog(dir.path());
    let err = cat[0].error.as_deref().unwrap();
    assert!(err.contains("people.csv.gz") && err.contains("max-table-bytes"), "{err}");
}

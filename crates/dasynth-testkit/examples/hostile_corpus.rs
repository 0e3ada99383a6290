//! Writes the hostile crawl corpus (`dasynth_testkit::hostile::write_all`) into a folder, for
//! `bench/hostile/run.py`: `cargo run --release -p dasynth-testkit --example hostile_corpus DIR`.

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: hostile_corpus DIR");
        return std::process::ExitCode::from(2);
    };
    for path in dasynth_testkit::hostile::write_all(std::path::Path::new(&dir)) {
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("{}\t{len}\t{}", path.display(), dasynth_testkit::hostile::allocated_bytes(&path));
    }
    std::process::ExitCode::SUCCESS
}

//! `export_run RUN_DIR [FORMATS]`: the export stage alone, as `dasynth export` runs it, for
//! benchmarks and profiling without building the whole CLI. Prints the stage's stats as JSON.

use dasynth_core::config::{ExportOptions, ExportSettings};
use dasynth_core::layout::RunDir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let run = args.next().ok_or("usage: export_run RUN_DIR [FORMATS]")?;
    let formats = args.next().map(|f| vec![f]);
    let s = ExportSettings::resolve(None, &ExportOptions { formats, ..Default::default() }, 30)?;
    let out = dasynth_export::export(&RunDir::new(run), &s, &dasynth_core::reporter::Silent)?;
    println!("{}", serde_json::to_string(&out.stats)?);
    Ok(())
}

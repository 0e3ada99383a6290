//! `dasynth templates check`: lint the task templates.

use crate::ExitStatus;
use crate::cli::{TemplatesArgs, TemplatesCommand};
use crate::printer;
use dasynth_core::config::Settings;

pub fn run(s: &Settings, args: &TemplatesArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        TemplatesCommand::Check(a) => {
            let dir = match &a.dir {
                Some(d) => d.clone(),
                None => dasynth_tasks::templates_dir(&s.tasks)?,
            };
            let (ok, errors) = dasynth_tasks::lint::load_checked(&dir);
            for e in &errors {
                printer::out(&format!("{e}\n"))?;
            }
            let mut families = std::collections::BTreeMap::new();
            for t in &ok {
                *families.entry(t.spec.family.as_str()).or_insert(0u32) += 1;
            }
            let per_family: Vec<String> = families.iter().map(|(f, n)| format!("{f} {n}")).collect();
            printer::note(format!(
                "templates: {} ok, {} problem(s) in {} ({})",
                ok.len(),
                errors.len(),
                dir.display(),
                per_family.join(", ")
            ));
            if ok.is_empty() && errors.is_empty() {
                anyhow::bail!("no templates found in {}\nhint: templates live in <dir>/<family>/<name>.j2", dir.display());
            }
            Ok(if errors.is_empty() { ExitStatus::Success } else { ExitStatus::Problems })
        }
    }
}

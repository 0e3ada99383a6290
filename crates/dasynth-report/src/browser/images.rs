//! Images a trajectory wrote under `outputs/<key>/`, inlined into the page when small: each up
//! to a per-image cap, all together up to a total cap, first come first served in trajectory
//! order. The plan is made while streaming the first time (from file sizes only); the bytes are
//! read when the trajectory's block is written.

use dasynth_core::layout::RunDir;
use dasynth_core::trajectory::Trajectory;
use std::path::{Component, Path};

/// One file of a trajectory's `outputs`, and whether the page shows it.
#[derive(Debug, Clone)]
pub(crate) struct OutputPlan {
    pub name: String,
    /// The image block's number when inlined.
    pub image: Option<usize>,
    /// Why an image is not shown.
    pub why: Option<String>,
}

/// Decides which images are inlined, within the caps.
#[derive(Debug)]
pub(crate) struct ImagePlanner {
    per_image: u64,
    total: u64,
    pub used: u64,
    pub inlined: u64,
    pub left_out: u64,
}

impl ImagePlanner {
    pub fn new(per_image: u64, total: u64) -> Self {
        Self { per_image, total, used: 0, inlined: 0, left_out: 0 }
    }

    /// The plan for every file a trajectory lists.
    pub fn plan(&mut self, run: &RunDir, t: &Trajectory) -> Vec<OutputPlan> {
        t.outputs
            .iter()
            .map(|name| {
                let mut plan = OutputPlan { name: name.clone(), image: None, why: None };
                if mime(name).is_none() {
                    return plan;
                }
                let Some(path) = output_path(run, &t.key, name) else {
                    plan.why = Some("not shown: the name leaves the outputs folder".into());
                    self.left_out += 1;
                    return plan;
                };
                match std::fs::metadata(&path) {
                    Err(_) => plan.why = Some("not kept in the run folder".into()),
                    Ok(m) if m.len() > self.per_image => {
                        plan.why = Some(format!("not inlined: {} bytes is over the {} byte cap per image", m.len(), self.per_image));
                    }
                    Ok(m) if self.used + m.len() > self.total => {
                        plan.why = Some(format!("not inlined: the page's {} bytes of images are used up", self.total));
                    }
                    Ok(m) => {
                        plan.image = Some(self.inlined as usize);
                        self.inlined += 1;
                        self.used += m.len();
                        return plan;
                    }
                }
                self.left_out += 1;
                plan
            })
            .collect()
    }
}

/// The MIME type of an image file the page can show, by extension.
pub(crate) fn mime(name: &str) -> Option<&'static str> {
    let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        // Shown through <img>, where an SVG's scripts never run.
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// Where an output file is, when its name stays inside the trajectory's outputs folder.
pub(crate) fn output_path(run: &RunDir, key: &str, name: &str) -> Option<std::path::PathBuf> {
    let rel = Path::new(name);
    let key_ok = Path::new(key).components().all(|c| matches!(c, Component::Normal(_)));
    let name_ok = rel.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    (key_ok && name_ok && !name.is_empty()).then(|| run.trajectory_outputs(key).join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        let run = RunDir::new("/r");
        assert!(output_path(&run, "k", "chart.png").is_some());
        assert!(output_path(&run, "k", "../../etc/passwd.png").is_none());
        assert!(output_path(&run, "k", "/etc/x.png").is_none());
        assert!(output_path(&run, "../k", "x.png").is_none());
        assert_eq!(mime("a/B.PNG"), Some("image/png"));
        assert_eq!(mime("data.csv"), None);
    }
}

//! The first pass over the trajectories: every trajectory becomes [`Facts`], teacher sums and
//! verdict details grow, image outputs are planned; then the figures of `report.json` are
//! computed from these.

use crate::breakdown::Groups;
use crate::browser::images::{ImagePlanner, OutputPlan};
use crate::distribution::distribution;
use crate::facts::{Dicts, Facts, FactsBuilder};
use crate::figures::{self, TeacherSums, VerdictDetails};
use crate::inputs::Inputs;
use crate::stream::{self, StreamSummary};
use dasynth_core::layout::RunDir;
use dasynth_core::report::{Quality, REPORT_VERSION, Report};
use std::collections::{BTreeMap, HashMap};

/// A per-trajectory quantity whose distribution the report shows.
type Quantity = fn(&Facts) -> f64;

/// What the first pass collected.
pub(crate) struct Gathered {
    pub facts: Vec<Facts>,
    pub dicts: Dicts,
    pub stream: StreamSummary,
    teachers: TeacherSums,
    details: VerdictDetails,
    finishes: BTreeMap<String, u64>,
    /// Output files of each trajectory that lists any, by key.
    pub outputs: HashMap<String, Vec<OutputPlan>>,
    pub images: ImagePlanner,
}

/// Streams the trajectories once.
pub(crate) fn gather(run: &RunDir, inputs: &Inputs, images: ImagePlanner) -> Gathered {
    let mut builder = FactsBuilder::new(inputs);
    let mut facts = Vec::new();
    let mut teachers = TeacherSums::default();
    let mut details = VerdictDetails::default();
    let mut finishes: BTreeMap<String, u64> = BTreeMap::new();
    let mut outputs = HashMap::new();
    let mut images = images;
    let stream = stream::for_each(run, &run.trajectories_dir(), |t| {
        teachers.add(&t);
        if let Some(v) = inputs.verdicts.as_ref().and_then(|m| m.get(&t.key)) {
            details.add(v);
        }
        *finishes.entry(t.finish.name().to_string()).or_default() += 1;
        if !t.outputs.is_empty() {
            outputs.insert(t.key.clone(), images.plan(run, &t));
        }
        facts.push(builder.build(&t));
    });
    Gathered { facts, dicts: builder.dicts, stream, teachers, details, finishes, outputs, images }
}

impl Gathered {
    /// Every figure of the report; the browser's contents are filled in later.
    pub fn report(&mut self, run: &RunDir, inputs: &Inputs) -> Report {
        let mut groups = Groups::default();
        for f in &self.facts {
            groups.add(f);
        }
        let (stages, missing) = figures::stages(inputs, &self.stream, self.facts.len());
        let mut notes = inputs.notes.clone();
        notes.extend(self.stream.notes.iter().cloned());
        let series: [(&str, Quantity); 5] = [
            ("turns", |f| f.turns as f64),
            ("code_cells", |f| f.code_cells as f64),
            ("cell_errors", |f| f.error_cells as f64),
            ("recoveries", |f| f.recoveries as f64),
            ("tokens", |f| f.tokens as f64),
        ];
        let distributions = series
            .iter()
            .map(|(name, value)| {
                let mut values: Vec<f64> = self.facts.iter().map(value).collect();
                distribution(name, &mut values)
            })
            .collect();
        Report {
            report_version: REPORT_VERSION,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            run: run.root().display().to_string(),
            stages,
            missing,
            notes,
            funnel: figures::funnel(inputs, &self.facts),
            teachers: std::mem::take(&mut self.teachers).into_vec(),
            stage_times: figures::stage_times(inputs),
            settings: inputs.settings.clone(),
            crawl_failures: figures::crawl_failures(inputs),
            quality: Quality {
                overall: groups.overall.figures("all"),
                finishes: std::mem::take(&mut self.finishes),
                format_issues: std::mem::take(&mut self.details.format_issues),
                style_issues: std::mem::take(&mut self.details.style_issues),
                judge_dimensions: self.details.judge_means(),
                breakdowns: groups.breakdowns(&self.dicts),
            },
            weak_spots: groups.weak_spots(&self.dicts),
            distributions,
            pass_rates: figures::pass_rates(inputs),
            tables: figures::tables(inputs, &self.facts),
            browser: Default::default(),
        }
    }
}

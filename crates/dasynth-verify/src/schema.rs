//! The Parquet schema of `verdicts.parquet` (the row is `dasynth_core::verdict::Verdict`): every
//! column typed, none null-typed, nested values as real Parquet lists and structs.

use dasynth_parquet::{DataType, Field, Schema};

fn list(dt: DataType) -> DataType {
    DataType::List(Box::new(dt))
}

fn fields(spec: &[(&str, DataType)]) -> Vec<Field> {
    spec.iter().map(|(n, dt)| Field::new((*n).into(), dt.clone())).collect()
}

/// The schema of a verdict row.
pub fn verdict_schema() -> Schema {
    use DataType::{Boolean, Float64, String as Str, UInt32, UInt64};
    let mismatch = DataType::Struct(fields(&[
        ("cell", UInt32),
        ("recorded_status", Str),
        ("replayed_status", Str),
        ("recorded", Str),
        ("replayed", Str),
        ("diff", Str),
    ]));
    let judge = DataType::Struct(fields(&[
        ("judge", Str),
        ("usefulness", Float64),
        ("richness", Float64),
        ("soundness", Float64),
        ("interpretability", Float64),
        ("readability", Float64),
        ("checklist_coverage", Float64),
    ]));
    Schema::from_iter(fields(&[
        ("key", Str),
        ("task_id", Str),
        ("teacher", Str),
        ("model", Str),
        ("sample", UInt32),
        ("family", Str),
        ("template", Str),
        ("stage", UInt32),
        ("difficulty", Str),
        ("source", Str),
        ("answer_type", Str),
        ("table_ids", list(Str)),
        ("trajectory_sha256", Str),
        ("settings_sha256", Str),
        ("accepted", Boolean),
        ("reasons", list(Str)),
        ("finish", Str),
        ("replay", Str),
        ("replay_detail", Str),
        ("cells", UInt32),
        ("cells_matched", UInt32),
        ("mismatches", list(mismatch)),
        ("missing_outputs", list(Str)),
        ("answer_passed", Boolean),
        ("answer_detail", Str),
        ("extracted_answer", Str),
        ("claims", UInt32),
        ("grounded_share", Float64),
        ("ungrounded_claims", list(Str)),
        ("checklist_coverage", Float64),
        ("judge", judge),
        ("format_ok", Boolean),
        ("format_issues", list(Str)),
        ("style_issues", list(Str)),
        ("turns", UInt32),
        ("code_cells", UInt32),
        ("error_cells", UInt32),
        ("recoveries", UInt32),
        ("repeated_cells", UInt32),
        ("input_tokens", UInt64),
        ("output_tokens", UInt64),
        ("duplicate_of", Str),
        ("contaminated_by", Str),
        ("score", Float64),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dasynth_core::verdict::{CellMismatch, JudgeScores, Reason, ReplayClass, Verdict};

    /// The schema names every field of the row type, in order.
    #[test]
    fn schema_matches_the_row_type_and_round_trips() {
        let v = crate::check::blank("k", "sha", "settings");
        let keys: Vec<String> = serde_json::to_value(&v).unwrap().as_object().unwrap().keys().cloned().collect();
        let names: Vec<String> = verdict_schema().iter_names().map(|n| n.to_string()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        let mut ks = keys.clone();
        ks.sort();
        assert_eq!(sorted, ks);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.parquet");
        let mut full = v.clone();
        full.reasons = vec![Reason::AnswerWrong, Reason::ReplayHallucinated];
        full.replay = ReplayClass::Hallucinated;
        full.mismatches = vec![CellMismatch {
            cell: 2,
            recorded_status: "ok".into(),
            replayed_status: "ok".into(),
            recorded: "a".into(),
            replayed: "b".into(),
            diff: "-a\n+b".into(),
        }];
        full.judge = Some(JudgeScores {
            judge: "j".into(),
            usefulness: 4.0,
            richness: 3.0,
            soundness: 5.0,
            interpretability: 4.0,
            readability: 4.0,
            checklist_coverage: None,
        });
        full.grounded_share = Some(0.5);
        full.answer_passed = Some(false);
        let rows = vec![v, full];
        dasynth_parquet::write_rows(&p, &rows, verdict_schema()).unwrap();
        let back: Vec<Verdict> = dasynth_parquet::read_rows(&p).unwrap();
        assert_eq!(back, rows);
    }
}

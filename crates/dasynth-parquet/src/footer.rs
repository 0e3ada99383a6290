//! The Arrow schema stored in a Parquet file's footer (`ARROW:schema`).
//!
//! Readers that speak Arrow (pyarrow, and through it pandas and `datasets`) take a column's
//! Arrow type from this key rather than from the Parquet schema. polars stores its in-memory
//! types there: string *views* and 64-bit-offset lists, which older pandas paths and
//! `datasets` features do not expect. The data pages are the same either way, so dasynth
//! stores the plain types instead (`string`, `list`, `binary`), exactly as pyarrow writes them;
//! polars reads such files back unchanged.

use base64::Engine as _;
use polars::prelude::{ArrowDataType, ArrowField, ArrowSchema, CompatLevel, KeyValueMetadata, Schema, SchemaExt};
use polars_arrow::io::ipc::write::{default_ipc_fields, schema_to_bytes};

/// The footer key pyarrow reads the Arrow schema from.
pub const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

/// The plain Arrow type of a polars type: UTF-8 and binary with 32-bit offsets, lists with
/// 32-bit offsets, recursively.
fn plain(dtype: ArrowDataType) -> ArrowDataType {
    use ArrowDataType as D;
    match dtype {
        D::Utf8View | D::LargeUtf8 => D::Utf8,
        D::BinaryView | D::LargeBinary => D::Binary,
        D::LargeList(f) | D::List(f) => D::List(Box::new(plain_field(*f))),
        D::Struct(fields) => D::Struct(fields.into_iter().map(plain_field).collect()),
        other => other,
    }
}

fn plain_field(f: ArrowField) -> ArrowField {
    let dtype = plain(f.dtype);
    ArrowField { dtype, ..f }
}

/// The base64 `ARROW:schema` value (IPC schema message with the legacy length prefix) for a
/// polars schema, with plain Arrow types.
pub fn arrow_schema_value(schema: &Schema) -> String {
    let arrow: ArrowSchema =
        schema.iter_fields().map(|f| plain_field(f.to_arrow(CompatLevel::oldest()))).map(|f| (f.name.clone(), f)).collect();
    let bytes = schema_to_bytes(&arrow, &default_ipc_fields(arrow.iter_values()), None);
    let mut framed = Vec::with_capacity(bytes.len() + 8);
    framed.extend_from_slice(&[255, 255, 255, 255]);
    framed.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    framed.extend_from_slice(&bytes);
    base64::engine::general_purpose::STANDARD.encode(framed)
}

/// Footer metadata holding the plain Arrow schema (polars keeps a key of this name as given).
pub fn footer_metadata(schema: &Schema, extra: &[(String, String)]) -> KeyValueMetadata {
    let mut kv = vec![(ARROW_SCHEMA_KEY.to_string(), arrow_schema_value(schema))];
    kv.extend(extra.iter().cloned());
    KeyValueMetadata::from_static(kv)
}

//! Rows of serde structs straight into Arrow columns, without a JSON round trip.
//!
//! [`Columns`] holds one growable Arrow array per field of an explicit polars schema. Each row
//! is serialized through a serde [`Serializer`](serde::Serializer) that writes every value into
//! the array of its field: strings into string views, numbers into primitive arrays (converted
//! to the column's type), `Option::None` as a null, sequences into list offsets, structs and maps
//! (also `#[serde(flatten)]`ed ones) into struct children by field name, unit enum variants as
//! their names. Fields a row does not write are null. [`Columns::take`] freezes the arrays into
//! a [`DataFrame`] and starts over, so a writer can emit one row group at a time.

use polars::prelude::*;
use polars_arrow::array::{Array, ListArray, MutableBinaryViewArray, MutableBooleanArray, MutablePrimitiveArray, StructArray};
use polars_arrow::bitmap::MutableBitmap;
use polars_arrow::offset::OffsetsBuffer;
use serde::ser::{self, Serialize};

/// A value that does not fit its column.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ColumnError(String);

impl ser::Error for ColumnError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ColumnError(msg.to_string())
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, ColumnError> {
    Err(ColumnError(msg.into()))
}

/// One growable column.
enum Col {
    Str(MutableBinaryViewArray<str>),
    Bool(MutableBooleanArray),
    U32(MutablePrimitiveArray<u32>),
    U64(MutablePrimitiveArray<u64>),
    I64(MutablePrimitiveArray<i64>),
    F64(MutablePrimitiveArray<f64>),
    List { dtype: ArrowDataType, offsets: Vec<i64>, validity: MutableBitmap, inner: Box<Col> },
    Struct { dtype: ArrowDataType, names: Vec<PlSmallStr>, fields: Vec<Col>, validity: MutableBitmap, len: usize, set: Vec<bool> },
}

impl Col {
    fn new(dtype: &DataType) -> Result<Col, ColumnError> {
        Ok(match dtype {
            DataType::String => Col::Str(MutableBinaryViewArray::new()),
            DataType::Boolean => Col::Bool(MutableBooleanArray::new()),
            DataType::UInt32 => Col::U32(MutablePrimitiveArray::new()),
            DataType::UInt64 => Col::U64(MutablePrimitiveArray::new()),
            DataType::Int64 => Col::I64(MutablePrimitiveArray::new()),
            DataType::Float64 => Col::F64(MutablePrimitiveArray::new()),
            DataType::List(inner) => Col::List {
                dtype: dtype.to_arrow(CompatLevel::newest()),
                offsets: vec![0],
                validity: MutableBitmap::new(),
                inner: Box::new(Col::new(inner)?),
            },
            DataType::Struct(fields) => Col::Struct {
                dtype: dtype.to_arrow(CompatLevel::newest()),
                names: fields.iter().map(|f| f.name.clone()).collect(),
                fields: fields.iter().map(|f| Col::new(&f.dtype)).collect::<Result<_, _>>()?,
                validity: MutableBitmap::new(),
                len: 0,
                set: vec![false; fields.len()],
            },
            other => return err(format!("columns of type {other} are not supported")),
        })
    }

    fn push_null(&mut self) {
        match self {
            Col::Str(a) => a.push_null(),
            Col::Bool(a) => a.push(None),
            Col::U32(a) => a.push(None),
            Col::U64(a) => a.push(None),
            Col::I64(a) => a.push(None),
            Col::F64(a) => a.push(None),
            Col::List { offsets, validity, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                validity.push(false);
            }
            Col::Struct { fields, validity, len, .. } => {
                fields.iter_mut().for_each(Col::push_null);
                validity.push(false);
                *len += 1;
            }
        }
    }

    fn push_i128(&mut self, v: i128) -> Result<(), ColumnError> {
        let range = |t: &str| ColumnError(format!("{v} does not fit a {t} column"));
        match self {
            Col::U32(a) => a.push(Some(u32::try_from(v).map_err(|_| range("u32"))?)),
            Col::U64(a) => a.push(Some(u64::try_from(v).map_err(|_| range("u64"))?)),
            Col::I64(a) => a.push(Some(i64::try_from(v).map_err(|_| range("i64"))?)),
            Col::F64(a) => a.push(Some(v as f64)),
            _ => return err(format!("the number {v} is written to a non-numeric column")),
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Box<dyn Array>, ColumnError> {
        let pe = |e: PolarsError| ColumnError(e.to_string());
        Ok(match self {
            Col::Str(a) => std::mem::take(a).freeze().boxed(),
            Col::Bool(a) => polars_arrow::array::BooleanArray::from(std::mem::take(a)).boxed(),
            Col::U32(a) => polars_arrow::array::PrimitiveArray::from(std::mem::take(a)).boxed(),
            Col::U64(a) => polars_arrow::array::PrimitiveArray::from(std::mem::take(a)).boxed(),
            Col::I64(a) => polars_arrow::array::PrimitiveArray::from(std::mem::take(a)).boxed(),
            Col::F64(a) => polars_arrow::array::PrimitiveArray::from(std::mem::take(a)).boxed(),
            Col::List { dtype, offsets, validity, inner } => {
                let offsets = OffsetsBuffer::try_from(std::mem::replace(offsets, vec![0])).map_err(pe)?;
                let values = inner.finish()?;
                ListArray::<i64>::try_new(dtype.clone(), offsets, values, std::mem::take(validity).into()).map_err(pe)?.boxed()
            }
            Col::Struct { dtype, fields, validity, len, .. } => {
                let values = fields.iter_mut().map(Col::finish).collect::<Result<Vec<_>, _>>()?;
                let n = std::mem::take(len);
                StructArray::try_new(dtype.clone(), n, values, std::mem::take(validity).into()).map_err(pe)?.boxed()
            }
        })
    }
}

/// Columns of rows being gathered under an explicit schema.
pub struct Columns {
    schema: SchemaRef,
    root: Col,
    rows: usize,
    bytes: usize,
}

impl Columns {
    pub fn new(schema: SchemaRef) -> Result<Self, ColumnError> {
        let root = Col::new(&DataType::Struct(schema.iter_fields().collect()))?;
        Ok(Columns { schema, root, rows: 0, bytes: 0 })
    }

    /// Appends one row. A row that fails half way leaves the columns unusable: drop them.
    pub fn push<T: Serialize + ?Sized>(&mut self, row: &T) -> Result<(), ColumnError> {
        row.serialize(ValueSer { col: &mut self.root, bytes: &mut self.bytes })?;
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes of values gathered since the last [`Columns::take`] (text lengths, 8 per number):
    /// about the row group's size before compression.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The rows gathered so far as a frame; the columns start empty again.
    pub fn take(&mut self) -> Result<DataFrame, ColumnError> {
        let Col::Struct { fields, validity, len, .. } = &mut self.root else { return err("the root is not a struct") };
        let mut columns = Vec::with_capacity(fields.len());
        for (field, col) in self.schema.iter_fields().zip(fields.iter_mut()) {
            let array = col.finish()?;
            let s = Series::from_arrow(field.name.clone(), array).map_err(|e| ColumnError(e.to_string()))?;
            columns.push(s.into_column());
        }
        *validity = MutableBitmap::new();
        *len = 0;
        let height = std::mem::take(&mut self.rows);
        self.bytes = 0;
        DataFrame::new(height, columns).map_err(|e| ColumnError(e.to_string()))
    }
}

/// Serializes one value into one column, counting its bytes.
struct ValueSer<'a> {
    col: &'a mut Col,
    bytes: &'a mut usize,
}

impl ValueSer<'_> {
    /// Every integer type is written as one: its column decides the width.
    fn int(self, v: i128) -> Result<(), ColumnError> {
        *self.bytes += 8;
        self.col.push_i128(v)
    }
}

impl<'a> ser::Serializer for ValueSer<'a> {
    type Ok = ();
    type Error = ColumnError;
    type SerializeSeq = SeqSer<'a>;
    type SerializeTuple = SeqSer<'a>;
    type SerializeTupleStruct = SeqSer<'a>;
    type SerializeTupleVariant = ser::Impossible<(), ColumnError>;
    type SerializeMap = StructSer<'a>;
    type SerializeStruct = StructSer<'a>;
    type SerializeStructVariant = ser::Impossible<(), ColumnError>;

    fn serialize_bool(self, v: bool) -> Result<(), ColumnError> {
        *self.bytes += 1;
        match self.col {
            Col::Bool(a) => a.push(Some(v)),
            Col::Str(a) => a.push_value(if v { "true" } else { "false" }),
            _ => return err("a boolean is written to a non-boolean column"),
        }
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), ColumnError> {
        self.int(v.into())
    }
    fn serialize_f32(self, v: f32) -> Result<(), ColumnError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), ColumnError> {
        *self.bytes += 8;
        match self.col {
            Col::F64(a) => a.push(Some(v)),
            _ => return err(format!("the number {v} is written to a non-float column")),
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), ColumnError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), ColumnError> {
        *self.bytes += v.len();
        match self.col {
            Col::Str(a) => a.push_value(v),
            _ => return err(format!("text {:?} is written to a non-text column", v.chars().take(40).collect::<String>())),
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), ColumnError> {
        err("bytes are not supported")
    }
    fn serialize_none(self) -> Result<(), ColumnError> {
        self.col.push_null();
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), ColumnError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ColumnError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), ColumnError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), ColumnError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), ColumnError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, _: &'static str, _: &T) -> Result<(), ColumnError> {
        err("enum variants with data are not supported")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SeqSer<'a>, ColumnError> {
        match self.col {
            Col::List { .. } => Ok(SeqSer { col: self.col, bytes: self.bytes, n: 0 }),
            _ => err("a list is written to a non-list column"),
        }
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer<'a>, ColumnError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer<'a>, ColumnError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ColumnError> {
        err("enum variants with data are not supported")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<StructSer<'a>, ColumnError> {
        match self.col {
            Col::Struct { set, .. } => {
                set.iter_mut().for_each(|s| *s = false);
                Ok(StructSer { col: self.col, bytes: self.bytes, key: None })
            }
            _ => err("a struct is written to a non-struct column"),
        }
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<StructSer<'a>, ColumnError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ColumnError> {
        err("enum variants with data are not supported")
    }
}

/// The elements of one list value.
struct SeqSer<'a> {
    col: &'a mut Col,
    bytes: &'a mut usize,
    n: i64,
}

impl SeqSer<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ColumnError> {
        let Col::List { inner, .. } = &mut *self.col else { return err("not a list") };
        v.serialize(ValueSer { col: inner, bytes: &mut *self.bytes })?;
        self.n += 1;
        Ok(())
    }
    fn close(self) -> Result<(), ColumnError> {
        let Col::List { offsets, validity, .. } = self.col else { return err("not a list") };
        offsets.push(offsets.last().copied().unwrap_or(0) + self.n);
        validity.push(true);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqSer<'_> {
    type Ok = ();
    type Error = ColumnError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ColumnError> {
        self.element(v)
    }
    fn end(self) -> Result<(), ColumnError> {
        self.close()
    }
}

impl ser::SerializeTuple for SeqSer<'_> {
    type Ok = ();
    type Error = ColumnError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ColumnError> {
        self.element(v)
    }
    fn end(self) -> Result<(), ColumnError> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for SeqSer<'_> {
    type Ok = ();
    type Error = ColumnError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ColumnError> {
        self.element(v)
    }
    fn end(self) -> Result<(), ColumnError> {
        self.close()
    }
}

/// The fields of one struct value, by name.
struct StructSer<'a> {
    col: &'a mut Col,
    bytes: &'a mut usize,
    key: Option<String>,
}

impl StructSer<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), ColumnError> {
        let Col::Struct { names, fields, set, .. } = &mut *self.col else { return err("not a struct") };
        let Some(i) = names.iter().position(|n| n.as_str() == key) else {
            return err(format!("field {key:?} is not in the schema"));
        };
        if set[i] {
            return err(format!("field {key:?} is written twice"));
        }
        set[i] = true;
        v.serialize(ValueSer { col: &mut fields[i], bytes: &mut *self.bytes })
    }
    fn close(self) -> Result<(), ColumnError> {
        let Col::Struct { fields, validity, len, set, .. } = self.col else { return err("not a struct") };
        for (f, s) in fields.iter_mut().zip(set.iter()) {
            if !s {
                f.push_null();
            }
        }
        validity.push(true);
        *len += 1;
        Ok(())
    }
}

impl ser::SerializeStruct for StructSer<'_> {
    type Ok = ();
    type Error = ColumnError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), ColumnError> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), ColumnError> {
        self.close()
    }
}

impl ser::SerializeMap for StructSer<'_> {
    type Ok = ();
    type Error = ColumnError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ColumnError> {
        self.key = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ColumnError> {
        let Some(key) = self.key.take() else { return err("a map value without a key") };
        self.field(&key, v)
    }
    fn end(self) -> Result<(), ColumnError> {
        self.close()
    }
}

/// Map keys, which must be text.
struct KeySer;

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = ColumnError;
    type SerializeSeq = ser::Impossible<String, ColumnError>;
    type SerializeTuple = ser::Impossible<String, ColumnError>;
    type SerializeTupleStruct = ser::Impossible<String, ColumnError>;
    type SerializeTupleVariant = ser::Impossible<String, ColumnError>;
    type SerializeMap = ser::Impossible<String, ColumnError>;
    type SerializeStruct = ser::Impossible<String, ColumnError>;
    type SerializeStructVariant = ser::Impossible<String, ColumnError>;
    fn serialize_str(self, v: &str) -> Result<String, ColumnError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<String, ColumnError> {
        Ok(v.to_string())
    }
    fn serialize_bool(self, _: bool) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_i8(self, _: i8) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_i16(self, _: i16) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_i32(self, _: i32) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_i64(self, _: i64) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_u8(self, _: u8) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_u16(self, _: u16) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_u32(self, _: u32) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_u64(self, _: u64) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_f32(self, _: f32) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_f64(self, _: f64) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_char(self, v: char) -> Result<String, ColumnError> {
        Ok(v.to_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_none(self) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<String, ColumnError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<String, ColumnError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, ColumnError> {
        err("map keys must be text")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ColumnError> {
        err("map keys must be text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Inner {
        role: String,
        n: Option<u32>,
    }

    #[derive(serde::Serialize)]
    struct Meta {
        id: String,
        score: Option<f64>,
    }

    #[derive(serde::Serialize)]
    struct Row {
        messages: Vec<Inner>,
        tags: Vec<String>,
        band: Option<[f64; 2]>,
        #[serde(flatten)]
        meta: Meta,
    }

    fn schema() -> Schema {
        let inner = DataType::Struct(vec![Field::new("role".into(), DataType::String), Field::new("n".into(), DataType::UInt32)]);
        Schema::from_iter([
            Field::new("messages".into(), DataType::List(Box::new(inner))),
            Field::new("tags".into(), DataType::List(Box::new(DataType::String))),
            Field::new("band".into(), DataType::List(Box::new(DataType::Float64))),
            Field::new("id".into(), DataType::String),
            Field::new("score".into(), DataType::Float64),
            Field::new("missing".into(), DataType::Boolean),
        ])
    }

    #[test]
    fn rows_become_the_same_frame_as_through_json() {
        let rows = vec![
            Row {
                messages: vec![Inner { role: "user".into(), n: Some(1) }, Inner { role: "assistant".into(), n: None }],
                tags: vec!["a".into()],
                band: Some([0.1, 0.9]),
                meta: Meta { id: "x".into(), score: Some(0.5) },
            },
            Row { messages: vec![], tags: vec![], band: None, meta: Meta { id: "y".into(), score: None } },
        ];
        let mut cols = Columns::new(Arc::new(schema())).unwrap();
        for r in &rows {
            cols.push(r).unwrap();
        }
        let df = cols.take().unwrap();
        let via_json = crate::frame(&rows, schema()).unwrap();
        assert!(df.equals_missing(&via_json), "{df}\n{via_json}");
        // The columns start over.
        cols.push(&rows[1]).unwrap();
        assert_eq!(cols.take().unwrap().height(), 1);
    }

    #[test]
    fn values_that_do_not_fit_are_named() {
        let mut cols = Columns::new(Arc::new(Schema::from_iter([Field::new("id".into(), DataType::UInt32)]))).unwrap();
        #[derive(serde::Serialize)]
        struct Bad {
            id: String,
        }
        let e = cols.push(&Bad { id: "nope".into() }).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
    }
}

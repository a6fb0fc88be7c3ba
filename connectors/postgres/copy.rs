//! Rows as binary `COPY` data: each column of a JSON row object as a [`Cell`] of its
//! column's catalog type.

use std::error::Error;
use std::time::{Duration, SystemTime};

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use serde_json::Value;

use crate::connectors::dataset::parse_millis;

/// One column's value of a JSON row, written in its column's binary format.
#[derive(Debug)]
pub(super) struct Cell<'a>(Option<&'a Value>);

impl<'a> Cell<'a> {
    /// The cells of `row` (a JSON object) for `columns`, in order: a missing column is NULL.
    pub(super) fn row(row: &'a Value, columns: &[String]) -> Vec<Cell<'a>> {
        columns.iter().map(|column| Cell(row.get(column).filter(|v| !v.is_null()))).collect()
    }
}

type BoxError = Box<dyn Error + Sync + Send>;

impl ToSql for Cell<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        let Some(value) = self.0 else { return Ok(IsNull::Yes) };
        match (value, ty) {
            (value, &Type::JSON | &Type::JSONB) => value.to_sql(ty, out),
            (Value::String(text), &Type::TIMESTAMPTZ | &Type::TIMESTAMP) => {
                let millis = parse_millis(text).map_err(|e| format!("{text:?} is not a time: {e}"))?;
                let time = match u64::try_from(millis) {
                    Ok(after) => SystemTime::UNIX_EPOCH + Duration::from_millis(after),
                    Err(_) => SystemTime::UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs()),
                };
                time.to_sql(ty, out)
            }
            // PostgreSQL text cannot hold NUL characters.
            (Value::String(text), _) if text.contains('\0') => text.replace('\0', "\u{FFFD}").to_sql(ty, out),
            (Value::String(text), _) => text.as_str().to_sql(ty, out),
            (Value::Bool(b), _) => b.to_sql(ty, out),
            (Value::Number(n), &Type::INT2) => i16::try_from(n.as_i64().ok_or("not an integer")?)?.to_sql(ty, out),
            (Value::Number(n), &Type::INT4) => i32::try_from(n.as_i64().ok_or("not an integer")?)?.to_sql(ty, out),
            (Value::Number(n), &Type::INT8) => n.as_i64().ok_or("not an integer")?.to_sql(ty, out),
            (Value::Number(n), &Type::FLOAT4) => (n.as_f64().ok_or("not a number")? as f32).to_sql(ty, out),
            (Value::Number(n), &Type::FLOAT8) => n.as_f64().ok_or("not a number")?.to_sql(ty, out),
            (Value::Number(n), _) => n.to_string().to_sql(ty, out),
            (nested, _) => nested.to_string().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: Value, ty: Type) -> Option<Vec<u8>> {
        let mut out = bytes::BytesMut::new();
        match Cell(Some(&value)).to_sql(&ty, &mut out).unwrap() {
            IsNull::Yes => None,
            IsNull::No => Some(out.to_vec()),
        }
    }

    #[test]
    fn cells_take_their_columns_types() {
        let columns: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let row = serde_json::json!({"a": "x", "b": null});
        let cells = Cell::row(&row, &columns);
        assert!(cells[0].0.is_some() && cells[1].0.is_none() && cells[2].0.is_none());
        assert_eq!(encode(serde_json::json!(7), Type::INT4), Some(7i32.to_be_bytes().to_vec()));
        assert_eq!(encode(serde_json::json!(7), Type::INT8), Some(7i64.to_be_bytes().to_vec()));
        assert_eq!(encode(serde_json::json!(1.5), Type::FLOAT8), Some(1.5f64.to_be_bytes().to_vec()));
        assert_eq!(encode(serde_json::json!("a\0b"), Type::TEXT), Some("a\u{FFFD}b".as_bytes().to_vec()));
        // PostgreSQL counts microseconds from 2000-01-01.
        let micros = (1_778_112_000_000i64 - 946_684_800_000) * 1_000;
        assert_eq!(encode(serde_json::json!("2026-05-07T00:00:00.000Z"), Type::TIMESTAMPTZ), Some(micros.to_be_bytes().to_vec()));
        let mut out = bytes::BytesMut::new();
        assert!(Cell(Some(&serde_json::json!(1i64 << 40))).to_sql(&Type::INT4, &mut out).is_err());
        assert!(Cell(Some(&serde_json::json!("noon"))).to_sql(&Type::TIMESTAMPTZ, &mut out).is_err());
    }
}

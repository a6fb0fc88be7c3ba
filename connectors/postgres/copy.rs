//! [`Cell`]s in PostgreSQL's binary format, for `COPY` and parameters, and back from rows.

use std::error::Error;
use std::time::{Duration, SystemTime};

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use crate::connectors::table::{Cell, SqlType};

/// The client's type of a column of type `ty`.
pub(super) fn pg_type(ty: SqlType) -> Type {
    match ty {
        SqlType::Text => Type::TEXT,
        SqlType::Integer => Type::INT4,
        SqlType::BigInt => Type::INT8,
        SqlType::Double => Type::FLOAT8,
        SqlType::Boolean => Type::BOOL,
        SqlType::Timestamptz => Type::TIMESTAMPTZ,
    }
}

type BoxError = Box<dyn Error + Sync + Send>;

fn time(millis: i64) -> SystemTime {
    match u64::try_from(millis) {
        Ok(after) => SystemTime::UNIX_EPOCH + Duration::from_millis(after),
        Err(_) => SystemTime::UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs()),
    }
}

impl ToSql for Cell<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match (self, ty) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            // PostgreSQL text cannot hold NUL characters.
            (Cell::Text(text), _) if text.contains('\0') => text.replace('\0', "\u{FFFD}").to_sql(ty, out),
            (Cell::Text(text), _) => text.as_ref().to_sql(ty, out),
            (Cell::Int(ms), &Type::TIMESTAMPTZ | &Type::TIMESTAMP) => time(*ms).to_sql(ty, out),
            (Cell::Int(n), &Type::INT2) => i16::try_from(*n)?.to_sql(ty, out),
            (Cell::Int(n), &Type::INT4) => i32::try_from(*n)?.to_sql(ty, out),
            (Cell::Int(n), &Type::FLOAT8) => (*n as f64).to_sql(ty, out),
            (Cell::Int(n), _) => n.to_sql(ty, out),
            (Cell::Float(x), &Type::FLOAT4) => (*x as f32).to_sql(ty, out),
            (Cell::Float(x), _) => x.to_sql(ty, out),
            (Cell::Bool(b), _) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `index` of `row`, a column of type `ty`, as a cell.
pub(super) fn cell(row: &postgres::Row, index: usize, ty: SqlType) -> Result<Cell<'_>, postgres::Error> {
    let cell = match ty {
        SqlType::Text => row.try_get::<_, Option<&str>>(index)?.map(|t| Cell::Text(t.into())),
        SqlType::Integer => row.try_get::<_, Option<i32>>(index)?.map(|n| Cell::Int(n.into())),
        SqlType::BigInt => row.try_get::<_, Option<i64>>(index)?.map(Cell::Int),
        SqlType::Double => row.try_get::<_, Option<f64>>(index)?.map(Cell::Float),
        SqlType::Boolean => row.try_get::<_, Option<bool>>(index)?.map(Cell::Bool),
        SqlType::Timestamptz => row.try_get::<_, Option<SystemTime>>(index)?.map(|t| {
            let millis = match t.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(after) => after.as_millis() as i64,
                Err(before) => -(before.duration().as_millis() as i64),
            };
            Cell::Int(millis)
        }),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(cell: Cell<'_>, ty: Type) -> Option<Vec<u8>> {
        let mut out = bytes::BytesMut::new();
        match cell.to_sql(&ty, &mut out).unwrap() {
            IsNull::Yes => None,
            IsNull::No => Some(out.to_vec()),
        }
    }

    #[test]
    fn cells_take_their_columns_types() {
        assert_eq!(encode(Cell::Null, Type::TEXT), None);
        assert_eq!(encode(Cell::Int(7), Type::INT4), Some(7i32.to_be_bytes().to_vec()));
        assert_eq!(encode(Cell::Int(7), Type::INT8), Some(7i64.to_be_bytes().to_vec()));
        assert_eq!(encode(Cell::Float(1.5), Type::FLOAT8), Some(1.5f64.to_be_bytes().to_vec()));
        assert_eq!(encode(Cell::Text("a\0b".into()), Type::TEXT), Some("a\u{FFFD}b".as_bytes().to_vec()));
        // PostgreSQL counts microseconds from 2000-01-01.
        let micros = (1_778_112_000_000i64 - 946_684_800_000) * 1_000;
        assert_eq!(encode(Cell::Int(1_778_112_000_000), Type::TIMESTAMPTZ), Some(micros.to_be_bytes().to_vec()));
        let before = (-1_000i64 - 946_684_800_000) * 1_000;
        assert_eq!(encode(Cell::Int(-1_000), Type::TIMESTAMPTZ), Some(before.to_be_bytes().to_vec()));
        let mut out = bytes::BytesMut::new();
        assert!(Cell::Int(1 << 40).to_sql(&Type::INT4, &mut out).is_err());
    }
}

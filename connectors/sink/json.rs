//! A results file: one JSON object whose keys are table names, each an array of row objects.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// A row that belongs to a named table.
pub trait TableRow {
    /// Every table name, in output order (tables without rows are written as `[]`).
    const TABLES: &'static [&'static str];
    /// The table this row belongs to.
    fn table(&self) -> &'static str;
    /// The row as a JSON object of its columns.
    fn to_json(&self) -> serde_json::Value;
}

/// The primary key of a row of a named table.
pub trait TableKey {
    /// The table the key belongs to.
    fn table(&self) -> &'static str;
    /// The key columns as a JSON object.
    fn key_json(&self) -> serde_json::Value;
    /// The key of a row of `table`, given as a JSON object of its columns (as a database
    /// returns it; times may have any RFC 3339 offset); `None` if it is not one.
    fn from_row_json(table: &str, row: &serde_json::Value) -> Option<Self>
    where
        Self: Sized;
}

/// Writes `rows` to `path` as `{"table": [row, ...], ...}`, tables in [`TableRow::TABLES`] order.
pub fn write_results<'a, V, I>(path: &Path, rows: I) -> std::io::Result<()>
where
    V: TableRow + 'a,
    I: IntoIterator<Item = &'a V>,
{
    let mut tables: BTreeMap<&'static str, Vec<serde_json::Value>> = V::TABLES.iter().map(|t| (*t, Vec::new())).collect();
    for row in rows {
        tables.entry(row.table()).or_default().push(row.to_json());
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"{")?;
    for (i, table) in V::TABLES.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "\n{}:", serde_json::to_string(table)?)?;
        serde_json::to_writer(&mut out, &tables[table])?;
    }
    out.write_all(b"\n}\n")?;
    out.flush()
}

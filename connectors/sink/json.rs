//! A results file: one JSON object whose keys are table names, each an array of row objects.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::connectors::table::TableRow;

/// Writes `rows` to `path` as `{"table": [row, ...], ...}`, tables in [`TableRow::tables`] order.
pub fn write_results<'a, V, I>(path: &Path, rows: I) -> std::io::Result<()>
where
    V: TableRow + 'a,
    I: IntoIterator<Item = &'a V>,
{
    let mut tables: BTreeMap<&'static str, Vec<serde_json::Value>> = V::tables().iter().map(|t| (t.name, Vec::new())).collect();
    for row in rows {
        tables.entry(row.table().name).or_default().push(row.to_json());
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(b"{")?;
    for (i, table) in V::tables().iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "\n{}:", serde_json::to_string(table.name)?)?;
        serde_json::to_writer(&mut out, &tables[table.name])?;
    }
    out.write_all(b"\n}\n")?;
    out.flush()
}

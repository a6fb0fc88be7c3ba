//! Rows as `COPY … (FORMAT csv)` data, columns in catalog order.

use serde_json::Value;

/// Appends `row` (a JSON object) as one CSV line of `columns`: a missing or null column is
/// NULL, text is quoted (with NUL characters, which PostgreSQL text cannot hold, replaced
/// by U+FFFD), numbers and booleans are written as they are, nested JSON as quoted text.
pub(super) fn write_row(out: &mut String, row: &Value, columns: &[String]) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match row.get(column) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => quote(out, s),
            Some(Value::Number(n)) => out.push_str(&n.to_string()),
            Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
            Some(nested) => quote(out, &nested.to_string()),
        }
    }
    out.push('\n');
}

fn quote(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\"\""),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_unquoted_and_text_is_quoted() {
        let columns: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
        let mut out = String::new();
        write_row(&mut out, &serde_json::json!({"a": "x\"y,\nz\0", "b": null, "c": 1.5, "d": "", "f": 1}), &columns);
        assert_eq!(out, "\"x\"\"y,\nz\u{FFFD}\",,1.5,\"\",\n");
    }
}

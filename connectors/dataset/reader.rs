//! Streaming JSON Lines reader with dead letters.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use super::lines::{for_each_line, Line, ReadAt, Share};
use crate::connectors::table::{Cell, Column, Columns, KeyColumns};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Lines longer than this are rejected as oversized (1 MiB, as for Kafka messages).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// At most this many bytes of a rejected payload are kept in its dead letter.
pub const MAX_PAYLOAD_KEPT: usize = 1024;
/// The UTF-8 byte-order mark some tools write at the start of a file.
pub const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Why a record was rejected.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// Not valid JSON, or JSON of the wrong shape (missing or wrongly typed field).
    MalformedJson(String),
    /// The bytes are not UTF-8.
    NotUtf8,
    /// The record is larger than [`MAX_LINE_BYTES`].
    Oversized(usize),
    /// A timestamp that cannot be right (for example, far from the election day).
    AbsurdTimestamp(String),
    /// Well-formed JSON with a value that cannot be used (e.g. opening hours `"7 am"`).
    InvalidValue(String),
}

impl DeadLetterReason {
    /// A short stable name for the kind of failure, for counters and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            DeadLetterReason::MalformedJson(_) => "malformed_json",
            DeadLetterReason::NotUtf8 => "not_utf8",
            DeadLetterReason::Oversized(_) => "oversized",
            DeadLetterReason::AbsurdTimestamp(_) => "absurd_timestamp",
            DeadLetterReason::InvalidValue(_) => "invalid_value",
        }
    }
}

impl fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadLetterReason::MalformedJson(e) => write!(f, "malformed JSON: {e}"),
            DeadLetterReason::NotUtf8 => write!(f, "not UTF-8"),
            DeadLetterReason::Oversized(n) => write!(f, "{n} bytes, over the {MAX_LINE_BYTES}-byte limit"),
            DeadLetterReason::AbsurdTimestamp(e) => write!(f, "absurd timestamp: {e}"),
            DeadLetterReason::InvalidValue(e) => write!(f, "invalid value: {e}"),
        }
    }
}

/// Where a record was read: its topic (or file name), partition (0 for a file) and offset
/// (for a file, the line's byte offset or line number, as the reader says). As columns:
/// `<field>_topic`, `<field>_partition` and `<field>_offset`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePosition {
    /// Topic or file name.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset or line.
    pub offset: i64,
}

impl SourcePosition {
    /// The position `offset` of `partition` of `topic`.
    pub fn new(topic: &str, partition: i32, offset: i64) -> Self {
        SourcePosition { topic: topic.into(), partition, offset }
    }
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

impl Columns for SourcePosition {
    const WIDTH: usize = 3;
    fn columns(name: &str, out: &mut Vec<Column>) {
        Arc::<str>::columns(&format!("{name}_topic"), out);
        i32::columns(&format!("{name}_partition"), out);
        i64::columns(&format!("{name}_offset"), out);
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        self.topic.cells(out);
        self.partition.cells(out);
        self.offset.cells(out);
    }
}

impl KeyColumns for SourcePosition {
    fn from_cells(cells: &mut std::slice::Iter<'_, Cell<'_>>) -> Option<Self> {
        Some(SourcePosition { topic: KeyColumns::from_cells(cells)?, partition: KeyColumns::from_cells(cells)?, offset: KeyColumns::from_cells(cells)? })
    }
}

/// A reason fills two columns: its kind (named after the field) and `detail`, its
/// explanation.
impl Columns for DeadLetterReason {
    const WIDTH: usize = 2;
    fn columns(name: &str, out: &mut Vec<Column>) {
        String::columns(name, out);
        String::columns("detail", out);
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        out.push(Cell::Text(Cow::Borrowed(self.kind())));
        out.push(Cell::Text(Cow::Owned(self.to_string())));
    }
}

crate::table! {
    /// A rejected input record: where it came from, why, and (the start of) what it was.
    /// The `dead_letters` table and dead-letter topics hold it as
    /// `{source_topic, source_partition, source_offset, reason, detail, payload}`.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct DeadLetter in "dead_letters" {
        key {
            /// Where it was read.
            pub source: SourcePosition,
        }
        /// Why it was rejected.
        pub reason: DeadLetterReason,
        /// The payload, lossily decoded and cut to [`MAX_PAYLOAD_KEPT`] bytes.
        pub payload: String,
    }
}

impl DeadLetter {
    /// A dead letter for `payload` at `position` of the file `source` (partition 0).
    pub fn new(source: &str, position: u64, reason: DeadLetterReason, payload: &[u8]) -> Self {
        Self::message(source, 0, position as i64, reason, payload)
    }

    /// A dead letter for the message at `topic/partition@offset`.
    pub fn message(topic: &str, partition: i32, offset: i64, reason: DeadLetterReason, payload: &[u8]) -> Self {
        let kept = &payload[..payload.len().min(MAX_PAYLOAD_KEPT)];
        DeadLetter { source: SourcePosition::new(topic, partition, offset.max(0)), reason, payload: String::from_utf8_lossy(kept).into_owned() }
    }
}

/// Streams the JSON Lines file at `path`, parsing the lines `share` owns.
///
/// Each parsed record goes to `on_record(offset, record)` (the byte offset of its line);
/// each bad line to `on_dead_letter`. Blank lines are skipped, and so is a UTF-8
/// byte-order mark at the start of the file. Only I/O errors (a missing file, a failing
/// disk) are errors.
pub fn read_jsonl<T, R, D>(path: &Path, share: Share, mut on_record: R, on_dead_letter: D) -> std::io::Result<()>
where
    T: DeserializeOwned,
    R: FnMut(u64, T),
    D: FnMut(DeadLetter),
{
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file = File::open(path)?;
    let on_record = |seq, record| {
        on_record(seq, record);
        ControlFlow::Continue(())
    };
    read_jsonl_from(&file, &source, share, on_record, on_dead_letter)
}

/// As [`read_jsonl`], from a file or bytes in memory; `source` names it in dead letters.
/// Reading stops early when `on_record` breaks.
pub fn read_jsonl_from<T, B, R, D>(bytes: &B, source: &str, share: Share, mut on_record: R, mut on_dead_letter: D) -> std::io::Result<()>
where
    T: DeserializeOwned,
    B: ReadAt + ?Sized,
    R: FnMut(u64, T) -> ControlFlow<()>,
    D: FnMut(DeadLetter),
{
    for_each_line(bytes, share, |offset, line| match line {
        Line::Oversized(n, head) => {
            on_dead_letter(DeadLetter::new(source, offset, DeadLetterReason::Oversized(n), head));
            ControlFlow::Continue(())
        }
        Line::Text(text) => match parse_line::<T>(without_bom(offset, text)) {
            Ok(Some(record)) => on_record(offset, record),
            Ok(None) => ControlFlow::Continue(()),
            Err(reason) => {
                on_dead_letter(DeadLetter::new(source, offset, reason, text));
                ControlFlow::Continue(())
            }
        },
    })
}

/// A line without the byte-order mark a file may start with.
pub fn without_bom(offset: u64, line: &[u8]) -> &[u8] {
    match offset {
        0 => line.strip_prefix(UTF8_BOM).unwrap_or(line),
        _ => line,
    }
}

/// Parses one line: `Ok(None)` for a blank line.
pub fn parse_line<T: DeserializeOwned>(line: &[u8]) -> Result<Option<T>, DeadLetterReason> {
    if line.len() > MAX_LINE_BYTES {
        return Err(DeadLetterReason::Oversized(line.len()));
    }
    let text = std::str::from_utf8(line).map_err(|_| DeadLetterReason::NotUtf8)?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| DeadLetterReason::MalformedJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dataset::Vote;
    use std::io::Write;
    use std::ops::ControlFlow;

    #[test]
    fn bad_lines_become_dead_letters_and_good_lines_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("votes.jsonl");
        let mut f = File::create(&path).unwrap();
        let good = r#"{"vote_id":"v1","voter_id":"a","candidate_id":"c","polling_station_id":"s","voting_time":"2026-05-07T07:00:00.000Z","voting_method":"postal"}"#;
        writeln!(f, "{good}").unwrap();
        writeln!(f, "{{not json").unwrap();
        writeln!(f).unwrap();
        f.write_all(b"\xff\xfe\n").unwrap();
        writeln!(f, r#"{{"vote_id":"v2"}}"#).unwrap();
        writeln!(f, "{}", "x".repeat(MAX_LINE_BYTES + 10)).unwrap();
        writeln!(f, "{}", good.replace("v1", "v3")).unwrap();
        drop(f);

        let mut votes = Vec::new();
        let mut dead = Vec::new();
        read_jsonl::<Vote, _, _>(&path, Share::all(), |at, v| votes.push((at, v.vote_id)), |d| dead.push(d)).unwrap();
        // Positions are byte offsets of the lines' starts.
        let lengths = [good.len() + 1, 10, 1, 3, 17, MAX_LINE_BYTES + 11];
        let at: Vec<u64> = lengths.iter().scan(0, |sum, n| Some(std::mem::replace(sum, *sum + *n as u64))).chain([lengths.iter().sum::<usize>() as u64]).collect();
        assert_eq!(votes, vec![(0, "v1".to_string()), (at[6], "v3".to_string())]);
        let kinds: Vec<_> = dead.iter().map(|d| (d.source.offset as u64, d.reason.kind())).collect();
        assert_eq!(kinds, vec![(at[1], "malformed_json"), (at[3], "not_utf8"), (at[4], "malformed_json"), (at[5], "oversized")]);
        assert!(dead[3].payload.len() <= MAX_PAYLOAD_KEPT);
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        let good = r#"{"vote_id":"v1","voter_id":"a","candidate_id":"c","polling_station_id":"s","voting_time":"2026-05-07T07:00:00.000Z","voting_method":"postal"}"#;
        let bytes = [UTF8_BOM, good.as_bytes(), b"\n", good.replace("v1", "v2").as_bytes(), b"\n"].concat();
        let mut votes = Vec::new();
        let dead = |d: DeadLetter| panic!("{d:?}");
        let on_vote = |_, v: Vote| {
            votes.push(v.vote_id);
            ControlFlow::Continue(())
        };
        read_jsonl_from(&bytes[..], "votes.jsonl", Share::all(), on_vote, dead).unwrap();
        assert_eq!(votes, ["v1", "v2"]);
    }

    #[test]
    fn shares_partition_the_items() {
        let shares: Vec<_> = (0..3).map(|i| Share::of(i, 3)).collect();
        for seq in 0..10_000 {
            assert_eq!(shares.iter().filter(|s| s.owns(seq)).count(), 1);
        }
    }
}

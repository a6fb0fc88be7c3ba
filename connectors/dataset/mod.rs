//! JSON Lines data sets: a directory with `candidates.jsonl`, `polling_stations.jsonl`,
//! `voters.jsonl`, `votes.jsonl` and, for generated sets, `injected_anomalies.jsonl`.
//!
//! Reading streams line by line (files may hold millions of lines) and never fails on a bad
//! line: each one becomes a counted [`DeadLetter`] with its reason. Each timely worker reads
//! its own share of lines ([`Share`]), and every line keeps its position in the file as a
//! sequence number, which is what "later record wins" means for registry upserts.

mod reader;
mod records;

pub use reader::{parse_line, read_jsonl, read_jsonl_from, DeadLetter, DeadLetterReason, Share, MAX_LINE_BYTES, MAX_PAYLOAD_KEPT};
pub use records::*;

use std::io::{BufWriter, Write};
use std::path::Path;

/// File names of a data set, in the order a reader should load them (registry first).
pub const CANDIDATES: &str = "candidates.jsonl";
/// See [`CANDIDATES`].
pub const POLLING_STATIONS: &str = "polling_stations.jsonl";
/// See [`CANDIDATES`].
pub const VOTERS: &str = "voters.jsonl";
/// See [`CANDIDATES`].
pub const VOTES: &str = "votes.jsonl";
/// Ground-truth labels of injected anomalies, written by the generator only.
pub const INJECTED_ANOMALIES: &str = "injected_anomalies.jsonl";

/// Writes `records` to `path` as JSON Lines, one object per line.
pub fn write_jsonl<'a, T, I>(path: &Path, records: I) -> std::io::Result<()>
where
    T: serde::Serialize + 'a,
    I: IntoIterator<Item = &'a T>,
{
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for record in records {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

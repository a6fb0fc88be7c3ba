//! JSON Lines data sets: a directory with `candidates.jsonl`, `polling_stations.jsonl`,
//! `voters.jsonl`, `votes.jsonl` and, for generated sets, `injected_anomalies.jsonl`.
//!
//! Reading streams chunk by chunk (files may hold millions of lines) and never fails on a
//! bad line: each one becomes a counted [`DeadLetter`] with its reason. Each timely worker
//! reads its own chunks of a file ([`Share`], [`lines`]), and every line keeps its position
//! in the file, the byte offset of its start, as a sequence number: that is what "later
//! record wins" means for registry upserts. [`fast`] parses the fields the pipeline needs
//! without allocating; the full parse ([`parse_line`]) stays on the error path, so a bad
//! line gets the same reason either way.

pub mod fast;
pub mod lines;
mod reader;
mod records;

pub use lines::{ReadAt, Share};
pub use reader::{parse_line, read_jsonl, read_jsonl_from, without_bom, DeadLetter, DeadLetterReason, SourcePosition, MAX_LINE_BYTES, MAX_PAYLOAD_KEPT, UTF8_BOM};
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

/// The contents of a data set's files, in memory.
#[derive(Clone, Debug, Default)]
pub struct DatasetBytes {
    /// `candidates.jsonl`.
    pub candidates: Vec<u8>,
    /// `polling_stations.jsonl`.
    pub stations: Vec<u8>,
    /// `voters.jsonl`.
    pub voters: Vec<u8>,
    /// `votes.jsonl`.
    pub votes: Vec<u8>,
}

impl DatasetBytes {
    /// Reads a data-set directory (skipping a byte-order mark at the start of a file).
    pub fn read_dir(dir: &Path) -> std::io::Result<Self> {
        let read = |file: &str| {
            let path = dir.join(file);
            let mut bytes = std::fs::read(&path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            if bytes.starts_with(UTF8_BOM) {
                bytes.drain(..UTF8_BOM.len());
            }
            Ok::<_, std::io::Error>(bytes)
        };
        Ok(DatasetBytes { candidates: read(CANDIDATES)?, stations: read(POLLING_STATIONS)?, voters: read(VOTERS)?, votes: read(VOTES)? })
    }

    /// The records as JSON Lines.
    pub fn of(candidates: &[Candidate], stations: &[PollingStation], voters: &[Voter], votes: &[Vote]) -> Self {
        fn lines<T: serde::Serialize>(records: &[T]) -> Vec<u8> {
            let mut out = Vec::new();
            for r in records {
                serde_json::to_writer(&mut out, r).expect("records serialise");
                out.push(b'\n');
            }
            out
        }
        DatasetBytes { candidates: lines(candidates), stations: lines(stations), voters: lines(voters), votes: lines(votes) }
    }

    /// A file's bytes by its name ([`CANDIDATES`] and so on).
    pub fn file(&self, name: &str) -> &[u8] {
        match name {
            CANDIDATES => &self.candidates,
            POLLING_STATIONS => &self.stations,
            VOTERS => &self.voters,
            VOTES => &self.votes,
            other => panic!("{other} is not a data-set file"),
        }
    }
}

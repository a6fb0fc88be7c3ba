//! The election's records as tables: the current registries, the vote ledger and the dead
//! letters, keyed by their primary keys, for the PostgreSQL sink.
//!
//! In: the registry versions, every vote message with its [`SourcePosition`], the
//! pipeline's verdicts ([`super::ElectionOutputs::statuses`]) and the dead letters. Out:
//! `(RecordKey, RecordRow)` rows of `candidates`, `polling_stations`, `voters`, `votes` and
//! `dead_letters` (see `sql/schema.sql`). A vote's ledger row changes when a late vote
//! changes its verdict; identical copies of a message share the verdict.

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::model::{Ballot, Text, VoteStatus};
use super::Versions;
use crate::connectors::dataset::{Candidate, DeadLetter, PollingStation, Vote, Voter};
use crate::connectors::sink::json::{TableKey, TableRow};
use crate::operators::prelude::*;

/// Where a vote message was read: topic (or file), partition (0 for a file) and offset (or
/// line number).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePosition {
    /// Topic or file name.
    pub topic: Text,
    /// Partition.
    pub partition: i32,
    /// Offset or line number.
    pub offset: i64,
}

/// The primary key of a record row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKey {
    /// `candidates (candidate_id)`
    Candidate(String),
    /// `polling_stations (polling_station_id)`
    Station(String),
    /// `voters (voter_id)`
    Voter(String),
    /// `votes (source_topic, source_partition, source_offset)`
    Vote(SourcePosition),
    /// `dead_letters (source_topic, source_partition, source_offset)`
    DeadLetter(SourcePosition),
}

/// A row of a record table.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordRow {
    /// `candidates`
    Candidate(Candidate),
    /// `polling_stations`
    Station(PollingStation),
    /// `voters` (the address flattened into `address_*` columns)
    Voter(Voter),
    /// `votes`: a vote message, where it was read and its current verdict.
    Vote(SourcePosition, Ballot, VoteStatus),
    /// `dead_letters`
    DeadLetter(DeadLetter),
}

impl DeadLetter {
    /// Where it was read, as a ledger position (files are partition 0).
    pub fn source_position(&self) -> SourcePosition {
        SourcePosition { topic: self.source.as_str().into(), partition: self.partition.unwrap_or(0), offset: self.position as i64 }
    }
}

impl RecordRow {
    /// The row's primary key.
    pub fn key(&self) -> RecordKey {
        match self {
            RecordRow::Candidate(c) => RecordKey::Candidate(c.candidate_id.clone()),
            RecordRow::Station(s) => RecordKey::Station(s.polling_station_id.clone()),
            RecordRow::Voter(v) => RecordKey::Voter(v.voter_id.clone()),
            RecordRow::Vote(position, ..) => RecordKey::Vote(position.clone()),
            RecordRow::DeadLetter(d) => RecordKey::DeadLetter(d.source_position()),
        }
    }
}

const TABLES: [&str; 5] = ["candidates", "polling_stations", "voters", "votes", "dead_letters"];

fn position_json(p: &SourcePosition) -> Value {
    json!({ "source_topic": &*p.topic, "source_partition": p.partition, "source_offset": p.offset })
}

impl TableRow for RecordRow {
    const TABLES: &'static [&'static str] = &TABLES;

    fn table(&self) -> &'static str {
        self.key().table()
    }

    fn to_json(&self) -> Value {
        let mut row = match self {
            RecordRow::Candidate(c) => serde_json::to_value(c).expect("records serialise"),
            RecordRow::Station(s) => serde_json::to_value(s).expect("records serialise"),
            RecordRow::Voter(v) => {
                let mut row = serde_json::to_value(v).expect("records serialise");
                let address = row.as_object_mut().and_then(|o| o.remove("address")).unwrap_or_default();
                for part in ["street", "city", "state", "country", "postcode"] {
                    row[format!("address_{part}")] = address.get(part).cloned().unwrap_or_default();
                }
                row
            }
            RecordRow::Vote(_, ballot, status) => {
                let vote = Vote::from(ballot);
                let mut row = serde_json::to_value(&vote).expect("records serialise");
                row["status"] = status.as_str().into();
                row
            }
            RecordRow::DeadLetter(d) => json!({ "reason": d.reason.kind(), "detail": d.reason.to_string(), "payload": d.payload }),
        };
        let position = match self {
            RecordRow::Vote(position, ..) => Some(position.clone()),
            RecordRow::DeadLetter(d) => Some(d.source_position()),
            _ => None,
        };
        if let Some(Value::Object(columns)) = position.as_ref().map(position_json) {
            row.as_object_mut().expect("rows are objects").extend(columns);
        }
        row
    }
}

impl TableKey for RecordKey {
    fn table(&self) -> &'static str {
        match self {
            RecordKey::Candidate(_) => TABLES[0],
            RecordKey::Station(_) => TABLES[1],
            RecordKey::Voter(_) => TABLES[2],
            RecordKey::Vote(_) => TABLES[3],
            RecordKey::DeadLetter(_) => TABLES[4],
        }
    }

    fn key_json(&self) -> Value {
        match self {
            RecordKey::Candidate(id) => json!({ "candidate_id": id }),
            RecordKey::Station(id) => json!({ "polling_station_id": id }),
            RecordKey::Voter(id) => json!({ "voter_id": id }),
            RecordKey::Vote(p) | RecordKey::DeadLetter(p) => position_json(p),
        }
    }

    fn from_row_json(table: &str, row: &Value) -> Option<Self> {
        let text = |column: &str| row.get(column)?.as_str().map(str::to_string);
        let position = || {
            Some(SourcePosition {
                topic: text("source_topic")?.into(),
                partition: row.get("source_partition")?.as_i64()?.try_into().ok()?,
                offset: row.get("source_offset")?.as_i64()?,
            })
        };
        Some(match table {
            "candidates" => RecordKey::Candidate(text("candidate_id")?),
            "polling_stations" => RecordKey::Station(text("polling_station_id")?),
            "voters" => RecordKey::Voter(text("voter_id")?),
            "votes" => RecordKey::Vote(position()?),
            "dead_letters" => RecordKey::DeadLetter(position()?),
            _ => return None,
        })
    }
}

/// Every vote message with where it was read.
pub type Sources<'scope> = VecCollection<'scope, u64, (Ballot, SourcePosition)>;
/// Every distinct vote with its verdict.
pub type Statuses<'scope> = VecCollection<'scope, u64, (Ballot, VoteStatus)>;

/// The record tables' rows, with the vote ledger if the vote messages and their verdicts
/// are given.
pub fn build<'scope>(
    candidates: Versions<'scope, Candidate>,
    stations: Versions<'scope, PollingStation>,
    voters: Versions<'scope, Voter>,
    ledger: Option<(Sources<'scope>, Statuses<'scope>)>,
    dead_letters: VecCollection<'scope, u64, DeadLetter>,
) -> VecCollection<'scope, u64, (RecordKey, RecordRow)> {
    let candidates = candidates.latest_by_key_named("CandidateRecords").map(|(_, c)| RecordRow::Candidate(c));
    let stations = stations.latest_by_key_named("StationRecords").map(|(_, s)| RecordRow::Station(s));
    let voters = voters.latest_by_key_named("VoterRecords").map(|(_, v)| RecordRow::Voter(v));
    // A source may deliver a message twice (Kafka is at-least-once): a position is one row.
    let dead_letters = dead_letters.distinct().map(RecordRow::DeadLetter);
    let mut rows = candidates.concat(stations).concat(voters).concat(dead_letters);
    if let Some((sources, statuses)) = ledger {
        let ledger = sources.distinct().join(statuses).map(|(ballot, (position, status))| RecordRow::Vote(position, ballot, status));
        rows = rows.concat(ledger);
    }
    rows.map(|row| (row.key(), row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dataset::{Address, DeadLetterReason, VotingMethod};
    use crate::pipelines::election::model::AnomalyKind;

    #[test]
    fn rows_flatten_and_keys_come_back_from_rows() {
        let voter = Voter {
            voter_id: "v1".into(),
            voter_name: "A".into(),
            date_of_birth: "1980-01-01".into(),
            gender: "female".into(),
            nationality: "UK".into(),
            registration_number: "r".into(),
            address: Address { street: "1 High St".into(), city: "Leeds".into(), state: "Yorkshire".into(), country: "UK".into(), postcode: "LS1".into() },
            email: String::new(),
            phone_number: String::new(),
            cell_number: String::new(),
            picture: String::new(),
            registered_age: 40,
            education_level: "degree".into(),
            income_category: "mid".into(),
            polling_station_id: "s1".into(),
        };
        let json = RecordRow::Voter(voter.clone()).to_json();
        assert_eq!(json["address_city"], "Leeds");
        assert!(json.get("address").is_none());
        let position = SourcePosition { topic: "votes_topic".into(), partition: 3, offset: 17 };
        let ballot = Ballot {
            voting_time: 1_778_112_000_000,
            vote_id: "x".into(),
            voter_id: "v1".into(),
            candidate_id: "c".into(),
            polling_station_id: "s1".into(),
            voting_method: VotingMethod::Postal,
        };
        let vote = RecordRow::Vote(position.clone(), ballot, VoteStatus::Rejected(AnomalyKind::DuplicateVote));
        let json = vote.to_json();
        assert_eq!((json["status"].as_str(), json["source_offset"].as_i64()), (Some("duplicate_vote"), Some(17)));
        let letter = DeadLetter::message("votes_topic", 2, 9, DeadLetterReason::NotUtf8, b"\xff");
        for row in [RecordRow::Voter(voter), vote, RecordRow::DeadLetter(letter)] {
            assert_eq!(RecordKey::from_row_json(row.table(), &row.to_json()), Some(row.key()));
        }
    }
}

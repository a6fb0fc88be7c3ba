//! The election's records as tables: the current registries, the vote ledger and the dead
//! letters, keyed by their primary keys, for the PostgreSQL sink.
//!
//! In: the registry versions, every vote message with its [`SourcePosition`], the
//! pipeline's verdicts ([`super::ElectionOutputs::statuses`]) and the dead letters. Out:
//! `(RecordKey, RecordRow)` rows of `candidates`, `polling_stations`, `voters`, `votes` and
//! `dead_letters` (declared with their records, see [`crate::connectors::table`]). A vote's ledger row changes when a late vote
//! changes its verdict; identical copies of a message share the verdict.

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};

use super::model::{Ballot, Id, VoteStatus};
use super::Versions;
use crate::connectors::dataset::{Candidate, DeadLetter, PollingStation, SourcePosition, Voter, VotingMethod};
use crate::operators::prelude::*;

crate::table! {
    /// A vote message, where it was read and its current verdict: a row of the vote ledger
    /// (`votes`).
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct LedgerVote in "votes", index "status" {
        key {
            /// Where it was read.
            pub source: SourcePosition,
        }
        /// Message id.
        pub vote_id: Id,
        /// Who.
        pub voter_id: Id,
        /// For whom.
        pub candidate_id: Id,
        /// Where.
        pub polling_station_id: Id,
        /// When.
        pub voting_time: i64 as Timestamptz,
        /// How.
        pub voting_method: VotingMethod,
        /// `counted` or the anomaly kind.
        pub status: VoteStatus,
    }
}

impl LedgerVote {
    /// The ledger row of `ballot`, read at `source`, with its verdict.
    pub fn new(source: SourcePosition, ballot: Ballot, status: VoteStatus) -> Self {
        let Ballot { voting_time, vote_id, voter_id, candidate_id, polling_station_id, voting_method } = ballot;
        LedgerVote { source, vote_id, voter_id, candidate_id, polling_station_id, voting_time, voting_method, status }
    }
}

crate::tables! {
    /// A row of a record table.
    pub enum RecordRow / RecordKey {
        /// `candidates`
        Candidate(Candidate),
        /// `polling_stations`
        Station(PollingStation),
        /// `voters`
        Voter(Voter),
        /// `votes`
        Vote(LedgerVote),
        /// `dead_letters`
        DeadLetter(DeadLetter),
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
        let ledger = sources.distinct().join(statuses).map(|(ballot, (position, status))| RecordRow::Vote(LedgerVote::new(position, ballot, status)));
        rows = rows.concat(ledger);
    }
    rows.map(|row| (row.key(), row))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::dataset::{Address, DeadLetterReason};
    use crate::connectors::table::{TableKey, TableRow};
    use crate::pipelines::election::model::AnomalyKind;

    #[test]
    fn rows_flatten_and_keys_come_back_from_their_key_columns() {
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
        let position = SourcePosition::new("votes_topic", 3, 17);
        let ballot = Ballot {
            voting_time: 1_778_112_000_000,
            vote_id: "x".into(),
            voter_id: "v1".into(),
            candidate_id: "c".into(),
            polling_station_id: "s1".into(),
            voting_method: VotingMethod::Postal,
        };
        let vote = RecordRow::Vote(LedgerVote::new(position, ballot, VoteStatus::Rejected(AnomalyKind::DuplicateVote)));
        let json = vote.to_json();
        assert_eq!((json["status"].as_str(), json["source_offset"].as_i64()), (Some("duplicate_vote"), Some(17)));
        let letter = DeadLetter::message("votes_topic", 2, 9, DeadLetterReason::NotUtf8, b"\xff");
        let json = RecordRow::DeadLetter(letter.clone()).to_json();
        assert_eq!(
            json,
            serde_json::json!({"source_topic": "votes_topic", "source_partition": 2, "source_offset": 9, "reason": "not_utf8", "detail": "not UTF-8", "payload": "\u{FFFD}"})
        );
        for row in [RecordRow::Voter(voter), vote, RecordRow::DeadLetter(letter)] {
            let mut cells = Vec::new();
            row.cells(&mut cells);
            assert_eq!(cells.len(), row.table().columns.len(), "{row:?}");
            assert_eq!(RecordKey::from_cells(row.table().name, &cells[..row.table().keys]), Some(row.key()));
        }
    }
}

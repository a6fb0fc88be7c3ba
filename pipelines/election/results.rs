//! The election's result tables, each declared once (see [`crate::connectors::table`]):
//! its row struct, name, Kafka topic, columns and primary key.
//!
//! Table, topic and column names are a contract: PostgreSQL tables, Kafka topics and
//! results files use them.

use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

use super::model::{AnomalyKind, Id};
use crate::connectors::dataset::format_millis;

crate::tables! {
    /// A row of any result table.
    pub enum ResultRow / ResultKey {
        /// `results_votes_per_candidate`
        VotesPerCandidate(VotesPerCandidate),
        /// `results_votes_per_party`
        VotesPerParty(VotesPerParty),
        /// `results_turnout_by_region`
        TurnoutByRegion(TurnoutByRegion),
        /// `results_turnout_by_city`
        TurnoutByCity(TurnoutByCity),
        /// `results_turnout_by_age_group`
        TurnoutByAgeGroup(TurnoutByAgeGroup),
        /// `results_turnout_by_gender`
        TurnoutByGender(TurnoutByGender),
        /// `results_votes_by_education_party`
        VotesByEducationParty(VotesByEducationParty),
        /// `results_turnout_by_hour`
        TurnoutByHour(TurnoutByHour),
        /// `results_top_polling_stations`
        TopPollingStation(TopPollingStation),
        /// `anomalies`
        Anomaly(Anomaly),
        /// `data_quality`
        DataQuality(QualityCheck),
        /// `projection`
        Projection(Projection),
    }
}

crate::table! {
    /// Counted votes per registered candidate (0 for a candidate without votes).
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct VotesPerCandidate in "results_votes_per_candidate", topic "aggregated_votes_per_candidate" {
        key {
            /// Key.
            pub candidate_id: Id,
        }
        /// From the registry.
        pub candidate_name: Id,
        /// From the registry.
        pub party_affiliation: Id,
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// Counted votes per party of a registered candidate (0 for a party without votes).
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct VotesPerParty in "results_votes_per_party", topic "aggregated_votes_per_party" {
        key {
            /// Key.
            pub party_affiliation: Id,
        }
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// Turnout per region (the voter's `address.state`), for every region with registered voters.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct TurnoutByRegion in "results_turnout_by_region", topic "aggregated_turnout_by_location" {
        key {
            /// Key.
            pub region: Id,
        }
        /// Counted votes.
        pub votes: i64,
        /// Registered voters of the region, from the voter registry.
        pub registered_voters: i64,
        /// `100 * votes / registered_voters`.
        pub turnout_pct: f64,
    }
}

// `turnout_pct` is a function of the integer columns, so equality and order on those are exact.
impl Eq for TurnoutByRegion {}
impl PartialOrd for TurnoutByRegion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TurnoutByRegion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.region, self.votes, self.registered_voters).cmp(&(&other.region, other.votes, other.registered_voters))
    }
}
impl std::hash::Hash for TurnoutByRegion {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.region, self.votes, self.registered_voters).hash(state)
    }
}

impl TurnoutByRegion {
    /// The row, with `turnout_pct` computed.
    pub fn new(region: Id, votes: i64, registered_voters: i64) -> Self {
        let turnout_pct = if registered_voters > 0 { 100.0 * votes as f64 / registered_voters as f64 } else { 0.0 };
        TurnoutByRegion { region, votes, registered_voters, turnout_pct }
    }
}

crate::table! {
    /// Counted votes per `(region, city)` of the voter's address.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct TurnoutByCity in "results_turnout_by_city", topic "aggregated_turnout_by_city" {
        key {
            /// Key.
            pub region: Id,
            /// Key.
            pub city: Id,
        }
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// Counted votes per age band.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct TurnoutByAgeGroup in "results_turnout_by_age_group", topic "aggregated_turnout_by_age_group" {
        key {
            /// Key: `18-24`, `25-34`, `35-44`, `45-54`, `55-64` or `65+`.
            pub age_group: Id,
        }
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// Counted votes per gender.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct TurnoutByGender in "results_turnout_by_gender", topic "aggregated_turnout_by_gender" {
        key {
            /// Key.
            pub gender: Id,
        }
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// Counted votes per voter education level and party voted for.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct VotesByEducationParty in "results_votes_by_education_party", topic "aggregated_votes_by_education_party" {
        key {
            /// Key.
            pub education_level: Id,
            /// Key.
            pub party_affiliation: Id,
        }
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// Counted votes per event-time hour.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct TurnoutByHour in "results_turnout_by_hour", topic "aggregated_turnout_by_hour" {
        key {
            /// Key: start of the one-hour tumbling window.
            pub hour_start: i64 as Timestamptz,
        }
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// The ten stations with the most counted votes; ties go to the smaller id.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct TopPollingStation in "results_top_polling_stations", topic "aggregated_top_polling_stations" {
        key {
            /// Key: 1 to 10.
            pub rank: u32,
        }
        /// Station.
        pub polling_station_id: Id,
        /// Counted votes.
        pub votes: i64,
    }
}

crate::table! {
    /// A finding: an anomalous vote (`vote_id` and the vote's columns), a station's window with
    /// a rate spike (`polling_station_id`, `window_start`, `observed`, `expected`, `score`), or a
    /// station or region over its registered voters (`polling_station_id` or `region`,
    /// `observed` counted votes, `expected` registered voters).
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct Anomaly in "anomalies" {
        key anomaly_id: String = Anomaly::id;
        /// What is wrong.
        pub kind: AnomalyKind,
        /// The vote.
        pub vote_id: Option<String>,
        /// Its voter.
        pub voter_id: Option<String>,
        /// Its station.
        pub polling_station_id: Option<String>,
        /// Start of the window, for window-level findings.
        pub window_start: Option<i64> as Timestamptz,
        /// The vote's time.
        pub voting_time: Option<i64> as Timestamptz,
        /// The vote's candidate.
        pub candidate_id: Option<String>,
        /// The region, for findings about a region (and the station's region for station findings).
        pub region: Option<String>,
        /// What was counted (window and turnout findings).
        pub observed: Option<i64>,
        /// What the model expects (rate spikes) or allows (over-turnout: registered voters).
        pub expected: Option<OrderedFloat<f64>>,
        /// How far above expected, for rate spikes (see [`crate::operators::rate`]).
        pub score: Option<OrderedFloat<f64>>,
    }
}

impl Anomaly {
    /// A finding of `kind` with every other column empty.
    pub fn of(kind: AnomalyKind) -> Self {
        Anomaly {
            kind,
            vote_id: None,
            voter_id: None,
            polling_station_id: None,
            window_start: None,
            voting_time: None,
            candidate_id: None,
            region: None,
            observed: None,
            expected: None,
            score: None,
        }
    }

    /// The finding's identity as one text: its kind and every identifying column (all but
    /// `observed`, `expected` and `score`), joined with `/` (absent ones empty; `\\` and `/` inside a value escaped with `\\`, so
    /// distinct findings have distinct ids). The `anomaly_id` of tables and topics.
    pub fn id(&self) -> String {
        let time = |t: Option<i64>| t.map(format_millis).unwrap_or_default();
        let text = |t: &Option<String>| t.as_deref().unwrap_or_default().replace('\\', "\\\\").replace('/', "\\/");
        [
            self.kind.as_str().to_string(),
            text(&self.vote_id),
            text(&self.voter_id),
            text(&self.polling_station_id),
            time(self.window_start),
            time(self.voting_time),
            text(&self.candidate_id),
            text(&self.region),
        ]
        .join("/")
    }
}

crate::table! {
    /// One data-quality rule and how the data currently fares (see [`super::quality`]).
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct QualityCheck in "data_quality" {
        key {
            /// Key: the rule's name.
            pub check: String,
        }
        /// Whether the data passes.
        pub passed: bool,
        /// The measured value.
        pub observed: OrderedFloat<f64>,
        /// The value the rule wants (a bound or an exact value, as `detail` says).
        pub expected: OrderedFloat<f64>,
        /// What was compared, in words.
        pub detail: String,
    }
}

crate::table! {
    /// A race's projection for one candidate, as of the event-time watermark (see
    /// [`super::projection`]): the nation (`race` = `national`) and each region. When a
    /// party has more than one candidate, each party also has a row of its own, the race
    /// between parties, with an empty `candidate_id`.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct Projection in "projection", topic "projection" {
        key {
            /// Key: `national` or a region.
            pub race: Id,
            /// Key: from the registry.
            pub party_affiliation: Id,
            /// Key: the candidate, or empty on a party's row.
            pub candidate_id: Id,
        }
        /// The watermark the projection is as of.
        pub as_of: i64 as Timestamptz,
        /// Votes counted.
        pub counted_votes: i64,
        /// Projected final votes.
        pub projected_votes: OrderedFloat<f64>,
        /// Lower end of the 90 % interval of the final votes.
        pub votes_lo90: OrderedFloat<f64>,
        /// Upper end of the 90 % interval of the final votes.
        pub votes_hi90: OrderedFloat<f64>,
        /// Projected final share of the race's votes, in percent.
        pub projected_share: OrderedFloat<f64>,
        /// Lower end of the 90 % interval of the final share, in percent.
        pub share_lo90: OrderedFloat<f64>,
        /// Upper end of the 90 % interval of the final share, in percent.
        pub share_hi90: OrderedFloat<f64>,
        /// Probability of finishing first.
        pub win_probability: OrderedFloat<f64>,
        /// The race's status: `too_early`, `leading`, `called`, `certain` or `uncalled`.
        pub status: Id,
        /// The candidate the race is called (or certain, or was called) for.
        pub called_for: Option<String>,
        /// When (the watermark) the race was called.
        pub called_at: Option<i64> as Timestamptz,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::table::{Cell, TableKey, TableRow};

    #[test]
    fn keys_name_their_rows_table_and_topics_are_distinct() {
        let row = ResultRow::TurnoutByHour(TurnoutByHour { hour_start: 1_778_112_000_000, votes: 3 });
        let (key, row) = row.keyed();
        assert_eq!(key.table(), row.table());
        assert_eq!(key.key_json(), serde_json::json!({ "hour_start": "2026-05-07T00:00:00.000Z" }));
        assert_eq!(row.to_json()["hour_start"], key.key_json()["hour_start"]);
        let topics: std::collections::BTreeSet<_> = ResultRow::tables().iter().map(|t| t.topic).collect();
        assert_eq!(topics.len(), ResultRow::tables().len());
        assert!(topics.contains("aggregated_votes_per_candidate") && topics.contains("aggregated_turnout_by_location") && topics.contains("anomalies"));
    }

    #[test]
    fn keys_come_back_from_their_rows_key_columns() {
        let anomaly = Anomaly {
            vote_id: Some("vote-1".into()),
            voter_id: Some("a/b".into()),
            polling_station_id: Some("s".into()),
            voting_time: Some(1_778_112_000_000),
            candidate_id: Some("c".into()),
            ..Anomaly::of(AnomalyKind::DuplicateVote)
        };
        let spike = Anomaly {
            polling_station_id: Some("s".into()),
            window_start: Some(1_778_112_300_000),
            region: Some("R".into()),
            observed: Some(40),
            expected: Some(OrderedFloat(2.5)),
            score: Some(OrderedFloat(23.7)),
            ..Anomaly::of(AnomalyKind::RateSpike)
        };
        let rows = [
            ResultRow::TurnoutByHour(TurnoutByHour { hour_start: 1_778_112_000_000, votes: 3 }),
            ResultRow::TurnoutByCity(TurnoutByCity { region: "R".into(), city: "C".into(), votes: 1 }),
            ResultRow::TopPollingStation(TopPollingStation { rank: 3, polling_station_id: "s".into(), votes: 2 }),
            ResultRow::Anomaly(anomaly.clone()),
            ResultRow::Anomaly(spike.clone()),
            ResultRow::DataQuality(QualityCheck { check: "x".into(), passed: true, observed: OrderedFloat(1.0), expected: OrderedFloat(1.0), detail: String::new() }),
        ];
        for row in rows {
            let mut cells = Vec::new();
            row.cells(&mut cells);
            assert_eq!(cells.len(), row.table().columns.len());
            let keys = &cells[..row.table().keys];
            assert_eq!(ResultKey::from_cells(row.table().name, keys), Some(row.key()), "{row:?}");
            assert_eq!(ResultKey::from_cells(row.table().name, &cells), None, "{row:?}: more cells than key columns");
        }
        assert_eq!(ResultRow::Anomaly(anomaly.clone()).to_json()["anomaly_id"], r"duplicate_vote/vote-1/a\/b/s//2026-05-07T00:00:00.000Z/c/");
        assert_eq!(ResultRow::Anomaly(spike).to_json()["anomaly_id"], "rate_spike///s/2026-05-07T00:05:00.000Z///R");
        assert_eq!(ResultKey::from_cells("nope", &[Cell::Int(1)]), None);
        assert_eq!(ResultKey::from_cells("results_top_polling_stations", &[Cell::Text("1".into())]), None);
    }
}

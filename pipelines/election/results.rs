//! The election's result rows, keyed by their table's primary key.
//!
//! Table and column names are a contract: they become PostgreSQL tables and Kafka topics.

use serde::{Deserialize, Serialize};

use super::model::AnomalyKind;
use crate::connectors::dataset::rfc3339_millis;
use crate::connectors::sink::json::TableRow;

/// The primary key of a result row: its table and the key columns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResultKey {
    /// `results_votes_per_candidate (candidate_id)`
    Candidate(String),
    /// `results_votes_per_party (party_affiliation)`
    Party(String),
    /// `results_turnout_by_region (region)`
    Region(String),
    /// `results_turnout_by_city (region, city)`
    City(String, String),
    /// `results_turnout_by_age_group (age_group)`
    AgeGroup(String),
    /// `results_turnout_by_gender (gender)`
    Gender(String),
    /// `results_votes_by_education_party (education_level, party_affiliation)`
    EducationParty(String, String),
    /// `results_turnout_by_hour (hour_start)`
    Hour(i64),
    /// `results_top_polling_stations (rank)`
    TopStation(u32),
    /// `anomalies`: the whole row is its identity.
    Anomaly(Anomaly),
}

/// A row of any result table. [`TableRow::to_json`] gives the table's row object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResultRow {
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
}

/// Counted votes per registered candidate (0 for a candidate without votes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VotesPerCandidate {
    /// Key.
    pub candidate_id: String,
    /// From the registry.
    pub candidate_name: String,
    /// From the registry.
    pub party_affiliation: String,
    /// Counted votes.
    pub votes: i64,
}

/// Counted votes per party of a registered candidate (0 for a party without votes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VotesPerParty {
    /// Key.
    pub party_affiliation: String,
    /// Counted votes.
    pub votes: i64,
}

/// Turnout per region (the voter's `address.state`), for every region with registered voters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TurnoutByRegion {
    /// Key.
    pub region: String,
    /// Counted votes.
    pub votes: i64,
    /// Registered voters of the region, from the voter registry.
    pub registered_voters: i64,
    /// `100 * votes / registered_voters`.
    pub turnout_pct: f64,
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
    pub fn new(region: String, votes: i64, registered_voters: i64) -> Self {
        let turnout_pct = if registered_voters > 0 { 100.0 * votes as f64 / registered_voters as f64 } else { 0.0 };
        TurnoutByRegion { region, votes, registered_voters, turnout_pct }
    }
}

/// Counted votes per `(region, city)` of the voter's address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TurnoutByCity {
    /// Key.
    pub region: String,
    /// Key.
    pub city: String,
    /// Counted votes.
    pub votes: i64,
}

/// Counted votes per age band.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TurnoutByAgeGroup {
    /// Key: `18-24`, `25-34`, `35-44`, `45-54`, `55-64` or `65+`.
    pub age_group: String,
    /// Counted votes.
    pub votes: i64,
}

/// Counted votes per gender.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TurnoutByGender {
    /// Key.
    pub gender: String,
    /// Counted votes.
    pub votes: i64,
}

/// Counted votes per voter education level and party voted for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VotesByEducationParty {
    /// Key.
    pub education_level: String,
    /// Key.
    pub party_affiliation: String,
    /// Counted votes.
    pub votes: i64,
}

/// Counted votes per event-time hour.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TurnoutByHour {
    /// Key: start of the one-hour tumbling window.
    #[serde(with = "rfc3339_millis")]
    pub hour_start: i64,
    /// Counted votes.
    pub votes: i64,
}

/// The ten stations with the most counted votes; ties go to the smaller id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopPollingStation {
    /// Key: 1 to 10.
    pub rank: u32,
    /// Station.
    pub polling_station_id: String,
    /// Counted votes.
    pub votes: i64,
}

/// An anomalous vote (and, from the anomaly-detection issue on, window-level findings).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Anomaly {
    /// What is wrong.
    pub kind: AnomalyKind,
    /// The vote.
    pub vote_id: Option<String>,
    /// Its voter.
    pub voter_id: Option<String>,
    /// Its station.
    pub polling_station_id: Option<String>,
    /// Start of the window, for window-level findings.
    #[serde(with = "rfc3339_millis::option")]
    pub window_start: Option<i64>,
    /// The vote's time.
    #[serde(with = "rfc3339_millis::option")]
    pub voting_time: Option<i64>,
    /// The vote's candidate.
    pub candidate_id: Option<String>,
}

impl ResultRow {
    /// The row's primary key.
    pub fn key(&self) -> ResultKey {
        match self {
            ResultRow::VotesPerCandidate(r) => ResultKey::Candidate(r.candidate_id.clone()),
            ResultRow::VotesPerParty(r) => ResultKey::Party(r.party_affiliation.clone()),
            ResultRow::TurnoutByRegion(r) => ResultKey::Region(r.region.clone()),
            ResultRow::TurnoutByCity(r) => ResultKey::City(r.region.clone(), r.city.clone()),
            ResultRow::TurnoutByAgeGroup(r) => ResultKey::AgeGroup(r.age_group.clone()),
            ResultRow::TurnoutByGender(r) => ResultKey::Gender(r.gender.clone()),
            ResultRow::VotesByEducationParty(r) => ResultKey::EducationParty(r.education_level.clone(), r.party_affiliation.clone()),
            ResultRow::TurnoutByHour(r) => ResultKey::Hour(r.hour_start),
            ResultRow::TopPollingStation(r) => ResultKey::TopStation(r.rank),
            ResultRow::Anomaly(r) => ResultKey::Anomaly(r.clone()),
        }
    }

    /// The row with its key, as the pipeline emits it.
    pub fn keyed(self) -> (ResultKey, ResultRow) {
        (self.key(), self)
    }
}

impl TableRow for ResultRow {
    const TABLES: &'static [&'static str] = &[
        "results_votes_per_candidate",
        "results_votes_per_party",
        "results_turnout_by_region",
        "results_turnout_by_city",
        "results_turnout_by_age_group",
        "results_turnout_by_gender",
        "results_votes_by_education_party",
        "results_turnout_by_hour",
        "results_top_polling_stations",
        "anomalies",
    ];

    fn table(&self) -> &'static str {
        let index = match self {
            ResultRow::VotesPerCandidate(_) => 0,
            ResultRow::VotesPerParty(_) => 1,
            ResultRow::TurnoutByRegion(_) => 2,
            ResultRow::TurnoutByCity(_) => 3,
            ResultRow::TurnoutByAgeGroup(_) => 4,
            ResultRow::TurnoutByGender(_) => 5,
            ResultRow::VotesByEducationParty(_) => 6,
            ResultRow::TurnoutByHour(_) => 7,
            ResultRow::TopPollingStation(_) => 8,
            ResultRow::Anomaly(_) => 9,
        };
        Self::TABLES[index]
    }

    fn to_json(&self) -> serde_json::Value {
        let value = match self {
            ResultRow::VotesPerCandidate(r) => serde_json::to_value(r),
            ResultRow::VotesPerParty(r) => serde_json::to_value(r),
            ResultRow::TurnoutByRegion(r) => serde_json::to_value(r),
            ResultRow::TurnoutByCity(r) => serde_json::to_value(r),
            ResultRow::TurnoutByAgeGroup(r) => serde_json::to_value(r),
            ResultRow::TurnoutByGender(r) => serde_json::to_value(r),
            ResultRow::VotesByEducationParty(r) => serde_json::to_value(r),
            ResultRow::TurnoutByHour(r) => serde_json::to_value(r),
            ResultRow::TopPollingStation(r) => serde_json::to_value(r),
            ResultRow::Anomaly(r) => serde_json::to_value(r),
        };
        value.expect("result rows serialise to JSON")
    }
}

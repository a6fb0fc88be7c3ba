//! The election's result rows, keyed by their table's primary key.
//!
//! Table and column names are a contract: they become PostgreSQL tables and Kafka topics.

use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

use super::model::AnomalyKind;
use crate::connectors::dataset::rfc3339_millis;
use crate::connectors::dataset::{format_millis, parse_millis};
use crate::connectors::sink::json::{TableKey, TableRow};

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
    /// `anomalies (anomaly_id)`, see [`Anomaly::id`].
    Anomaly(String),
    /// `data_quality (check)`
    DataQuality(String),
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
    /// `data_quality`
    DataQuality(QualityCheck),
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

/// A finding: an anomalous vote (`vote_id` and the vote's columns), a station's window with
/// a rate spike (`polling_station_id`, `window_start`, `observed`, `expected`, `score`), or a
/// station or region over its registered voters (`polling_station_id` or `region`,
/// `observed` counted votes, `expected` registered voters).
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
    /// The region, for findings about a region (and the station's region for station findings).
    pub region: Option<String>,
    /// What was counted (window and turnout findings).
    pub observed: Option<i64>,
    /// What the model expects (rate spikes) or allows (over-turnout: registered voters).
    pub expected: Option<OrderedFloat<f64>>,
    /// How far above expected, for rate spikes (see [`crate::operators::rate`]).
    pub score: Option<OrderedFloat<f64>>,
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
}

/// One data-quality rule and how the data currently fares (see [`super::quality`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QualityCheck {
    /// Key: the rule's name.
    pub check: String,
    /// Whether the data passes.
    pub passed: bool,
    /// The measured value.
    pub observed: OrderedFloat<f64>,
    /// The value the rule wants (a bound or an exact value, as `detail` says).
    pub expected: OrderedFloat<f64>,
    /// What was compared, in words.
    pub detail: String,
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
            ResultRow::Anomaly(r) => ResultKey::Anomaly(r.id()),
            ResultRow::DataQuality(r) => ResultKey::DataQuality(r.check.clone()),
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
        "data_quality",
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
            ResultRow::DataQuality(_) => 10,
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
            ResultRow::DataQuality(r) => serde_json::to_value(r),
            ResultRow::Anomaly(r) => {
                let mut value = serde_json::to_value(r).expect("anomalies serialise to JSON");
                value["anomaly_id"] = r.id().into();
                return value;
            }
        };
        value.expect("result rows serialise to JSON")
    }
}

impl TableKey for ResultKey {
    fn table(&self) -> &'static str {
        let index = match self {
            ResultKey::Candidate(_) => 0,
            ResultKey::Party(_) => 1,
            ResultKey::Region(_) => 2,
            ResultKey::City(..) => 3,
            ResultKey::AgeGroup(_) => 4,
            ResultKey::Gender(_) => 5,
            ResultKey::EducationParty(..) => 6,
            ResultKey::Hour(_) => 7,
            ResultKey::TopStation(_) => 8,
            ResultKey::Anomaly(_) => 9,
            ResultKey::DataQuality(_) => 10,
        };
        ResultRow::TABLES[index]
    }

    fn key_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            ResultKey::Candidate(id) => json!({ "candidate_id": id }),
            ResultKey::Party(party) => json!({ "party_affiliation": party }),
            ResultKey::Region(region) => json!({ "region": region }),
            ResultKey::City(region, city) => json!({ "region": region, "city": city }),
            ResultKey::AgeGroup(group) => json!({ "age_group": group }),
            ResultKey::Gender(gender) => json!({ "gender": gender }),
            ResultKey::EducationParty(education, party) => json!({ "education_level": education, "party_affiliation": party }),
            ResultKey::Hour(start) => json!({ "hour_start": format_millis(*start) }),
            ResultKey::TopStation(rank) => json!({ "rank": rank }),
            ResultKey::Anomaly(id) => json!({ "anomaly_id": id }),
            ResultKey::DataQuality(check) => json!({ "check": check }),
        }
    }

    fn from_row_json(table: &str, row: &serde_json::Value) -> Option<Self> {
        let text = |column: &str| row.get(column)?.as_str().map(str::to_string);
        Some(match table {
            "results_votes_per_candidate" => ResultKey::Candidate(text("candidate_id")?),
            "results_votes_per_party" => ResultKey::Party(text("party_affiliation")?),
            "results_turnout_by_region" => ResultKey::Region(text("region")?),
            "results_turnout_by_city" => ResultKey::City(text("region")?, text("city")?),
            "results_turnout_by_age_group" => ResultKey::AgeGroup(text("age_group")?),
            "results_turnout_by_gender" => ResultKey::Gender(text("gender")?),
            "results_votes_by_education_party" => ResultKey::EducationParty(text("education_level")?, text("party_affiliation")?),
            "results_turnout_by_hour" => ResultKey::Hour(parse_millis(&text("hour_start")?).ok()?),
            "results_top_polling_stations" => ResultKey::TopStation(row.get("rank")?.as_u64()?.try_into().ok()?),
            "anomalies" => ResultKey::Anomaly(text("anomaly_id")?),
            "data_quality" => ResultKey::DataQuality(text("check")?),
            _ => return None,
        })
    }
}

impl Anomaly {
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

/// The Kafka topic a result table is published to: `aggregated_<table>` without the
/// `results_` prefix, with the seed dashboards' names where they had one
/// (`aggregated_turnout_by_location` for regions); `anomalies` and `data_quality` keep their
/// table's name.
pub fn kafka_topic(table: &str) -> String {
    match table {
        "results_turnout_by_region" => "aggregated_turnout_by_location".into(),
        "anomalies" | "data_quality" => table.into(),
        other => format!("aggregated_{}", other.trim_start_matches("results_")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_rows_table_and_topics_are_distinct() {
        let row = ResultRow::TurnoutByHour(TurnoutByHour { hour_start: 1_778_112_000_000, votes: 3 });
        let (key, row) = row.keyed();
        assert_eq!(key.table(), row.table());
        assert_eq!(key.key_json(), serde_json::json!({ "hour_start": "2026-05-07T00:00:00.000Z" }));
        assert_eq!(row.to_json()["hour_start"], key.key_json()["hour_start"]);
        let topics: std::collections::BTreeSet<_> = ResultRow::TABLES.iter().map(|t| kafka_topic(t)).collect();
        assert_eq!(topics.len(), ResultRow::TABLES.len());
        assert!(topics.contains("aggregated_votes_per_candidate") && topics.contains("aggregated_turnout_by_location"));
    }

    #[test]
    fn keys_come_back_from_their_rows_as_a_database_returns_them() {
        let anomaly = Anomaly {
            kind: AnomalyKind::DuplicateVote,
            vote_id: Some("vote-1".into()),
            voter_id: Some("a/b".into()),
            polling_station_id: Some("s".into()),
            window_start: None,
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
            let mut json = row.to_json();
            // PostgreSQL's to_jsonb writes times with an offset, not `Z`.
            for time in ["hour_start", "voting_time", "window_start"] {
                if let Some(t) = json.get(time).and_then(|t| t.as_str()).map(|t| t.replace(".000Z", "+00:00")) {
                    json[time] = t.into();
                }
            }
            assert_eq!(ResultKey::from_row_json(row.table(), &json), Some(row.key()), "{json}");
        }
        assert_eq!(ResultRow::Anomaly(anomaly.clone()).to_json()["anomaly_id"], r"duplicate_vote/vote-1/a\/b/s//2026-05-07T00:00:00.000Z/c/");
        assert_eq!(ResultRow::Anomaly(spike).to_json()["anomaly_id"], "rate_spike///s/2026-05-07T00:05:00.000Z///R");
        assert_eq!(ResultKey::from_row_json("nope", &serde_json::json!({})), None);
    }
}

//! The records of a ballotflow data set, exactly as they appear in its JSON Lines files.
//!
//! These structs are a file-format contract shared with other tools: field names are the
//! seed pipelines' column names, unknown extra fields are ignored (so enriched vote messages
//! with voter and candidate fields merged in parse as plain votes), and times are RFC 3339 UTC
//! strings with millisecond precision. Inside ballotflow a time is `i64` milliseconds since
//! the Unix epoch.

use serde::{Deserialize, Serialize};

use crate::connectors::table::{Cell, Column, Columns};

crate::table! {
    /// A candidate standing in the election (`candidates.jsonl`); the `candidates` table.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct Candidate in "candidates" {
        key {
            /// Unique id.
            pub candidate_id: String,
        }
        /// Display name.
        pub candidate_name: String,
        /// Party the candidate stands for.
        pub party_affiliation: String,
        /// Free text.
        #[serde(default)]
        pub biography: String,
        /// Free text.
        #[serde(default)]
        pub campaign_platform: String,
        /// Picture URL.
        #[serde(default)]
        pub photo_url: String,
    }
}

crate::table! {
    /// A polling station (`polling_stations.jsonl`); the `polling_stations` table. Opening hours are UTC `"HH:MM"`.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct PollingStation in "polling_stations" {
        key {
            /// Unique id.
            pub polling_station_id: String,
        }
        /// Display name.
        pub name: String,
        /// Region (a UK nation or English region).
        pub region: String,
        /// City or town.
        pub city: String,
        /// Voters registered at this station according to the station roll.
        pub registered_voters: u32,
        /// Opening time of day, UTC, `"HH:MM"` (inclusive).
        pub opens_at: String,
        /// Closing time of day, UTC, `"HH:MM"` (exclusive).
        pub closes_at: String,
    }
}

/// A voter's postal address; `state` is the voter's region.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address {
    /// Street and number.
    #[serde(default)]
    pub street: String,
    /// City or town.
    pub city: String,
    /// Region.
    pub state: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Postcode.
    #[serde(default)]
    pub postcode: String,
}

/// An address fills `<field>_street`, `<field>_city`, `<field>_state`, `<field>_country`
/// and `<field>_postcode`.
impl Columns for Address {
    const WIDTH: usize = 5;
    fn columns(name: &str, out: &mut Vec<Column>) {
        for part in ["street", "city", "state", "country", "postcode"] {
            String::columns(&format!("{name}_{part}"), out);
        }
    }
    fn cells<'a>(&'a self, out: &mut Vec<Cell<'a>>) {
        for part in [&self.street, &self.city, &self.state, &self.country, &self.postcode] {
            part.cells(out);
        }
    }
}

crate::table! {
    /// A registered voter (`voters.jsonl`); the `voters` table, with the address in `address_*` columns.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub struct Voter in "voters" {
        key {
            /// Unique id.
            pub voter_id: String,
        }
        /// Full name.
        #[serde(default)]
        pub voter_name: String,
        /// `"YYYY-MM-DD"`.
        #[serde(default)]
        pub date_of_birth: String,
        /// Free text, e.g. `"female"`, `"male"`, `"non-binary"`.
        pub gender: String,
        /// Nationality.
        #[serde(default)]
        pub nationality: String,
        /// Registration number on the electoral roll.
        #[serde(default)]
        pub registration_number: String,
        /// Address; `address.state` is the voter's region.
        pub address: Address,
        /// E-mail address.
        #[serde(default)]
        pub email: String,
        /// Landline.
        #[serde(default)]
        pub phone_number: String,
        /// Mobile.
        #[serde(default)]
        pub cell_number: String,
        /// Picture URL.
        #[serde(default)]
        pub picture: String,
        /// Age in years at registration.
        pub registered_age: u32,
        /// Highest education level.
        pub education_level: String,
        /// Income band.
        #[serde(default)]
        pub income_category: String,
        /// The one polling station this voter may vote at.
        pub polling_station_id: String,
    }
}

/// How a vote was cast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VotingMethod {
    /// At the polling station.
    InPerson,
    /// By post, registered at the polling station.
    Postal,
    /// Electronic voting machine or app.
    Electronic,
}

impl VotingMethod {
    /// The method's name in files and tables, e.g. `"in_person"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            VotingMethod::InPerson => "in_person",
            VotingMethod::Postal => "postal",
            VotingMethod::Electronic => "electronic",
        }
    }
}

crate::text_columns!(VotingMethod);

/// One vote message (`votes.jsonl`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// Unique id of the message.
    pub vote_id: String,
    /// Who voted.
    pub voter_id: String,
    /// For whom.
    pub candidate_id: String,
    /// Where.
    pub polling_station_id: String,
    /// When (event time), ms since the Unix epoch; RFC 3339 UTC in JSON.
    #[serde(with = "rfc3339_millis")]
    pub voting_time: i64,
    /// How.
    pub voting_method: VotingMethod,
}

/// Why a vote is not counted. Checked in this order; a vote gets the first that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// The voter is not in the registry.
    UnregisteredVoter,
    /// The candidate is not in the registry.
    UnknownCandidate,
    /// The vote's station is not the voter's assigned station (or that station is not registered).
    StationMismatch,
    /// The vote was cast outside the station's opening hours.
    OutsideHours,
    /// The voter has an earlier valid vote, by `(voting_time, vote_id)`.
    DuplicateVote,
    /// Not a vote's verdict but a window's: a station counted far more votes in a 5-minute
    /// window than its peers make expected (see `ballotflow::operators::rate`).
    RateSpike,
    /// Not a vote's verdict: a station or region counted more votes than its registered voters.
    OverTurnout,
}

impl AnomalyKind {
    /// Every per-vote kind (a vote's verdict), in checking order.
    pub const PER_VOTE: [AnomalyKind; 5] =
        [AnomalyKind::UnregisteredVoter, AnomalyKind::UnknownCandidate, AnomalyKind::StationMismatch, AnomalyKind::OutsideHours, AnomalyKind::DuplicateVote];

    /// Every kind.
    pub const ALL: [AnomalyKind; 7] = [
        AnomalyKind::UnregisteredVoter,
        AnomalyKind::UnknownCandidate,
        AnomalyKind::StationMismatch,
        AnomalyKind::OutsideHours,
        AnomalyKind::DuplicateVote,
        AnomalyKind::RateSpike,
        AnomalyKind::OverTurnout,
    ];

    /// The kind's name in files and tables, e.g. `"duplicate_vote"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AnomalyKind::UnregisteredVoter => "unregistered_voter",
            AnomalyKind::UnknownCandidate => "unknown_candidate",
            AnomalyKind::StationMismatch => "station_mismatch",
            AnomalyKind::OutsideHours => "outside_hours",
            AnomalyKind::DuplicateVote => "duplicate_vote",
            AnomalyKind::RateSpike => "rate_spike",
            AnomalyKind::OverTurnout => "over_turnout",
        }
    }
}

impl std::str::FromStr for AnomalyKind {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        AnomalyKind::ALL.into_iter().find(|k| k.as_str() == name).ok_or_else(|| format!("{name:?} is not an anomaly kind"))
    }
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_columns!(AnomalyKind);

/// A ground-truth label written by the generator (`injected_anomalies.jsonl`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AnomalyLabel {
    /// What the generator injected.
    pub kind: AnomalyKind,
    /// The vote, for per-vote kinds.
    pub vote_id: Option<String>,
    /// The station, for station-level kinds.
    pub polling_station_id: Option<String>,
    /// Start of the event-time window, for window-level kinds.
    #[serde(with = "rfc3339_millis::option", default)]
    pub window_start: Option<i64>,
}

/// Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds (`2026-05-07T07:00:00.000Z`).
pub fn format_millis(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => format!("invalid-time({ms})"),
    }
}

/// Parses an RFC 3339 time (any offset) into milliseconds since the epoch.
pub fn parse_millis(s: &str) -> Result<i64, chrono::ParseError> {
    chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis())
}

/// Serde adapter: `i64` milliseconds <-> RFC 3339 UTC string with milliseconds.
pub mod rfc3339_millis {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    /// Serialize.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_millis(*ms))
    }
    /// Deserialize.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_millis(&s).map_err(|e| D::Error::custom(format!("invalid RFC 3339 time {s:?}: {e}")))
    }
    /// The same for `Option<i64>` (`null` when absent).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        /// Serialize.
        pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => s.serialize_some(&super::super::format_millis(*ms)),
                None => s.serialize_none(),
            }
        }
        /// Deserialize.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            #[derive(Deserialize)]
            struct W(#[serde(with = "super")] i64);
            Ok(Option::<W>::deserialize(d)?.map(|W(ms)| ms))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_round_trips_with_millisecond_rfc3339() {
        let line = r#"{"vote_id":"v1","voter_id":"a","candidate_id":"c","polling_station_id":"s","voting_time":"2026-05-07T07:00:00.123Z","voting_method":"in_person","voter_name":"extra fields are ignored"}"#;
        let v: Vote = serde_json::from_str(line).unwrap();
        assert_eq!(v.voting_time % 1000, 123);
        let back = serde_json::to_string(&v).unwrap();
        assert!(back.contains("\"2026-05-07T07:00:00.123Z\""), "{back}");
        assert_eq!(serde_json::from_str::<Vote>(&back).unwrap(), v);
    }

    #[test]
    fn optional_times_survive_binary_encodings() {
        // Workers exchange records with bincode, which needs the `Option` tag.
        let label = AnomalyLabel { kind: AnomalyKind::RateSpike, vote_id: None, polling_station_id: Some("s".into()), window_start: Some(1_000) };
        let bytes = bincode::serialize(&label).unwrap();
        assert_eq!(bincode::deserialize::<AnomalyLabel>(&bytes).unwrap(), label);
    }

    #[test]
    fn label_window_start_is_optional() {
        let l: AnomalyLabel = serde_json::from_str(r#"{"kind":"rate_spike","vote_id":null,"polling_station_id":"s","window_start":"2026-05-07T08:05:00.000Z"}"#).unwrap();
        assert!(l.window_start.is_some());
        let l: AnomalyLabel = serde_json::from_str(r#"{"kind":"duplicate_vote","vote_id":"v","polling_station_id":null,"window_start":null}"#).unwrap();
        assert_eq!(l.window_start, None);
        assert!(serde_json::to_string(&l).unwrap().contains("\"window_start\":null"));
    }
}

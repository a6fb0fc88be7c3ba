//! The compact facts the election pipeline carries between operators.
//!
//! Per-vote and per-voter records ([`Ballot`], [`VoterVersion`]) hold their text as [`Id`]:
//! inline up to 24 bytes, so ids, regions and cities are copied without an allocation or a
//! shared reference count (workers on other cores never touch the same counter). Results,
//! which are few, hold text as [`Text`] (`Arc<str>`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::connectors::dataset::AnomalyKind;
use crate::connectors::dataset::{PollingStation, Vote, Voter, VotingMethod};

/// Shared, immutable text.
pub type Text = Arc<str>;

/// Short text held inline (up to 24 bytes; longer text on the heap), compared and hashed as
/// the text itself.
pub type Id = compact_str::CompactString;

/// A vote message inside the pipeline (a [`Vote`] with inline text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    /// Event time, ms since the epoch (first, so ballots order by time).
    pub voting_time: i64,
    /// Message id.
    pub vote_id: Id,
    /// Who.
    pub voter_id: Id,
    /// For whom.
    pub candidate_id: Id,
    /// Where.
    pub polling_station_id: Id,
    /// How.
    pub voting_method: VotingMethod,
}

impl From<Vote> for Ballot {
    fn from(v: Vote) -> Self {
        Ballot {
            voting_time: v.voting_time,
            vote_id: v.vote_id.into(),
            voter_id: v.voter_id.into(),
            candidate_id: v.candidate_id.into(),
            polling_station_id: v.polling_station_id.into(),
            voting_method: v.voting_method,
        }
    }
}

impl From<&Ballot> for Vote {
    fn from(b: &Ballot) -> Self {
        Vote {
            vote_id: b.vote_id.to_string(),
            voter_id: b.voter_id.to_string(),
            candidate_id: b.candidate_id.to_string(),
            polling_station_id: b.polling_station_id.to_string(),
            voting_time: b.voting_time,
            voting_method: b.voting_method,
        }
    }
}

/// Opening hours as minutes after midnight UTC: open on `[opens, closes)`; a station whose
/// closing time is not after its opening time is open across midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Hours {
    /// Opening minute of the day.
    pub opens: u16,
    /// Closing minute of the day (exclusive).
    pub closes: u16,
}

impl Hours {
    /// Parses a station's `opens_at`/`closes_at` (`"HH:MM"`).
    pub fn of(station: &PollingStation) -> Result<Hours, String> {
        Ok(Hours { opens: parse_hhmm(&station.opens_at)?, closes: parse_hhmm(&station.closes_at)? })
    }

    /// Is the station open at `time_ms` (milliseconds since the epoch, UTC)?
    pub fn contains(&self, time_ms: i64) -> bool {
        let minute = (time_ms.rem_euclid(86_400_000) / 60_000) as u16;
        if self.opens < self.closes {
            self.opens <= minute && minute < self.closes
        } else {
            minute >= self.opens || minute < self.closes
        }
    }
}

fn parse_hhmm(text: &str) -> Result<u16, String> {
    let bad = || format!("opening time {text:?} is not HH:MM");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Age bands of the results, from `registered_age`, in order.
pub const AGE_GROUPS: [&str; 6] = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];

/// The age band of `registered_age`, as an index into [`AGE_GROUPS`].
pub fn age_band(age: u32) -> u8 {
    match age {
        0..=24 => 0,
        25..=34 => 1,
        35..=44 => 2,
        45..=54 => 3,
        55..=64 => 4,
        _ => 5,
    }
}

/// What the results need of a candidate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CandidateInfo {
    /// Display name.
    pub name: Id,
    /// Party.
    pub party: Id,
}

/// What the checks and results need of a voter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VoterInfo {
    /// Assigned station.
    pub station_id: Id,
    /// `address.state`.
    pub region: Id,
    /// `address.city`.
    pub city: Id,
    /// From `registered_age`, an index into [`AGE_GROUPS`].
    pub age_group: u8,
    /// Gender.
    pub gender: Id,
    /// Education level.
    pub education: Id,
}

impl VoterInfo {
    /// The voter's facts.
    pub fn of(voter: &Voter) -> Self {
        VoterInfo {
            station_id: voter.polling_station_id.as_str().into(),
            region: voter.address.state.as_str().into(),
            city: voter.address.city.as_str().into(),
            age_group: age_band(voter.registered_age),
            gender: voter.gender.as_str().into(),
            education: voter.education_level.as_str().into(),
        }
    }
}

/// A version of a voter's registry record, as the pipeline needs it: the voter, the
/// version's sequence number (the highest wins) and the facts, or `None` for a deletion.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VoterVersion {
    /// The voter.
    pub voter_id: Id,
    /// The version's position in its source; the highest is the current version.
    pub seq: u64,
    /// The facts, or `None` if the voter was deleted.
    pub info: Option<VoterInfo>,
}

/// A vote's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteStatus {
    /// Counted in the results.
    Counted,
    /// Not counted, for this reason.
    Rejected(AnomalyKind),
}

impl VoteStatus {
    /// `"counted"` or the anomaly kind's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            VoteStatus::Counted => "counted",
            VoteStatus::Rejected(kind) => kind.as_str(),
        }
    }
}

crate::text_columns!(VoteStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_half_open_and_may_wrap() {
        let day = Hours { opens: 7 * 60, closes: 22 * 60 };
        let at = |h: i64, m: i64| 1_778_112_000_000 + (h * 60 + m) * 60_000; // 2026-05-07
        assert!(day.contains(at(7, 0)) && day.contains(at(21, 59)));
        assert!(!day.contains(at(6, 59)) && !day.contains(at(22, 0)));
        let night = Hours { opens: 22 * 60, closes: 2 * 60 };
        assert!(night.contains(at(23, 0)) && night.contains(at(1, 0)) && !night.contains(at(12, 0)));
    }

    #[test]
    fn hhmm_is_validated() {
        assert_eq!(parse_hhmm("07:30"), Ok(450));
        assert!(parse_hhmm("7").is_err() && parse_hhmm("25:00").is_err() && parse_hhmm("07:60").is_err());
    }
}

//! Findings about stations and regions rather than single votes: `rate_spike` and
//! `over_turnout`.
//!
//! In: the station and the (5-minute window, station) of every counted vote, and the
//! station registry. Out: `anomalies` rows, corrected like every result when late votes or registry
//! changes move a count.
//!
//! - **`rate_spike`** ([`crate::operators::rate`]): a station's counted votes in a window
//!   against its registered voters (the station roll's `registered_voters`) times the pooled
//!   rate per registered voter of the other stations of its region open in that window
//!   (all other open stations when the region has fewer than [`RateModel::min_peers`]).
//! - **`over_turnout`** ([`crate::operators::capacity`]): a station whose counted votes exceed
//!   its roll's `registered_voters`, or a region (the stations' `region`) whose counted votes
//!   exceed the sum of its stations' rolls. A vote is only counted at the voter's own
//!   station, so this fires when the station rolls disagree with the voter registry.

use differential_dataflow::VecCollection;
use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

use super::model::{AnomalyKind, Hours, Id};
use super::results::{Anomaly, ResultRow};
use crate::connectors::dataset::PollingStation;
use crate::operators::capacity::Over;
use crate::operators::prelude::*;
use crate::operators::rate::{RateModel, RateUnit};

/// What the detectors know of a station.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StationProfile {
    /// The station's region: its peer group.
    pub region: Id,
    /// Registered voters according to the station roll.
    pub registered: u64,
    /// Opening hours.
    pub hours: Hours,
}

impl StationProfile {
    /// The profile of a station with readable hours.
    pub fn of(station: &PollingStation) -> Option<Self> {
        let hours = Hours::of(station).ok()?;
        Some(StationProfile { region: station.region.as_str().into(), registered: station.registered_voters.into(), hours })
    }
}

impl RateUnit for StationProfile {
    type Group = Id;
    fn group(&self) -> Id {
        self.region.clone()
    }
    fn size(&self) -> u64 {
        self.registered
    }
    fn active(&self, window_start: i64, width_ms: i64) -> bool {
        self.hours.contains(window_start) || self.hours.contains(window_start + width_ms - 1)
    }
}

/// `rate_spike` rows from the `(window_start, station)` of every counted vote.
pub fn rate_spikes<'scope>(
    votes: VecCollection<'scope, u64, (i64, Id)>,
    profiles: VecCollection<'scope, u64, (Id, StationProfile)>,
    model: RateModel,
) -> VecCollection<'scope, u64, ResultRow> {
    votes.rate_spikes(profiles.clone(), model).join_map(profiles, |station, spike, profile| {
        ResultRow::Anomaly(Anomaly {
            polling_station_id: Some(station.to_string()),
            window_start: Some(spike.window_start),
            region: Some(profile.region.to_string()),
            observed: Some(spike.observed),
            expected: Some(spike.expected),
            score: Some(spike.score),
            ..Anomaly::of(AnomalyKind::RateSpike)
        })
    })
}

/// `over_turnout` rows from the station of every counted vote.
pub fn over_turnout<'scope>(votes: VecCollection<'scope, u64, Id>, profiles: VecCollection<'scope, u64, (Id, StationProfile)>) -> VecCollection<'scope, u64, ResultRow> {
    let row = |region: &Id, observed: i64, registered: i64| Anomaly {
        region: Some(region.to_string()),
        observed: Some(observed),
        expected: Some(OrderedFloat(registered as f64)),
        ..Anomaly::of(AnomalyKind::OverTurnout)
    };
    votes.over_capacity_grouped(profiles.map(|(s, p)| (s, (p.registered as i64, p.region)))).map(move |(over, (n, registered))| {
        let row = row(
            match &over {
                Over::Unit(_, region) | Over::Group(region) => region,
            },
            n,
            registered,
        );
        match over {
            Over::Unit(station, _) => ResultRow::Anomaly(Anomaly { polling_station_id: Some(station.to_string()), ..row }),
            Over::Group(_) => ResultRow::Anomaly(row),
        }
    })
}

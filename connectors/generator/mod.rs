//! A deterministic generator of synthetic UK elections with labelled anomalies.
//!
//! [`generate`] turns a [`GeneratorConfig`] into an [`Election`]: the registry (candidates,
//! polling stations and voters, with a few later re-registrations of the same voters), the
//! vote messages of election day **in delivery order** (mostly by event time, a share of them
//! delivered late), and ground-truth [`AnomalyLabel`]s for every injected anomaly.
//! [`Election::write_dir`] writes it all as a JSON Lines data set (see [`dataset`]).
//!
//! What flows out:
//! - `candidates`: `parties × candidates_per_party` candidates of 3-6 fictional parties.
//! - `stations`: about one polling station per 1,000 voters, at least one per town that has
//!   voters, in the 12 UK nations and English regions; opening hours in UTC.
//! - `voters`: the electoral roll in file order; a `registry_updates` share of voters appear
//!   again at the end with a new phone number and e-mail address (the later record wins).
//! - `votes`: one vote per voter who turns out (turnout rises with age), at the voter's own
//!   station, inside its opening hours, with a two-peak daily curve and regional and age
//!   skew in party choice; plus the injected anomalies below.
//! - `labels`: one label per injected anomaly, sorted.
//!
//! Ids: `cand-0001`, `ps-00001`, `voter-0000001` (unregistered voters: `voter-x0000001`),
//! and `vote-00000001` onwards, numbered in event-time order. Times are UTC milliseconds on
//! `election_date`; delivery order is by `(voting_time + delay, vote_id)`, where a random
//! `out_of_order_share` of the votes get a delay of up to `max_delay_ms` and the rest none.
//!
//! Injected anomalies, by the kind a pipeline must classify them as (checked in this order):
//! `unregistered_voter` (voter id not in the registry), `unknown_candidate`,
//! `station_mismatch` (not the voter's station), `outside_hours` (UTC time of day outside
//! `[opens_at, closes_at)`), `duplicate_vote` (a valid vote that is not the voter's earliest
//! valid one by `(voting_time, vote_id)`); and `rate_spike`: a burst of valid votes cast by
//! a station's abstainers inside one 5-minute window (labelled by station and window start).
//! The labels agree exactly with that classification applied to the final registry.
//!
//! [`Stress`] options (all off by default) make the election hard to project: turnout timing
//! by age, regional hours and curves, station turnout shocks and a late swing.
//!
//! The output depends only on the configuration: the same seed gives byte-identical files.
//!
//! [`StreamedElection`] draws an election of the same kind where it is read, voter by voter,
//! for sources of any size.

mod anomalies;
mod names;
mod people;
mod registry;
mod sampling;
mod stream;
mod stress;
#[cfg(test)]
mod tests;
mod votes;

pub use stream::{DrawnVote, DrawnVoter, StreamedElection, VoteDraft, VoteNumber, VoterKey};
pub use stress::{Stress, REGIONAL_SHIFTS};

use std::path::Path;

use chrono::NaiveDate;

use crate::connectors::dataset::{self, AnomalyLabel, Candidate, PollingStation, Vote, Voter};
use sampling::rng_for;
use votes::ElectionDay;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Settings of [`generate`]. Start from [`GeneratorConfig::default`] and override fields.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// Seed of all randomness: the same configuration always gives the same election.
    pub seed: u64,
    /// Number of registered voters (distinct voter ids). Default 100,000.
    pub voters: usize,
    /// Number of parties, clamped into `3..=6`. Default 5.
    pub parties: usize,
    /// Candidates per party (at least 1). Default 1.
    pub candidates_per_party: usize,
    /// Election day; all vote times fall on this UTC date. Default 2026-05-07.
    pub election_date: NaiveDate,
    /// Base share of registered voters who vote (older voters vote more). Default 0.65.
    pub turnout: f64,
    /// Share of votes delivered later than their event time. Default 0.05.
    pub out_of_order_share: f64,
    /// Largest delay of an out-of-order vote, in milliseconds. Default 5 minutes.
    pub max_delay_ms: i64,
    /// Injected per-vote anomalies of each kind, as a share of the normal votes; at least one
    /// of each kind when `voters >= 100` (and this share is positive). 0 disables them.
    /// Default 0.01.
    pub anomaly_share: f64,
    /// Number of `rate_spike` bursts, each at a distinct station; 0 disables them, and
    /// [`GeneratorConfig::AUTO_RATE_SPIKES`] (the default) means `max(1, stations / 50)`.
    /// A burst is 30-60 votes, and at least ten times the station's median 5-minute count,
    /// in one aligned 5-minute window between 10:00 and 15:00 UTC; there are fewer bursts
    /// when too few stations have enough abstainers to cast them.
    pub rate_spikes: usize,
    /// Share of voters registered a second time, later in the roll, with a new phone number
    /// and e-mail address. Default 0.005.
    pub registry_updates: f64,
    /// Options that make the election hard to project ([`Stress`]); all off by default.
    /// [`StreamedElection`] does not draw them.
    pub stress: Stress,
}

impl GeneratorConfig {
    /// Value of [`GeneratorConfig::rate_spikes`] that scales the number of bursts with the
    /// number of polling stations: `max(1, stations / 50)`.
    pub const AUTO_RATE_SPIKES: usize = usize::MAX;
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            voters: 100_000,
            parties: 5,
            candidates_per_party: 1,
            election_date: NaiveDate::from_ymd_opt(2026, 5, 7).expect("valid date"),
            turnout: 0.65,
            out_of_order_share: 0.05,
            max_delay_ms: 5 * MINUTE_MS,
            anomaly_share: 0.01,
            rate_spikes: Self::AUTO_RATE_SPIKES,
            registry_updates: 0.005,
            stress: Stress::default(),
        }
    }
}

/// A generated election: registry, vote stream and ground truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// Candidates, in id order.
    pub candidates: Vec<Candidate>,
    /// Polling stations, in id order.
    pub stations: Vec<PollingStation>,
    /// The electoral roll in file order; may hold later versions of the same `voter_id`
    /// (the later record wins).
    pub voters: Vec<Voter>,
    /// Vote messages in delivery order (what a stream would see).
    pub votes: Vec<Vote>,
    /// Ground truth of the injected anomalies, sorted by (kind, vote, station, window).
    pub labels: Vec<AnomalyLabel>,
}

impl Election {
    /// Creates `dir` (and its parents) and writes the five JSON Lines files of the data set:
    /// [`dataset::CANDIDATES`], [`dataset::POLLING_STATIONS`], [`dataset::VOTERS`],
    /// [`dataset::VOTES`] and [`dataset::INJECTED_ANOMALIES`].
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        dataset::write_jsonl(&dir.join(dataset::CANDIDATES), &self.candidates)?;
        dataset::write_jsonl(&dir.join(dataset::POLLING_STATIONS), &self.stations)?;
        dataset::write_jsonl(&dir.join(dataset::VOTERS), &self.voters)?;
        dataset::write_jsonl(&dir.join(dataset::VOTES), &self.votes)?;
        dataset::write_jsonl(&dir.join(dataset::INJECTED_ANOMALIES), &self.labels)?;
        Ok(())
    }

    /// The data set's files as they would be written, in memory.
    pub fn to_bytes(&self) -> dataset::DatasetBytes {
        dataset::DatasetBytes::of(&self.candidates, &self.stations, &self.voters, &self.votes)
    }
}

/// Generates an election from `cfg`; see the [module documentation](self).
///
/// Each phase draws from its own random stream (`rng_for(seed, phase)`), numbered below.
pub fn generate(cfg: &GeneratorConfig) -> Election {
    let parties = cfg.parties.clamp(3, 6);
    let per_party = cfg.candidates_per_party.max(1);
    let places = registry::places();

    // The registry.
    let candidates = registry::make_candidates(&mut rng_for(cfg.seed, 1), parties, per_party, &places);
    let place_of = registry::place_voters(&mut rng_for(cfg.seed, 2), &places, cfg.voters);
    let per_place = registry::count_per_place(&places, &place_of);
    let mut stations = registry::make_stations(&mut rng_for(cfg.seed, 3), &places, &per_place, &cfg.stress);
    let (mut voters, voter_infos) = registry::register_voters(&mut rng_for(cfg.seed, 4), cfg, &places, &place_of, &mut stations);
    drop(place_of);
    registry::add_registry_updates(&mut rng_for(cfg.seed, 5), cfg.registry_updates, &places, &mut voters);

    // Election day: normal votes, then the injected anomalies, then delivery. The stress
    // options draw from streams 10 and 11.
    let day = ElectionDay::new(cfg.election_date, &cfg.stress, &candidates, &stations, &voter_infos);
    let station_factors = stress::station_factors(&mut rng_for(cfg.seed, 10), cfg.stress.station_shock, stations.records.len());
    let swing_parties = stress::swing_parties(&mut rng_for(cfg.seed, 11), parties);
    let shape = votes::Shape { parties, per_party, stress: &cfg.stress, station_factors: &station_factors, swing_parties: &swing_parties };
    let (mut drafts, mut voted) = votes::cast_normal_votes(&mut rng_for(cfg.seed, 6), &day, cfg.turnout, &shape);
    let n_normal = drafts.len();
    let mut labels = anomalies::inject_rate_spikes(&mut rng_for(cfg.seed, 7), &day, cfg.rate_spikes, &mut drafts, &mut voted);
    anomalies::inject_vote_anomalies(&mut rng_for(cfg.seed, 8), &day, cfg.anomaly_share, n_normal, &mut drafts);
    let votes = votes::deliver(&mut rng_for(cfg.seed, 9), &day, cfg, drafts, &mut labels);
    labels.sort();

    let stations = stations.records;
    tracing::debug!(candidates = candidates.len(), stations = stations.len(), voters = voters.len(), votes = votes.len(), labels = labels.len(), "generated election");
    Election { candidates, stations, voters, votes, labels }
}

//! [`StreamedElection`]: the generator as a source of any size, drawn where it is read.
//!
//! Every voter, and every vote a voter casts, comes from random streams of its own, keyed by
//! the seed, what is drawn and the voter's number ([`EntityRng`], counter-based). So any
//! worker can draw any voter, in any order, and the election is the same for a seed whatever
//! the number of workers or processes that read it: worker `i` of `n` draws the voters of
//! [`StreamedElection::share`]`(i, n)` and their votes. Only the small registries are held
//! (candidates, stations, their rate-spike plans): a 48 M-voter election costs a few
//! megabytes until it is read.
//!
//! What flows out is what [`generate`](super::generate) makes, drawn differently (so a seed
//! gives a different election here than there):
//! - `candidates` and `stations` as there; a station's `registered_voters` is exact (two
//!   counting passes over the voters' placements, on every core, at construction);
//! - per voter ([`StreamedElection::voter`]): the facts a tally needs, cheaply, and the full
//!   record on request ([`StreamedElection::record`]); a `registry_updates` share of voters
//!   has a later version with a new phone number and e-mail address
//!   ([`StreamedElection::updated_record`]);
//! - per voter, the votes ([`StreamedElection::votes`]) as 32-byte [`VoteDraft`]s: the
//!   voter's vote if they turn out (as there: by age, their own station, the daily curve,
//!   regional and age preferences) or, at a rate-spike station, a burst vote by an abstainer
//!   (each joins with the chance that makes the expected burst 45 votes, in the station's one
//!   5-minute window); and each per-vote anomaly kind with chance `anomaly_share`: a later
//!   duplicate, a vote at another station, one outside the station's hours, one for an
//!   unknown candidate, one by an unregistered voter `voter-x…`;
//! - the delivery time of each vote: its event time, plus a delay of up to `max_delay_ms`
//!   for an `out_of_order_share` of them. A reader sorts its drafts by
//!   [`VoteDraft::delivery_order`].
//!
//! Vote ids are `vote-NNNNNNNNNN`, numbered by voter (eight numbers per voter, one per kind
//! of vote above), not by event time.

use std::fmt;
use std::ops::Range;

use rand::Rng;

use super::anomalies::{outside_hours_time, spike_window, WINDOW_MS};
use super::people::{education, email, landline, Profile, VoterMaker, EDUCATION};
use super::registry::{self, Place, Stations};
use super::sampling::{rng_for, EntityRng, Weighted};
use super::stress::Stress;
use super::votes::{turnout_at_age, voting_method, DayCurve, Preferences};
use super::{names, Election, GeneratorConfig};
use crate::connectors::dataset::{AnomalyKind, AnomalyLabel, Candidate, PollingStation, Vote, Voter, VotingMethod};

/// What an [`EntityRng`] draws: one stream per phase and entity.
mod phase {
    pub(super) const PLACE: u64 = 101;
    pub(super) const PROFILE: u64 = 102;
    pub(super) const DETAILS: u64 = 103;
    pub(super) const VOTE: u64 = 104;
    pub(super) const ANOMALY: u64 = 105;
    pub(super) const UPDATE: u64 = 106;
}

/// Vote numbers per voter, and the slot of each kind of vote.
const SLOTS: u64 = 8;
const NORMAL: u64 = 0;
const DUPLICATE: u64 = 1;
const MISMATCH: u64 = 2;
const OUTSIDE: u64 = 3;
const UNKNOWN: u64 = 4;
const UNREGISTERED: u64 = 5;

/// Candidate codes from here up are unknown candidates (`UNKNOWN_IDS`, counted down).
const FIRST_UNKNOWN: u16 = u16::MAX - 1;
const UNKNOWN_IDS: [&str; 2] = ["cand-x9999", "cand-x0000"];

/// Expected size of a rate-spike burst.
const BURST: f64 = 45.0;

/// A voter's id: `voter-0000001` for the first registered voter, `voter-x0000001` for the
/// first unregistered one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VoterKey {
    /// The registered voter of this number (0-based).
    Registered(u64),
    /// An unregistered voter (numbered like the registered voter who drew them).
    Unregistered(u64),
}

impl fmt::Display for VoterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoterKey::Registered(v) => write!(f, "voter-{:07}", v + 1),
            VoterKey::Unregistered(v) => write!(f, "voter-x{:07}", v + 1),
        }
    }
}

/// A vote's id, `vote-0000000001` onwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoteNumber(pub u64);

impl fmt::Display for VoteNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vote-{:010}", self.0)
    }
}

/// A vote as drawn, before its text (see [`StreamedElection::vote`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoteDraft {
    /// When it is delivered, ms since the epoch: its event time plus any delay.
    pub delivered: i64,
    /// Event time, ms since the epoch.
    pub time: i64,
    /// Its number: voter × 8 + the kind's slot.
    pub number: u64,
    station: u32,
    candidate: u16,
    method: VotingMethod,
    /// A rate-spike burst vote.
    burst: bool,
}

impl VoteDraft {
    /// The order a stream delivers votes in: by delivery time, then number.
    pub fn delivery_order(&self) -> (i64, u64) {
        (self.delivered, self.number)
    }
}

/// A vote with its ids (borrowed from the election, or rendered on display).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrawnVote<'e> {
    /// The vote's id.
    pub vote_id: VoteNumber,
    /// Who voted.
    pub voter_id: VoterKey,
    /// For whom.
    pub candidate_id: &'e str,
    /// Where.
    pub polling_station_id: &'e str,
    /// Event time, ms since the epoch.
    pub voting_time: i64,
    /// How.
    pub voting_method: VotingMethod,
}

impl DrawnVote<'_> {
    /// The vote as a data-set record.
    pub fn to_vote(&self) -> Vote {
        Vote {
            vote_id: self.vote_id.to_string(),
            voter_id: self.voter_id.to_string(),
            candidate_id: self.candidate_id.to_string(),
            polling_station_id: self.polling_station_id.to_string(),
            voting_time: self.voting_time,
            voting_method: self.voting_method,
        }
    }
}

/// A registered voter: what a tally needs to know (the full record is
/// [`StreamedElection::record`]).
#[derive(Clone, Copy, Debug)]
pub struct DrawnVoter<'e> {
    /// The voter's number (0-based); the id is [`DrawnVoter::voter_id`].
    pub index: u64,
    /// The station the voter is registered at.
    pub station: &'e PollingStation,
    /// `address.state`.
    pub region: &'static str,
    /// `address.city`.
    pub city: &'static str,
    /// Age on election day.
    pub age: u32,
    /// `gender`.
    pub gender: &'static str,
    /// `education_level`.
    pub education: &'static str,
    place: u32,
    station_index: u32,
    profile: Profile,
}

impl DrawnVoter<'_> {
    /// The voter's id.
    pub fn voter_id(&self) -> VoterKey {
        VoterKey::Registered(self.index)
    }
}

/// A station's rate-spike burst.
#[derive(Clone, Copy, Debug)]
struct Spike {
    /// Start of the burst's 5-minute window, ms since the epoch.
    window_start: i64,
    candidate: u16,
    /// The chance that an abstainer of the station casts a burst vote.
    join: f64,
}

/// An election drawn where it is read (see the [module documentation](self)).
pub struct StreamedElection {
    cfg: GeneratorConfig,
    /// Midnight UTC of election day, ms since the epoch.
    start: i64,
    places: Vec<Place>,
    place_weights: Weighted,
    candidates: Vec<Candidate>,
    stations: Stations,
    prefs: Preferences,
    curve: DayCurve,
    maker: VoterMaker,
    /// Per station, its burst if it has one.
    spikes: Vec<Option<Spike>>,
}

impl StreamedElection {
    /// The registries of the election `cfg` describes (its voters and votes are drawn when
    /// read). Counts every station's registered voters on every core.
    pub fn new(cfg: &GeneratorConfig) -> Self {
        let parties = cfg.parties.clamp(3, 6);
        let per_party = cfg.candidates_per_party.max(1);
        assert!(parties * per_party < FIRST_UNKNOWN as usize, "too many candidates");
        let places = registry::places();
        let candidates = registry::make_candidates(&mut rng_for(cfg.seed, 1), parties, per_party, &places);
        let place_weights = registry::place_weights(&places);
        let voters = cfg.voters as u64;
        let seed = cfg.seed;
        let per_place = count_in_parallel(voters, places.len(), |v| place_weights.sample(&mut EntityRng::new(seed, phase::PLACE, v)));
        let stations = registry::make_stations(&mut rng_for(seed, 3), &places, &per_place, &Stress::default());
        let start = cfg.election_date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis();
        let mut election = StreamedElection {
            cfg: cfg.clone(),
            start,
            place_weights,
            candidates,
            prefs: Preferences::new(&mut rng_for(seed, 6), parties, per_party),
            curve: DayCurve::new(),
            maker: VoterMaker::new(cfg.election_date),
            spikes: vec![None; stations.records.len()],
            stations,
            places,
        };
        let per_station = count_in_parallel(voters, election.stations.records.len(), |v| election.placement(v).1 as usize);
        for (record, n) in election.stations.records.iter_mut().zip(per_station) {
            record.registered_voters = n as u32;
        }
        election.plan_spikes();
        election
    }

    /// The rate-spike stations and their windows.
    fn plan_spikes(&mut self) {
        let n_stations = self.stations.records.len();
        let requested = match self.cfg.rate_spikes {
            GeneratorConfig::AUTO_RATE_SPIKES => (n_stations / 50).max(1),
            n => n,
        };
        let rng = &mut rng_for(self.cfg.seed, 7);
        let abstaining = (1.0 - self.cfg.turnout.clamp(0.0, 1.0)).max(0.05);
        for s in rand::seq::index::sample(rng, n_stations, requested.min(n_stations)) {
            let registered = self.stations.records[s].registered_voters.max(1) as f64;
            self.spikes[s] = Some(Spike {
                window_start: self.start + spike_window(rng, &self.stations.infos[s]),
                candidate: rng.random_range(0..self.candidates.len() as u16),
                join: (BURST / (registered * abstaining)).min(1.0),
            });
        }
    }

    /// The configuration it was drawn from.
    pub fn config(&self) -> &GeneratorConfig {
        &self.cfg
    }

    /// Candidates, in id order.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// Polling stations, in id order.
    pub fn stations(&self) -> &[PollingStation] {
        &self.stations.records
    }

    /// Number of registered voters.
    pub fn voter_count(&self) -> u64 {
        self.cfg.voters as u64
    }

    /// The voters worker `index` of `peers` reads: a contiguous range of numbers.
    pub fn share(&self, index: usize, peers: usize) -> Range<u64> {
        let n = self.voter_count() as u128;
        let at = |i: usize| (n * i as u128 / peers.max(1) as u128) as u64;
        at(index)..at(index + 1)
    }

    /// Voter `v`'s place and station.
    fn placement(&self, v: u64) -> (usize, u32) {
        let mut rng = EntityRng::new(self.cfg.seed, phase::PLACE, v);
        let place = self.place_weights.sample(&mut rng);
        let (first, count) = self.stations.of_place(place);
        (place, first + rng.random_range(0..count))
    }

    /// Registered voter `v` (0-based, below [`StreamedElection::voter_count`]).
    pub fn voter(&self, v: u64) -> DrawnVoter<'_> {
        let (place, station) = self.placement(v);
        let mut rng = EntityRng::new(self.cfg.seed, phase::PROFILE, v);
        let (age, gender) = self.maker.age_gender(&mut rng);
        let edu = education(&mut rng, age);
        let at = &self.places[place];
        DrawnVoter {
            index: v,
            station: &self.stations.records[station as usize],
            region: names::REGIONS[at.region].name,
            city: at.city.name,
            age,
            gender,
            education: EDUCATION[edu],
            place: place as u32,
            station_index: station,
            profile: Profile { age, gender, education: edu },
        }
    }

    /// A voter's full registry record.
    pub fn record(&self, voter: &DrawnVoter<'_>) -> Voter {
        let mut rng = EntityRng::new(self.cfg.seed, phase::DETAILS, voter.index);
        let name_dob = self.maker.name_dob(&mut rng, voter.age, voter.gender);
        let district = self.stations.infos[voter.station_index as usize].district;
        let place = &self.places[voter.place as usize];
        self.maker.record(&mut rng, voter.index as usize, place, district, &voter.station.polling_station_id, voter.profile, name_dob)
    }

    /// Whether the voter registers again, after the whole roll (with a new phone number and
    /// e-mail address: [`StreamedElection::updated_record`]).
    pub fn updated(&self, voter: &DrawnVoter<'_>) -> bool {
        let share = self.cfg.registry_updates.clamp(0.0, 1.0);
        share > 0.0 && EntityRng::new(self.cfg.seed, phase::UPDATE, voter.index).random_bool(share)
    }

    /// The later version of a voter who [`StreamedElection::updated`], from their `record`.
    pub fn updated_record(&self, voter: &DrawnVoter<'_>, record: &Voter) -> Voter {
        let mut rng = EntityRng::new(self.cfg.seed, phase::UPDATE, voter.index);
        rng.random::<f64>(); // the draw of `updated`
        let code = self.places[voter.place as usize].city.dialling_code;
        let mut updated = record.clone();
        while updated.phone_number == record.phone_number {
            updated.phone_number = landline(&mut rng, code);
        }
        while updated.email == record.email {
            updated.email = email(&mut rng, &updated.voter_name);
        }
        updated
    }

    /// Appends the votes voter `voter` casts or causes (see the module docs) to `out`.
    pub fn votes(&self, voter: &DrawnVoter<'_>, out: &mut Vec<VoteDraft>) {
        let (v, s, age) = (voter.index, voter.station_index, voter.age);
        let st = &self.stations.infos[s as usize];
        let close = self.start + st.close_ms;
        let n_cands = self.candidates.len() as u16;
        let mut rng = EntityRng::new(self.cfg.seed, phase::VOTE, v);
        let mut first = None;
        if rng.random_bool(turnout_at_age(self.cfg.turnout, age)) {
            let candidate = self.prefs.choose(&mut rng, st.region, age) as u16;
            let time = self.start + self.curve.sample(&mut rng, st.open_ms, st.close_ms);
            let method = voting_method(&mut rng, age);
            out.push(self.draft(&mut rng, v * SLOTS + NORMAL, time, s, candidate, method));
            first = Some(time);
        } else if let Some(spike) = self.spikes[s as usize] {
            if rng.random_bool(spike.join) {
                let time = spike.window_start + rng.random_range(0..WINDOW_MS);
                let vote = self.draft(&mut rng, v * SLOTS + NORMAL, time, s, spike.candidate, VotingMethod::InPerson);
                out.push(VoteDraft { burst: true, ..vote });
            }
        }

        let share = self.cfg.anomaly_share.clamp(0.0, 1.0);
        if share == 0.0 {
            return;
        }
        let mut rng = EntityRng::new(self.cfg.seed, phase::ANOMALY, v);
        let rng = &mut rng;
        let n_stations = self.stations.records.len() as u32;
        let in_hours = |rng: &mut EntityRng, s: u32| {
            let st = &self.stations.infos[s as usize];
            self.start + self.curve.sample(rng, st.open_ms, st.close_ms)
        };
        if rng.random_bool(share) {
            if let Some(time) = first.filter(|t| *t + 1 < close) {
                let time = rng.random_range(time + 1..close);
                let (candidate, method) = (rng.random_range(0..n_cands), voting_method(rng, age));
                out.push(self.draft(rng, v * SLOTS + DUPLICATE, time, s, candidate, method));
            }
        }
        if rng.random_bool(share) && n_stations > 1 {
            let mut other = rng.random_range(0..n_stations - 1);
            if other >= s {
                other += 1;
            }
            let time = in_hours(rng, other);
            let (candidate, method) = (rng.random_range(0..n_cands), voting_method(rng, age));
            out.push(self.draft(rng, v * SLOTS + MISMATCH, time, other, candidate, method));
        }
        if rng.random_bool(share) {
            if let Some(tod) = outside_hours_time(rng, st) {
                let (candidate, method) = (rng.random_range(0..n_cands), voting_method(rng, age));
                out.push(self.draft(rng, v * SLOTS + OUTSIDE, self.start + tod, s, candidate, method));
            }
        }
        if rng.random_bool(share) {
            let time = in_hours(rng, s);
            let candidate = FIRST_UNKNOWN - rng.random_range(0..UNKNOWN_IDS.len() as u16);
            let method = voting_method(rng, age);
            out.push(self.draft(rng, v * SLOTS + UNKNOWN, time, s, candidate, method));
        }
        if rng.random_bool(share) {
            let station = rng.random_range(0..n_stations);
            let time = in_hours(rng, station);
            let (candidate, method) = (rng.random_range(0..n_cands), voting_method(rng, 40));
            out.push(self.draft(rng, v * SLOTS + UNREGISTERED, time, station, candidate, method));
        }
    }

    /// A vote, with its delivery delay drawn.
    fn draft(&self, rng: &mut EntityRng, number: u64, time: i64, station: u32, candidate: u16, method: VotingMethod) -> VoteDraft {
        let share = self.cfg.out_of_order_share.clamp(0.0, 1.0);
        let delay = match self.cfg.max_delay_ms > 0 && share > 0.0 && rng.random_bool(share) {
            true => rng.random_range(1..=self.cfg.max_delay_ms),
            false => 0,
        };
        VoteDraft { delivered: time + delay, time, number, station, candidate, method, burst: false }
    }

    /// A drafted vote with its ids.
    pub fn vote(&self, draft: &VoteDraft) -> DrawnVote<'_> {
        let (voter, slot) = (draft.number / SLOTS, draft.number % SLOTS);
        DrawnVote {
            vote_id: VoteNumber(draft.number),
            voter_id: match slot {
                UNREGISTERED => VoterKey::Unregistered(voter),
                _ => VoterKey::Registered(voter),
            },
            candidate_id: match self.candidates.get(draft.candidate as usize) {
                Some(c) => &c.candidate_id,
                None => UNKNOWN_IDS[(FIRST_UNKNOWN - draft.candidate) as usize],
            },
            polling_station_id: &self.stations.records[draft.station as usize].polling_station_id,
            voting_time: draft.time,
            voting_method: draft.method,
        }
    }

    /// The label of an injected per-vote anomaly.
    fn label(&self, draft: &VoteDraft) -> Option<AnomalyLabel> {
        let kind = match draft.number % SLOTS {
            DUPLICATE => AnomalyKind::DuplicateVote,
            MISMATCH => AnomalyKind::StationMismatch,
            OUTSIDE => AnomalyKind::OutsideHours,
            UNKNOWN => AnomalyKind::UnknownCandidate,
            UNREGISTERED => AnomalyKind::UnregisteredVoter,
            _ => return None,
        };
        Some(AnomalyLabel { kind, vote_id: Some(VoteNumber(draft.number).to_string()), polling_station_id: None, window_start: None })
    }

    /// The whole election in memory, as [`generate`](super::generate) returns one: the roll
    /// in voter order then the re-registrations, the votes in delivery order, and the labels
    /// (a rate spike is labelled if at least one abstainer joined it). For tests and small
    /// elections.
    pub fn election(&self) -> Election {
        let (mut voters, mut updates, mut drafts) = (Vec::new(), Vec::new(), Vec::new());
        for v in 0..self.voter_count() {
            let voter = self.voter(v);
            let record = self.record(&voter);
            if self.updated(&voter) {
                updates.push(self.updated_record(&voter, &record));
            }
            voters.push(record);
            self.votes(&voter, &mut drafts);
        }
        voters.extend(updates);
        drafts.sort_unstable_by_key(VoteDraft::delivery_order);
        let mut labels: Vec<AnomalyLabel> = drafts.iter().filter_map(|d| self.label(d)).collect();
        let mut spiked = vec![false; self.spikes.len()];
        for d in drafts.iter().filter(|d| d.burst) {
            spiked[d.station as usize] = true;
        }
        for (s, spike) in self.spikes.iter().enumerate() {
            if let (Some(spike), true) = (spike, spiked[s]) {
                labels.push(AnomalyLabel {
                    kind: AnomalyKind::RateSpike,
                    vote_id: None,
                    polling_station_id: Some(self.stations.records[s].polling_station_id.clone()),
                    window_start: Some(spike.window_start),
                });
            }
        }
        labels.sort();
        Election { candidates: self.candidates.clone(), stations: self.stations.records.clone(), voters, votes: drafts.iter().map(|d| self.vote(d).to_vote()).collect(), labels }
    }
}

/// How many of voters `0..n` fall in each of `buckets` buckets by `bucket`, counted on every
/// core.
fn count_in_parallel(n: u64, buckets: usize, bucket: impl Fn(u64) -> usize + Sync) -> Vec<usize> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()) as u64;
    let bucket = &bucket;
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut counts = vec![0usize; buckets];
                    for v in n * t / threads..n * (t + 1) / threads {
                        counts[bucket(v)] += 1;
                    }
                    counts
                })
            })
            .collect();
        parts.into_iter().fold(vec![0; buckets], |mut total, part| {
            for (t, c) in total.iter_mut().zip(part.join().expect("counting thread")) {
                *t += c;
            }
            total
        })
    })
}

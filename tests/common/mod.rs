//! Test support: random small elections and a plain batch oracle of the tally semantics.
//!
//! The oracle is written from the semantics in the issue, not from the pipeline: registries
//! by "highest sequence number wins", votes de-duplicated as whole messages, checks in
//! order, then the earliest valid vote per voter.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use ballotflow::connectors::dataset::{Address, Candidate, PollingStation, Vote, Voter, VotingMethod};
use ballotflow::connectors::generator::Election;
use ballotflow::operators::rate::RateModel;
use ballotflow::pipelines::election::model::AnomalyKind;
use ballotflow::pipelines::election::quality::{evaluate, Measure};
use ballotflow::pipelines::election::results::*;
use ballotflow::pipelines::election::{Detectors, ElectionFeed};
use ordered_float::OrderedFloat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 2026-05-07T00:00:00Z.
pub const DAY: i64 = 1_778_112_000_000;
const MINUTE: i64 = 60_000;

/// One input record, in delivery order.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Event {
    Vote(Vote),
    Candidate(Candidate),
    DeleteCandidate(String),
    Station(PollingStation),
    Voter(Voter),
    DeleteVoter(String),
}

impl Event {
    /// Feeds the event (the `seq`-th of its input) to `feed`; returns the time it is
    /// admitted at.
    pub fn feed(self, feed: &mut ElectionFeed, seq: u64) -> u64 {
        match self {
            Event::Vote(v) => feed.vote(v).expect("test votes have sane times").time,
            Event::Candidate(c) => feed.candidate(seq, c),
            Event::DeleteCandidate(id) => feed.delete_candidate(seq, id),
            Event::Station(s) => feed.station(seq, s).expect("test stations are valid"),
            Event::Voter(v) => feed.voter(seq, v),
            Event::DeleteVoter(id) => feed.delete_voter(seq, id),
        }
    }
}

/// An election's records as events: the registries in file order, then every vote.
pub fn events(election: &Election) -> impl Iterator<Item = Event> + '_ {
    (election.candidates.iter().cloned().map(Event::Candidate))
        .chain(election.stations.iter().cloned().map(Event::Station))
        .chain(election.voters.iter().cloned().map(Event::Voter))
        .chain(election.votes.iter().cloned().map(Event::Vote))
}

pub fn candidate(id: usize, name: &str, party: &str) -> Candidate {
    Candidate {
        candidate_id: format!("c{id}"),
        candidate_name: name.to_string(),
        party_affiliation: party.to_string(),
        biography: String::new(),
        campaign_platform: String::new(),
        photo_url: String::new(),
    }
}

pub fn station(id: usize, opens: &str, closes: &str) -> PollingStation {
    PollingStation {
        polling_station_id: format!("s{id}"),
        name: format!("Hall {id}"),
        region: "R".into(),
        city: "C".into(),
        registered_voters: 0,
        opens_at: opens.into(),
        closes_at: closes.into(),
    }
}

pub fn voter(id: usize, station: usize, region: &str, city: &str, age: u32, gender: &str, education: &str) -> Voter {
    Voter {
        voter_id: format!("v{id}"),
        voter_name: format!("Voter {id}"),
        date_of_birth: "1980-01-01".into(),
        gender: gender.into(),
        nationality: "British".into(),
        registration_number: format!("R{id}"),
        address: Address { street: "1 High St".into(), city: city.into(), state: region.into(), country: "United Kingdom".into(), postcode: "AB1 2CD".into() },
        email: String::new(),
        phone_number: String::new(),
        cell_number: String::new(),
        picture: String::new(),
        registered_age: age,
        education_level: education.into(),
        income_category: "middle".into(),
        polling_station_id: format!("s{station}"),
    }
}

fn random_voter(rng: &mut ChaCha8Rng, id: usize, stations: usize) -> Voter {
    let regions = [("North", ["Leeds", "York"]), ("South", ["Bath", "Kent"])];
    let (region, cities) = regions[rng.random_range(0..regions.len())];
    voter(
        id,
        rng.random_range(0..stations),
        region,
        cities[rng.random_range(0..2)],
        rng.random_range(18..90),
        ["female", "male", "non-binary"][rng.random_range(0..3)],
        ["secondary", "bachelor"][rng.random_range(0..2)],
    )
}

fn random_hours(rng: &mut ChaCha8Rng) -> (String, String) {
    match rng.random_range(0..4) {
        0 => ("22:00".into(), "02:00".into()), // open across midnight
        _ => (format!("{:02}:00", rng.random_range(5..9)), format!("{:02}:30", rng.random_range(17..22))),
    }
}

/// A station with random hours, region and roll (small enough that some stations are
/// over their roll).
fn random_station(rng: &mut ChaCha8Rng, id: usize) -> PollingStation {
    let (o, c) = random_hours(rng);
    PollingStation { region: ["R", "Q"][rng.random_range(0..2)].into(), registered_voters: rng.random_range(1..8), ..station(id, &o, &c) }
}

/// A rate model sensitive enough to flag windows of the small random elections.
pub const SENSITIVE: RateModel = RateModel { width_ms: 3 * 60 * MINUTE, min_peers: 1, min_count: 2, min_ratio: 1.5, min_score: 0.5 };

/// A random small election in delivery order: registries first, then votes (duplicates,
/// re-deliveries, unregistered voters, unknown candidates, wrong stations, odd hours) mixed
/// with registry updates and deletions, delivered out of order with some very late events.
pub fn random_events(seed: u64, votes: usize) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (n_candidates, n_stations, n_voters) = (4, 3, 14);
    let mut events = Vec::new();
    for c in 0..n_candidates {
        events.push(Event::Candidate(candidate(c, &format!("Cand {c}"), ["Red", "Blue", "Green"][c % 3])));
    }
    for s in 0..n_stations {
        events.push(Event::Station(random_station(&mut rng, s)));
    }
    for v in 0..n_voters {
        let voter = random_voter(&mut rng, v, n_stations);
        events.push(Event::Voter(voter));
    }
    // Votes with event times over the day, delivered with random delays.
    let mut timed: Vec<(i64, Event)> = Vec::new();
    let mut recent: Vec<Vote> = Vec::new();
    for i in 0..votes {
        let t = DAY + rng.random_range(0..24 * 60 * MINUTE);
        let v = rng.random_range(0..n_voters + 3); // the last three are never registered
        let vote = Vote {
            vote_id: format!("vote{i:04}"),
            voter_id: format!("v{v}"),
            candidate_id: format!("c{}", rng.random_range(0..n_candidates + 1)), // the last is unknown
            polling_station_id: format!("s{}", if rng.random_bool(0.8) { v % n_stations } else { rng.random_range(0..n_stations) }),
            voting_time: t,
            voting_method: VotingMethod::InPerson,
        };
        let delay = match rng.random_range(0..10) {
            0 => rng.random_range(0..4 * 60 * MINUTE), // very late
            1..=3 => rng.random_range(0..10 * MINUTE),
            _ => 0,
        };
        if rng.random_bool(0.05) && !recent.is_empty() {
            // An exact re-delivery of an earlier message.
            let again = recent[rng.random_range(0..recent.len())].clone();
            timed.push((again.voting_time + rng.random_range(0..30 * MINUTE), Event::Vote(again)));
        }
        recent.push(vote.clone());
        timed.push((t + delay, Event::Vote(vote)));
        // Registry changes as the day goes on.
        if rng.random_bool(0.04) {
            let update = match rng.random_range(0..6) {
                0 => {
                    let id = rng.random_range(0..n_voters + 2);
                    Event::Voter(random_voter(&mut rng, id, n_stations))
                }
                1 => Event::DeleteVoter(format!("v{}", rng.random_range(0..n_voters))),
                2 => {
                    let c = rng.random_range(0..n_candidates + 1);
                    Event::Candidate(candidate(c, &format!("Renamed {c}"), ["Red", "Blue", "Gold"][rng.random_range(0..3)]))
                }
                3 => Event::DeleteCandidate(format!("c{}", rng.random_range(0..n_candidates))),
                _ => {
                    let s = rng.random_range(0..n_stations);
                    Event::Station(random_station(&mut rng, s))
                }
            };
            timed.push((t + delay, update));
        }
    }
    timed.sort_by_key(|(delivery, _)| *delivery);
    events.extend(timed.into_iter().map(|(_, e)| e));
    events
}

/// The registries and votes of a set of admitted events; `seq` is the event's position.
#[derive(Default)]
pub struct Admitted {
    pub candidates: BTreeMap<String, (u64, Option<Candidate>)>,
    pub stations: BTreeMap<String, (u64, Option<PollingStation>)>,
    pub voters: BTreeMap<String, (u64, Option<Voter>)>,
    pub votes: BTreeSet<Vote>,
    /// Records read (every event, re-deliveries included).
    pub reads: i64,
    /// Dead letters the job saw besides the events.
    pub dead_letters: i64,
}

fn upsert<R>(map: &mut BTreeMap<String, (u64, Option<R>)>, id: String, seq: u64, record: Option<R>) {
    let entry = map.entry(id).or_insert((seq, None));
    if seq >= entry.0 {
        *entry = (seq, record);
    }
}

impl Admitted {
    /// `events` admitted in order, each at its position.
    pub fn of(events: impl IntoIterator<Item = Event>) -> Self {
        let mut admitted = Admitted::default();
        for (seq, event) in events.into_iter().enumerate() {
            admitted.add(seq as u64, &event);
        }
        admitted
    }

    pub fn add(&mut self, seq: u64, event: &Event) {
        self.reads += 1;
        match event.clone() {
            Event::Vote(v) => {
                self.votes.insert(v);
            }
            Event::Candidate(c) => upsert(&mut self.candidates, c.candidate_id.clone(), seq, Some(c)),
            Event::DeleteCandidate(id) => upsert(&mut self.candidates, id, seq, None),
            Event::Station(s) => upsert(&mut self.stations, s.polling_station_id.clone(), seq, Some(s)),
            Event::Voter(v) => upsert(&mut self.voters, v.voter_id.clone(), seq, Some(v)),
            Event::DeleteVoter(id) => upsert(&mut self.voters, id, seq, None),
        }
    }
}

pub fn live<R: Clone>(m: &BTreeMap<String, (u64, Option<R>)>) -> BTreeMap<String, R> {
    m.iter().filter_map(|(k, (_, r))| r.clone().map(|r| (k.clone(), r))).collect()
}

fn minutes(hhmm: &str) -> i64 {
    let (h, m) = hhmm.split_once(':').unwrap();
    h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap()
}

fn open_at(station: &PollingStation, time: i64) -> bool {
    let minute = (time - DAY).rem_euclid(24 * 60 * MINUTE) / MINUTE;
    let (o, c) = (minutes(&station.opens_at), minutes(&station.closes_at));
    if o < c {
        o <= minute && minute < c
    } else {
        minute >= o || minute < c
    }
}

/// The result tables the pipeline must hold for these admitted events, with every detector.
pub fn oracle(admitted: &Admitted) -> BTreeMap<ResultKey, ResultRow> {
    oracle_with(admitted, &Detectors::default())
}

/// The counted votes of these admitted events, and the rejected ones with their kinds.
pub fn judge(admitted: &Admitted) -> (Vec<&Vote>, Vec<(&Vote, AnomalyKind)>) {
    let candidates: BTreeMap<String, Candidate> = live(&admitted.candidates);
    let stations: BTreeMap<String, PollingStation> = live(&admitted.stations);
    let voters: BTreeMap<String, Voter> = live(&admitted.voters);
    let mut anomalies = Vec::new();
    let mut valid: BTreeMap<String, Vec<&Vote>> = BTreeMap::new();
    for vote in &admitted.votes {
        let kind = match (voters.get(&vote.voter_id), candidates.get(&vote.candidate_id)) {
            (None, _) => Some(AnomalyKind::UnregisteredVoter),
            (_, None) => Some(AnomalyKind::UnknownCandidate),
            (Some(voter), Some(_)) => match stations.get(&vote.polling_station_id) {
                Some(s) if voter.polling_station_id == vote.polling_station_id => (!open_at(s, vote.voting_time)).then_some(AnomalyKind::OutsideHours),
                _ => Some(AnomalyKind::StationMismatch),
            },
        };
        match kind {
            Some(kind) => anomalies.push((vote, kind)),
            None => valid.entry(vote.voter_id.clone()).or_default().push(vote),
        }
    }
    let mut counted = Vec::new();
    for (_, mut votes) in valid {
        votes.sort_by(|a, b| {
            (a.voting_time, &a.vote_id, &a.candidate_id, &a.polling_station_id, a.voting_method).cmp(&(
                b.voting_time,
                &b.vote_id,
                &b.candidate_id,
                &b.polling_station_id,
                b.voting_method,
            ))
        });
        counted.push(votes[0]);
        anomalies.extend(votes[1..].iter().map(|v| (*v, AnomalyKind::DuplicateVote)));
    }

    (counted, anomalies)
}

/// The result tables the pipeline must hold for these admitted events and detectors.
pub fn oracle_with(admitted: &Admitted, detectors: &Detectors) -> BTreeMap<ResultKey, ResultRow> {
    let candidates: BTreeMap<String, Candidate> = live(&admitted.candidates);
    let stations: BTreeMap<String, PollingStation> = live(&admitted.stations);
    let voters: BTreeMap<String, Voter> = live(&admitted.voters);
    let (counted, anomalies) = judge(admitted);

    let mut rows = Vec::new();
    let count = |f: &dyn Fn(&Vote) -> bool| counted.iter().filter(|v| f(v)).count() as i64;
    for (id, c) in &candidates {
        rows.push(ResultRow::VotesPerCandidate(VotesPerCandidate {
            candidate_id: id.into(),
            candidate_name: c.candidate_name.as_str().into(),
            party_affiliation: c.party_affiliation.as_str().into(),
            votes: count(&|v| v.candidate_id == *id),
        }));
    }
    let party_of = |v: &Vote| candidates[&v.candidate_id].party_affiliation.clone();
    let parties: BTreeSet<String> = candidates.values().map(|c| c.party_affiliation.clone()).collect();
    for p in parties {
        rows.push(ResultRow::VotesPerParty(VotesPerParty { votes: count(&|v| party_of(v) == p), party_affiliation: p.into() }));
    }
    let voter_of = |v: &Vote| voters[&v.voter_id].clone();
    let regions: BTreeSet<String> = voters.values().map(|v| v.address.state.clone()).collect();
    for r in regions {
        let registered = voters.values().filter(|v| v.address.state == r).count() as i64;
        let votes = count(&|v| voter_of(v).address.state == r);
        rows.push(ResultRow::TurnoutByRegion(TurnoutByRegion { turnout_pct: 100.0 * votes as f64 / registered as f64, region: r.into(), votes, registered_voters: registered }));
    }
    let tally = |rows: &mut Vec<ResultRow>, key: &dyn Fn(&Vote) -> (String, String), make: &dyn Fn(String, String, i64) -> ResultRow| {
        let mut counts: BTreeMap<(String, String), i64> = BTreeMap::new();
        for v in &counted {
            *counts.entry(key(v)).or_default() += 1;
        }
        rows.extend(counts.into_iter().map(|((a, b), n)| make(a, b, n)));
    };
    tally(&mut rows, &|v| (voter_of(v).address.state, voter_of(v).address.city), &|region, city, votes| {
        ResultRow::TurnoutByCity(TurnoutByCity { region: region.into(), city: city.into(), votes })
    });
    let age_group = |age: u32| match age {
        0..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        55..=64 => "55-64",
        _ => "65+",
    };
    tally(&mut rows, &|v| (age_group(voter_of(v).registered_age).to_string(), String::new()), &|age_group, _, votes| {
        ResultRow::TurnoutByAgeGroup(TurnoutByAgeGroup { age_group: age_group.into(), votes })
    });
    tally(&mut rows, &|v| (voter_of(v).gender, String::new()), &|gender, _, votes| ResultRow::TurnoutByGender(TurnoutByGender { gender: gender.into(), votes }));
    tally(&mut rows, &|v| (voter_of(v).education_level, party_of(v)), &|education_level, party_affiliation, votes| {
        ResultRow::VotesByEducationParty(VotesByEducationParty { education_level: education_level.into(), party_affiliation: party_affiliation.into(), votes })
    });
    tally(&mut rows, &|v| ((v.voting_time.div_euclid(3_600_000) * 3_600_000).to_string(), String::new()), &|hour, _, votes| {
        ResultRow::TurnoutByHour(TurnoutByHour { hour_start: hour.parse().unwrap(), votes })
    });
    let mut per_station: BTreeMap<String, i64> = BTreeMap::new();
    for v in &counted {
        *per_station.entry(v.polling_station_id.clone()).or_default() += 1;
    }
    let mut ranked: Vec<(String, i64)> = per_station.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (i, (id, votes)) in ranked.into_iter().take(10).enumerate() {
        rows.push(ResultRow::TopPollingStation(TopPollingStation { rank: i as u32 + 1, polling_station_id: id.into(), votes }));
    }
    let unknown = anomalies.iter().filter(|(_, k)| matches!(k, AnomalyKind::UnregisteredVoter | AnomalyKind::UnknownCandidate)).count();
    for (v, kind) in anomalies {
        rows.push(ResultRow::Anomaly(Anomaly {
            vote_id: Some(v.vote_id.clone()),
            voter_id: Some(v.voter_id.clone()),
            polling_station_id: Some(v.polling_station_id.clone()),
            voting_time: Some(v.voting_time),
            candidate_id: Some(v.candidate_id.clone()),
            ..Anomaly::of(kind)
        }));
    }
    if detectors.projection.is_some() {
        rows.extend(final_projection(&counted, &stations, &candidates));
    }
    if let Some(model) = detectors.rate_spike {
        rows.extend(rate_spikes(&counted, &stations, &model));
    }
    if detectors.over_turnout {
        rows.extend(over_turnout(&counted, &stations));
    }
    if let Some(rules) = detectors.data_quality {
        let mut totals: BTreeMap<Measure, i64> = BTreeMap::new();
        for row in &rows {
            match row {
                ResultRow::VotesPerCandidate(r) => *totals.entry(Measure::CandidateVote).or_default() += r.votes,
                ResultRow::TurnoutByRegion(r) => *totals.entry(Measure::RegionTurnout(OrderedFloat(r.turnout_pct))).or_default() += 1,
                _ => {}
            }
        }
        for (measure, n) in [
            (Measure::Read, admitted.reads),
            (Measure::DeadLetter, admitted.dead_letters),
            (Measure::Vote, admitted.votes.len() as i64),
            (Measure::UnknownReference, unknown as i64),
            (Measure::Counted, counted.len() as i64),
            (Measure::RegisteredVoter, voters.len() as i64),
        ] {
            totals.insert(measure, n);
        }
        totals.retain(|_, n| *n != 0);
        if !totals.is_empty() {
            rows.extend(evaluate(&totals, &rules).into_iter().map(ResultRow::DataQuality));
        }
    }
    rows.into_iter().map(|r| (r.key(), r)).collect()
}

/// Rate spikes, as the model in `ballotflow::operators::rate` describes them: per window with
/// counted votes, each open station of positive roll against the pooled rate of the other
/// open stations of its region (or of all, if its region has too few).
fn rate_spikes(counted: &[&Vote], stations: &BTreeMap<String, PollingStation>, model: &RateModel) -> Vec<ResultRow> {
    let width = model.width_ms;
    let mut counts: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    for v in counted {
        *counts.entry((v.voting_time.div_euclid(width) * width, &v.polling_station_id)).or_default() += 1;
    }
    let windows: BTreeSet<i64> = counts.keys().map(|(w, _)| *w).collect();
    let mut rows = Vec::new();
    for w in windows {
        let open: Vec<(&String, &PollingStation)> = stations.iter().filter(|(_, s)| s.registered_voters > 0 && (open_at(s, w) || open_at(s, w + width - 1))).collect();
        let n = |id: &str| counts.get(&(w, id)).copied().unwrap_or(0);
        for (id, s) in &open {
            if n(id) < model.min_count {
                continue;
            }
            let others =
                |same_region: bool| -> Vec<(&String, &PollingStation)> { open.iter().filter(|(o, p)| o != id && (!same_region || p.region == s.region)).copied().collect() };
            let least = model.min_peers.max(1);
            let mut peers = others(true);
            if peers.len() < least {
                peers = others(false);
            }
            if peers.len() < least {
                continue;
            }
            let events: i64 = peers.iter().map(|(o, _)| n(o)).sum();
            let members: i64 = peers.iter().map(|(_, p)| p.registered_voters as i64).sum();
            let size = s.registered_voters as f64;
            let expected = size * (events as f64 / members as f64);
            let score = (n(id) as f64 - expected) / (expected.max(1.0) * (1.0 + size / members as f64)).sqrt();
            if n(id) as f64 >= model.min_ratio * expected && score >= model.min_score {
                rows.push(ResultRow::Anomaly(Anomaly {
                    polling_station_id: Some(id.to_string()),
                    window_start: Some(w),
                    region: Some(s.region.clone()),
                    observed: Some(n(id)),
                    expected: Some(OrderedFloat(expected)),
                    score: Some(OrderedFloat(score)),
                    ..Anomaly::of(AnomalyKind::RateSpike)
                }));
            }
        }
    }
    rows
}

/// Stations, and regions of stations, with more counted votes than their rolls.
fn over_turnout(counted: &[&Vote], stations: &BTreeMap<String, PollingStation>) -> Vec<ResultRow> {
    let row = |region: &str, observed: i64, registered: i64| Anomaly {
        region: Some(region.to_string()),
        observed: Some(observed),
        expected: Some(OrderedFloat(registered as f64)),
        ..Anomaly::of(AnomalyKind::OverTurnout)
    };
    let mut rows = Vec::new();
    let mut regions: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (id, s) in stations {
        let n = counted.iter().filter(|v| v.polling_station_id == *id).count() as i64;
        let region = regions.entry(&s.region).or_default();
        region.0 += n;
        region.1 += s.registered_voters as i64;
        if n > s.registered_voters as i64 {
            rows.push(ResultRow::Anomaly(Anomaly { polling_station_id: Some(id.clone()), ..row(&s.region, n, s.registered_voters as i64) }));
        }
    }
    for (region, (n, registered)) in regions {
        if n > registered {
            rows.push(ResultRow::Anomaly(row(region, n, registered)));
        }
    }
    rows
}

/// Prints the first differences between two tables (for assertion messages).
/// The projection after the last vote: per race (the nation and each station region) and
/// candidate, the count, with zero-width intervals and the leader's win probability 1. The
/// watermark it is as of and the race's call depend on the run's history (a tie is never
/// certain; it keeps its last call), so they are left out, as by [`comparable`] and
/// [`normalise_projection`]; `tests/projection.rs` checks them.
fn final_projection(counted: &[&Vote], stations: &BTreeMap<String, PollingStation>, candidates: &BTreeMap<String, Candidate>) -> Vec<ResultRow> {
    let regions: BTreeSet<&str> = stations.values().map(|s| s.region.as_str()).collect();
    // The contests: between candidates, and between parties if one has several. A choice
    // is (party, candidate id or empty, the candidates whose votes it has).
    type Choice<'a> = (&'a str, &'a str, Vec<&'a str>);
    let by_candidate: Vec<Choice> = candidates.iter().map(|(id, c)| (c.party_affiliation.as_str(), id.as_str(), vec![id.as_str()])).collect();
    let parties: BTreeSet<&str> = candidates.values().map(|c| c.party_affiliation.as_str()).collect();
    let by_party: Vec<Choice> = parties.iter().map(|&p| (p, "", candidates.iter().filter(|(_, c)| c.party_affiliation == p).map(|(id, _)| id.as_str()).collect())).collect();
    let contests = if parties.len() < candidates.len() { vec![by_candidate, by_party] } else { vec![by_candidate] };
    let mut rows = Vec::new();
    for choices in &contests {
        for race in std::iter::once(None).chain(regions.iter().copied().map(Some)) {
            let votes: Vec<i64> = choices
                .iter()
                .map(|(_, _, ids)| {
                    counted.iter().filter(|v| ids.contains(&v.candidate_id.as_str()) && race.is_none_or(|r| stations[&v.polling_station_id].region == r)).count() as i64
                })
                .collect();
            let total: i64 = votes.iter().sum();
            let best = *votes.iter().max().unwrap_or(&0);
            let leader = votes.iter().position(|&v| v == best).unwrap_or(0);
            for (i, (party, id, _)) in choices.iter().enumerate() {
                let share = OrderedFloat(if total > 0 { 100.0 * (votes[i] as f64 / total as f64) } else { 100.0 / choices.len() as f64 });
                rows.push(ResultRow::Projection(Projection {
                    race: race.unwrap_or("national").into(),
                    candidate_id: (*id).into(),
                    party_affiliation: (*party).into(),
                    as_of: 0,
                    counted_votes: votes[i],
                    projected_votes: OrderedFloat(votes[i] as f64),
                    votes_lo90: OrderedFloat(votes[i] as f64),
                    votes_hi90: OrderedFloat(votes[i] as f64),
                    projected_share: share,
                    share_lo90: share,
                    share_hi90: share,
                    win_probability: OrderedFloat(if i == leader { 1.0 } else { 0.0 }),
                    status: "".into(),
                    called_for: None,
                    called_at: None,
                }));
            }
        }
    }
    rows
}

/// A projection row (as JSON) without what depends on the run's history: the watermark
/// it is as of and the race's call. Other rows pass unchanged.
pub fn normalise_projection(row: &mut serde_json::Value) {
    if let Some(columns) = row.as_object_mut().filter(|c| c.contains_key("win_probability") && c.contains_key("as_of")) {
        for column in ["as_of", "called_at", "status", "called_for"] {
            columns.insert(column.into(), serde_json::Value::Null);
        }
    }
}

/// `rows` without what the projection's rows owe to the run's history (see
/// [`final_projection`]).
pub fn comparable(rows: &BTreeMap<ResultKey, ResultRow>) -> BTreeMap<ResultKey, ResultRow> {
    rows.iter()
        .map(|(key, row)| {
            let row = match row {
                ResultRow::Projection(p) => ResultRow::Projection(Projection { as_of: 0, status: "".into(), called_for: None, called_at: None, ..p.clone() }),
                other => other.clone(),
            };
            (key.clone(), row)
        })
        .collect()
}

pub fn diff(expected: &BTreeMap<ResultKey, ResultRow>, actual: &BTreeMap<ResultKey, ResultRow>) -> String {
    let mut out = String::new();
    for (k, v) in expected {
        if actual.get(k) != Some(v) {
            out += &format!("  expected {v:?}\n       got {:?}\n", actual.get(k));
        }
    }
    for (k, v) in actual {
        if !expected.contains_key(k) {
            out += &format!("  unexpected {v:?}\n");
        }
    }
    out.lines().take(20).collect::<Vec<_>>().join("\n")
}
pub mod example;
pub mod http;
pub mod pg;
pub mod published;
pub mod python;
pub mod tansu;

//! The verdicts operator against a plain recomputation, at every time, on 1, 2 and 4
//! workers whose inputs run at different times (a worker far ahead registers a voter while
//! another still sends that voter's earlier ballots): random ballots (re-delivered copies,
//! retractions), voter versions (updates, deletions, out-of-order sequence numbers) and
//! candidate and station records that come and go.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Mutex};

use ballotflow::connectors::dataset::VotingMethod;
use ballotflow::pipelines::election::model::{AnomalyKind, Ballot, CandidateInfo, Hours, Id, VoteStatus, VoterInfo, VoterVersion};
use ballotflow::pipelines::election::quality::Measure;
use ballotflow::pipelines::election::verdicts::{verdicts, Fact, Tally, VerdictConfig, HOUR_MS};
use differential_dataflow::input::Input;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use timely::dataflow::operators::capture::{Capture, Extract};

const MINUTE: i64 = 60_000;
const WINDOW_MS: i64 = 5 * MINUTE;

#[derive(Clone, Debug)]
enum Event {
    Ballot(Ballot, isize),
    Voter(VoterVersion),
    Candidate((Id, CandidateInfo), isize),
    Hours((Id, Hours), isize),
}

fn station(i: u32) -> String {
    format!("s{i}")
}

/// Random events at times 0..40, each with the worker that sends it.
fn events(seed: u64) -> Vec<(Event, u64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut ballots = Vec::new();
    let info = |rng: &mut ChaCha8Rng| VoterInfo {
        station_id: station(rng.random_range(0..3)).into(),
        region: ["North", "South"][rng.random_range(0..2)].into(),
        city: ["Leeds", "York"][rng.random_range(0..2)].into(),
        age_group: rng.random_range(0..6),
        gender: ["female", "male"][rng.random_range(0..2)].into(),
        education: ["degree", "none"][rng.random_range(0..2)].into(),
    };
    // Candidates and stations that come, change and go.
    let mut candidates: BTreeMap<u32, CandidateInfo> = BTreeMap::new();
    let mut hours: BTreeMap<u32, Hours> = BTreeMap::new();
    let mut times: Vec<u64> = (0..12).map(|_| rng.random_range(0..40)).collect();
    times.sort();
    for t in times {
        let c = rng.random_range(0..3u32);
        let id: Id = format!("c{c}").into();
        if let Some(old) = candidates.remove(&c) {
            out.push((Event::Candidate((id.clone(), old), -1), t));
        }
        if rng.random_bool(0.8) {
            let new = CandidateInfo { name: format!("name{c}").into(), party: ["P", "Q"][rng.random_range(0..2)].into() };
            candidates.insert(c, new.clone());
            out.push((Event::Candidate((id, new), 1), t));
        }
        let s = rng.random_range(0..3u32);
        let id: Id = station(s).into();
        if let Some(old) = hours.remove(&s) {
            out.push((Event::Hours((id.clone(), old), -1), t));
        }
        if rng.random_bool(0.8) {
            let opens = rng.random_range(0..12) * 60;
            let new = Hours { opens, closes: opens + rng.random_range(1..16) * 60 };
            hours.insert(s, new);
            out.push((Event::Hours((id, new), 1), t));
        }
    }
    // Versions of voters, sequence numbers unrelated to time.
    for seq in 0..40u64 {
        let voter = format!("v{}", rng.random_range(0..8));
        let info = rng.random_bool(0.85).then(|| info(&mut rng));
        out.push((Event::Voter(VoterVersion { voter_id: voter.into(), seq: rng.random_range(0..1000) * 100 + seq, info }), rng.random_range(0..40)));
    }
    for i in 0..60 {
        let ballot = Ballot {
            voting_time: rng.random_range(0..24) * HOUR_MS + rng.random_range(0..60) * MINUTE,
            vote_id: format!("x{}", i % 50).into(),
            voter_id: format!("v{}", rng.random_range(0..9)).into(),
            candidate_id: format!("c{}", rng.random_range(0..4)).into(),
            polling_station_id: station(rng.random_range(0..4)).into(),
            voting_method: VotingMethod::InPerson,
        };
        let t = rng.random_range(0..40);
        out.push((Event::Ballot(ballot.clone(), 1), t));
        ballots.push((ballot, t));
    }
    // Re-deliveries, and a few copies retracted later.
    for (ballot, t) in ballots.iter().take(10) {
        out.push((Event::Ballot(ballot.clone(), 1), t + rng.random_range(0..5)));
    }
    for (ballot, t) in ballots.iter().skip(10).take(5) {
        out.push((Event::Ballot(ballot.clone(), -1), t + rng.random_range(0..5)));
    }
    out
}

/// What the verdicts add up to: the facts and the measures, side by side.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Added {
    Fact(Fact),
    Measure(Measure),
}

type Outputs = (Vec<(Added, u64, isize)>, Vec<((Ballot, VoteStatus), u64, isize)>, Vec<(String, u64, isize)>);

fn run(events: &[(Event, u64)], workers: usize) -> Outputs {
    let (facts_tx, facts_rx) = mpsc::channel();
    let (statuses_tx, statuses_rx) = mpsc::channel();
    let (anomalies_tx, anomalies_rx) = mpsc::channel();
    let senders = Arc::new(Mutex::new((facts_tx, statuses_tx, anomalies_tx)));
    let events = Arc::new(events.to_vec());
    timely::execute(timely::Config::process(workers), move |worker| {
        let (facts_tx, statuses_tx, anomalies_tx) = senders.lock().unwrap().clone();
        let (index, peers) = (worker.index(), worker.peers());
        let (mut ballots, mut voters, mut candidates, mut hours) = worker.dataflow::<u64, _, _>(|scope| {
            let (ballots, ballot_collection) = scope.new_collection();
            let (voters, voter_collection) = scope.new_collection();
            let (candidates, candidate_collection) = scope.new_collection();
            let (hours, hour_collection) = scope.new_collection();
            let config = VerdictConfig { window_ms: Some(WINDOW_MS), statuses: true, expected_voters: 50, projection: true };
            let out = verdicts(ballot_collection, voter_collection, candidate_collection, hour_collection, config);
            out.facts.map(Added::Fact).concat(out.measures.map(Added::Measure)).inner.capture_into(facts_tx);
            out.statuses.inner.capture_into(statuses_tx);
            out.anomalies.map(|(key, _)| format!("{key:?}")).inner.capture_into(anomalies_tx);
            (ballots, voters, candidates, hours)
        });
        // Each worker runs at its own pace: a worker with late events holds the others'
        // earlier times open while theirs are already far ahead.
        let mut mine: Vec<_> = events.iter().enumerate().filter(|(i, _)| i % peers == index).map(|(_, e)| e.clone()).collect();
        mine.sort_by_key(|(_, t)| *t);
        for (event, t) in mine {
            ballots.advance_to(t);
            voters.advance_to(t);
            candidates.advance_to(t);
            hours.advance_to(t);
            match event {
                Event::Ballot(b, diff) => ballots.update_at(b, t, diff),
                Event::Voter(v) => voters.update_at(v, t, 1),
                Event::Candidate(c, diff) => candidates.update_at(c, t, diff),
                Event::Hours(h, diff) => hours.update_at(h, t, diff),
            }
            ballots.flush();
            voters.flush();
            candidates.flush();
            hours.flush();
            worker.step();
        }
    })
    .expect("timely runs");
    (flat(facts_rx.extract()), flat(statuses_rx.extract()), flat(anomalies_rx.extract()))
}

fn flat<D>(updates: Vec<(u64, Vec<D>)>) -> Vec<D> {
    updates.into_iter().flat_map(|(_, u)| u).collect()
}

/// The verdicts of everything at times up to `q`, recomputed from scratch.
fn oracle(events: &[(Event, u64)], q: u64) -> (BTreeMap<Added, isize>, BTreeMap<(Ballot, VoteStatus), isize>) {
    let mut copies: BTreeMap<Ballot, isize> = BTreeMap::new();
    let mut versions: BTreeMap<String, (u64, Option<VoterInfo>)> = BTreeMap::new();
    let mut candidates: BTreeMap<(Id, CandidateInfo), isize> = BTreeMap::new();
    let mut hours: BTreeMap<(Id, Hours), isize> = BTreeMap::new();
    for (event, t) in events.iter().filter(|(_, t)| *t <= q) {
        let _ = t;
        match event {
            Event::Ballot(b, diff) => *copies.entry(b.clone()).or_default() += diff,
            Event::Voter(v) => {
                let entry = versions.entry(v.voter_id.to_string()).or_insert((0, None));
                if v.seq >= entry.0 {
                    *entry = (v.seq, v.info.clone());
                }
            }
            Event::Candidate(c, diff) => *candidates.entry(c.clone()).or_default() += diff,
            Event::Hours(h, diff) => *hours.entry(h.clone()).or_default() += diff,
        }
    }
    let candidate = |id: &str| candidates.iter().find(|((c, _), n)| &**c == id && **n > 0).map(|((_, info), _)| info.clone());
    let hours_of = |id: &str| hours.iter().find(|((s, _), n)| &**s == id && **n > 0).map(|((_, h), _)| *h);
    let mut facts: BTreeMap<Added, isize> = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    let mut add = |added: Added| *facts.entry(added).or_default() += 1;
    for (_, info) in versions.values() {
        if let Some(info) = info {
            add(Added::Fact(Fact::Registered(info.region.as_str().into())));
            add(Added::Fact(Fact::Roll(info.station_id.clone(), info.age_group)));
            add(Added::Measure(Measure::RegisteredVoter));
        }
    }
    let mut counted: BTreeSet<String> = BTreeSet::new();
    for (ballot, _) in copies.iter().filter(|(_, n)| **n > 0) {
        let info = versions.get(ballot.voter_id.as_str()).and_then(|(_, info)| info.clone());
        let c = candidate(&ballot.candidate_id);
        let status = match (&info, &c) {
            (None, _) => VoteStatus::Rejected(AnomalyKind::UnregisteredVoter),
            (_, None) => VoteStatus::Rejected(AnomalyKind::UnknownCandidate),
            (Some(info), Some(_)) => match hours_of(&ballot.polling_station_id).filter(|_| info.station_id == ballot.polling_station_id) {
                None => VoteStatus::Rejected(AnomalyKind::StationMismatch),
                Some(h) if !h.contains(ballot.voting_time) => VoteStatus::Rejected(AnomalyKind::OutsideHours),
                Some(_) if counted.contains(ballot.voter_id.as_str()) => VoteStatus::Rejected(AnomalyKind::DuplicateVote),
                Some(_) => {
                    counted.insert(ballot.voter_id.to_string());
                    VoteStatus::Counted
                }
            },
        };
        add(Added::Measure(Measure::Vote));
        match status {
            VoteStatus::Counted => {
                add(Added::Measure(Measure::Counted));
                let (info, c) = (info.unwrap(), c.unwrap());
                let text = |s: &str| -> Id { s.into() };
                for tally in [
                    Tally::Candidate(text(&ballot.candidate_id)),
                    Tally::Party(c.party.clone()),
                    Tally::Region(text(&info.region)),
                    Tally::City(text(&info.region), text(&info.city)),
                    Tally::AgeGroup(info.age_group),
                    Tally::Gender(text(&info.gender)),
                    Tally::EducationParty(text(&info.education), c.party.clone()),
                    Tally::Hour(ballot.voting_time.div_euclid(HOUR_MS) * HOUR_MS),
                    Tally::Station(text(&ballot.polling_station_id)),
                    Tally::Window(text(&ballot.polling_station_id), ballot.voting_time.div_euclid(WINDOW_MS) * WINDOW_MS),
                    Tally::Cell(text(&ballot.polling_station_id), info.age_group, text(&ballot.candidate_id)),
                ] {
                    add(Added::Fact(Fact::Tally(tally)));
                }
            }
            VoteStatus::Rejected(AnomalyKind::UnregisteredVoter | AnomalyKind::UnknownCandidate) => add(Added::Measure(Measure::UnknownReference)),
            VoteStatus::Rejected(_) => {}
        }
        statuses.insert((ballot.clone(), status), 1);
    }
    (facts, statuses)
}

fn accumulate<D: Ord + Clone>(updates: &[(D, u64, isize)], q: u64) -> BTreeMap<D, isize> {
    let mut acc = BTreeMap::new();
    for (d, _, r) in updates.iter().filter(|(_, t, _)| *t <= q) {
        *acc.entry(d.clone()).or_insert(0) += r;
    }
    acc.retain(|_, r| *r != 0);
    acc
}

#[test]
fn verdicts_equal_a_recomputation_at_every_time() {
    for seed in 0..40 {
        let events = events(seed);
        for workers in [1, 2, 4] {
            let (facts, statuses, anomalies) = run(&events, workers);
            for q in 0..45 {
                let (expected_facts, expected_statuses) = oracle(&events, q);
                assert_eq!(accumulate(&facts, q), expected_facts, "seed {seed}, {workers} workers, facts at {q}");
                assert_eq!(accumulate(&statuses, q), expected_statuses, "seed {seed}, {workers} workers, statuses at {q}");
                let rejected = expected_statuses.keys().filter(|(_, s)| *s != VoteStatus::Counted).count();
                assert_eq!(accumulate(&anomalies, q).values().sum::<isize>(), rejected as isize, "seed {seed}, {workers} workers, anomalies at {q}");
            }
        }
    }
}

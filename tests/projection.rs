//! The live projection against a plain recomputation, at every watermark it was made at,
//! with 1, 2 and 4 workers, on random elections with late votes, re-deliveries and registry
//! changes; and the projection's machinery measured on a few generated elections.
//!
//! For each watermark `w` the operator projected at (the `as_of` of its rows), the oracle
//! takes the events admitted before `w`, counts their votes per station, age band and
//! candidate with the tally semantics, builds the tallies in the order the pipeline does
//! (regions, stations and candidates by id), projects them with the same model and replays
//! every race's call through the same watermarks. The rows must be equal, floats included.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Mutex};

use timely::dataflow::operators::capture::{Capture, Extract};

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::dataset::{PollingStation, Voter};
use ballotflow::pipelines::election::model::{age_band, Hours, Id};
use ballotflow::pipelines::election::projection::forecast::{calibrate, checkpoints, evaluate, ElectionSet};
use ballotflow::pipelines::election::projection::{self, CallRules, Calls, ProjectionConfig, ProjectionModel, StationTally, Tallies, BANDS};
use ballotflow::pipelines::election::results::{Projection, ResultKey, ResultRow};
use ballotflow::pipelines::election::{build_with, Detectors, ElectionFeed};
use common::{judge, live, random_events, Admitted, Event, DAY};

/// A small model: a few draws keep the test fast; the numbers need not be good.
fn config() -> ProjectionConfig {
    ProjectionConfig { model: Arc::new(ProjectionModel { draws: 64, ..ProjectionModel::embedded() }), lateness_ms: 10 * 60_000, ..ProjectionConfig::default() }
}

type Log = Vec<(u64, u64)>; // (event index, admitted at)

/// Every change of the projection rows: (row, time, diff).
type Changes = Vec<(Projection, u64, isize)>;

/// Runs the pipeline with only the projection on `workers` workers; event `i` is read by
/// worker `i % workers`. Returns every change of the projection's rows (each time's, not
/// a sink's commits, which may hold several times) and when each event was admitted.
fn run(events: &[Event], workers: usize, flush_every: usize) -> (Changes, Log) {
    let (changes_tx, changes_rx) = mpsc::channel();
    let changes_tx = Arc::new(Mutex::new(changes_tx));
    let admissions = Arc::new(Mutex::new(Vec::new()));
    let (events, shared_admissions) = (Arc::new(events.to_vec()), admissions.clone());
    let clock = ClockConfig { max_spread_ms: None, ..ClockConfig::DEFAULT };
    timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let changes_tx = changes_tx.lock().unwrap().clone();
        let (mut feed, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (feed, inputs) = ElectionFeed::new(scope, clock);
            let (probe, results) = build_with(inputs, Detectors { projection: Some(config()), ..Detectors::NONE }).results.probe();
            let projection = results.flat_map(|(_, row)| match row {
                ResultRow::Projection(p) => Some(p),
                _ => None,
            });
            projection.inner.capture_into(changes_tx);
            (feed, probe)
        });
        let mut mine = Vec::new();
        for (i, event) in events.iter().enumerate().filter(|(i, _)| i % peers == index) {
            let at = event.clone().feed(&mut feed, i as u64);
            mine.push((i as u64, at));
            if mine.len() % flush_every == 0 {
                feed.flush();
                // Lock step: no worker runs ahead of the others' watermarks, so the
                // watermark moves many times (not once, from start to end).
                let time = feed.frontier();
                worker.step_while(|| probe.less_than(&time));
            }
        }
        drop(feed);
        worker.step_while(|| !probe.done());
        shared_admissions.lock().unwrap().extend(mine);
    })
    .expect("timely runs");
    let log = std::mem::take(&mut *admissions.lock().unwrap());
    (changes_rx.extract().into_iter().flat_map(|(_, updates)| updates).collect(), log)
}

/// The tallies of these admitted events, built plainly: live stations, candidates and voters
/// by id, counted votes by the tally semantics.
fn tallies(admitted: &Admitted) -> (Tallies, Vec<Id>) {
    let stations: BTreeMap<String, PollingStation> = live(&admitted.stations);
    let candidates = live(&admitted.candidates);
    let voters: BTreeMap<String, Voter> = live(&admitted.voters);
    let regions: Vec<Id> = stations.values().map(|s| Id::from(s.region.as_str())).collect::<BTreeSet<_>>().into_iter().collect();
    let mut t = Tallies::new(regions.clone(), candidates.keys().map(|c| Id::from(c.as_str())).collect());
    let index: BTreeMap<&String, usize> = stations.keys().enumerate().map(|(i, id)| (id, i)).collect();
    for s in stations.values() {
        let hours = Hours::of(s).unwrap();
        let closes = if hours.closes <= hours.opens { hours.closes + 24 * 60 } else { hours.closes };
        let region = regions.iter().position(|r| r == s.region.as_str()).unwrap();
        t.stations.push(StationTally { region, opens: hours.opens, closes, registered: [0; BANDS], counted: [0; BANDS] });
    }
    for v in voters.values() {
        if let Some(&s) = index.get(&v.polling_station_id) {
            t.stations[s].registered[age_band(v.registered_age) as usize] += 1;
        }
    }
    let (counted, _) = judge(admitted);
    for vote in counted {
        let s = index[&vote.polling_station_id];
        let band = age_band(voters[&vote.voter_id].registered_age) as usize;
        let c = candidates.keys().position(|c| *c == vote.candidate_id).unwrap();
        t.stations[s].counted[band] += 1;
        let cell = t.cell(t.stations[s].region, band, c);
        t.votes[cell] += 1;
    }
    (t, candidates.values().map(|c| Id::from(c.party_affiliation.as_str())).collect())
}

/// The projection rows of `tallies` as of `as_of`, with `calls` carried from the last ones.
fn rows(tallies: &Tallies, parties: &[Id], as_of: i64, minute: f64, calls: &mut Calls) -> BTreeMap<ResultKey, ResultRow> {
    projection::rows(&config(), tallies, parties, as_of, minute, calls).into_iter().map(|p| ResultRow::Projection(p).keyed()).collect()
}

fn projection_of(row: &ResultRow) -> &Projection {
    match row {
        ResultRow::Projection(p) => p,
        other => panic!("only projection rows expected, got {other:?}"),
    }
}

fn check(seed: u64, votes: usize, workers: usize, flush_every: usize) {
    let events = random_events(seed, votes);
    let (changes, log) = run(&events, workers, flush_every);
    assert_eq!(log.len(), events.len(), "every event admitted once");
    // The rows after each time's changes: one projection per time, as of that time (or,
    // for the last, of the latest time before the end).
    let mut by_time: BTreeMap<u64, Vec<(Projection, isize)>> = BTreeMap::new();
    for (row, time, diff) in changes {
        by_time.entry(time).or_default().push((row, diff));
    }
    let mut state: BTreeMap<Projection, isize> = BTreeMap::new();
    let mut projected: Vec<(i64, BTreeMap<ResultKey, ResultRow>)> = Vec::new();
    for (time, updates) in by_time {
        for (row, diff) in updates {
            *state.entry(row).or_default() += diff;
        }
        state.retain(|_, n| *n != 0);
        if state.is_empty() {
            // No race (every candidate deleted): the operator updated no call either.
            continue;
        }
        assert!(state.values().all(|&n| n == 1), "each row once at time {time}");
        let rows: BTreeMap<ResultKey, ResultRow> = state.keys().map(|p| ResultRow::Projection(p.clone()).keyed()).collect();
        assert_eq!(rows.len(), state.len(), "one row per race and candidate at time {time}");
        let as_of = state.keys().next().map_or(0, |p| p.as_of);
        assert!(state.keys().all(|p| p.as_of == as_of), "one projection at time {time}");
        projected.push((as_of, rows));
    }
    assert!(projected.len() >= 3, "seed {seed}: projected {} times", projected.len());
    let mut calls = BTreeMap::new();
    let mut day = None;
    let last = projected.len() - 1;
    for (i, (as_of, actual)) in projected.iter().enumerate() {
        // The last rows are the final ones (as of the end of the input).
        let before = if i == last { u64::MAX } else { *as_of as u64 };
        let mut admitted = Admitted::default();
        for (e, at) in &log {
            if *at < before {
                admitted.add(*e, &events[*e as usize]);
            }
        }
        let (t, parties) = tallies(&admitted);
        if day.is_none() && t.votes.iter().any(|&n| n > 0) {
            day = Some((as_of - 1).div_euclid(86_400_000) * 86_400_000);
        }
        let minute = if i == last { f64::INFINITY } else { (as_of - day.expect("votes before the first projection")) as f64 / 60_000.0 };
        let expected = rows(&t, &parties, *as_of, minute, &mut calls);
        assert!(expected == *actual, "seed {seed}, {workers} workers, projection as of {as_of} differs:\n{}", common::diff(&expected, actual));
    }
    assert!(projected.iter().flat_map(|(_, rows)| rows.values()).any(|r| projection_of(r).candidate_id.is_empty()), "a party with two candidates has a race of its own");
    // After the last vote: the projection is the count.
    for row in projected[last].1.values() {
        let p = projection_of(row);
        assert_eq!(p.projected_votes.0, p.counted_votes as f64, "{p:?}");
        assert_eq!((p.share_lo90, p.share_hi90), (p.projected_share, p.projected_share), "{p:?}");
        assert_eq!((p.votes_lo90, p.votes_hi90), (p.projected_votes, p.projected_votes), "{p:?}");
    }
    assert!(day.unwrap() == DAY || day.unwrap() == DAY + 86_400_000 || day.unwrap() == DAY - 86_400_000);
}

#[test]
fn one_worker_matches_the_recomputation_at_every_watermark() {
    for seed in 0..4 {
        check(seed, 300, 1, 7);
    }
}

#[test]
fn two_workers_match_the_recomputation_at_every_watermark() {
    for seed in 10..13 {
        check(seed, 300, 2, 5);
    }
}

#[test]
fn four_workers_match_the_recomputation_at_every_watermark() {
    for seed in 20..22 {
        check(seed, 300, 4, 3);
    }
}

/// The forecast machinery on a few small generated elections: every race and choice is
/// scored at every checkpoint, the final checkpoint is exact, no certain call is wrong.
#[test]
fn the_forecast_machinery_scores_every_race_at_every_checkpoint() {
    let set = |seeds: std::ops::Range<u64>| ElectionSet { seeds, sizes: vec![6_000], parties: vec![3, 4], stress: Default::default() };
    let points = checkpoints(7.0 * 60.0, 23.0 * 60.0, 120.0);
    let base = ProjectionModel { draws: 100, ..ProjectionModel::uninformed() };
    let model = calibrate(&base, &set(0..2).replays(), &set(2..4).replays(), &points);
    assert!(model.turnout.iter().all(|&t| (0.3..1.0).contains(&t)), "{:?}", model.turnout);
    assert!(model.spread.iter().all(|&q| q.is_finite() && q >= 0.0), "{:?}", model.spread);
    let tests = set(100..103).replays();
    let report = evaluate(&model, &tests, &points, &CallRules::default());
    let choices: usize = tests.iter().map(|r| (r.empty().regions.len() + 1) * r.empty().choices.len()).sum();
    assert_eq!(report.races, tests.iter().map(|r| r.empty().regions.len() + 1).sum::<usize>());
    assert_eq!(report.coverage.len(), points.len());
    assert!(report.coverage.iter().all(|&(_, _, n)| n == choices), "{:?}", report.coverage);
    let (_, covered, n) = *report.coverage.last().unwrap();
    assert_eq!(covered, n, "at 23:00 every station is closed: the projection is the count");
    assert_eq!(report.reliability.iter().map(|b| b.2).sum::<usize>(), choices * points.len());
    assert_eq!(report.wrong_certain, 0);
    assert_eq!(report.races_by_margin.iter().sum::<usize>(), report.races);
    assert!(report.call_minutes.iter().map(Vec::len).sum::<usize>() == report.races, "every race is called for its winner by the end");
}

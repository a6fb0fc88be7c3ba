//! The election pipeline against a batch oracle, on random elections, with 1, 2 and 4
//! workers, out-of-order and late votes, re-deliveries and registry changes.
//!
//! Every event is admitted at some timely time (its tick, or the watermark if late). For
//! every such time `t`, the rows the sink holds after applying every change delivered at
//! times before `t` must equal the oracle over exactly the events admitted before `t`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::SinkExt;
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};
use ballotflow::pipelines::election::{build_with, Detectors, ElectionFeed};
use common::{diff, oracle_with, random_events, Admitted, Event, SENSITIVE};

/// Every detector, with a rate model that fires on these small elections.
const DETECTORS: Detectors = Detectors {
    rate_spike: Some(SENSITIVE),
    over_turnout: true,
    data_quality: Some(ballotflow::pipelines::election::quality::QualityRules { max_dead_letter_share: 0.01 }),
    projection: None,
};

type Log = Vec<(u64, usize, u64)>; // (event index, worker, admitted at)

/// Runs the pipeline on `workers` workers; event `i` is read by worker `i % workers`.
fn run(events: &[Event], workers: usize, clock: ClockConfig, flush_every: usize) -> (MemorySink<ResultKey, ResultRow>, Log) {
    let sink = MemorySink::new(true);
    let admissions = Arc::new(Mutex::new(Vec::new()));
    let (events, shared_sink, shared_admissions) = (Arc::new(events.to_vec()), sink.clone(), admissions.clone());
    timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let sink = shared_sink.for_worker(index);
        let (mut feed, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (feed, inputs) = ElectionFeed::new(scope, clock);
            let (probe, results) = build_with(inputs, DETECTORS).results.probe();
            results.sink_into("results", sink);
            (feed, probe)
        });
        let mut mine = Vec::new();
        for (i, event) in events.iter().enumerate().filter(|(i, _)| i % peers == index) {
            let at = event.clone().feed(&mut feed, i as u64);
            mine.push((i as u64, index, at));
            if mine.len() % flush_every == 0 {
                feed.flush();
                worker.step();
            }
        }
        drop(feed);
        worker.step_while(|| !probe.done());
        shared_admissions.lock().unwrap().extend(mine);
    })
    .expect("timely runs");
    let log = std::mem::take(&mut *admissions.lock().unwrap());
    (sink, log)
}

/// Checks the sink's state at every admission time (and at the end) against the oracle.
fn check(seed: u64, votes: usize, workers: usize, clock: ClockConfig, flush_every: usize) {
    let events = random_events(seed, votes);
    let (sink, log) = run(&events, workers, clock, flush_every);
    assert_eq!(log.len(), events.len(), "every event admitted once");
    let state = sink.state();
    let commits = state.log.as_ref().expect("logging sink");
    assert!(state.frontiers.values().all(Option::is_none), "every worker's sink saw the end");

    let mut times: Vec<u64> = log.iter().map(|(_, _, t)| *t).collect();
    times.push(u64::MAX);
    times.sort();
    times.dedup();
    let mut ordered: Vec<_> = commits.iter().collect();
    ordered.sort_by_key(|c| c.time);
    for t in times {
        let mut admitted = Admitted::default();
        for (i, _, at) in &log {
            if *at < t {
                admitted.add(*i, &events[*i as usize]);
            }
        }
        let expected = oracle_with(&admitted, &DETECTORS);
        let mut actual = BTreeMap::new();
        for commit in ordered.iter().take_while(|c| c.time < t) {
            MemorySink::apply_to(&mut actual, &commit.changes);
        }
        assert!(expected == actual, "seed {seed}, {workers} workers, state before time {t} differs:\n{}", diff(&expected, &actual));
    }
    // The final state is also what the sink holds.
    assert_eq!(state.rows, {
        let mut all = Admitted::default();
        for (i, event) in events.iter().enumerate() {
            all.add(i as u64, event);
        }
        oracle_with(&all, &DETECTORS)
    });
}

// No guard against absurd times (the test's times are sane): every vote is judged at once,
// so the test knows the time each one is admitted at.
const CLOCK: ClockConfig = ClockConfig { max_spread_ms: None, ..ClockConfig::DEFAULT };

#[test]
fn one_worker_matches_oracle_at_every_time() {
    for seed in 0..6 {
        check(seed, 150, 1, CLOCK, 7);
    }
}

#[test]
fn two_workers_match_oracle_at_every_time() {
    for seed in 10..16 {
        check(seed, 150, 2, CLOCK, 5);
    }
}

#[test]
fn four_workers_match_oracle_at_every_time() {
    for seed in 20..24 {
        check(seed, 200, 4, CLOCK, 3);
    }
}

#[test]
fn coarse_ticks_and_no_out_of_orderness_bound() {
    // Every out-of-order vote is late; the results are still exact.
    let clock = ClockConfig { tick_ms: 3_600_000, max_out_of_orderness_ms: 0, ..CLOCK };
    for (seed, workers) in [(30, 1), (31, 2), (32, 4)] {
        check(seed, 200, workers, clock, 11);
    }
}

#[test]
fn the_oracle_sees_late_votes_and_every_anomaly_kind() {
    // Guard against a vacuous test: the random elections exercise what they claim to.
    let events = random_events(1, 300);
    let (_, log) = run(&events, 1, CLOCK, 7);
    let mut all = Admitted::default();
    for (i, event) in events.iter().enumerate() {
        all.add(i as u64, event);
    }
    let rows = oracle_with(&all, &DETECTORS);
    let kinds: std::collections::BTreeSet<_> = rows
        .values()
        .filter_map(|r| match r {
            ResultRow::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.len(), 7, "all five per-vote kinds, rate spikes and over-turnout occur: {kinds:?}");
    let checks = rows.values().filter(|r| matches!(r, ResultRow::DataQuality(_))).count();
    assert_eq!(checks, 5, "every data-quality rule has a row");
    let votes: Vec<_> = events.iter().enumerate().filter(|(_, e)| matches!(e, Event::Vote(_))).map(|(i, _)| i as u64).collect();
    let late = log.iter().filter(|(i, _, at)| votes.contains(i) && matches!(&events[*i as usize], Event::Vote(v) if (*at as i64) > v.voting_time));
    assert!(late.count() > 10, "some votes are admitted late");
}

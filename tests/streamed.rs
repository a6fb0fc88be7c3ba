//! The streamed generator as a job's source: every worker draws its own share of the voters
//! and their votes, and the results are those of the whole election, recomputed simply from
//! the same election in memory, on 1, 2 and 4 workers, with the registries' full records
//! kept or not; and the detectors find what it injected.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ballotflow::connectors::generator::{GeneratorConfig, StreamedElection};
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::{Change, Output, Sink, SinkError};
use ballotflow::pipelines::election::evaluate::score;
use ballotflow::pipelines::election::job::{run_job, JobConfig, JobOutputs, JobProgress, Source, WorkerReport};
use ballotflow::pipelines::election::model::AnomalyKind;
use ballotflow::pipelines::election::records::{RecordKey, RecordRow};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};
use common::{diff, Admitted};

/// A record output that keeps nothing (it makes the job keep the voters' full records).
struct Discard;

impl Sink<RecordKey, RecordRow> for Discard {
    fn apply(&mut self, _time: u64, _changes: Vec<Change<RecordKey, RecordRow>>) -> Result<(), SinkError> {
        Ok(())
    }

    fn advance(&mut self, _frontier: Option<u64>) -> Result<(), SinkError> {
        Ok(())
    }
}

/// The results of `election` read on `workers` workers, and their reports.
fn tally(election: &Arc<StreamedElection>, workers: usize, records: bool) -> (BTreeMap<ResultKey, ResultRow>, Vec<WorkerReport>) {
    let sink = MemorySink::new(false);
    let (shared, source) = (sink.clone(), Source::Streamed(election.clone()));
    let config = JobConfig { batch: 500, ..JobConfig::default() };
    let progress = Arc::new(JobProgress::default());
    let reports = timely::execute(timely::Config::process(workers), move |worker| {
        let mut outputs = JobOutputs::results("results", shared.for_worker(worker.index()));
        if records {
            outputs.records.push(Output::new("records", Discard));
        }
        run_job(worker, &source, outputs, &config, &progress).expect("a streamed election is read whole")
    })
    .expect("timely runs")
    .join()
    .into_iter()
    .map(|r| r.expect("no worker panics"))
    .collect();
    (sink.rows(), reports)
}

#[test]
fn every_worker_count_tallies_the_whole_streamed_election() {
    let streamed = Arc::new(StreamedElection::new(&GeneratorConfig { seed: 5, voters: 4_000, ..GeneratorConfig::default() }));
    let election = streamed.election();
    let expected = common::oracle(&Admitted::of(common::events(&election)));
    for (workers, records) in [(1, false), (2, false), (4, false), (2, true)] {
        let (rows, reports) = tally(&streamed, workers, records);
        assert!(common::comparable(&rows) == expected, "{workers} workers, records {records}:\n{}", diff(&expected, &common::comparable(&rows)));
        let votes: u64 = reports.iter().map(|r| r.votes).sum();
        assert_eq!(votes, election.votes.len() as u64, "{workers} workers: every vote admitted once");
        let registry: u64 = reports.iter().map(|r| r.registry_records).sum();
        assert_eq!(registry as usize, election.candidates.len() + election.stations.len() + election.voters.len(), "{workers} workers");
    }
}

#[test]
fn detectors_find_what_the_streamed_election_injected() {
    for seed in [1, 2] {
        let streamed = Arc::new(StreamedElection::new(&GeneratorConfig { seed, ..GeneratorConfig::default() }));
        let election = streamed.election();
        let (rows, _) = tally(&streamed, 2, false);
        let findings: Vec<_> = rows.into_values().filter_map(|row| if let ResultRow::Anomaly(a) = row { Some(a) } else { None }).collect();
        let scores: BTreeMap<AnomalyKind, _> = score(&election.labels, &findings).into_iter().map(|s| (s.kind, s)).collect();
        for kind in AnomalyKind::PER_VOTE {
            let s = &scores[&kind];
            assert!(s.labelled > 0, "seed {seed}: no {} injected", s.kind);
            assert_eq!((s.precision(), s.recall()), (Some(1.0), Some(1.0)), "seed {seed}: {s:?}");
        }
        let spikes = &scores[&AnomalyKind::RateSpike];
        assert!(spikes.labelled >= 2, "seed {seed}: {spikes:?}");
        assert!(spikes.precision() >= Some(0.9) && spikes.recall() >= Some(0.9), "seed {seed}: {spikes:?}");
        assert!(!scores.contains_key(&AnomalyKind::OverTurnout), "seed {seed}: the rolls match the voters");
    }
}

//! Outputs fail alone and loudly: a sink that fails for a while is retried and loses
//! nothing; a sink that fails for good stops the job, on every worker, with the failure
//! named, while the job's other outputs still complete everything that was read.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ballotflow::connectors::generator::{generate, GeneratorConfig};
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::{Change, Output, Sink, SinkError};
use ballotflow::pipelines::election::job::{run_job, JobConfig, JobError, JobOutputs, JobProgress, Source, WorkerReport};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};
use common::{diff, Admitted};

type Rows = MemorySink<ResultKey, ResultRow>;

/// A memory sink whose every third `advance` fails temporarily (having kept everything),
/// and one `apply` in five too.
struct Flaky {
    inner: Rows,
    calls: usize,
    failures: Arc<AtomicUsize>,
}

impl Sink<ResultKey, ResultRow> for Flaky {
    fn apply(&mut self, time: u64, changes: Vec<Change<ResultKey, ResultRow>>) -> Result<(), SinkError> {
        self.calls += 1;
        self.inner.apply(time, changes)?;
        if self.calls.is_multiple_of(5) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(SinkError::temporary("a flaky apply"));
        }
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(SinkError::temporary("a flaky advance"));
        }
        self.inner.advance(frontier)
    }
}

/// A sink that refuses its first changes with a vote in them.
struct Refusing;

impl Sink<ResultKey, ResultRow> for Refusing {
    fn apply(&mut self, _time: u64, changes: Vec<Change<ResultKey, ResultRow>>) -> Result<(), SinkError> {
        match changes.iter().any(|c| matches!(c, Change::Upsert(_, ResultRow::VotesPerCandidate(row)) if row.votes > 0)) {
            true => Err(SinkError::permanent("the table refuses these rows")),
            false => Ok(()),
        }
    }

    fn advance(&mut self, _frontier: Option<u64>) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that fails for good when its input completes (a last commit refused).
struct FailsAtTheEnd;

impl Sink<ResultKey, ResultRow> for FailsAtTheEnd {
    fn apply(&mut self, _time: u64, _changes: Vec<Change<ResultKey, ResultRow>>) -> Result<(), SinkError> {
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        match frontier {
            None => Err(SinkError::permanent("the last commit was refused")),
            Some(_) => Ok(()),
        }
    }
}

fn run(voters: usize, workers: usize, outputs: impl Fn(usize) -> JobOutputs + Send + Sync + 'static) -> Vec<Result<WorkerReport, JobError>> {
    let election = Arc::new(generate(&GeneratorConfig { seed: 3, voters, ..GeneratorConfig::default() }));
    let source = Source::Generated(election);
    let config = JobConfig { batch: 200, ..JobConfig::default() };
    let progress = Arc::new(JobProgress::default());
    timely::execute(timely::Config::process(workers), move |worker| {
        let outputs = outputs(worker.index());
        run_job(worker, &source, outputs, &config, &progress)
    })
    .expect("timely runs")
    .join()
    .into_iter()
    .map(|r| r.expect("no worker panics"))
    .collect()
}

#[test]
fn temporary_failures_are_retried_and_lose_nothing() {
    let election = generate(&GeneratorConfig { seed: 3, voters: 3_000, ..GeneratorConfig::default() });
    let expected = common::oracle(&Admitted::of(common::events(&election)));
    for workers in [1, 2, 4] {
        let (steady, flaky, failures) = (Rows::new(false), Rows::new(false), Arc::new(AtomicUsize::new(0)));
        let (s, f, n) = (steady.clone(), flaky.clone(), failures.clone());
        let reports = run(3_000, workers, move |index| JobOutputs {
            results: vec![Output::new("steady", s.for_worker(index)), Output::new("flaky", Flaky { inner: f.for_worker(index), calls: 0, failures: n.clone() })],
            records: Vec::new(),
        });
        let reports: Vec<WorkerReport> = reports.into_iter().map(|r| r.expect("temporary failures do not fail the job")).collect();
        assert!(failures.load(Ordering::Relaxed) > 0, "the flaky sink failed sometimes");
        let retries: u64 = reports.iter().flat_map(|r| &r.outputs).filter(|o| o.name() == "flaky").map(|o| o.stats().retries).sum();
        assert!(retries > 0, "{workers} workers: retries are counted");
        assert!(flaky.state().frontiers.values().all(Option::is_none), "{workers} workers: the flaky sink completed");
        let (steady, flaky) = (steady.rows(), flaky.rows());
        assert!(steady == expected, "{workers} workers, steady sink:\n{}", diff(&expected, &steady));
        assert!(flaky == expected, "{workers} workers, flaky sink:\n{}", diff(&expected, &flaky));
    }
}

#[test]
fn a_permanent_failure_stops_the_job_and_the_other_outputs_complete_what_was_read() {
    let election_votes = generate(&GeneratorConfig { seed: 3, voters: 40_000, ..GeneratorConfig::default() }).votes.len() as u64;
    for workers in [1, 2, 4] {
        let steady = Rows::new(false);
        let s = steady.clone();
        let results =
            run(40_000, workers, move |index| JobOutputs { results: vec![Output::new("steady", s.for_worker(index)), Output::new("refusing", Refusing)], records: Vec::new() });
        let mut read = 0;
        for result in results {
            match result {
                Err(JobError::Output { failure, report }) => {
                    assert_eq!(failure.output, "refusing", "{workers} workers");
                    assert!(failure.error.to_string().contains("refuses these rows"), "{failure}");
                    assert!(!failure.error.is_temporary());
                    read += report.votes;
                }
                other => panic!("{workers} workers: every worker stops with the failure, not {other:?}"),
            }
        }
        assert!(read < election_votes, "{workers} workers: the job stopped early ({read} of {election_votes} votes)");
        // The steady output delivered everything up to the end of what was read.
        let frontiers: BTreeMap<usize, Option<u64>> = steady.state().frontiers.clone();
        assert!(frontiers.values().all(Option::is_none), "{workers} workers: {frontiers:?}");
        let counted: i64 = steady.rows().values().filter_map(|r| if let ResultRow::VotesPerParty(p) = r { Some(p.votes) } else { None }).sum();
        assert!(counted > 0 && (counted as u64) <= read, "{workers} workers: {counted} counted of {read} read");
    }
}

#[test]
fn a_failure_of_the_last_delivery_still_fails_the_job() {
    for workers in [1, 2] {
        let results = run(2_000, workers, |_| JobOutputs { results: vec![Output::new("last", FailsAtTheEnd)], records: Vec::new() });
        for result in results {
            match result {
                Err(JobError::Output { failure, .. }) => assert!(failure.to_string().contains("output \"last\" failed: the last commit was refused"), "{failure}"),
                other => panic!("{workers} workers: {other:?}"),
            }
        }
    }
}

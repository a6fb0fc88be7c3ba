//! Outputs fail alone and loudly: a sink that fails for a while is retried and loses
//! nothing; a sink that fails for good stops the job, on every worker, with the failure
//! named, while the job's other outputs still complete everything that was read. Each on
//! the worker thread and on its own thread ([`Output::background`]), where a stalled sink
//! holds back no other output, and a sink stuck in a commit holds back no worker while it
//! is handed nothing but frontiers. Every sink operator hands its sink the readers' positions
//! of everything before its frontier, from every worker.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballotflow::connectors::generator::{generate, Election, GeneratorConfig};
use ballotflow::connectors::progress::{PositionInput, Positions, ReadPosition, SourcePositions};
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::{Change, Output, Sink, SinkError, SinkExt};
use ballotflow::pipelines::election::job::{run_job, JobConfig, JobError, JobOutputs, JobProgress, Source, WorkerReport};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};
use common::{diff, Admitted};
use differential_dataflow::input::Input;

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

/// A sink whose database is away until it is let go: each write waits a little (a connect
/// timeout) and fails temporarily. It notes the threads it was called on.
struct Away {
    inner: Rows,
    back: Arc<AtomicBool>,
    threads: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

impl Sink<ResultKey, ResultRow> for Away {
    fn apply(&mut self, time: u64, changes: Vec<Change<ResultKey, ResultRow>>) -> Result<(), SinkError> {
        self.inner.apply(time, changes)
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        self.threads.lock().unwrap().insert(std::thread::current().name().unwrap_or_default().to_string());
        if !self.back.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
            return Err(SinkError::temporary("the database is away"));
        }
        self.inner.advance(frontier)
    }
}

/// A sink whose writes do not return until it is let go (a database slower than the job).
struct Slow {
    inner: Rows,
    go: Arc<AtomicBool>,
}

impl Sink<ResultKey, ResultRow> for Slow {
    fn apply(&mut self, time: u64, changes: Vec<Change<ResultKey, ResultRow>>) -> Result<(), SinkError> {
        self.inner.apply(time, changes)
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        wait_for(&self.go);
        self.inner.advance(frontier)
    }
}

/// Returns once `go` is set.
fn wait_for(go: &AtomicBool) {
    while !go.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The 20,000-voter job on 2 workers into a [`Slow`] background output (its queue holding
/// `queue_limit` changes, or the default) that is let go after `held`: its rows, and every
/// worker's report.
fn run_slow(queue_limit: Option<usize>, held: Duration) -> (Rows, Vec<WorkerReport>) {
    let (slow, go) = (Rows::new(false), Arc::new(AtomicBool::new(false)));
    let (s, g) = (slow.clone(), go.clone());
    let job = std::thread::spawn(move || {
        let output = move |index| {
            let output = Output::background("slow", Slow { inner: s.for_worker(index), go: g.clone() });
            match queue_limit {
                Some(changes) => output.queue_limit(changes),
                None => output,
            }
        };
        run(20_000, 2, move |index| JobOutputs { results: vec![output(index)], records: Vec::new() })
    });
    std::thread::sleep(held);
    go.store(true, Ordering::Relaxed);
    let reports = job.join().unwrap().into_iter().map(|r| r.expect("a slow sink is no failure")).collect();
    (slow, reports)
}

/// How long the workers waited for full output queues, over every output.
fn blocked(reports: &[WorkerReport]) -> Duration {
    reports.iter().flat_map(|r| &r.outputs).map(|o| o.stats().blocked).sum()
}

/// `sink` on the worker thread, or on its own.
fn output(name: &str, sink: impl Sink<ResultKey, ResultRow> + Send + 'static, background: bool) -> Output<ResultKey, ResultRow> {
    match background {
        true => Output::background(name, sink),
        false => Output::new(name, sink),
    }
}

/// The election [`run`] tallies: seed 3, `voters` voters.
fn election(voters: usize) -> Election {
    generate(&GeneratorConfig { seed: 3, voters, ..GeneratorConfig::default() })
}

/// What the oracle says [`run`] must deliver for `voters` voters.
fn expected(voters: usize) -> BTreeMap<ResultKey, ResultRow> {
    common::oracle(&Admitted::of(common::events(&election(voters))))
}

fn run(voters: usize, workers: usize, outputs: impl Fn(usize) -> JobOutputs + Send + Sync + 'static) -> Vec<Result<WorkerReport, JobError>> {
    run_with(JobConfig { batch: 200, ..JobConfig::default() }, voters, workers, outputs)
}

fn run_with(config: JobConfig, voters: usize, workers: usize, outputs: impl Fn(usize) -> JobOutputs + Send + Sync + 'static) -> Vec<Result<WorkerReport, JobError>> {
    let source = Source::Generated(Arc::new(election(voters)));
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
    let expected = expected(3_000);
    for (workers, background) in [(1, false), (2, false), (4, false), (1, true), (2, true), (4, true)] {
        let (steady, flaky, failures) = (Rows::new(false), Rows::new(false), Arc::new(AtomicUsize::new(0)));
        let (s, f, n) = (steady.clone(), flaky.clone(), failures.clone());
        let reports = run(3_000, workers, move |index| JobOutputs {
            results: vec![Output::new("steady", s.for_worker(index)), output("flaky", Flaky { inner: f.for_worker(index), calls: 0, failures: n.clone() }, background)],
            records: Vec::new(),
        });
        let reports: Vec<WorkerReport> = reports.into_iter().map(|r| r.expect("temporary failures do not fail the job")).collect();
        assert!(failures.load(Ordering::Relaxed) > 0, "the flaky sink failed sometimes");
        let retries: u64 = reports.iter().flat_map(|r| &r.outputs).filter(|o| o.name() == "flaky").map(|o| o.stats().retries).sum();
        assert!(retries > 0, "{workers} workers: retries are counted");
        assert!(flaky.state().frontiers.values().all(Option::is_none), "{workers} workers: the flaky sink completed");
        let (steady, flaky) = (steady.rows(), flaky.rows());
        assert!(common::comparable(&steady) == expected, "{workers} workers, steady sink:\n{}", diff(&expected, &common::comparable(&steady)));
        assert!(common::comparable(&flaky) == expected, "{workers} workers, flaky sink:\n{}", diff(&expected, &common::comparable(&flaky)));
    }
}

#[test]
fn a_permanent_failure_stops_the_job_and_the_other_outputs_complete_what_was_read() {
    let election_votes = election(40_000).votes.len() as u64;
    for (workers, background) in [(1, false), (2, false), (4, false), (2, true)] {
        let steady = Rows::new(false);
        let s = steady.clone();
        let results = run(40_000, workers, move |index| JobOutputs {
            results: vec![Output::new("steady", s.for_worker(index)), output("refusing", Refusing, background)],
            records: Vec::new(),
        });
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
    for (workers, background) in [(1, false), (2, false), (1, true), (2, true)] {
        let results = run(2_000, workers, move |_| JobOutputs { results: vec![output("last", FailsAtTheEnd, background)], records: Vec::new() });
        for result in results {
            match result {
                Err(JobError::Output { failure, .. }) => assert!(failure.to_string().contains("output \"last\" failed: the last commit was refused"), "{failure}"),
                other => panic!("{workers} workers: {other:?}"),
            }
        }
    }
}

#[test]
fn an_output_whose_database_is_away_writes_on_its_own_thread_holds_back_no_other_output_and_loses_nothing() {
    let expected = expected(3_000);
    for workers in [1, 2] {
        let (steady, away, back, threads) = (Rows::new(false), Rows::new(false), Arc::new(AtomicBool::new(false)), Arc::new(std::sync::Mutex::default()));
        let (s, a, b, t) = (steady.clone(), away.clone(), back.clone(), threads.clone());
        let job = std::thread::spawn(move || {
            run(3_000, workers, move |index| JobOutputs {
                results: vec![Output::new("steady", s.for_worker(index)), Output::background("away", Away { inner: a.for_worker(index), back: b.clone(), threads: t.clone() })],
                records: Vec::new(),
            })
        });
        // The steady output delivers the whole input while the other one's database is away.
        let complete = |rows: &Rows| rows.state().frontiers.len() == workers && rows.state().frontiers.values().all(Option::is_none);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !complete(&steady) {
            assert!(Instant::now() < deadline, "{workers} workers: the steady output did not complete while the other one was away");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(common::comparable(&steady.rows()) == expected, "{workers} workers, steady sink:\n{}", diff(&expected, &common::comparable(&steady.rows())));
        assert!(!job.is_finished(), "{workers} workers: the job waits for the output that is away");
        back.store(true, Ordering::Relaxed);
        let reports: Vec<WorkerReport> = job.join().unwrap().into_iter().map(|r| r.expect("the outage was temporary")).collect();
        let retries: u64 = reports.iter().flat_map(|r| &r.outputs).filter(|o| o.name() == "away").map(|o| o.stats().retries).sum();
        assert!(retries > 0, "{workers} workers: the outage was retried");
        let threads = threads.lock().unwrap().clone();
        assert!(!threads.is_empty() && threads.iter().all(|name| name == "sink away"), "{workers} workers: the sink ran on {threads:?}");
        assert!(common::comparable(&away.rows()) == expected, "{workers} workers, the sink that was away:\n{}", diff(&expected, &common::comparable(&away.rows())));
    }
}

#[test]
fn a_slow_background_output_fills_its_queue_and_holds_the_workers_back() {
    let expected = expected(20_000);
    // Far more changes than the queue holds: the workers wait for the sink.
    let (slow, reports) = run_slow(Some(1_000), Duration::from_millis(500));
    assert!(blocked(&reports) > Duration::ZERO, "the full queue held the workers back");
    assert!(common::comparable(&slow.rows()) == expected, "{}", diff(&expected, &common::comparable(&slow.rows())));
}

#[test]
fn a_background_output_in_a_long_commit_takes_many_small_hand_overs_without_holding_the_workers() {
    let expected = expected(20_000);
    // Hundreds of hand-overs of a few changes each, all fewer than the queue's limit: the
    // workers read everything while the sink is stuck in its first commit.
    let (slow, reports) = run_slow(None, Duration::from_millis(1_500));
    assert_eq!(blocked(&reports), Duration::ZERO, "no worker waited for the sink's queue");
    let handed: u64 = reports.iter().flat_map(|r| &r.outputs).map(|o| o.stats().changes).sum();
    assert!(handed > 1_000, "{handed} changes handed over");
    assert!(common::comparable(&slow.rows()) == expected, "{}", diff(&expected, &common::comparable(&slow.rows())));
}

/// A sink that takes every change and does not return from its first `advance` (a commit)
/// until it is let go.
struct Stuck {
    go: Arc<AtomicBool>,
}

impl<K, V> Sink<K, V> for Stuck {
    fn apply(&mut self, _time: u64, _changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        Ok(())
    }

    fn advance(&mut self, _frontier: Option<u64>) -> Result<(), SinkError> {
        wait_for(&self.go);
        Ok(())
    }
}

#[test]
fn a_background_output_stuck_in_a_commit_holds_up_no_worker_while_only_its_frontier_moves() {
    // Without the vote ledger the records output has the registries' rows, then only
    // frontiers and read positions, a few hundred of them, while its first commit hangs.
    let expected = expected(20_000);
    let (steady, go) = (Rows::new(false), Arc::new(AtomicBool::new(false)));
    let (s, g) = (steady.clone(), go.clone());
    let config = JobConfig { batch: 200, ledger: false, ..JobConfig::default() };
    let job = std::thread::spawn(move || {
        run_with(config, 20_000, 2, move |index| JobOutputs {
            results: vec![Output::new("steady", s.for_worker(index))],
            records: vec![Output::background("stuck", Stuck { go: g.clone() })],
        })
    });
    // Every result is out while the records output is still in its first commit.
    let deadline = Instant::now() + Duration::from_secs(30);
    while common::comparable(&steady.rows()) != expected {
        assert!(Instant::now() < deadline, "the stuck output held the workers back: {}", diff(&expected, &common::comparable(&steady.rows())));
        std::thread::sleep(Duration::from_millis(20));
    }
    go.store(true, Ordering::Relaxed);
    let reports: Vec<WorkerReport> = job.join().unwrap().into_iter().map(|r| r.expect("a stuck commit that ends is no failure")).collect();
    assert_eq!(blocked(&reports), Duration::ZERO, "no worker waited for the stuck output");
}

/// Counts the changes handed over for a time its sink had already been advanced past; each
/// advance takes a millisecond, so changes queue up behind it.
struct InOrder {
    advanced: Option<u64>,
    late: Arc<AtomicUsize>,
}

impl Sink<u64, u64> for InOrder {
    fn apply(&mut self, time: u64, changes: Vec<Change<u64, u64>>) -> Result<(), SinkError> {
        if self.advanced.is_none_or(|f| time < f) {
            self.late.fetch_add(changes.len(), Ordering::Relaxed);
        }
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        std::thread::sleep(Duration::from_millis(1));
        self.advanced = frontier;
        Ok(())
    }
}

#[test]
fn a_background_sink_is_never_advanced_past_changes_it_has_not_been_handed() {
    // Changes every third round, frontiers alone in between: the frontiers go into the slot
    // while changes wait in the queue.
    for workers in [1, 2] {
        let late = Arc::new(AtomicUsize::new(0));
        let shared = late.clone();
        timely::execute(timely::Config::process(workers), move |worker| {
            let index = worker.index() as u64;
            let sink = InOrder { advanced: Some(0), late: shared.clone() };
            let (mut changes, report) = worker.dataflow::<u64, _, _>(|scope| {
                let (changes, collection) = scope.new_collection::<(u64, u64), isize>();
                (changes, collection.sink_output(Output::background("in order", sink)))
            });
            for round in 0..300 {
                if round % 3 == 0 {
                    changes.update((index, round), 1);
                }
                changes.advance_to(round + 1);
                changes.flush();
                worker.step();
            }
            drop(changes);
            while !report.done() {
                worker.step_or_park(Some(Duration::from_millis(1)));
            }
        })
        .unwrap()
        .join()
        .into_iter()
        .for_each(Result::unwrap);
        assert_eq!(late.load(Ordering::Relaxed), 0, "{workers} workers: changes came after the sink had advanced past their time");
    }
}

/// A frontier a sink advanced to, and the positions it had been handed.
type Advance = (Option<u64>, SourcePositions);

/// Records every [`Advance`] of the sinks.
#[derive(Clone, Default)]
struct PositionLog(Arc<std::sync::Mutex<Vec<Advance>>>);

struct PositionSink {
    log: PositionLog,
    positions: SourcePositions,
}

impl Sink<u64, u64> for PositionSink {
    fn apply(&mut self, _time: u64, _changes: Vec<Change<u64, u64>>) -> Result<(), SinkError> {
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        self.log.0.lock().unwrap().push((frontier, self.positions.clone()));
        Ok(())
    }

    fn positions(&mut self, positions: &SourcePositions) {
        self.positions = positions.clone();
    }
}

#[test]
fn every_sink_is_handed_the_positions_of_every_worker_before_its_frontier() {
    // Each worker reads its own partition, one position per round r (next 10 r + 1,
    // admitted by r + 1), with a change at time r. The positions input moves (and sends)
    // only every fourth round, so positions arrive after the changes they cover. At every
    // advance to F, each sink must hold every worker's positions of rounds before F, read
    // and reflected.
    const ROUNDS: u64 = 40;
    for workers in [1, 2, 4] {
        for background in [false, true] {
            let log = PositionLog::default();
            let shared = log.clone();
            timely::execute(timely::Config::process(workers), move |worker| {
                let index = worker.index();
                let sink = PositionSink { log: shared.clone(), positions: SourcePositions::default() };
                let output = if background { Output::background("positions", sink) } else { Output::new("positions", sink) };
                let (mut positions, mut changes, report) = worker.dataflow::<u64, _, _>(|scope| {
                    let (positions, stream) = PositionInput::new(scope);
                    let (changes, collection) = scope.new_collection::<(u64, u64), isize>();
                    let report = collection.sink_output_with(output, stream);
                    (positions, changes, report)
                });
                for round in 0..ROUNDS {
                    positions.send(ReadPosition { partition: format!("source/{index}"), next: 10 * round as i64 + 1, reflected_by: Some(round + 1) });
                    changes.update((index as u64, round), 1);
                    if round > 0 {
                        changes.update((index as u64, round - 1), -1);
                    }
                    changes.advance_to(round + 1);
                    changes.flush();
                    if round % 4 == 3 {
                        positions.advance_to(round + 1);
                    }
                    worker.step();
                }
                // As a job does: the inputs close, and the worker waits for its sink (a
                // background one delivers on its own thread) to deliver everything.
                drop((positions, changes));
                while !report.done() {
                    worker.step_or_park(Some(Duration::from_millis(1)));
                }
            })
            .unwrap()
            .join()
            .into_iter()
            .for_each(Result::unwrap);
            let label = format!("{workers} workers, {}", if background { "background" } else { "inline" });
            let advances = log.0.lock().unwrap().clone();
            assert!(advances.len() >= workers, "{label}: {advances:?}");
            for (frontier, positions) in advances {
                let before = frontier.map_or(ROUNDS, |f| f.min(ROUNDS));
                if before == 0 {
                    continue;
                }
                let target: Positions = (0..workers).map(|w| (format!("source/{w}"), 10 * (before as i64 - 1) + 1)).collect();
                for (partition, next) in &target {
                    let read = positions.read().get(partition).copied();
                    assert!(read >= Some(*next), "{label}: at frontier {frontier:?}, {partition} read to {read:?}, not {next}");
                }
                assert!(positions.reached(&target).is_some(), "{label}: at frontier {frontier:?}, the positions before it are known reflected");
            }
        }
    }
}

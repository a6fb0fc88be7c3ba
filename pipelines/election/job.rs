//! One worker's share of an election job: read a source into an [`ElectionFeed`], run the
//! pipeline, deliver the results to a sink.
//!
//! Every worker reads its own share of every input ([`Share`]): registries first (at time
//! 0), then votes in delivery order, flushing and stepping the dataflow every
//! [`JobConfig::batch`] votes. A worker never runs more than one batch ahead of what the
//! dataflow has finished, so memory stays bounded however large the input.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use timely::worker::Worker;

use super::results::{ResultKey, ResultRow};
use super::{build, ElectionFeed, RejectedVote};
use crate::connectors::clock::ClockConfig;
use crate::connectors::dataset::{self, read_jsonl_from, DeadLetter, Share};
use crate::connectors::generator::Election;
use crate::connectors::sink::{Routing, Sink, SinkExt, SinkReport};

/// Where a job's data comes from.
#[derive(Clone)]
pub enum Source {
    /// An election generated in this process (every process generates the same one).
    Generated(Arc<Election>),
    /// A data-set directory of JSON Lines files.
    Directory(PathBuf),
    /// The same files' bytes, already in memory (benchmarks).
    Bytes(Arc<DatasetBytes>),
}

/// The contents of a data set's files.
#[derive(Clone, Debug, Default)]
pub struct DatasetBytes {
    /// `candidates.jsonl`.
    pub candidates: Vec<u8>,
    /// `polling_stations.jsonl`.
    pub stations: Vec<u8>,
    /// `voters.jsonl`.
    pub voters: Vec<u8>,
    /// `votes.jsonl`.
    pub votes: Vec<u8>,
}

impl DatasetBytes {
    /// Serialises a generated election as its data-set files would hold it.
    pub fn of(election: &Election) -> Self {
        fn lines<T: serde::Serialize>(records: &[T]) -> Vec<u8> {
            let mut out = Vec::new();
            for r in records {
                serde_json::to_writer(&mut out, r).expect("records serialise");
                out.push(b'\n');
            }
            out
        }
        DatasetBytes {
            candidates: lines(&election.candidates),
            stations: lines(&election.stations),
            voters: lines(&election.voters),
            votes: lines(&election.votes),
        }
    }
}

/// How a job runs.
#[derive(Clone, Copy, Debug)]
pub struct JobConfig {
    /// Event time to timely time.
    pub clock: ClockConfig,
    /// Votes a worker admits between flushes.
    pub batch: usize,
    /// Which worker delivers which result keys.
    pub routing: Routing,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig { clock: ClockConfig::default(), batch: 20_000, routing: Routing::ByKey }
    }
}

/// Live counters, shared by the workers of a process (for progress displays).
#[derive(Debug, Default)]
pub struct JobProgress {
    /// Votes admitted.
    pub votes: AtomicU64,
    /// Dead letters.
    pub dead_letters: AtomicU64,
    /// Workers that have finished (or failed).
    pub finished: std::sync::atomic::AtomicUsize,
    /// Each worker's watermark.
    pub watermarks: Mutex<BTreeMap<usize, u64>>,
}

impl JobProgress {
    /// The least watermark over the workers that have reported one.
    pub fn watermark(&self) -> Option<u64> {
        self.watermarks.lock().expect("progress poisoned").values().min().copied()
    }
}

/// What one worker did.
#[derive(Debug, Default)]
pub struct WorkerReport {
    /// Votes admitted.
    pub votes: u64,
    /// Of which late.
    pub late: u64,
    /// Rejected records, per reason kind.
    pub dead_letters: BTreeMap<&'static str, u64>,
    /// The first few dead letters, as examples.
    pub dead_letter_samples: Vec<DeadLetter>,
    /// Sink counters.
    pub sink: SinkReport,
}

impl WorkerReport {
    /// Total dead letters.
    pub fn dead_letter_total(&self) -> u64 {
        self.dead_letters.values().sum()
    }
}

/// Dead letters logged per reason kind before going quiet.
const LOGGED_PER_KIND: u64 = 5;

fn dead_letter(report: &mut WorkerReport, progress: &JobProgress, letter: DeadLetter) {
    let count = report.dead_letters.entry(letter.reason.kind()).or_default();
    *count += 1;
    progress.dead_letters.fetch_add(1, Ordering::Relaxed);
    if *count <= LOGGED_PER_KIND {
        tracing::warn!(source = %letter.source, position = letter.position, reason = %letter.reason, "dead letter{}",
            if *count == LOGGED_PER_KIND { " (further ones of this kind are counted, not logged)" } else { "" });
    }
    if report.dead_letter_samples.len() < 100 {
        report.dead_letter_samples.push(letter);
    }
}

/// The dead letter of a vote the feed refused.
fn rejection(seq: u64, rejected: RejectedVote) -> DeadLetter {
    let payload = serde_json::to_vec(&rejected.vote).unwrap_or_default();
    DeadLetter::new(dataset::VOTES, seq, rejected.reason, &payload)
}

/// Runs this worker's share of the job to completion.
pub fn run_worker<S>(worker: &mut Worker, source: &Source, sink: S, config: &JobConfig, progress: &JobProgress) -> std::io::Result<WorkerReport>
where
    S: Sink<ResultKey, ResultRow> + 'static,
{
    let started = std::time::Instant::now();
    let share = Share::of(worker.index(), worker.peers());
    let (clock, routing) = (config.clock, config.routing);
    let (mut feed, probe, sink_report) = worker.dataflow::<u64, _, _>(|scope| {
        let (feed, inputs) = ElectionFeed::new(scope, clock);
        let outputs = build(inputs);
        let (probe, results) = outputs.results.probe();
        let report = results.sink_into_routed("ElectionResults", routing, sink);
        (feed, probe, report)
    });
    // Both the record and the dead-letter callbacks of a reader report dead letters.
    let report = RefCell::new(WorkerReport { sink: sink_report, ..Default::default() });
    let reject = |letter: DeadLetter| dead_letter(&mut report.borrow_mut(), progress, letter);

    // Registries, at time 0.
    match source {
        Source::Generated(election) => {
            for (seq, c) in election.candidates.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                feed.candidate(seq as u64, c.clone());
            }
            for (seq, s) in election.stations.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                if let Err(reason) = feed.station(seq as u64, s.clone()) {
                    reject(DeadLetter::new(dataset::POLLING_STATIONS, seq as u64, reason, s.polling_station_id.as_bytes()));
                }
            }
            for (seq, v) in election.voters.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                feed.voter(seq as u64, v.clone());
            }
        }
        Source::Directory(_) | Source::Bytes(_) => {
            read(source, dataset::CANDIDATES, share, |seq, c| { feed.candidate(seq, c); }, &reject)?;
            read(source, dataset::POLLING_STATIONS, share, |seq, s: dataset::PollingStation| {
                let payload = serde_json::to_vec(&s).unwrap_or_default();
                if let Err(reason) = feed.station(seq, s) {
                    reject(DeadLetter::new(dataset::POLLING_STATIONS, seq, reason, &payload));
                }
            }, &reject)?;
            read(source, dataset::VOTERS, share, |seq, v| { feed.voter(seq, v); }, &reject)?;
        }
    }
    // Let the registries settle before the first vote, so the log can say what they cost.
    feed.advance_to(1);
    feed.flush();
    worker.step_while(|| probe.less_than(&1));
    if worker.index() == 0 {
        tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "registries loaded");
    }

    // Votes, in delivery order, with backpressure.
    let mut stepper = Stepper { worker: worker.index(), batch: config.batch.max(1), pending: 0, lagging: 0 };
    match source {
        Source::Generated(election) => {
            for (seq, vote) in election.votes.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
                if let Err(rejected) = feed.vote(vote.clone()) {
                    reject(rejection(seq as u64, *rejected));
                }
                stepper.after_vote(worker, &mut feed, &probe, progress);
            }
        }
        Source::Directory(_) | Source::Bytes(_) => {
            read(source, dataset::VOTES, share, |seq, vote| {
                if let Err(rejected) = feed.vote(vote) {
                    reject(rejection(seq, *rejected));
                }
                stepper.after_vote(worker, &mut feed, &probe, progress);
            }, &reject)?;
        }
    }
    let mut report = report.into_inner();
    stepper.publish(&feed, progress);
    report.votes = feed.votes();
    report.late = feed.late();
    drop(feed);
    worker.step_while(|| !probe.done());
    Ok(report)
}

/// Flushes every `batch` votes and keeps the dataflow at most one batch behind.
struct Stepper {
    worker: usize,
    batch: usize,
    pending: usize,
    lagging: u64,
}

impl Stepper {
    fn after_vote(&mut self, worker: &mut Worker, feed: &mut ElectionFeed, probe: &timely::dataflow::ProbeHandle<u64>, progress: &JobProgress) {
        self.pending += 1;
        if self.pending < self.batch {
            return;
        }
        feed.flush();
        self.publish(feed, progress);
        let target = self.lagging;
        worker.step_while(|| probe.less_than(&target));
        self.lagging = feed.frontier();
    }

    fn publish(&mut self, feed: &ElectionFeed, progress: &JobProgress) {
        progress.votes.fetch_add(self.pending as u64, Ordering::Relaxed);
        self.pending = 0;
        progress.watermarks.lock().expect("progress poisoned").insert(self.worker, feed.frontier());
    }
}

fn read<T, R, D>(source: &Source, file: &str, share: Share, on_record: R, on_dead_letter: D) -> std::io::Result<u64>
where
    T: serde::de::DeserializeOwned,
    R: FnMut(u64, T),
    D: FnMut(DeadLetter),
{
    let reader: Box<dyn BufRead + '_> = match source {
        Source::Directory(dir) => {
            let path = dir.join(file);
            let f = std::fs::File::open(&path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, f))
        }
        Source::Bytes(bytes) => Box::new(match file {
            dataset::CANDIDATES => &bytes.candidates[..],
            dataset::POLLING_STATIONS => &bytes.stations[..],
            dataset::VOTERS => &bytes.voters[..],
            _ => &bytes.votes[..],
        }),
        Source::Generated(_) => unreachable!("generated elections are not read from files"),
    };
    read_jsonl_from(reader, file, share, on_record, on_dead_letter)
}

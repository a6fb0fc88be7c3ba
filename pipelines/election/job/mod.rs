//! One worker's share of an election job: read a source into an [`ElectionFeed`], run the
//! pipeline, deliver the results to a sink.
//!
//! Every worker reads its own share of every input: registries first (at time 0), then
//! votes, flushing and stepping the dataflow every [`JobConfig::batch`] votes. A worker
//! never runs more than one batch ahead of what the dataflow has finished, so memory stays
//! bounded however large the input.
//!
//! * Files and in-memory data sets ([`Source::Directory`], [`Source::Bytes`],
//!   [`Source::Generated`]) are shared by blocks of lines ([`Share`]); the file is one
//!   partition of event time.
//! * Kafka ([`Source::Kafka`]) is shared by partitions, and each partition has its own
//!   watermark (see [`crate::connectors::clock`] and [`KafkaSource`]).

mod files;
mod kafka;

pub use kafka::KafkaSource;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use super::records::{self, RecordKey, RecordRow};
use super::results::{ResultKey, ResultRow};
use super::{build_with, Detectors, ElectionFeed};
use crate::connectors::clock::{ClockConfig, EventClock};
use crate::connectors::dataset::{DatasetBytes, DeadLetter};
use crate::connectors::generator::Election;
use crate::connectors::kafka::{KafkaError, Publisher};
use crate::connectors::progress::SourceProgress;
use crate::connectors::sink::memory::MemorySink;
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
    /// Kafka topics.
    Kafka(Arc<KafkaSource>),
}

/// Why a job stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Reading a data set failed.
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
    /// Kafka could not be read.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
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
    /// With a records sink: include the vote ledger (every vote message with its
    /// position and verdict), not only registries and dead letters.
    pub ledger: bool,
    /// What the pipeline detects beyond the per-vote checks.
    pub detectors: Detectors,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig { clock: ClockConfig::default(), batch: 20_000, routing: Routing::ByKey, ledger: true, detectors: Detectors::default() }
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
    /// How far the readers have read (for sinks that store it, and latency).
    pub sources: Arc<SourceProgress>,
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
    /// Records sink counters, if there is one.
    pub records: Option<SinkReport>,
    /// Kafka only: the next offset of every partition this worker read, as
    /// `(topic, partition, offset)`.
    pub positions: Vec<(String, i32, i64)>,
}

impl WorkerReport {
    /// Total dead letters.
    pub fn dead_letter_total(&self) -> u64 {
        self.dead_letters.values().sum()
    }
}

/// Runs this worker's share of the job to completion, delivering the results to `sink`.
pub fn run_worker<S>(worker: &mut Worker, source: &Source, sink: S, config: &JobConfig, progress: &JobProgress) -> Result<WorkerReport, JobError>
where
    S: Sink<ResultKey, ResultRow> + 'static,
{
    run_worker_recorded(worker, source, sink, None::<MemorySink<RecordKey, RecordRow>>, config, progress)
}

/// As [`run_worker`], with the record tables ([`records`]: registries, dead letters and,
/// with [`JobConfig::ledger`], the vote ledger) delivered to `records` if given. Records
/// are always routed by key.
pub fn run_worker_recorded<S, R>(worker: &mut Worker, source: &Source, sink: S, records: Option<R>, config: &JobConfig, progress: &JobProgress) -> Result<WorkerReport, JobError>
where
    S: Sink<ResultKey, ResultRow> + 'static,
    R: Sink<RecordKey, RecordRow> + 'static,
{
    // Kafka readers open first: the clock has one partition per vote partition read here.
    let readers = match source {
        Source::Kafka(kafka) => Some(kafka::Readers::open(kafka, worker.index(), worker.peers())?),
        _ => None,
    };
    let clock = match &readers {
        Some(readers) => EventClock::partitioned(config.clock, 0, readers.vote_partitions()),
        None => EventClock::new(config.clock, 0),
    };
    let (routing, detectors) = (config.routing, config.detectors);
    let ledger = config.ledger && records.is_some();
    let (feed, probe, sink_report, records_report) = worker.dataflow::<u64, _, _>(|scope| {
        let (mut feed, inputs) = ElectionFeed::with_clock(scope, clock);
        feed.record_sources(ledger);
        let registries = (inputs.candidates.clone(), inputs.stations.clone(), inputs.voters.clone());
        let (sources, dead_letters) = (inputs.sources.clone(), inputs.dead_letters.clone());
        let outputs = build_with(inputs, detectors);
        let (probe, results) = outputs.results.probe();
        let report = results.sink_into_routed("ElectionResults", routing, sink);
        let records_report = records.map(|records_sink| {
            let rows = records::build(registries.0, registries.1, registries.2, ledger.then_some((sources, outputs.statuses)), dead_letters);
            rows.probe_with(&probe).sink_into("ElectionRecords", records_sink)
        });
        (feed, probe, report, records_report)
    });
    let dead_letter_topic = match source {
        Source::Kafka(kafka) => kafka.dead_letters.clone().map(|publisher| (publisher, kafka.topics.dead_letters.clone())),
        _ => None,
    };
    let run = Run {
        index: worker.index(),
        feed,
        probe,
        report: WorkerReport { sink: sink_report, records: records_report, ..Default::default() },
        progress,
        dead_letter_topic,
        batch: config.batch.max(1),
        pending: 0,
        lagging: 0,
        read: BTreeMap::new(),
        arrivals: (None, 0),
        started: std::time::Instant::now(),
        flushed: std::time::Instant::now(),
    };
    let mut run = match (source, readers) {
        (Source::Kafka(kafka), Some(readers)) => kafka::run(worker, run, kafka, readers)?,
        _ => files::run(worker, run, source)?,
    };
    run.flush();
    run.publish_progress();
    run.report.votes = run.feed.votes();
    run.report.late = run.feed.late();
    let Run { feed, probe, report, .. } = run;
    drop(feed);
    worker.step_while(|| !probe.done());
    Ok(report)
}

/// A source that keeps delivering a few votes at a time flushes at least this often, so
/// results follow live input closely.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Dead letters logged per reason kind before going quiet.
const LOGGED_PER_KIND: u64 = 5;

/// One worker's running job: the feed, the probe, what has been reported, and the
/// backpressure bookkeeping.
struct Run<'a> {
    index: usize,
    feed: ElectionFeed,
    probe: ProbeHandle<u64>,
    report: WorkerReport,
    progress: &'a JobProgress,
    dead_letter_topic: Option<(Arc<Publisher>, String)>,
    batch: usize,
    /// Votes admitted since the last flush.
    pending: usize,
    /// The frontier at the last flush: the dataflow must pass it before the next batch.
    lagging: u64,
    /// Next position per source and partition, published to [`JobProgress::sources`] at
    /// each flush.
    read: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Since the last flush: the earliest arrival time (ms since the epoch) and the count.
    arrivals: (Option<i64>, u64),
    started: std::time::Instant,
    /// When the feed was last flushed.
    flushed: std::time::Instant,
}

impl Run<'_> {
    /// Counts, logs (a few per kind), keeps a sample of and publishes a dead letter.
    fn dead_letter(&mut self, letter: DeadLetter) {
        let count = self.report.dead_letters.entry(letter.reason.kind()).or_default();
        *count += 1;
        self.progress.dead_letters.fetch_add(1, Ordering::Relaxed);
        if *count <= LOGGED_PER_KIND {
            tracing::warn!(source = %letter.source, partition = ?letter.partition, position = letter.position, reason = %letter.reason, "dead letter{}",
                if *count == LOGGED_PER_KIND { " (further ones of this kind are counted, not logged)" } else { "" });
        }
        if let Some((publisher, topic)) = &self.dead_letter_topic {
            let key = format!("{}/{}/{}", letter.source, letter.partition.unwrap_or(0), letter.position);
            if let Err(e) = publisher.send(topic, Some(key.as_bytes()), Some(letter.to_json().to_string().as_bytes())) {
                tracing::error!(%e, "could not publish a dead letter");
            }
        }
        self.feed.dead_letter(letter.clone());
        if self.report.dead_letter_samples.len() < 100 {
            self.report.dead_letter_samples.push(letter);
        }
    }

    /// The reader has read `partition` of `source` up to `next` (exclusive); the message
    /// arrived at `arrived_ms` (ms since the epoch), or now if unknown.
    fn read(&mut self, source: &str, partition: i32, next: i64, arrived_ms: Option<i64>) {
        match self.read.get_mut(source) {
            Some(partitions) => {
                partitions.insert(partition, next);
            }
            None => {
                self.read.insert(source.to_string(), BTreeMap::from([(partition, next)]));
            }
        }
        let (earliest, count) = &mut self.arrivals;
        if earliest.is_none() || arrived_ms.is_some_and(|ms| Some(ms) < *earliest) {
            *earliest = Some(arrived_ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()));
        }
        *count += 1;
    }

    /// Publishes how far this worker has read, then sends what the feed buffered.
    fn flush(&mut self) {
        let sources = &self.progress.sources;
        let reflected_by = self.feed.reflected_by();
        for (source, partitions) in &self.read {
            for (partition, next) in partitions {
                sources.publish(source, *partition, *next, reflected_by);
            }
        }
        if let (Some(arrived), count) = std::mem::take(&mut self.arrivals) {
            sources.arrived(reflected_by, arrived, count);
        }
        self.feed.flush();
        self.flushed = std::time::Instant::now();
    }

    /// Registries are loaded: let them settle at time 0 before the first vote, so the log
    /// can say what they cost.
    fn registries_loaded(&mut self, worker: &mut Worker) {
        self.feed.advance_to(1);
        self.flush();
        let probe = &self.probe;
        worker.step_while(|| probe.less_than(&1));
        if self.index == 0 {
            tracing::info!(elapsed_s = self.started.elapsed().as_secs_f64(), "registries loaded");
        }
    }

    /// `n` more votes were admitted: every `batch` votes, or every [`FLUSH_INTERVAL`] while
    /// votes trickle in, flush and let the dataflow catch up with the previous flush.
    fn admitted(&mut self, worker: &mut Worker, n: usize) {
        self.pending += n;
        if self.pending < self.batch && self.flushed.elapsed() < FLUSH_INTERVAL {
            return;
        }
        self.flush();
        self.publish_progress();
        let (probe, target) = (&self.probe, self.lagging);
        worker.step_while(|| probe.less_than(&target));
        self.lagging = self.feed.frontier();
    }

    /// Nothing to read right now: flush what there is and let the dataflow work for at most
    /// `park`.
    fn idle(&mut self, worker: &mut Worker, park: Duration) {
        self.flush();
        self.publish_progress();
        self.lagging = self.feed.frontier();
        worker.step_or_park(Some(park));
    }

    fn publish_progress(&mut self) {
        self.progress.votes.fetch_add(self.pending as u64, Ordering::Relaxed);
        self.pending = 0;
        self.progress.watermarks.lock().expect("progress poisoned").insert(self.index, self.feed.frontier());
    }
}

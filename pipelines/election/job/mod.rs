//! One worker's share of an election job: read a source into an [`ElectionFeed`], run the
//! pipeline, deliver the results to its outputs.
//!
//! Every worker reads its own share of every input: registries first (at time 0), then
//! votes, flushing and stepping the dataflow every [`JobConfig::batch`] votes. A worker
//! never runs more than one batch ahead of what the dataflow has finished, so memory stays
//! bounded however large the input.
//!
//! * Files and in-memory data sets ([`Source::Directory`], [`Source::Bytes`],
//!   [`Source::Generated`]) are shared by blocks of lines ([`Share`]); the file is one
//!   partition of event time.
//! * A streamed election ([`Source::Streamed`]) is drawn by the workers, each its own range
//!   of voters (see [`StreamedElection`]); its votes are one partition of event time per
//!   worker.
//! * Kafka ([`Source::Kafka`]) is shared by partitions, and each partition has its own
//!   watermark (see [`crate::connectors::clock`] and [`KafkaSource`]).
//!
//! **Outputs** ([`JobOutputs`]) are named sinks, each its own operator: the results (a
//! results file, result topics, PostgreSQL) and the records (registries, vote ledger, dead
//! letters). When one fails for good (or the dead-letter topic does), every worker of the
//! job stops reading, the inputs close so the other outputs complete what was read, and
//! each worker returns [`JobError::Output`] with the failure and its report.
//!
//! [`Share`]: crate::connectors::dataset::Share

mod files;
mod kafka;
mod profile;
mod signals;
mod streamed;

pub use kafka::{output_topics, KafkaSource};
pub use signals::StopRequest;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use super::model::Ballot;
use super::records::{self, RecordKey, RecordRow};
use super::results::{ResultKey, ResultRow};
use super::{build_with, Detectors, ElectionFeed, RejectedVote};
use crate::connectors::clock::{ClockConfig, EventClock};
use crate::connectors::dataset::lines::estimate_lines;
use crate::connectors::dataset::{self, Candidate, DatasetBytes, DeadLetter, PollingStation, Share, SourcePosition, Vote};
use crate::connectors::generator::{Election, StreamedElection};
use crate::connectors::kafka::{KafkaError, Publisher};
use crate::connectors::progress::{position_key, PositionInput, ReadPosition, SourceProgress};
use crate::connectors::sink::{Output, Sink, SinkError, SinkExt, SinkReport};
use crate::connectors::table::Record;
use signals::JobSignals;

/// Where a job's data comes from.
#[derive(Clone)]
pub enum Source {
    /// An election generated in this process (every process generates the same one).
    Generated(Arc<Election>),
    /// An election drawn by the workers as they read it, each its own share: any size.
    Streamed(Arc<StreamedElection>),
    /// A data-set directory of JSON Lines files.
    Directory(PathBuf),
    /// The same files' bytes, already in memory (benchmarks).
    Bytes(Arc<DatasetBytes>),
    /// Kafka topics.
    Kafka(Arc<KafkaSource>),
}

/// About how many voter records `source` holds (see [`super::ElectionInputs::expected_voters`]).
fn expected_voters(source: &Source) -> u64 {
    match source {
        Source::Generated(election) => election.voters.len() as u64,
        Source::Streamed(election) => election.voter_count(),
        Source::Directory(dir) => std::fs::File::open(dir.join(dataset::VOTERS)).map_or(0, |file| estimate_lines(&file)),
        Source::Bytes(bytes) => estimate_lines(bytes.file(dataset::VOTERS)),
        // The registry topic's offsets would say; the state grows as it is read.
        Source::Kafka(_) => 0,
    }
}

/// Where a job's results and records go: named outputs, each attached as its own sink
/// operator.
#[derive(Default)]
pub struct JobOutputs {
    /// The result tables.
    pub results: Vec<Output<ResultKey, ResultRow>>,
    /// The record tables ([`records`]: registries, dead letters and, with
    /// [`JobConfig::ledger`], the vote ledger); left out when empty.
    pub records: Vec<Output<RecordKey, RecordRow>>,
}

impl JobOutputs {
    /// The results to `sink` alone.
    pub fn results(name: &str, sink: impl Sink<ResultKey, ResultRow> + 'static) -> Self {
        JobOutputs { results: vec![Output::new(name, sink)], records: Vec::new() }
    }
}

/// An output that failed for good.
#[derive(Clone, Debug, thiserror::Error)]
#[error("output {output:?} failed: {error}")]
pub struct OutputFailure {
    /// The output's name (a sink's, or the dead-letter topic).
    pub output: String,
    /// Its error: as the sink returned it on this worker, or as another worker told it.
    pub error: Arc<SinkError>,
}

/// Why a job stopped before its end, or did not deliver everything.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Reading a data set failed.
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
    /// Kafka could not be read.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// An output failed for good (on this worker or another): the job stopped reading, and
    /// the report says what this worker had done.
    #[error("{failure}")]
    Output {
        /// The first failure heard of.
        failure: OutputFailure,
        /// What this worker did.
        report: Box<WorkerReport>,
    },
}

/// How a job runs.
#[derive(Clone, Debug)]
pub struct JobConfig {
    /// Event time to timely time.
    pub clock: ClockConfig,
    /// Votes a worker admits between flushes.
    pub batch: usize,
    /// With record outputs: include the vote ledger (every vote message with its
    /// position and verdict), not only registries and dead letters.
    pub ledger: bool,
    /// What the pipeline detects beyond the per-vote checks.
    pub detectors: Detectors,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig { clock: ClockConfig::default(), batch: 20_000, ledger: true, detectors: Detectors::default() }
    }
}

/// Live counters, shared by the workers of a process (for progress displays, the
/// dashboard and metrics).
#[derive(Debug)]
pub struct JobProgress {
    /// Votes admitted.
    pub votes: AtomicU64,
    /// Dead letters per reason kind.
    pub dead_letters: Mutex<BTreeMap<&'static str, u64>>,
    /// Votes admitted late (at the frontier rather than at their own time).
    pub late: AtomicU64,
    /// Registry records read (versions, and deletions).
    pub registry_records: AtomicU64,
    /// The largest event time read so far, ms since the epoch (`i64::MIN` before any).
    pub max_event_ms: std::sync::atomic::AtomicI64,
    /// Workers that have finished (or failed).
    pub finished: std::sync::atomic::AtomicUsize,
    /// Each worker's watermark.
    pub watermarks: Mutex<BTreeMap<usize, u64>>,
    /// How far the readers have read (for sinks that store it, and latency).
    pub sources: Arc<SourceProgress>,
}

impl Default for JobProgress {
    fn default() -> Self {
        JobProgress {
            votes: AtomicU64::new(0),
            dead_letters: Mutex::default(),
            late: AtomicU64::new(0),
            registry_records: AtomicU64::new(0),
            max_event_ms: std::sync::atomic::AtomicI64::new(i64::MIN),
            finished: Default::default(),
            watermarks: Mutex::default(),
            sources: Arc::default(),
        }
    }
}

impl JobProgress {
    /// Dead letters of every reason.
    pub fn dead_letter_total(&self) -> u64 {
        self.dead_letters.lock().expect("progress poisoned").values().sum()
    }

    /// The largest event time read so far, if any.
    pub fn max_event_ms(&self) -> Option<i64> {
        Some(self.max_event_ms.load(Ordering::Relaxed)).filter(|ms| *ms != i64::MIN)
    }

    /// The least watermark over the workers that have reported one; once every one has read
    /// all its input, the largest event time read.
    pub fn watermark(&self) -> Option<u64> {
        match self.watermarks.lock().expect("progress poisoned").values().min().copied() {
            Some(u64::MAX) => self.max_event_ms().map(|ms| ms.max(0) as u64),
            least => least,
        }
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
    /// Each output's counters: the results outputs, then the records outputs.
    pub outputs: Vec<SinkReport>,
    /// Kafka only: the next offset of every partition this worker read, as
    /// `(topic, partition, offset)`.
    pub positions: Vec<(String, i32, i64)>,
    /// Registry records (candidates, stations, voters) this worker read before the first
    /// vote, dead letters included.
    pub registry_records: u64,
    /// When the registries had settled in the dataflow and the first vote could be read.
    pub registries_loaded: Option<Instant>,
}

impl WorkerReport {
    /// Total dead letters.
    pub fn dead_letter_total(&self) -> u64 {
        self.dead_letters.values().sum()
    }
}

/// Runs this worker's share of the job to completion, delivering the results to `sink`
/// (named `"results"`).
pub fn run_worker<S>(worker: &mut Worker, source: &Source, sink: S, config: &JobConfig, progress: &JobProgress) -> Result<WorkerReport, JobError>
where
    S: Sink<ResultKey, ResultRow> + 'static,
{
    run_job(worker, source, JobOutputs::results("results", sink), config, progress)
}

/// Runs this worker's share of the job to completion, delivering results and records to
/// `outputs` (see the module docs).
pub fn run_job(worker: &mut Worker, source: &Source, outputs: JobOutputs, config: &JobConfig, progress: &JobProgress) -> Result<WorkerReport, JobError> {
    // Kafka readers open first: the clock has one partition per vote partition read here.
    let readers = match source {
        Source::Kafka(kafka) => Some(kafka::Readers::open(kafka, worker.index(), worker.peers())?),
        _ => None,
    };
    let clock = match &readers {
        Some(readers) => EventClock::partitioned(config.clock, 0, readers.vote_partitions()),
        None => EventClock::new(config.clock, 0),
    };
    let mut detectors = config.detectors.clone();
    if let Some(projection) = detectors.projection.as_mut() {
        // Votes arrive at least this late: until then a closed station's electors may
        // still have voted.
        projection.lateness_ms = projection.lateness_ms.max(config.clock.max_out_of_orderness_ms as i64);
    }
    let JobOutputs { results: result_outputs, records: record_outputs } = outputs;
    let ledger = config.ledger && !record_outputs.is_empty();
    let profile = profile::OperatorProfile::start(worker);
    let (feed, positions, probe, reports) = worker.dataflow::<u64, _, _>(|scope| {
        let (mut feed, mut inputs) = ElectionFeed::with_clock(scope, clock);
        let (positions, position_stream) = PositionInput::new(scope);
        feed.record_sources(ledger);
        feed.record_voters(!record_outputs.is_empty());
        inputs.statuses = ledger;
        inputs.expected_voters = expected_voters(source);
        let registries = (inputs.candidates.clone(), inputs.stations.clone(), inputs.voter_records.clone());
        let (sources, dead_letters) = (inputs.sources.clone(), inputs.dead_letters.clone());
        let outputs = build_with(inputs, detectors);
        let (probe, results) = outputs.results.probe();
        let mut reports = results.sink_outputs(result_outputs, Some(position_stream.clone()));
        if !record_outputs.is_empty() {
            let rows = records::build(registries.0, registries.1, registries.2, ledger.then_some((sources, outputs.statuses)), dead_letters);
            let rows = rows.probe_with(&probe);
            reports.extend(rows.sink_outputs(record_outputs, Some(position_stream)));
        }
        (feed, positions, probe, reports)
    });
    let dead_letter_topic = match source {
        Source::Kafka(kafka) => kafka.dead_letters.clone().map(|publisher| (publisher, kafka.topics.dead_letters.clone())),
        _ => None,
    };
    let run = Run {
        index: worker.index(),
        feed,
        positions,
        probe,
        signals: JobSignals::new(worker),
        report: WorkerReport { outputs: reports, ..Default::default() },
        progress,
        dead_letter_topic,
        partitioned: readers.is_some(),
        batch: config.batch.max(1),
        pending: 0,
        published: (0, 0),
        lagging: 0,
        read: BTreeMap::new(),
        arrivals: (None, 0),
        started: Instant::now(),
        flushed: Instant::now(),
        profile,
    };
    let mut run = match (source, readers) {
        (Source::Kafka(kafka), Some(readers)) => kafka::run(worker, run, kafka, readers)?,
        (Source::Streamed(election), _) => streamed::run(worker, run, election)?,
        _ => files::run(worker, run, source)?,
    };
    run.end_of_input();
    run.report.votes = run.feed.votes();
    run.report.late = run.feed.late();
    let Run { feed, positions, probe, signals, mut report, dead_letter_topic, profile, .. } = run;
    drop((feed, positions));
    // Until everything this worker read is delivered, or its outputs have failed. Parking
    // (briefly) leaves the cores to background sinks that are still writing.
    worker.step_or_park_while(Some(Duration::from_millis(1)), || !probe.done() || !report.outputs.iter().all(SinkReport::done));
    if let Some(profile) = &profile {
        profile.report(worker, "votes", 25);
    }
    let mut failure = report.outputs.iter().find_map(|output| output.error().map(|error| OutputFailure { output: output.name().to_string(), error }));
    if let Some((publisher, topic)) = &dead_letter_topic {
        if let Err(e) = publisher.flush() {
            failure.get_or_insert(dead_letter_failure(topic, e));
        }
    }
    let failure = failure.or_else(|| signals.stop_requested().map(|StopRequest { output, error }| OutputFailure { output, error: Arc::new(SinkError::permanent(error)) }));
    drop(signals);
    match failure {
        Some(failure) => Err(JobError::Output { failure, report: Box::new(std::mem::take(&mut report)) }),
        None => Ok(report),
    }
}

fn dead_letter_failure(topic: &str, error: KafkaError) -> OutputFailure {
    OutputFailure { output: format!("dead-letter topic {topic}"), error: Arc::new(SinkError::permanent(error)) }
}

/// A source that keeps delivering a few votes at a time flushes at least this often, so
/// results follow live input closely.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// A source with nothing to read right now flushes what it has at most this often: each
/// flush is a batch of work for every operator, and a source that keeps finding a few
/// messages at a time would otherwise flush at every look.
const IDLE_FLUSH_GAP: Duration = Duration::from_millis(10);

/// How far a partition is read (`next`), and what was last sent of it into the dataflow
/// (the position, and whether it was reflected).
#[derive(Clone, Copy, Debug, Default)]
struct ReadUpTo {
    next: i64,
    sent: Option<(i64, bool)>,
}

/// Dead letters logged per reason kind before going quiet.
const LOGGED_PER_KIND: u64 = 5;

/// One worker's running job: the feed, the probe, what has been reported, and the
/// backpressure bookkeeping.
struct Run<'a> {
    index: usize,
    feed: ElectionFeed,
    /// Where the readers' positions go into the dataflow, for the sinks.
    positions: PositionInput,
    probe: ProbeHandle<u64>,
    signals: JobSignals,
    report: WorkerReport,
    progress: &'a JobProgress,
    dead_letter_topic: Option<(Arc<Publisher>, String)>,
    /// Whether the source has partitions (Kafka) rather than lines of a file.
    partitioned: bool,
    batch: usize,
    /// Votes admitted since the last flush.
    pending: usize,
    /// Late votes and registry records already added to the shared [`JobProgress`].
    published: (u64, u64),
    /// The frontier at the last flush: the dataflow must pass it before the next batch.
    lagging: u64,
    /// Per source and partition, how far it is read, sent into the dataflow and published
    /// to [`JobProgress::sources`] at the flushes that have news of it.
    read: BTreeMap<String, BTreeMap<i32, ReadUpTo>>,
    /// Since the last flush: the earliest arrival time (ms since the epoch) and the count.
    arrivals: (Option<i64>, u64),
    started: Instant,
    /// When the feed was last flushed.
    flushed: Instant,
    /// Per-operator times, if asked for ([`profile::ENV`]).
    profile: Option<profile::OperatorProfile>,
}

impl Run<'_> {
    /// Counts, logs (a few per kind), keeps a sample of and publishes a dead letter.
    fn dead_letter(&mut self, letter: DeadLetter) {
        let count = self.report.dead_letters.entry(letter.reason.kind()).or_default();
        *count += 1;
        *self.progress.dead_letters.lock().expect("progress poisoned").entry(letter.reason.kind()).or_default() += 1;
        if *count <= LOGGED_PER_KIND {
            tracing::warn!(source = %letter.source, reason = %letter.reason, "dead letter{}",
                if *count == LOGGED_PER_KIND { " (further ones of this kind are counted, not logged)" } else { "" });
        }
        if let Some((publisher, topic)) = &self.dead_letter_topic {
            let (key, row) = (letter.key_json().to_string(), letter.to_json().to_string());
            if let Err(e) = publisher.send(topic, Some(key.as_bytes()), Some(row.as_bytes())) {
                let failure = dead_letter_failure(topic, e);
                self.signals.stop(StopRequest { output: failure.output, error: failure.error.to_string() });
            }
        }
        self.feed.dead_letter(letter.clone());
        if self.report.dead_letter_samples.len() < 100 {
            self.report.dead_letter_samples.push(letter);
        }
    }

    /// A vote read at `position` of the source's `partition`: admitted now, held, or (now
    /// or later, with the votes held before it) a dead letter.
    fn vote(&mut self, partition: u32, ballot: Ballot, position: SourcePosition) {
        self.feed.ballot_at(partition, ballot, Some(position));
        self.refused();
    }

    /// Turns the votes the feed refused into dead letters.
    fn refused(&mut self) {
        let refused: Vec<RejectedVote> = self.feed.refused().collect();
        for RejectedVote { reason, ballot, position } in refused {
            let payload = serde_json::to_vec(&Vote::from(&ballot)).unwrap_or_default();
            let position = position.expect("the job gives every vote its position");
            let letter = match self.partitioned {
                true => DeadLetter::message(&position.topic, position.partition, position.offset, reason, &payload),
                false => DeadLetter::new(&position.topic, position.offset.max(0) as u64, reason, &payload),
            };
            self.dead_letter(letter);
        }
    }

    /// The reader has read `partition` of `source` up to `next` (exclusive).
    fn read(&mut self, source: &str, partition: i32, next: i64) {
        match self.read.get_mut(source) {
            Some(partitions) => partitions.entry(partition).or_default().next = next,
            None => {
                self.read.insert(source.to_string(), BTreeMap::from([(partition, ReadUpTo { next, sent: None })]));
            }
        }
    }

    /// A vote arrived at `arrived_ms` (ms since the epoch), or now if unknown: its
    /// arrival-to-commit latency is measured (registries, loaded in bulk, are not).
    fn arrived(&mut self, arrived_ms: Option<i64>) {
        let (earliest, count) = &mut self.arrivals;
        if earliest.is_none() || arrived_ms.is_some_and(|ms| Some(ms) < *earliest) {
            *earliest = Some(arrived_ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()));
        }
        *count += 1;
    }

    /// Sends how far this worker has read into the dataflow, at a time no later than what
    /// the feed buffered, then sends that and moves both to the watermark (see
    /// [`crate::connectors::progress`]). While the feed holds votes, they are read but not
    /// yet admitted, so no time is known to reflect the positions.
    fn flush(&mut self) {
        let sources = &self.progress.sources;
        let reflected_by = (self.feed.holding() == 0).then(|| self.feed.reflected_by());
        for (source, partitions) in &mut self.read {
            for (partition, read) in partitions.iter_mut() {
                // A sink keeps the earliest time it heard of a position: only a new position,
                // or one that became reflected, is news.
                let news = (read.next, reflected_by.is_some());
                if read.sent == Some(news) || read.sent == Some((read.next, true)) {
                    continue;
                }
                self.positions.send(ReadPosition { partition: position_key(source, *partition), next: read.next, reflected_by });
                sources.publish(source, *partition, read.next);
                read.sent = Some(news);
            }
        }
        if let (Some(reflected_by), (Some(arrived), count)) = (reflected_by, self.arrivals) {
            sources.arrived(reflected_by, arrived, count);
            self.arrivals = (None, 0);
        }
        self.feed.flush();
        self.positions.advance_to(self.feed.frontier());
        self.flushed = Instant::now();
    }

    /// This worker's share of in-memory candidate and station lists, each record's index its
    /// sequence number; a station the feed rejects is a dead letter of `source`.
    fn small_registries(&mut self, share: Share, candidates: &[Candidate], stations: &[PollingStation], source: &str) {
        for (seq, c) in candidates.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
            self.feed.candidate(seq as u64, c.clone());
        }
        for (seq, s) in stations.iter().enumerate().filter(|(i, _)| share.owns(*i as u64)) {
            if let Err(reason) = self.feed.station(seq as u64, s.clone()) {
                self.dead_letter(DeadLetter::new(source, seq as u64, reason, s.polling_station_id.as_bytes()));
            }
        }
    }

    /// While registries load: send what was read and let the dataflow take it in, so it
    /// does not pile up in the channels.
    fn registry_step(&mut self, worker: &mut Worker) {
        self.feed.flush();
        worker.step();
    }

    /// Registries are loaded: let them settle at time 0 before the first vote, so the log
    /// can say what they cost.
    fn registries_loaded(&mut self, worker: &mut Worker) {
        self.feed.advance_to(1);
        self.flush();
        self.publish_progress();
        let probe = &self.probe;
        worker.step_while(|| probe.less_than(&1));
        if let Some(profile) = &self.profile {
            profile.report(worker, "registries", 10);
        }
        self.report.registry_records = self.feed.registry_records() + self.report.dead_letter_total();
        self.report.registries_loaded = Some(Instant::now());
        if self.index == 0 {
            tracing::info!(elapsed_s = self.started.elapsed().as_secs_f64(), "registries loaded");
        }
    }

    /// `n` more votes were read: every `batch` votes, or every [`FLUSH_INTERVAL`] while
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
        self.tick(false);
        self.check_outputs();
    }

    /// Nothing to read right now: flush what there is (unless the last flush is more recent
    /// than [`IDLE_FLUSH_GAP`]) and let the dataflow work for at most `park`.
    fn idle(&mut self, worker: &mut Worker, park: Duration) {
        let since = self.flushed.elapsed();
        let park = if since < IDLE_FLUSH_GAP {
            (IDLE_FLUSH_GAP - since).min(park)
        } else {
            self.flush();
            self.publish_progress();
            self.lagging = self.feed.frontier();
            park
        };
        worker.step_or_park(Some(park));
        self.tick(false);
        self.check_outputs();
    }

    /// Lets the clock establish its center once it can (wall time passing, another
    /// worker's center heard), and shares this worker's progress with the others.
    fn tick(&mut self, ended: bool) {
        self.feed.settle(Instant::now(), ended, self.signals.center_heard());
        self.refused();
        self.signals.center(self.feed.clock().center());
        self.signals.max_seen(self.feed.clock().max_seen());
    }

    /// The input is over (or the job stops): every held vote is judged, the rest flushed.
    fn end_of_input(&mut self) {
        self.tick(true);
        self.flush();
        self.publish_progress();
        // Nothing more comes from this worker: it holds no time back.
        self.progress.watermarks.lock().expect("progress poisoned").insert(self.index, u64::MAX);
    }

    /// Whether the job must stop reading: an output failed, here or on another worker.
    fn stopping(&self) -> bool {
        self.signals.stop_requested().is_some()
    }

    /// Asks every worker to stop if one of this worker's outputs failed for good.
    fn check_outputs(&mut self) {
        let failed = self.report.outputs.iter().find_map(|output| output.error().map(|error| (output.name().to_string(), error)));
        let dead_letters = self.dead_letter_topic.as_ref().and_then(|(publisher, topic)| publisher.failure().map(|e| dead_letter_failure(topic, e)));
        let failure = failed.map(|(output, error)| OutputFailure { output, error }).or(dead_letters);
        if let Some(failure) = failure {
            self.signals.stop(StopRequest { output: failure.output, error: failure.error.to_string() });
        }
    }

    fn publish_progress(&mut self) {
        let progress = &self.progress;
        progress.votes.fetch_add(self.pending as u64, Ordering::Relaxed);
        self.pending = 0;
        let (late, registry) = (self.feed.late(), self.feed.registry_records());
        progress.late.fetch_add(late - self.published.0, Ordering::Relaxed);
        progress.registry_records.fetch_add(registry - self.published.1, Ordering::Relaxed);
        self.published = (late, registry);
        if let Some(ms) = self.feed.clock().max_seen() {
            progress.max_event_ms.fetch_max(ms as i64, Ordering::Relaxed);
        }
        self.progress.watermarks.lock().expect("progress poisoned").insert(self.index, self.feed.frontier());
    }
}

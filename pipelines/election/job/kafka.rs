//! Kafka: each worker reads the partitions it owns, each vote partition with its own
//! watermark.
//!
//! 1. Registry topics are read to their current end at time 0 (upserts by key; a null
//!    value deletes), then the dataflow settles.
//! 2. Votes are read partition by partition, each admitted by the worker's
//!    [`EventClock`](crate::connectors::clock::EventClock) under its partition. Bounded runs
//!    stop when every vote partition has been read to the end it had at start; unbounded
//!    runs also follow the registry topics, and stop when [`KafkaSource::shutdown`] is set.
//! 3. Unbounded runs look for partitions added to the topics every
//!    [`DISCOVERY_INTERVAL`]: each is read from its earliest offset by the worker that owns
//!    it under the static rule ([`crate::connectors::kafka::owner`]), a new vote partition
//!    with its own watermark.
//! 4. A worker whose vote partitions are all idle (or that has none) follows the job's
//!    watermark, learned from every worker's largest event time through the job's
//!    [signals](super::signals), so it never holds the others back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::message::BorrowedMessage;
use rdkafka::Message;
use timely::worker::Worker;

use super::{JobError, Run};
use crate::connectors::dataset::{self, DeadLetter, SourcePosition, Vote};
use crate::connectors::kafka::{decode, Decoded, KafkaConfig, KafkaError, Polled, Publisher, StartPosition, TopicReader, TopicSpec, Topics};
use crate::connectors::progress::PartitionHealth;
use crate::connectors::table::TableRow;
use crate::pipelines::election::model::{Ballot, Text};
use crate::pipelines::election::results::ResultRow;

/// A Kafka source for the election job.
pub struct KafkaSource {
    /// Brokers and client settings.
    pub config: KafkaConfig,
    /// Topic names.
    pub topics: Topics,
    /// Where vote partitions start (registries are always read from the earliest offset).
    pub start: StartPosition,
    /// Read every vote partition to the end it had at start, then finish; otherwise run
    /// until [`KafkaSource::shutdown`].
    pub bounded: bool,
    /// Set it to stop a run gracefully, bounded or not: the inputs close, the results of
    /// what was read are completed and delivered, and the workers report.
    pub shutdown: Arc<AtomicBool>,
    /// Where to publish dead letters (to [`Topics::dead_letters`]), if anywhere. A
    /// delivery failure stops the job (see [`super`]).
    pub dead_letters: Option<Arc<Publisher>>,
}

impl KafkaSource {
    /// A bounded source of the default topics from their earliest offsets, publishing no
    /// dead letters.
    pub fn new(config: KafkaConfig) -> Self {
        KafkaSource { config, topics: Topics::default(), start: StartPosition::Earliest, bounded: true, shutdown: Arc::default(), dead_letters: None }
    }
}

/// The topics a job publishes to, to make sure of before it starts
/// ([`crate::connectors::kafka::ensure_topics`]): dead letters, and with `results` one
/// compacted topic per result table (a single partition each: they are small), which then
/// holds exactly the current table.
pub fn output_topics(topics: &Topics, results: bool) -> Vec<TopicSpec> {
    let dead_letters = TopicSpec { name: topics.dead_letters.clone(), partitions: 1, settings: Vec::new() };
    let tables = ResultRow::tables().iter().filter(|_| results);
    let result_topics = tables.map(|table| TopicSpec { name: table.topic.to_string(), partitions: 1, settings: vec![("cleanup.policy", "compact")] });
    std::iter::once(dead_letters).chain(result_topics).collect()
}

/// One worker's readers.
pub(super) struct Readers {
    registries: Vec<(TopicReader, &'static str)>,
    votes: TopicReader,
}

impl Readers {
    pub(super) fn open(source: &KafkaSource, index: usize, peers: usize) -> Result<Self, KafkaError> {
        let mut registries = Vec::new();
        for (topic, file) in source.topics.registries() {
            registries.push((TopicReader::open(&source.config, topic, index, peers, &StartPosition::Earliest)?, file));
        }
        let votes = TopicReader::open(&source.config, &source.topics.votes, index, peers, &source.start)?;
        Ok(Readers { registries, votes })
    }

    pub(super) fn vote_partitions(&self) -> Vec<u32> {
        self.votes.partitions().map(|p| p as u32).collect()
    }
}

/// Registry messages read per topic per round in unbounded runs.
const REGISTRY_ROUND: usize = 1_000;

pub(super) fn run<'a>(worker: &mut Worker, mut run: Run<'a>, source: &KafkaSource, mut readers: Readers) -> Result<Run<'a>, JobError> {
    let mut errors = ErrorLog::default();

    for (reader, file) in &mut readers.registries {
        while !reader.all_caught_up() && !source.shutdown.load(Ordering::Relaxed) && !run.stopping() {
            match reader.poll(Duration::from_millis(100)) {
                Ok(Polled::Message(message)) => registry(&mut run, file, &message),
                Ok(_) => {}
                Err(e) => errors.log(e),
            }
        }
    }
    run.registries_loaded(worker);

    let votes_topic: Text = source.topics.votes.as_str().into();
    let mut health_reported = Instant::now();
    let mut discovered = Instant::now();
    loop {
        let mut admitted = 0;
        while admitted < run.batch {
            match readers.votes.poll(Duration::ZERO) {
                Ok(Polled::Message(message)) => {
                    vote(&mut run, &votes_topic, &message);
                    admitted += 1;
                }
                Ok(Polled::End(partition)) => {
                    if source.bounded && readers.votes.caught_up(partition) {
                        run.feed.clock_mut().finish(partition as u32);
                    }
                }
                Ok(Polled::Nothing) => break,
                Err(e) => errors.log(e),
            }
        }
        if !source.bounded {
            for (reader, file) in &mut readers.registries {
                for _ in 0..REGISTRY_ROUND {
                    match reader.poll(Duration::ZERO) {
                        Ok(Polled::Message(message)) => registry(&mut run, file, &message),
                        Ok(Polled::End(_)) => {}
                        Ok(Polled::Nothing) => break,
                        Err(e) => errors.log(e),
                    }
                }
            }
        }

        if !source.bounded && discovered.elapsed() >= DISCOVERY_INTERVAL {
            discover(&mut run, &mut readers, &mut errors);
            discovered = Instant::now();
        }
        run.feed.clock_mut().refresh(Instant::now());
        if health_reported.elapsed() >= HEALTH_INTERVAL {
            report_health(&run, &readers.votes, &votes_topic);
            health_reported = Instant::now();
        }
        run.tick(false);
        let job_max = run.signals.job_max();
        let clock = run.feed.clock_mut();
        if clock.unheld() {
            let watermark = clock.watermark_of(job_max);
            clock.advance_to(watermark);
        }
        if source.shutdown.load(Ordering::Relaxed) || run.stopping() || (source.bounded && readers.votes.all_caught_up()) {
            break;
        }
        if admitted == 0 {
            run.idle(worker, Duration::from_millis(10));
        } else {
            run.admitted(worker, admitted);
        }
    }
    let mut positions = Vec::new();
    for reader in readers.registries.iter().map(|(reader, _)| reader).chain([&readers.votes]) {
        positions.extend(reader.positions().map(|(p, offset)| (reader.topic().to_string(), p, offset)));
    }
    run.report.positions = positions;
    Ok(run)
}

/// How often an unbounded run looks for partitions added to its topics.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(2);

/// Picks up the partitions added to every topic this worker reads; a new vote partition
/// gets its own watermark.
fn discover(run: &mut Run<'_>, readers: &mut Readers, errors: &mut ErrorLog) {
    let timeout = Duration::from_secs(1);
    for (reader, _) in &mut readers.registries {
        if let Err(e) = reader.discover(timeout) {
            errors.log(e);
        }
    }
    match readers.votes.discover(timeout) {
        Ok(new) => new.into_iter().for_each(|p| run.feed.clock_mut().add_partition(p as u32)),
        Err(e) => errors.log(e),
    }
}

/// How often a worker reports its vote partitions' lag and idleness.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// Reports the lag (from the client's statistics) and idleness (from the event clock) of
/// every vote partition `reader` owns.
fn report_health(run: &Run<'_>, reader: &TopicReader, topic: &str) {
    let lags = reader.lags();
    let idle: Vec<u32> = run.feed.clock().idle().collect();
    for partition in reader.partitions() {
        let health = PartitionHealth { lag: lags.get(&partition).copied(), idle: idle.contains(&(partition as u32)) };
        run.progress.sources.report_health(topic, partition, health);
    }
}

/// Applies a registry message: an upsert, or a deletion for a null value. The offset is
/// the version's sequence number (a key's versions share a partition, so offsets order
/// them).
fn registry(run: &mut Run<'_>, file: &str, message: &BorrowedMessage<'_>) {
    let seq = message.offset().max(0) as u64;
    run.read(message.topic(), message.partition(), message.offset() + 1);
    let dead = match file {
        dataset::CANDIDATES => match decode(message.key(), message.payload(), true) {
            Decoded::Record(candidate) => {
                run.feed.candidate(seq, candidate);
                None
            }
            Decoded::Tombstone(id) => {
                run.feed.delete_candidate(seq, id);
                None
            }
            Decoded::Dead(reason) => Some(reason),
        },
        dataset::POLLING_STATIONS => match decode(message.key(), message.payload(), true) {
            Decoded::Record(station) => run.feed.station(seq, station).err(),
            Decoded::Tombstone(id) => {
                run.feed.delete_station(seq, id);
                None
            }
            Decoded::Dead(reason) => Some(reason),
        },
        _ => match decode(message.key(), message.payload(), true) {
            Decoded::Record(voter) => {
                run.feed.voter(seq, voter);
                None
            }
            Decoded::Tombstone(id) => {
                run.feed.delete_voter(seq, id);
                None
            }
            Decoded::Dead(reason) => Some(reason),
        },
    };
    if let Some(reason) = dead {
        run.dead_letter(DeadLetter::message(message.topic(), message.partition(), message.offset(), reason, message.payload().unwrap_or_default()));
    }
}

/// Hands a vote message to the feed under its partition, or turns it into a dead letter.
fn vote(run: &mut Run<'_>, topic: &Text, message: &BorrowedMessage<'_>) {
    run.read(topic, message.partition(), message.offset() + 1);
    run.arrived(message.timestamp().to_millis());
    let position = SourcePosition { topic: topic.clone(), partition: message.partition(), offset: message.offset() };
    match decode::<Vote>(message.key(), message.payload(), false) {
        Decoded::Record(vote) => run.vote(message.partition() as u32, Ballot::from(vote), position),
        Decoded::Tombstone(_) => unreachable!("votes have no tombstones"),
        Decoded::Dead(reason) => run.dead_letter(DeadLetter::message(message.topic(), message.partition(), message.offset(), reason, message.payload().unwrap_or_default())),
    }
}

/// Logs client errors (a broker away, a timeout) at most once per kind every 10 s; the
/// client retries by itself.
#[derive(Default)]
struct ErrorLog {
    last: std::collections::BTreeMap<String, (Instant, u64)>,
}

impl ErrorLog {
    fn log(&mut self, error: KafkaError) {
        let text = error.to_string();
        let kind = match &error {
            KafkaError::Client { source, .. } => format!("{:?}", source.rdkafka_error_code()),
            _ => text.clone(),
        };
        let now = Instant::now();
        let entry = self.last.entry(kind).or_insert((now - Duration::from_secs(3600), 0));
        entry.1 += 1;
        if now.duration_since(entry.0) >= Duration::from_secs(10) {
            tracing::warn!(error = %text, repeats = entry.1, "kafka client error (retrying)");
            *entry = (now, 0);
        }
    }
}

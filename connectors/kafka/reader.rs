//! [`TopicReader`]: one worker's statically assigned partitions of one topic.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::BorrowedMessage;
use rdkafka::statistics::Statistics;
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{owner, KafkaConfig, KafkaError, REQUEST_TIMEOUT};

/// Where a reader starts in each partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest retained message.
    #[default]
    Earliest,
    /// Only messages produced from now on.
    Latest,
    /// The given offset per partition; partitions not listed start at the earliest.
    Offsets(BTreeMap<i32, i64>),
}

impl FromStr for StartPosition {
    type Err = String;

    /// `earliest`, `latest`, or `partition:offset[,partition:offset…]`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "earliest" => Ok(StartPosition::Earliest),
            "latest" => Ok(StartPosition::Latest),
            offsets => offsets
                .split(',')
                .map(|pair| {
                    let (p, o) = pair.split_once(':').ok_or_else(|| format!("{pair:?} is not partition:offset"))?;
                    let p = p.trim().parse::<i32>().map_err(|e| format!("partition {p:?}: {e}"))?;
                    let o = o.trim().parse::<i64>().map_err(|e| format!("offset {o:?}: {e}"))?;
                    if p < 0 || o < 0 {
                        return Err(format!("{pair:?}: partitions and offsets are not negative"));
                    }
                    Ok((p, o))
                })
                .collect::<Result<_, _>>()
                .map(StartPosition::Offsets)
                .map_err(|e| format!("start position must be earliest, latest or partition:offset,…: {e}")),
        }
    }
}

impl StartPosition {
    fn offset(&self, partition: i32) -> Offset {
        match self {
            StartPosition::Earliest => Offset::Beginning,
            StartPosition::Latest => Offset::End,
            StartPosition::Offsets(offsets) => offsets.get(&partition).map_or(Offset::Beginning, |o| Offset::Offset(*o)),
        }
    }
}

/// Routes the client's own error reports to `tracing`, and keeps each partition's consumer
/// lag from the client's statistics ([`STATISTICS_INTERVAL_MS`]). End-of-partition events
/// that librdkafka reports outside a poll (for instance while a consumer closes) are expected
/// and not errors.
#[derive(Default)]
struct ReaderContext {
    lags: Arc<Mutex<BTreeMap<i32, i64>>>,
}

impl ClientContext for ReaderContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if !matches!(error, rdkafka::error::KafkaError::Global(RDKafkaErrorCode::PartitionEOF)) {
            tracing::warn!(%error, reason, "kafka consumer");
        }
    }

    fn stats(&self, statistics: Statistics) {
        let mut lags = self.lags.lock().expect("lags poisoned");
        // The high watermark minus the application's position: librdkafka's own
        // `consumer_lag` counts from committed offsets, and this reader commits none. Offsets
        // below 0 are unknown (a partition not fetched yet, or another worker's), and
        // partition -1 is librdkafka's internal one.
        for (partition, stats) in statistics.topics.values().flat_map(|t| t.partitions.iter()) {
            if *partition >= 0 && stats.hi_offset >= 0 && stats.app_offset >= 0 {
                lags.insert(*partition, (stats.hi_offset - stats.app_offset).max(0));
            }
        }
    }
}

/// How often a reader's client reports statistics (and so its partitions' lag).
pub const STATISTICS_INTERVAL_MS: u64 = 1_000;

impl ConsumerContext for ReaderContext {}

/// What one poll gave.
pub enum Polled<'a> {
    /// A message.
    Message(BorrowedMessage<'a>),
    /// The partition has been read to its current end.
    End(i32),
    /// Nothing within the timeout.
    Nothing,
}

#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// The offset after the last message read, if any was.
    next: Option<i64>,
    /// Read at least to where the partition ended when the reader opened.
    caught_up: bool,
}

/// The partitions of one topic that one worker owns ([`owner`]), read with a consumer of
/// its own (manually assigned, no consumer group, no offset commits).
///
/// A partition is caught up at its first partition-EOF event: the consumer has fetched up to
/// the broker's end at that moment, which is at least the end the partition had when the
/// reader opened. The EOF event is what counts, not a comparison with the high watermark
/// reported at start: some brokers (tansu 0.6) report a value below the true end, which
/// would lose records, and transaction markers put the real end past the last message.
pub struct TopicReader {
    topic: String,
    consumer: BaseConsumer<ReaderContext>,
    /// Which worker of how many this reader is: it owns the partitions [`owner`] gives it.
    worker: (usize, usize),
    partitions: BTreeMap<i32, Progress>,
    /// Per partition, the messages behind its end at the client's last statistics.
    lags: Arc<Mutex<BTreeMap<i32, i64>>>,
}

impl TopicReader {
    /// Opens worker `index` of `peers`'s share of `topic`, each partition from `start`.
    /// Fails if the topic does not exist or the brokers cannot be reached.
    pub fn open(config: &KafkaConfig, topic: &str, index: usize, peers: usize, start: &StartPosition) -> Result<Self, KafkaError> {
        let context = ReaderContext::default();
        let lags = context.lags.clone();
        let consumer: BaseConsumer<ReaderContext> = config
            .client(&[
                ("group.id", "ballotflow"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"),
                ("auto.offset.reset", "earliest"),
                ("fetch.wait.max.ms", "50"),
                // When the local queue is full, fetch again soon rather than after librdkafka's
                // default second: a worker busy with a batch would otherwise sit idle after it.
                ("fetch.queue.backoff.ms", "10"),
                ("statistics.interval.ms", &STATISTICS_INTERVAL_MS.to_string()),
            ])
            .create_with_context(context)
            .map_err(KafkaError::client("creating a consumer"))?;
        let partitions = partition_count(&consumer, topic, REQUEST_TIMEOUT, config.failure(format!("fetching metadata of {topic}")))?;
        let mut reader = TopicReader { topic: topic.to_string(), consumer, worker: (index, peers), partitions: BTreeMap::new(), lags };
        reader.assign(partitions, start)?;
        Ok(reader)
    }

    /// Starts reading, from `start`, the partitions below `partitions` this reader owns and
    /// does not read yet; returns them.
    fn assign(&mut self, partitions: i32, start: &StartPosition) -> Result<Vec<i32>, KafkaError> {
        let (index, peers) = self.worker;
        let new: Vec<i32> = (0..partitions).filter(|p| owner(&self.topic, *p, peers) == index && !self.partitions.contains_key(p)).collect();
        if new.is_empty() {
            return Ok(new);
        }
        let mut assignment = TopicPartitionList::new();
        for p in &new {
            assignment.add_partition_offset(&self.topic, *p, start.offset(*p)).map_err(KafkaError::client("assigning partitions"))?;
        }
        self.consumer.incremental_assign(&assignment).map_err(KafkaError::client(format!("assigning partitions of {}", self.topic)))?;
        self.partitions.extend(new.iter().map(|p| (*p, Progress::default())));
        Ok(new)
    }

    /// Picks up partitions added to the topic since it was opened (or last asked): those
    /// this reader owns under the same rule ([`owner`]) are read from their earliest
    /// offset, and returned. A broker that does not answer within `timeout` is an error to
    /// log; the reader stays as it was.
    pub fn discover(&mut self, timeout: Duration) -> Result<Vec<i32>, KafkaError> {
        let partitions = partition_count(&self.consumer, &self.topic, timeout, KafkaError::client(format!("looking for new partitions of {}", self.topic)))?;
        let new = self.assign(partitions, &StartPosition::Earliest)?;
        if !new.is_empty() {
            tracing::info!(topic = %self.topic, partitions = ?new, "new partitions picked up");
        }
        Ok(new)
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partitions this reader owns.
    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions.keys().copied()
    }

    /// Waits at most `timeout` for the next message or end-of-partition event. Errors the
    /// client recovers from by itself (a broker briefly away) come back as `Err` to be
    /// logged; the reader stays usable.
    pub fn poll(&mut self, timeout: Duration) -> Result<Polled<'_>, KafkaError> {
        if self.partitions.is_empty() {
            return Ok(Polled::Nothing);
        }
        match self.consumer.poll(timeout) {
            None => Ok(Polled::Nothing),
            Some(Ok(message)) => {
                if let Some(progress) = self.partitions.get_mut(&message.partition()) {
                    progress.next = Some(message.offset() + 1);
                }
                Ok(Polled::Message(message))
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                if let Some(progress) = self.partitions.get_mut(&p) {
                    progress.caught_up = true;
                }
                Ok(Polled::End(p))
            }
            Some(Err(e)) => Err(KafkaError::client(format!("reading {}", self.topic))(e)),
        }
    }

    /// Whether `partition` has been read to where it ended when the reader opened.
    pub fn caught_up(&self, partition: i32) -> bool {
        self.partitions.get(&partition).is_none_or(|p| p.caught_up)
    }

    /// Whether every partition has been read to where it ended when the reader opened.
    pub fn all_caught_up(&self) -> bool {
        self.partitions.values().all(|p| p.caught_up)
    }

    /// Per partition, how many messages it was behind its end at the client's last
    /// statistics (partitions the client has not reported on yet are missing).
    pub fn lags(&self) -> BTreeMap<i32, i64> {
        self.lags.lock().expect("lags poisoned").clone()
    }

    /// The next offset to read per partition (only partitions with a message read so far).
    pub fn positions(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.partitions.iter().filter_map(|(p, progress)| progress.next.map(|n| (*p, n)))
    }
}

/// The number of partitions of `topic`; `failure` says what a client error means.
fn partition_count(
    consumer: &BaseConsumer<ReaderContext>,
    topic: &str,
    timeout: Duration,
    failure: impl FnOnce(rdkafka::error::KafkaError) -> KafkaError,
) -> Result<i32, KafkaError> {
    let metadata = consumer.fetch_metadata(Some(topic), timeout).map_err(failure)?;
    match metadata.topics().iter().find(|t| t.name() == topic) {
        Some(t) if t.error().is_none() && !t.partitions().is_empty() => Ok(t.partitions().len() as i32),
        _ => Err(KafkaError::MissingTopic(topic.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse() {
        assert_eq!("earliest".parse(), Ok(StartPosition::Earliest));
        assert_eq!("latest".parse(), Ok(StartPosition::Latest));
        assert_eq!("0:10, 3:7".parse(), Ok(StartPosition::Offsets([(0, 10), (3, 7)].into())));
        assert!("0=10".parse::<StartPosition>().is_err());
        assert!("-1:3".parse::<StartPosition>().is_err());
    }
}

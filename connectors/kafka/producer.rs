//! [`Publisher`], a producer that loses nothing silently; [`create_topics`] and
//! [`ensure_topics`] through the admin API.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::{KafkaConfig, KafkaError, REQUEST_TIMEOUT};

/// Counts deliveries and keeps the first failure.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

#[derive(Clone, Default)]
struct Counting(Arc<Deliveries>);

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                use rdkafka::Message;
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.0.first_error.lock().expect("delivery errors poisoned");
                if first.is_none() {
                    tracing::error!(topic = message.topic(), %error, "a message could not be delivered");
                    *first = Some(format!("{}: {error}", message.topic()));
                }
            }
        }
    }
}

/// A producer (librdkafka's own thread drives it) that waits when its queue is full and
/// counts every delivery failure; [`Publisher::failure`] and [`Publisher::flush`] tell if
/// any message was lost.
pub struct Publisher {
    producer: ThreadedProducer<Counting>,
    deliveries: Arc<Deliveries>,
}

impl Publisher {
    /// A producer for topics that other programs read (result and dead-letter topics):
    /// gzip compression, which every Kafka client decodes without optional codecs
    /// (kafka-python, for one, needs an extra package for lz4, snappy and zstd).
    /// `--kafka-config compression.type=…` (a setting of `config`) overrides it.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        Self::compressed(config, "gzip")
    }

    /// A producer for bulk data (publishing a data set): lz4, the cheapest codec, unless
    /// `config` says otherwise.
    pub fn bulk(config: &KafkaConfig) -> Result<Self, KafkaError> {
        Self::compressed(config, "lz4")
    }

    /// A producer with `linger.ms=5`, `compression` and messages of up to 2 MB (so that an
    /// oversized record of a data set still reaches the readers, which turn it into a dead
    /// letter), unless `config` sets them otherwise.
    fn compressed(config: &KafkaConfig, compression: &str) -> Result<Self, KafkaError> {
        let context = Counting::default();
        let deliveries = context.0.clone();
        let producer = config
            .client(&[("linger.ms", "5"), ("compression.type", compression), ("queue.buffering.max.messages", "500000"), ("message.max.bytes", "2000000")])
            .create_with_context(context)
            .map_err(KafkaError::client("creating a producer"))?;
        Ok(Publisher { producer, deliveries })
    }

    /// Sends `value` (a tombstone if `None`) to `topic` under `key`, waiting while the
    /// producer's queue is full.
    pub fn send(&self, topic: &str, key: Option<&[u8]>, value: Option<&[u8]>) -> Result<(), KafkaError> {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        record.key = key;
        record.payload = value;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(KafkaError::client(format!("producing to {topic}"))(e)),
            }
        }
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.deliveries.delivered.load(Ordering::Relaxed)
    }

    /// [`KafkaError::Delivery`] if a message could not be delivered (librdkafka has given
    /// up on it after its own retries).
    pub fn failure(&self) -> Option<KafkaError> {
        match self.deliveries.failed.load(Ordering::Relaxed) {
            0 => None,
            failed => Some(KafkaError::Delivery { failed, first: self.deliveries.first_error.lock().expect("delivery errors poisoned").clone().unwrap_or_default() }),
        }
    }

    /// Waits until every message sent is delivered (or failed); fails if any failed, or
    /// with a [`KafkaError::Client`] time-out if messages are still queued after a minute.
    pub fn flush(&self) -> Result<(), KafkaError> {
        let flushed = self.producer.flush(Duration::from_secs(60)).map_err(KafkaError::client("flushing the producer"));
        match self.failure() {
            Some(failure) => Err(failure),
            None => flushed,
        }
    }
}

/// A topic to make sure of ([`ensure_topics`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    /// Its name.
    pub name: String,
    /// Partitions, if it is created.
    pub partitions: i32,
    /// Topic settings, if it is created (e.g. `cleanup.policy=compact`).
    pub settings: Vec<(&'static str, &'static str)>,
}

/// Makes sure every topic of `topics` exists: creates the missing ones through the admin
/// API, with their settings. A broker that refuses a setting (some implementations of
/// the protocol do not know `cleanup.policy`) gets the topic without it, logged once. A
/// topic that neither exists nor can be created is an error naming it. Returns the topics
/// created.
pub fn ensure_topics(config: &KafkaConfig, topics: &[TopicSpec], replication: i32) -> Result<Vec<String>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.client(&[]).create().map_err(KafkaError::client("creating an admin client"))?;
    let existing = |admin: &AdminClient<DefaultClientContext>| -> Result<Vec<String>, KafkaError> {
        let metadata = admin.inner().fetch_metadata(None, REQUEST_TIMEOUT).map_err(config.failure("listing topics"))?;
        Ok(metadata.topics().iter().filter(|t| t.error().is_none()).map(|t| t.name().to_string()).collect())
    };
    let present = existing(&admin)?;
    let missing: Vec<&TopicSpec> = topics.iter().filter(|t| !present.contains(&t.name)).collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT)).request_timeout(Some(REQUEST_TIMEOUT));
    let create = |specs: &[&TopicSpec], with_settings: bool| -> Result<Vec<(String, RDKafkaErrorCode)>, KafkaError> {
        let names: Vec<&str> = specs.iter().map(|t| t.name.as_str()).collect();
        let context = format!("creating output topic{} {}", if names.len() > 1 { "s" } else { "" }, names.join(", "));
        let new: Vec<NewTopic<'_>> = specs
            .iter()
            .map(|t| {
                let topic = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(replication));
                if with_settings {
                    t.settings.iter().fold(topic, |topic, (key, value)| topic.set(key, value))
                } else {
                    topic
                }
            })
            .collect();
        let results = futures_executor::block_on(admin.create_topics(&new, &options)).map_err(config.failure(context))?;
        Ok(results.into_iter().filter_map(|r| r.err()).filter(|(_, code)| *code != RDKafkaErrorCode::TopicAlreadyExists).collect())
    };
    let mut failed = create(&missing, true)?;
    // Settings the broker refused: create those topics again, plainly.
    let refused: Vec<&TopicSpec> = missing.iter().copied().filter(|t| !t.settings.is_empty() && failed.iter().any(|(name, _)| *name == t.name)).collect();
    if !refused.is_empty() {
        let (name, code) = failed.iter().find(|(name, _)| refused.iter().any(|t| t.name == *name)).expect("a refused topic failed");
        tracing::warn!(topic = %name, error = %code, settings = ?refused[0].settings, count = refused.len(), "the broker refused to create topics with these settings; creating them without");
        failed.retain(|(name, _)| !refused.iter().any(|t| t.name == *name));
        failed.extend(create(&refused, false)?);
    }
    if let Some((topic, code)) = failed.into_iter().next() {
        return Err(KafkaError::OutputTopic { topic, reason: code.to_string() });
    }
    // Creation is asynchronous on some brokers: wait until every topic is listed.
    let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        let present = existing(&admin)?;
        match missing.iter().find(|t| !present.contains(&t.name)) {
            None => return Ok(missing.iter().map(|t| t.name.clone()).collect()),
            Some(t) if std::time::Instant::now() >= deadline => {
                return Err(KafkaError::OutputTopic { topic: t.name.clone(), reason: "created, but the broker does not list it".into() })
            }
            Some(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Creates the `topics` (`(name, partitions)`) that do not exist yet.
pub fn create_topics(config: &KafkaConfig, topics: &[(&str, i32)], replication: i32) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.client(&[]).create().map_err(KafkaError::client("creating an admin client"))?;
    let new: Vec<NewTopic<'_>> = topics.iter().map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(replication))).collect();
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT)).request_timeout(Some(REQUEST_TIMEOUT));
    let results = futures_executor::block_on(admin.create_topics(&new, &options)).map_err(config.failure("creating topics"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, RDKafkaErrorCode::OperationTimedOut)) => {
                return Err(config.failure("creating topics")(rdkafka::error::KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut)))
            }
            Err((topic, code)) => {
                return Err(KafkaError::client(format!("creating topic {topic}"))(rdkafka::error::KafkaError::AdminOp(code)));
            }
        }
    }
    Ok(())
}

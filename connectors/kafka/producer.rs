//! [`Publisher`], a producer that loses nothing silently, and [`create_topics`].

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
/// counts every delivery failure; [`Publisher::flush`] fails if any message was lost.
pub struct Publisher {
    producer: ThreadedProducer<Counting>,
    deliveries: Arc<Deliveries>,
}

impl Publisher {
    /// A producer for `config`, with `linger.ms=5`, lz4 compression and messages of up to
    /// 2 MB (so that an oversized record of a data set still reaches the readers, which
    /// turn it into a dead letter) unless set otherwise.
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let context = Counting::default();
        let deliveries = context.0.clone();
        let producer = config
            .client(&[("linger.ms", "5"), ("compression.type", "lz4"), ("queue.buffering.max.messages", "500000"), ("message.max.bytes", "2000000")])
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

    /// Waits until every message sent is delivered (or failed); fails if any failed.
    pub fn flush(&self) -> Result<(), KafkaError> {
        self.producer.flush(Duration::from_secs(60)).map_err(KafkaError::client("flushing the producer"))?;
        match self.deliveries.failed.load(Ordering::Relaxed) {
            0 => Ok(()),
            failed => Err(KafkaError::Delivery {
                failed,
                first: self.deliveries.first_error.lock().expect("delivery errors poisoned").clone().unwrap_or_default(),
            }),
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
            Err((_, RDKafkaErrorCode::OperationTimedOut)) => return Err(config.failure("creating topics")(rdkafka::error::KafkaError::AdminOp(RDKafkaErrorCode::OperationTimedOut))),
            Err((topic, code)) => {
                return Err(KafkaError::client(format!("creating topic {topic}"))(rdkafka::error::KafkaError::AdminOp(code)));
            }
        }
    }
    Ok(())
}

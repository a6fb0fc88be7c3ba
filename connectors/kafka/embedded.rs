//! [`EmbeddedCluster`]: librdkafka's in-process mock cluster, for runs and tests with no
//! broker to hand. Clients reach it over the real Kafka protocol on a loopback port.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::{KafkaConfig, KafkaError, REQUEST_TIMEOUT};

/// An in-process Kafka cluster of one broker; it stops when dropped.
///
/// Two limits of the mock broker shape how it is used:
/// * it does not implement the admin API's CreateTopics, so topics are created with
///   [`EmbeddedCluster::create_topics`] instead of [`super::create_topics`];
/// * it keeps at most [`EmbeddedCluster::PARTITION_BYTES`] (and 100,000 batches) per
///   partition and silently deletes older messages beyond that, so large data sets need
///   more partitions; [`EmbeddedCluster::check_retained`] tells whether anything was lost.
pub struct EmbeddedCluster {
    mock: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedCluster {
    /// What the mock broker keeps of one partition, in bytes (batches as stored, after
    /// compression); fixed in librdkafka.
    pub const PARTITION_BYTES: usize = 5 * 1024 * 1024;

    /// Starts the cluster.
    pub fn start() -> Result<Self, KafkaError> {
        let mock = MockCluster::new(1).map_err(KafkaError::client("starting the embedded Kafka cluster"))?;
        Ok(EmbeddedCluster { mock })
    }

    /// A client configuration for it.
    pub fn config(&self) -> KafkaConfig {
        KafkaConfig::new(self.mock.bootstrap_servers())
    }

    /// Creates `topics` (`(name, partitions)`).
    pub fn create_topics(&self, topics: &[(&str, i32)]) -> Result<(), KafkaError> {
        for (name, partitions) in topics {
            self.mock.create_topic(name, *partitions, 1).map_err(KafkaError::client(format!("creating topic {name}")))?;
        }
        Ok(())
    }

    /// Fails if any partition of `topics` has lost messages from its start (its earliest
    /// offset is past 0).
    pub fn check_retained(&self, topics: &[&str]) -> Result<(), KafkaError> {
        let config = self.config();
        let consumer: BaseConsumer = config.client(&[("group.id", "ballotflow-check")]).create().map_err(KafkaError::client("creating a consumer"))?;
        for topic in topics {
            let metadata = consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT).map_err(config.failure(format!("fetching metadata of {topic}")))?;
            let partitions = metadata.topics().first().map_or(0, |t| t.partitions().len() as i32);
            for p in 0..partitions {
                let (low, _) = consumer.fetch_watermarks(topic, p, REQUEST_TIMEOUT).map_err(config.failure(format!("reading the start of {topic}/{p}")))?;
                if low > 0 {
                    return Err(KafkaError::Lost { topic: topic.to_string(), partition: p, first: low });
                }
            }
        }
        Ok(())
    }
}

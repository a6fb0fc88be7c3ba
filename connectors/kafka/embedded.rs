//! [`EmbeddedCluster`]: librdkafka's in-process mock cluster, for runs and tests with no
//! broker to hand. Clients reach it over the real Kafka protocol on a loopback port.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::{KafkaConfig, KafkaError};

/// An in-process Kafka cluster of one broker; it stops when dropped.
///
/// The mock broker does not implement the admin API's CreateTopics, so topics are created
/// with [`EmbeddedCluster::create_topics`] instead of [`super::create_topics`].
pub struct EmbeddedCluster {
    mock: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedCluster {
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
}

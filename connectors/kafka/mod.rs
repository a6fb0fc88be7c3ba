//! Kafka: a partitioned source whose event times drive the timely frontier, and producers
//! for data sets, dead letters and result topics.
//!
//! * [`TopicReader`]: one worker's partitions of one topic, assigned statically
//!   ([`owner`]) rather than through consumer-group rebalancing, so that every worker of
//!   every process knows who reads what. It tracks each partition's next offset and tells
//!   when a partition has been read to the end it had when the reader started (for bounded
//!   runs), by partition-EOF events rather than the broker's reported high watermark.
//! * [`decode`]: a message's key and value into a record, a tombstone, or a dead-letter
//!   reason.
//! * [`Publisher`]: a producer that retries a full queue and counts failed deliveries;
//!   [`create_topics`] and [`ensure_topics`] (missing ones, with settings) through the admin
//!   API; [`publish_dataset`] writes a data set into the topics, registry first, then votes
//!   as fast as possible or at a paced rate.
//! * [`KafkaSink`]: result rows as upserts keyed by their primary key, tombstones on delete.
//! * [`EmbeddedCluster`]: an in-process cluster (librdkafka's mock broker) for runs and
//!   tests without a broker.
//!
//! The election job in [`crate::pipelines::election::job`] ties them to the pipeline; the
//! watermark rules themselves live in [`crate::connectors::clock`].
//!
//! Broker settings come from [`KafkaConfig`]: `bootstrap.servers` plus any librdkafka
//! setting (SASL, SSL, tuning). Its `Debug` output hides secrets, and nothing here logs a
//! client configuration.

mod assign;
mod decode;
mod embedded;
mod producer;
mod publish;
mod reader;
mod sink;

pub use assign::owner;
pub use decode::{decode, Decoded};
pub use embedded::EmbeddedCluster;
pub use producer::{create_topics, ensure_topics, Publisher, TopicSpec};
pub use publish::{publish_dataset, Pace, PublishProgress};
pub use reader::{Polled, StartPosition, TopicReader};
pub use sink::KafkaSink;

use std::fmt;
use std::time::Duration;

use rdkafka::ClientConfig;

/// How long metadata and admin requests may take before the broker counts as unreachable.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Failures talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client reported an error.
    #[error("kafka: {context}: {source}")]
    Client {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// No broker answered in time.
    #[error("kafka: no answer from the brokers at {brokers} within {}s while {context}; are they running and reachable?", REQUEST_TIMEOUT.as_secs())]
    Unreachable {
        /// `bootstrap.servers`.
        brokers: String,
        /// What was being done.
        context: String,
    },
    /// Messages were deleted before they were read.
    #[error("kafka: {topic}/{partition} lost its messages before offset {first} (deleted by the broker's retention)")]
    Lost {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The earliest offset left.
        first: i64,
    },
    /// A topic the job needs does not exist.
    #[error("kafka: topic {0:?} does not exist (create it, e.g. with `election produce`)")]
    MissingTopic(String),
    /// A topic the job publishes to neither exists nor can be created.
    #[error("kafka: output topic {topic:?} does not exist and could not be created: {reason}")]
    OutputTopic {
        /// The topic.
        topic: String,
        /// What the broker said.
        reason: String,
    },
    /// Messages could not be delivered.
    #[error("kafka: {failed} message(s) could not be delivered; first error: {first}")]
    Delivery {
        /// How many.
        failed: u64,
        /// The first error seen.
        first: String,
    },
    /// A setting is not `key=value`, or has a bad value.
    #[error("kafka: bad setting {0:?}")]
    BadSetting(String),
}

impl KafkaError {
    pub(crate) fn client(context: impl Into<String>) -> impl FnOnce(rdkafka::error::KafkaError) -> KafkaError {
        let context = context.into();
        move |source| KafkaError::Client { context, source }
    }
}

/// Where the brokers are and how to talk to them.
#[derive(Clone, Default)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: `host:port[,host:port…]`.
    pub brokers: String,
    /// Further librdkafka settings (`security.protocol`, `sasl.*`, `ssl.*`, tuning).
    pub settings: Vec<(String, String)>,
}

impl KafkaConfig {
    /// Brokers without further settings.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig { brokers: brokers.into(), settings: Vec::new() }
    }

    /// Adds a `key=value` setting.
    pub fn with_setting(mut self, setting: &str) -> Result<Self, KafkaError> {
        let (key, value) = setting.split_once('=').ok_or_else(|| KafkaError::BadSetting(redact(setting, setting)))?;
        self.settings.push((key.trim().to_string(), value.to_string()));
        Ok(self)
    }

    /// Maps a client error while doing `context` to a [`KafkaError`], telling timeouts
    /// (unreachable brokers) apart.
    pub(crate) fn failure(&self, context: impl Into<String>) -> impl FnOnce(rdkafka::error::KafkaError) -> KafkaError + '_ {
        let context = context.into();
        move |source| {
            use rdkafka::error::RDKafkaErrorCode::{AllBrokersDown, BrokerTransportFailure, OperationTimedOut};
            let code = match &source {
                rdkafka::error::KafkaError::AdminOp(code) => Some(*code),
                other => other.rdkafka_error_code(),
            };
            match code {
                Some(OperationTimedOut | AllBrokersDown | BrokerTransportFailure) => KafkaError::Unreachable { brokers: self.brokers.clone(), context },
                _ => KafkaError::Client { context, source },
            }
        }
    }

    /// A client configuration with the brokers, then `defaults`, then the user's settings
    /// (which win).
    pub fn client(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in &self.settings {
            config.set(key, value);
        }
        config
    }
}

/// Whether a setting's value must not be shown.
fn secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "key", "token", "jaas", "pem"].iter().any(|s| key.contains(s))
}

fn redact(key: &str, value: &str) -> String {
    if secret(key) {
        "***".to_string()
    } else {
        value.to_string()
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings: Vec<_> = self.settings.iter().map(|(k, v)| format!("{k}={}", redact(k, v))).collect();
        f.debug_struct("KafkaConfig").field("brokers", &self.brokers).field("settings", &settings).finish()
    }
}

/// The topics of an election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    /// Candidate registry (upserts keyed by `candidate_id`).
    pub candidates: String,
    /// Polling-station registry (keyed by `polling_station_id`).
    pub polling_stations: String,
    /// Voter registry (keyed by `voter_id`).
    pub voters: String,
    /// Votes (keyed by `voter_id`).
    pub votes: String,
    /// Dead letters: `{topic, partition, offset, reason, detail, payload}`.
    pub dead_letters: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            candidates: "candidates_topic".into(),
            polling_stations: "polling_stations_topic".into(),
            voters: "voters_topic".into(),
            votes: "votes_topic".into(),
            dead_letters: "dead_letters".into(),
        }
    }
}

impl Topics {
    /// The registry topics, in loading order, with the data-set file each one carries.
    pub fn registries(&self) -> [(&str, &'static str); 3] {
        use crate::connectors::dataset::{CANDIDATES, POLLING_STATIONS, VOTERS};
        [(&self.candidates, CANDIDATES), (&self.polling_stations, POLLING_STATIONS), (&self.voters, VOTERS)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config =
            KafkaConfig::new("broker:9092").with_setting("sasl.password=hunter2").unwrap().with_setting("ssl.key.password=s3cret").unwrap().with_setting("linger.ms=5").unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("linger.ms=5"));
        let err = KafkaConfig::default().with_setting("sasl.password hunter2").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}

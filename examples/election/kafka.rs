//! Kafka for the example: the embedded cluster, topic creation and publishing.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use ballotflow::connectors::dataset::{DatasetBytes, VOTES};
use ballotflow::connectors::kafka::{create_topics, ensure_topics, publish_dataset, EmbeddedCluster, KafkaConfig, Pace, PublishProgress, Publisher, Topics};
use ballotflow::pipelines::election::job::output_topics;

use crate::cli::{KafkaArgs, ProduceArgs};
use crate::display::ProgressLine;

/// A Kafka cluster to talk to: the user's, or an embedded one that lives as long as this.
pub struct Cluster {
    embedded: Option<EmbeddedCluster>,
    pub config: KafkaConfig,
}

impl Cluster {
    /// `--brokers`, or an embedded (librdkafka mock) cluster of one broker on a loopback port.
    pub fn connect(args: &KafkaArgs) -> anyhow::Result<Self> {
        match &args.brokers {
            Some(brokers) => Ok(Cluster { embedded: None, config: args.config(brokers)? }),
            None => {
                let embedded = EmbeddedCluster::start()?;
                let config = args.config(&embedded.config().brokers)?;
                eprintln!("embedded Kafka cluster (librdkafka mock broker) at {}", config.brokers);
                Ok(Cluster { embedded: Some(embedded), config })
            }
        }
    }

    pub fn embedded(&self) -> bool {
        self.embedded.is_some()
    }

    fn create_topics(&self, topics: &[(&str, i32)], replication: i32) -> anyhow::Result<()> {
        match &self.embedded {
            Some(cluster) => cluster.create_topics(topics)?,
            None => create_topics(&self.config, topics, replication)?,
        }
        Ok(())
    }

    /// Creates the data topics with `partitions` partitions, and the dead-letter topic.
    /// On the embedded cluster, which keeps at most 5 MB per partition, a topic whose part
    /// of `data` is large gets more: one per 8 MiB of JSON (lz4 shrinks that below 5 MB).
    pub fn create_data_topics(&self, topics: &Topics, data: Option<&DatasetBytes>, partitions: i32, replication: i32) -> anyhow::Result<()> {
        let sized = |topic: &str, file: &str| {
            let bytes = match (&self.embedded, data) {
                (Some(_), Some(data)) => data.file(file).len(),
                _ => 0,
            };
            let wanted = partitions.max(bytes.div_ceil(8 << 20) as i32);
            if wanted > partitions {
                eprintln!("{topic}: {wanted} partitions (the embedded cluster keeps at most 5 MB per partition)");
            }
            (topic.to_string(), wanted)
        };
        let mut wanted: Vec<(String, i32)> = topics.registries().iter().map(|(topic, file)| sized(topic, file)).collect();
        wanted.push(sized(&topics.votes, VOTES));
        wanted.push((topics.dead_letters.clone(), 1));
        let wanted: Vec<(&str, i32)> = wanted.iter().map(|(t, p)| (t.as_str(), *p)).collect();
        self.create_topics(&wanted, replication).context("creating topics")
    }

    /// On the embedded cluster: fails if it has dropped published messages.
    pub fn check_retained(&self, topics: &Topics) -> anyhow::Result<()> {
        if let Some(cluster) = &self.embedded {
            let names: Vec<&str> = topics.registries().iter().map(|(t, _)| *t).chain([topics.votes.as_str()]).collect();
            cluster.check_retained(&names).context("the embedded cluster could not hold the data set; use more --partitions")?;
        }
        Ok(())
    }

    /// Makes sure the topics the job publishes to exist (dead letters and, with `results`,
    /// one compacted topic per result table), creating the missing ones.
    pub fn ensure_output_topics(&self, topics: &Topics, results: bool) -> anyhow::Result<()> {
        let wanted = output_topics(topics, results);
        match &self.embedded {
            Some(cluster) => {
                let missing: Vec<(&str, i32)> = wanted.iter().filter(|t| t.name != topics.dead_letters).map(|t| (t.name.as_str(), t.partitions)).collect();
                cluster.create_topics(&missing)?;
            }
            None => {
                let created = ensure_topics(&self.config, &wanted, 1)?;
                if !created.is_empty() {
                    eprintln!("created output topics: {}", created.join(", "));
                }
            }
        }
        Ok(())
    }
}

/// Publishes a data set with a progress line; returns the messages published.
pub fn publish(config: &KafkaConfig, topics: &Topics, data: &DatasetBytes, pace: Pace) -> anyhow::Result<u64> {
    let publisher = Publisher::bulk(config)?;
    let progress = PublishProgress::default();
    let start = Instant::now();
    let line = ProgressLine::new();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let worker = s.spawn(|| publish_dataset(&publisher, topics, data, pace, &progress));
        while !worker.is_finished() {
            if line.due() {
                let votes = progress.votes.load(Ordering::Relaxed);
                line.show(format!(
                    "published registry={} votes={votes}/{} ({:.0} votes/s)",
                    progress.registry.load(Ordering::Relaxed),
                    progress.votes_total.load(Ordering::Relaxed),
                    votes as f64 / start.elapsed().as_secs_f64().max(1e-9)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        worker.join().expect("publisher thread panicked")?;
        Ok(())
    })?;
    line.finish();
    let messages = progress.registry.load(Ordering::Relaxed) + progress.votes.load(Ordering::Relaxed);
    eprintln!("published {messages} messages in {:.1}s", start.elapsed().as_secs_f64());
    Ok(messages)
}

/// Publishes the registries now and the votes at `rate` per second on a thread of its own
/// (a live dashboard's election); returns once the registries are out.
pub fn publish_paced(config: &KafkaConfig, topics: &Topics, data: DatasetBytes, rate: f64) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
    anyhow::ensure!(rate > 0.0, "--rate must be positive, not {rate}");
    let publisher = Publisher::bulk(config)?;
    let progress = Arc::new(PublishProgress::default());
    let (topics, shared) = (topics.clone(), progress.clone());
    let thread = std::thread::Builder::new().name("publisher".into()).spawn(move || -> anyhow::Result<()> {
        publish_dataset(&publisher, &topics, &data, Pace::Rate(rate), &shared)?;
        Ok(())
    })?;
    // The registries are flushed before the count of votes is set.
    while progress.votes_total.load(Ordering::Relaxed) == 0 && !thread.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("publishing {} votes at {rate:.0} votes/s", progress.votes_total.load(Ordering::Relaxed));
    Ok(thread)
}

/// `election produce`.
pub fn produce(args: ProduceArgs) -> anyhow::Result<()> {
    let cluster = Cluster::connect(&args.kafka)?;
    anyhow::ensure!(!cluster.embedded(), "produce needs --brokers (an embedded cluster would vanish when it exits)");
    let data = match &args.input {
        Some(dir) => DatasetBytes::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?,
        None => ballotflow::connectors::generator::generate(&args.generator.config()).to_bytes(),
    };
    let topics = args.kafka.topics();
    cluster.create_data_topics(&topics, None, args.kafka.partitions, args.replication)?;
    let pace = match args.rate {
        Some(rate) if rate > 0.0 => Pace::Rate(rate),
        Some(rate) => anyhow::bail!("--rate must be positive, not {rate}"),
        None => Pace::Unlimited,
    };
    publish(&cluster.config, &topics, &data, pace)?;
    Ok(())
}

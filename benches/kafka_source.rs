//! Ingest throughput of the Kafka source: votes on a broker (librdkafka's in-process mock
//! cluster, 8 partitions) → parsed, clock-admitted votes in a differential collection,
//! beside plain rdkafka consumption of the same topic (the limit: fetching the bytes and
//! touching every payload, nothing else). Criterion reports votes per second for each.
//!
//! ```text
//! cargo bench --bench kafka_source
//! BALLOTFLOW_BENCH_VOTERS=200000 cargo bench --bench kafka_source
//! ```

use std::time::Duration;

use ballotflow::connectors::clock::{ClockConfig, EventClock};
use ballotflow::connectors::dataset::{DatasetBytes, Vote};
use ballotflow::connectors::generator::{generate, GeneratorConfig};
use ballotflow::connectors::kafka::{decode, publish_dataset, Decoded, EmbeddedCluster, KafkaConfig, Pace, Polled, PublishProgress, Publisher, StartPosition, TopicReader, Topics};
use ballotflow::pipelines::election::ElectionFeed;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 8;

/// Plain rdkafka: one consumer over every partition, until each reports its end.
fn plain(config: &KafkaConfig, topic: &str) -> u64 {
    let consumer: BaseConsumer = config
        // The source's own consumer settings, so that only what it does on top is compared.
        .client(&[("group.id", "bench"), ("enable.auto.commit", "false"), ("enable.partition.eof", "true"), ("fetch.wait.max.ms", "50"), ("fetch.queue.backoff.ms", "10")])
        .create()
        .unwrap();
    // Connected and with the topic's metadata, as the source is before it assigns.
    consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        assignment.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let (mut ended, mut messages, mut checksum) = (0, 0u64, 0u64);
    while ended < PARTITIONS {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                messages += 1;
                checksum = checksum.wrapping_add(m.payload().map_or(0, |p| p.iter().map(|b| u64::from(*b)).sum()));
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => ended += 1,
            _ => {}
        }
    }
    std::hint::black_box(checksum);
    messages
}

/// ballotflow's source path: TopicReader → decode → per-partition clock → input session,
/// on `workers` timely workers, until every partition is read to its end.
fn source(config: &KafkaConfig, topic: &str, workers: usize) -> u64 {
    let (config, topic) = (config.clone(), topic.to_string());
    let counts = timely::execute(timely::Config::process(workers), move |worker| {
        let mut reader = TopicReader::open(&config, &topic, worker.index(), worker.peers(), &StartPosition::Earliest).unwrap();
        let partitions: Vec<u32> = reader.partitions().map(|p| p as u32).collect();
        let (mut feed, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (feed, inputs) = ElectionFeed::with_clock(scope, EventClock::partitioned(ClockConfig::DEFAULT, 0, partitions));
            let (probe, _) = inputs.votes.probe();
            (feed, probe)
        });
        let mut pending = 0;
        while !reader.all_caught_up() {
            match reader.poll(Duration::from_millis(10)).unwrap() {
                Polled::Message(m) => {
                    if let Decoded::Record(vote) = decode::<Vote>(m.key(), m.payload(), false) {
                        feed.vote_at(m.partition() as u32, vote, None);
                    }
                    pending += 1;
                    if pending == 10_000 {
                        pending = 0;
                        feed.flush();
                        worker.step();
                    }
                }
                Polled::End(_) | Polled::Nothing => {}
            }
        }
        feed.settle(std::time::Instant::now(), true, None);
        let votes = feed.votes();
        drop(feed);
        worker.step_while(|| !probe.done());
        votes
    })
    .unwrap()
    .join();
    counts.into_iter().map(|c| c.unwrap()).sum()
}

fn bench(c: &mut Criterion) {
    let voters = std::env::var("BALLOTFLOW_BENCH_VOTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let election = generate(&GeneratorConfig { voters, ..GeneratorConfig::default() });
    let votes = election.votes.len() as u64;
    let cluster = EmbeddedCluster::start().unwrap();
    let config = cluster.config();
    let topics = Topics::default();
    cluster.create_topics(&[(&topics.votes, PARTITIONS)]).unwrap();
    let only_votes = DatasetBytes { votes: election.to_bytes().votes, ..DatasetBytes::default() };
    publish_dataset(&Publisher::bulk(&config).unwrap(), &topics, &only_votes, Pace::Unlimited, &PublishProgress::default()).unwrap();
    cluster.check_retained(&[&topics.votes]).expect("the embedded broker holds every vote; use fewer voters");

    // Both read every vote before either is timed.
    assert_eq!(plain(&config, &topics.votes), votes);
    assert_eq!(source(&config, &topics.votes, 1), votes);

    let mut group = c.benchmark_group("kafka_ingest");
    group.throughput(Throughput::Elements(votes)).sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function(BenchmarkId::new("plain_rdkafka", votes), |b| b.iter(|| plain(&config, &topics.votes)));
    for workers in [1, 2] {
        group.bench_function(BenchmarkId::new(format!("source_{workers}_workers"), votes), |b| b.iter(|| source(&config, &topics.votes, workers)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

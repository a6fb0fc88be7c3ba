//! End to end on a real Kafka-protocol broker (tansu): `election produce` publishes a data
//! set; a bounded run of the example tallies it exactly, on 3 workers (fewer than the 8
//! partitions), and its result topics hold exactly the result tables; an unbounded run
//! stops gracefully on SIGTERM with the same final results.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ballotflow::connectors::kafka::KafkaConfig;
use ballotflow::connectors::sink::json::TableRow;
use ballotflow::pipelines::election::results::{kafka_topic, ResultRow};
use common::example::{assert_results, example, generated, load, run};
use common::oracle;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

/// Every result topic folded into its table: the last value per key, tombstones delete.
fn result_topics(brokers: &str) -> serde_json::Value {
    let consumer: BaseConsumer = KafkaConfig::new(brokers)
        .client(&[("group.id", "check"), ("enable.partition.eof", "true"), ("enable.auto.commit", "false")])
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    let topics: BTreeMap<String, &str> = ResultRow::TABLES.iter().map(|t| (kafka_topic(t), *t)).collect();
    for topic in topics.keys() {
        assignment.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut tables: BTreeMap<&str, BTreeMap<String, serde_json::Value>> = topics.values().map(|t| (*t, BTreeMap::new())).collect();
    let (mut ended, deadline) = (0, Instant::now() + Duration::from_secs(60));
    while ended < topics.len() {
        assert!(Instant::now() < deadline, "result topics were not read to their end");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let table = tables.get_mut(topics[m.topic()]).unwrap();
                let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
                match m.payload() {
                    Some(value) => table.insert(key, serde_json::from_slice(value).unwrap()),
                    None => table.remove(&key),
                };
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => ended += 1,
            _ => {}
        }
    }
    serde_json::Value::Object(tables.into_iter().map(|(t, rows)| (t.to_string(), rows.into_values().collect())).collect())
}

/// Rows of each table in a canonical order, to compare tables regardless of row order.
fn sorted(mut tables: serde_json::Value) -> serde_json::Value {
    for rows in tables.as_object_mut().unwrap().values_mut() {
        rows.as_array_mut().unwrap().sort_by_key(|r| r.to_string());
    }
    tables
}

#[test]
fn produce_then_tally_bounded_and_unbounded_on_tansu() {
    let tansu = common::tansu::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "3000", "9");
    let expected = oracle(&load(&data));
    let brokers = ["--brokers", tansu.brokers.as_str()];
    run(&[&["produce", "--input", data.to_str().unwrap(), "--partitions", "8"], &brokers[..]].concat());

    // Bounded: exact results, in the results file and in the result topics.
    let results = tmp.path().join("bounded.json");
    let printed = run(&[&["--bounded", "-w", "3", "--results", results.to_str().unwrap()], &brokers[..]].concat());
    let votes = load(&data).votes.len();
    assert!(printed.stdout.lines().last().unwrap().starts_with(&format!("votes={votes} ")), "{}", printed.stdout);
    let expected_json = assert_results(&results, &expected);
    assert_eq!(sorted(result_topics(&tansu.brokers)), sorted(expected_json));

    // Unbounded: runs until SIGTERM, then finishes the results and reports.
    let results = tmp.path().join("unbounded.json");
    let mut child = Command::new(example())
        .args([&["-w", "2", "--results", results.to_str().unwrap()], &brokers[..]].concat())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr to its end (a closed pipe would break the child's progress output).
    let (lines, received) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || stderr.lines().map_while(Result::ok).for_each(|l| { let _ = lines.send(l); }));
    let caught_up = format!("votes={votes} ");
    let mut seen = Vec::new();
    while let Ok(line) = received.recv_timeout(Duration::from_secs(60)) {
        let done = line.contains(&caught_up);
        seen.push(line);
        if done {
            break;
        }
    }
    assert!(seen.last().is_some_and(|l| l.contains(&caught_up)), "the unbounded run never caught up:\n{}", seen.join("\n"));
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr: Vec<String> = received.try_iter().collect();
    assert!(out.status.success(), "the unbounded run failed after SIGTERM:\n{stdout}\n{}", stderr.join("\n"));
    assert!(stdout.lines().last().unwrap().starts_with(&caught_up), "{stdout}");
    assert_results(&results, &expected);
}

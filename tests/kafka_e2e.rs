//! End to end on a real Kafka-protocol broker (tansu): `election produce` publishes a data
//! set; a bounded run of the example tallies it exactly, on 3 workers (fewer than the 8
//! partitions), and its result topics hold exactly the result tables; an unbounded run
//! stops gracefully on SIGTERM with the same final results.
//!
//! And as the pipelines ballotflow replaces are fed: a plain Python producer creates only
//! the four input topics and fills them, with an absurd vote first in every partition and
//! one bad message of each kind before the votes. The job creates its output topics, the
//! results are exact on 1, 2 and 3 workers, every bad message is a dead letter, and a plain
//! Python consumer without compression codecs reads every output topic.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ballotflow::connectors::dataset;
use ballotflow::connectors::kafka::{KafkaConfig, Topics};
use ballotflow::connectors::table::TableRow;
use ballotflow::pipelines::election::results::ResultRow;
use common::example::{assert_results, example, generated, load, run};
use common::oracle;
use common::published::bad_messages;
use common::python::{client, hex};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

/// Every result topic folded into its table: the last value per key, tombstones delete.
fn result_topics(brokers: &str) -> serde_json::Value {
    let consumer: BaseConsumer = KafkaConfig::new(brokers).client(&[("group.id", "check"), ("enable.partition.eof", "true"), ("enable.auto.commit", "false")]).create().unwrap();
    let mut assignment = TopicPartitionList::new();
    let topics: BTreeMap<String, &str> = ResultRow::tables().iter().map(|t| (t.topic.to_string(), t.name)).collect();
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
        rows.as_array_mut().unwrap().iter_mut().for_each(common::normalise_projection);
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
    let reader = std::thread::spawn(move || {
        stderr.lines().map_while(Result::ok).for_each(|l| {
            let _ = lines.send(l);
        })
    });
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

/// The plan for the plain producer: registries keyed by id, then per partition of the
/// votes topic an absurd vote (1970, by a real voter at their station at a real vote's time
/// of day, or 2100), then one bad message of each kind a plain producer can send, then the
/// votes keyed by voter.
/// Returns the plan and the dead letters it makes.
fn plain_plan(data: &std::path::Path, partitions: i32) -> (String, u64) {
    let topics = Topics::default();
    let mut plan = String::new();
    let mut message = |topic: &str, partition: Option<i32>, key: Option<&[u8]>, value: Option<&[u8]>| {
        let line = serde_json::json!({"topic": topic, "partition": partition, "key": key.map(hex), "value": value.map(hex)});
        plan.push_str(&line.to_string());
        plan.push('\n');
    };
    let lines = |file: &str| std::fs::read_to_string(data.join(file)).unwrap().lines().map(str::to_string).collect::<Vec<_>>();
    for (topic, file, id) in [
        (&topics.candidates, dataset::CANDIDATES, "candidate_id"),
        (&topics.polling_stations, dataset::POLLING_STATIONS, "polling_station_id"),
        (&topics.voters, dataset::VOTERS, "voter_id"),
    ] {
        for line in lines(file) {
            let record: serde_json::Value = serde_json::from_str(&line).unwrap();
            message(topic, None, Some(record[id].as_str().unwrap().as_bytes()), Some(line.as_bytes()));
        }
    }
    let votes = lines(dataset::VOTES);
    for partition in 0..partitions {
        let mut vote: serde_json::Value = serde_json::from_str(&votes[partition as usize]).unwrap();
        let time = vote["voting_time"].as_str().unwrap().to_string();
        vote["vote_id"] = format!("absurd-{partition}").into();
        vote["voting_time"] = if partition % 2 == 0 { format!("1970-01-01{}", &time[10..]) } else { "2100-01-01T09:00:00.000Z".to_string() }.into();
        message(&topics.votes, Some(partition), vote["voter_id"].as_str().map(str::as_bytes), Some(vote.to_string().as_bytes()));
    }
    // kafka-python cannot send a message without key and value: those tombstones are left out.
    let bad: Vec<_> = bad_messages().into_iter().filter(|(_, value, _)| value.is_some()).collect();
    for (topic, value, _) in &bad {
        message(topic, Some(0), None, value.as_deref());
    }
    for line in &votes {
        let vote: serde_json::Value = serde_json::from_str(line).unwrap();
        message(&topics.votes, None, vote["voter_id"].as_str().map(str::as_bytes), Some(line.as_bytes()));
    }
    (plan, partitions as u64 + bad.len() as u64)
}

#[test]
fn a_plain_producer_absurd_votes_and_absent_output_topics_on_tansu() {
    let tansu = common::tansu::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "2000", "13");
    let mut admitted = load(&data);
    let (plan, dead_letters) = plain_plan(&data, 8);
    admitted.dead_letters = dead_letters as i64;
    let expected = oracle(&admitted);
    let plan_path = tmp.path().join("plan.jsonl");
    std::fs::write(&plan_path, plan).unwrap();
    let topics = Topics::default();
    let inputs: Vec<String> = [&topics.candidates, &topics.polling_stations, &topics.voters, &topics.votes].iter().map(|t| format!("{t}:8")).collect();
    let mut args = vec![tansu.brokers.as_str(), plan_path.to_str().unwrap()];
    args.extend(inputs.iter().map(String::as_str));
    client("plain_producer.py", &args);

    let votes = admitted.votes.len();
    for workers in ["3", "1", "2"] {
        let results = tmp.path().join(format!("results-{workers}.json"));
        let printed = run(&["--brokers", &tansu.brokers, "--bounded", "-w", workers, "--results", results.to_str().unwrap()]);
        let line = printed.stdout.lines().last().unwrap();
        assert!(line.starts_with(&format!("votes={votes} ")) && line.ends_with(&format!("dead_letters={dead_letters}")), "{workers} workers: {}", printed.stdout);
        assert!(printed.stderr.contains(&format!("absurd_timestamp={}", 8 + 1)), "{workers} workers: {}", printed.stderr);
        let expected_json = assert_results(&results, &expected);
        if workers != "3" {
            continue;
        }
        // The first run created every output topic; a consumer with no codecs reads them.
        assert!(printed.stderr.contains("created output topics: dead_letters, aggregated_"), "{}", printed.stderr);
        let mut names: Vec<String> = ResultRow::tables().iter().map(|t| t.topic.to_string()).collect();
        names.push(topics.dead_letters.clone());
        let mut args = vec![tansu.brokers.as_str()];
        args.extend(names.iter().map(String::as_str));
        let consumed = client("plain_consumer.py", &args);
        let tables: BTreeMap<String, &str> = ResultRow::tables().iter().map(|t| (t.topic.to_string(), t.name)).collect();
        let mut folded: BTreeMap<&str, BTreeMap<String, serde_json::Value>> = tables.values().map(|t| (*t, BTreeMap::new())).collect();
        let mut letters = 0;
        let (messages, summary) = consumed.trim_end().rsplit_once('\n').unwrap();
        let summary: serde_json::Value = serde_json::from_str(summary).unwrap();
        assert!(summary["batches"]["1"].as_u64().is_some_and(|n| n > 0), "the consumer decoded gzip batches (the default): {summary}");
        for line in messages.lines() {
            let m: serde_json::Value = serde_json::from_str(line).unwrap();
            let topic = m["topic"].as_str().unwrap();
            if topic == topics.dead_letters {
                letters += 1;
                continue;
            }
            let table = folded.get_mut(tables[topic]).unwrap();
            let key = m["key"].as_str().unwrap().to_string();
            match m["value"].as_str() {
                Some(value) => table.insert(key, serde_json::from_str(value).unwrap()),
                None => table.remove(&key),
            };
        }
        assert_eq!(letters, dead_letters, "every dead letter is on its topic");
        let folded = serde_json::Value::Object(folded.into_iter().map(|(t, rows)| (t.to_string(), rows.into_values().collect())).collect());
        assert_eq!(sorted(folded), sorted(expected_json));
    }
}

//! Generated elections published to Kafka (the mock cluster or tansu), and what the
//! oracle admits of them.

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::dataset::MAX_LINE_BYTES;
use ballotflow::connectors::generator::{generate, Election, GeneratorConfig};
use ballotflow::connectors::kafka::{create_topics, publish_dataset, EmbeddedCluster, KafkaConfig, Pace, PublishProgress, Publisher, Topics};

use super::{Admitted, Event, DAY};

pub const PARTITIONS: i32 = 8;

pub fn election(seed: u64) -> Election {
    let config = GeneratorConfig { seed, voters: 2_000, ..GeneratorConfig::default() };
    generate(&config)
}

/// Registry deletions published after the election (tombstones): five voters and the
/// last candidate.
pub fn deletions(election: &Election) -> Vec<Event> {
    let voters = election.voters.iter().take(5).map(|v| Event::DeleteVoter(v.voter_id.clone()));
    let candidate = election.candidates.last().map(|c| Event::DeleteCandidate(c.candidate_id.clone()));
    voters.chain(candidate).collect()
}

/// The oracle's view of an election: registries in file order, every vote, then the
/// deletions.
pub fn admitted(election: &Election) -> Admitted {
    Admitted::of(super::events(election).chain(deletions(election)))
}

pub fn clock() -> ClockConfig {
    // Sub-minute ticks and a short bound: many distinct times and many late votes.
    ClockConfig { tick_ms: 10_000, max_out_of_orderness_ms: 30_000, ..ClockConfig::DEFAULT }.around_day(DAY)
}

/// The election's topics: 8 partitions each, one for dead letters.
pub fn topics(partitions: i32) -> Vec<(String, i32)> {
    let topics = Topics::default();
    let mut wanted: Vec<(String, i32)> = topics.registries().iter().map(|(t, _)| (t.to_string(), partitions)).collect();
    wanted.extend([(topics.votes, partitions), (topics.dead_letters, 1)]);
    wanted
}

pub fn on_mock(partitions: i32) -> (EmbeddedCluster, KafkaConfig) {
    let cluster = EmbeddedCluster::start().unwrap();
    let wanted = topics(partitions);
    cluster.create_topics(&wanted.iter().map(|(t, p)| (t.as_str(), *p)).collect::<Vec<_>>()).unwrap();
    let config = cluster.config();
    (cluster, config)
}

pub fn on_tansu() -> (super::tansu::Tansu, KafkaConfig) {
    let tansu = super::tansu::start();
    let config = KafkaConfig::new(&tansu.brokers);
    let wanted = topics(PARTITIONS);
    create_topics(&config, &wanted.iter().map(|(t, p)| (t.as_str(), *p)).collect::<Vec<_>>(), 1).unwrap();
    (tansu, config)
}

/// Publishes `election` and its [`deletions`] into existing topics.
pub fn publish(config: &KafkaConfig, election: &Election) -> Publisher {
    let topics = Topics::default();
    let publisher = Publisher::bulk(config).expect("a producer");
    publish_dataset(&publisher, &topics, &election.to_bytes(), Pace::Unlimited, &PublishProgress::default()).expect("published");
    for deletion in deletions(election) {
        let (topic, id) = match &deletion {
            Event::DeleteVoter(id) => (&topics.voters, id),
            Event::DeleteCandidate(id) => (&topics.candidates, id),
            other => unreachable!("not a deletion: {other:?}"),
        };
        publisher.send(topic, Some(id.as_bytes()), None).unwrap();
    }
    publisher.flush().unwrap();
    publisher
}

/// One bad message of each kind per topic it applies to.
pub fn bad_messages() -> Vec<(&'static str, Option<Vec<u8>>, &'static str)> {
    let absurd = br#"{"vote_id":"x1","voter_id":"voter-0000001","candidate_id":"cand-0001","polling_station_id":"ps-00001","voting_time":"2100-01-01T00:00:00.000Z","voting_method":"postal"}"#;
    let bad_time = br#"{"vote_id":"x3","voter_id":"voter-0000001","candidate_id":"cand-0001","polling_station_id":"ps-00001","voting_time":"yesterday","voting_method":"postal"}"#;
    let bad_hours = br#"{"polling_station_id":"ps-bad","name":"x","region":"r","city":"c","registered_voters":1,"opens_at":"7 am","closes_at":"22:00"}"#;
    vec![
        ("votes_topic", Some(b"{not json".to_vec()), "malformed_json"),
        ("votes_topic", Some(br#"{"vote_id":"x2"}"#.to_vec()), "malformed_json"),
        ("votes_topic", Some(bad_time.to_vec()), "malformed_json"),
        ("votes_topic", Some(b"\xff\xfe".to_vec()), "not_utf8"),
        ("votes_topic", Some(absurd.to_vec()), "absurd_timestamp"),
        ("votes_topic", Some(vec![b' '; MAX_LINE_BYTES + 10]), "oversized"),
        ("votes_topic", None, "invalid_value"),
        ("voters_topic", Some(br#"{"voter_id":7}"#.to_vec()), "malformed_json"),
        ("candidates_topic", None, "invalid_value"), // a tombstone without a key
        ("polling_stations_topic", Some(bad_hours.to_vec()), "invalid_value"),
    ]
}

//! The PostgreSQL sink, on a fresh database of the local server (dropped at the end):
//!
//! * `sink_upserts`: 50 000 vote-ledger rows through [`PgSink`] (rows → binary COPY into a
//!   staging table → `INSERT … ON CONFLICT DO UPDATE`, with the progress row, in one
//!   transaction) beside a raw binary `COPY` of the same rows, already as typed values, into
//!   the same table (the limit). Rows per second for each.
//! * `end_to_end`: a generated election on the embedded Kafka cluster, read bounded by the
//!   job on 2 workers and written to PostgreSQL, with and without the vote ledger. Votes
//!   per second.
//!
//! ```text
//! cargo bench --bench postgres_sink
//! BALLOTFLOW_BENCH_PG=postgresql://user@host/db BALLOTFLOW_BENCH_VOTERS=200000 cargo bench --bench postgres_sink
//! ```
//! Vote-to-row latency at a fixed produce rate is reported by the example (its
//! `postgres:` report line); see the README.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::dataset::{SourcePosition, VotingMethod};
use ballotflow::connectors::generator::{generate, GeneratorConfig};
use ballotflow::connectors::kafka::{publish_dataset, EmbeddedCluster, KafkaConfig, Pace, PublishProgress, Publisher, Topics};
use ballotflow::connectors::postgres::{PgConfig, Postgres};
use ballotflow::connectors::sink::{Change, Output, Sink};
use ballotflow::pipelines::election;
use ballotflow::pipelines::election::job::{run_job, JobConfig, JobOutputs, JobProgress, KafkaSource, Source};
use ballotflow::pipelines::election::model::{AnomalyKind, Ballot, VoteStatus};
use ballotflow::pipelines::election::records::{LedgerVote, RecordKey, RecordRow};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls};

/// A ledger row as the raw COPY sends it.
type RawVote = (String, i32, i64, [String; 4], SystemTime, [String; 2]);

const ROWS: usize = 50_000;

/// A database for the run, dropped at the end.
struct BenchDb {
    server: String,
    name: String,
}

impl BenchDb {
    fn create() -> Self {
        let admin = std::env::var("BALLOTFLOW_BENCH_PG").unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into());
        let server = admin.rsplit_once('/').map_or(admin.clone(), |(server, _)| server.to_string());
        let name = format!("bf_bench_{}", std::process::id());
        let mut client = Client::connect(&admin, NoTls).unwrap_or_else(|e| panic!("the benchmark needs PostgreSQL (BALLOTFLOW_BENCH_PG): {e}"));
        client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap();
        BenchDb { server, name }
    }
    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&format!("{}/postgres", self.server), NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name));
        }
    }
}

fn ledger_rows() -> Vec<(RecordKey, RecordRow)> {
    (0..ROWS)
        .map(|i| {
            let position = SourcePosition::new("votes_topic", (i % 8) as i32, i as i64);
            let ballot = Ballot {
                voting_time: 1_778_140_800_000 + i as i64 * 1_000,
                vote_id: format!("vote-{i:08}").into(),
                voter_id: format!("voter-{:07}", i * 7 % ROWS).into(),
                candidate_id: format!("cand-{:04}", i % 5).into(),
                polling_station_id: format!("ps-{:05}", i % 300).into(),
                voting_method: VotingMethod::InPerson,
            };
            let status = if i % 50 == 0 { VoteStatus::Rejected(AnomalyKind::DuplicateVote) } else { VoteStatus::Counted };
            let row = RecordRow::Vote(LedgerVote::new(position, ballot, status));
            (row.key(), row)
        })
        .collect()
}

fn sink_upserts(c: &mut Criterion, db: &BenchDb) {
    let mut config = PgConfig::new(&db.url()).unwrap().with_schema("sink_bench").unwrap();
    config.batch_interval = Duration::ZERO;
    let pg = Postgres::open(config, "sink benchmark", &election::tables()).unwrap();
    let (mut client, mut setup) = (Client::connect(&db.url(), NoTls).unwrap(), Client::connect(&db.url(), NoTls).unwrap());
    let rows = ledger_rows();
    // The same rows as typed values in the table's column order, for the raw binary COPY.
    let columns = ["source_topic", "source_partition", "source_offset", "vote_id", "voter_id", "candidate_id", "polling_station_id", "voting_time", "voting_method", "status"];
    let types = [Type::TEXT, Type::INT4, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TIMESTAMPTZ, Type::TEXT, Type::TEXT];
    let typed: Vec<RawVote> = rows
        .iter()
        .map(|(_, row)| {
            let json = ballotflow::connectors::table::TableRow::to_json(row);
            let text = |c: &str| json[c].as_str().unwrap().to_string();
            let millis = ballotflow::connectors::dataset::parse_millis(&text("voting_time")).unwrap();
            (
                text("source_topic"),
                json["source_partition"].as_i64().unwrap() as i32,
                json["source_offset"].as_i64().unwrap(),
                [text("vote_id"), text("voter_id"), text("candidate_id"), text("polling_station_id")],
                SystemTime::UNIX_EPOCH + Duration::from_millis(millis as u64),
                [text("voting_method"), text("status")],
            )
        })
        .collect();
    let copy = format!("COPY sink_bench.votes ({}) FROM STDIN (FORMAT binary)", columns.join(", "));

    let mut group = c.benchmark_group("postgres_sink_upserts");
    group.throughput(Throughput::Elements(ROWS as u64)).sample_size(10);
    let mut time = 0;
    group.bench_function("raw_binary_copy", |b| {
        b.iter_batched(
            || setup.batch_execute("TRUNCATE sink_bench.votes").unwrap(),
            |()| {
                let mut writer = BinaryCopyInWriter::new(client.copy_in(&copy).unwrap(), &types);
                for (topic, partition, offset, ids, time, tail) in &typed {
                    writer.write(&[topic, partition, offset, &ids[0], &ids[1], &ids[2], &ids[3], time, &tail[0], &tail[1]]).unwrap();
                }
                writer.finish().unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    // A new sink each time, as the ledger's rows are written: once, by a sink that has not
    // written them before.
    group.bench_function("pg_sink", |b| {
        b.iter_batched(
            || {
                setup.batch_execute("TRUNCATE sink_bench.votes, sink_bench.pipeline_progress").unwrap();
                let sink = pg.sink::<RecordKey, RecordRow>("bench", 0, 1).unwrap();
                (sink, rows.iter().map(|(k, v)| Change::Upsert(k.clone(), v.clone())).collect::<Vec<_>>())
            },
            |(mut sink, changes)| {
                sink.apply(1, changes).unwrap();
                sink.advance(Some(2)).unwrap();
                sink
            },
            BatchSize::PerIteration,
        )
    });
    // The same rows again, by a sink that wrote them: each one is merged over its old row.
    let mut sink = pg.sink::<RecordKey, RecordRow>("bench", 0, 1).unwrap();
    setup.batch_execute("TRUNCATE sink_bench.votes, sink_bench.pipeline_progress").unwrap();
    group.bench_function("pg_sink_rewrite", |b| {
        b.iter_batched(
            || rows.iter().map(|(k, v)| Change::Upsert(k.clone(), v.clone())).collect::<Vec<_>>(),
            |changes| {
                sink.apply(time, changes).unwrap();
                time += 1;
                sink.advance(Some(time)).unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn end_to_end(c: &mut Criterion, db: &BenchDb) {
    let voters = std::env::var("BALLOTFLOW_BENCH_VOTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let generator = GeneratorConfig { voters, ..GeneratorConfig::default() };
    let election = generate(&generator);
    let votes = election.votes.len() as u64;
    let data = election.to_bytes();
    let cluster = EmbeddedCluster::start().unwrap();
    let topics = Topics::default();
    let wanted: Vec<(String, i32)> = topics.registries().iter().map(|(t, _)| (t.to_string(), 8)).chain([(topics.votes.clone(), 8)]).collect();
    cluster.create_topics(&wanted.iter().map(|(t, p)| (t.as_str(), *p)).collect::<Vec<_>>()).unwrap();
    let kafka = cluster.config();
    let publisher = Publisher::bulk(&kafka).unwrap();
    publish_dataset(&publisher, &topics, &data, Pace::Unlimited, &PublishProgress::default()).unwrap();
    publisher.flush().unwrap();
    cluster.check_retained(&wanted.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>()).unwrap();
    let day = generator.election_date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();

    let mut group = c.benchmark_group("postgres_end_to_end");
    group.throughput(Throughput::Elements(votes)).sample_size(10).measurement_time(Duration::from_secs(30));
    for ledger in [false, true] {
        let label = if ledger { "with_ledger" } else { "without_ledger" };
        let mut run = 0;
        group.bench_with_input(BenchmarkId::new(label, votes), &ledger, |b, &ledger| {
            b.iter(|| {
                // A fresh schema per run: a replay of a committed run would hold its writes.
                run += 1;
                let config = PgConfig::new(&db.url()).unwrap().with_schema(&format!("e2e_{label}_{run}")).unwrap();
                let pg = Postgres::open(config, "end-to-end benchmark", &election::tables()).unwrap();
                job(&pg, &kafka, ledger, day);
            })
        });
    }
    group.finish();
}

fn job(pg: &Arc<Postgres>, kafka: &KafkaConfig, ledger: bool, day: i64) {
    let (pg, source) = (pg.clone(), Source::Kafka(Arc::new(KafkaSource::new(kafka.clone()))));
    let progress = Arc::new(JobProgress::default());
    let config = JobConfig { clock: ClockConfig::default().around_day(day), ledger, ..JobConfig::default() };
    timely::execute(timely::Config::process(2), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let results = pg.sink::<ResultKey, ResultRow>("results", index, peers).unwrap();
        let records = pg.sink::<RecordKey, RecordRow>("records", index, peers).unwrap();
        let outputs = JobOutputs { results: vec![Output::background("PostgreSQL results", results)], records: vec![Output::background("PostgreSQL records", records)] };
        run_job(worker, &source, outputs, &config, &progress).unwrap();
    })
    .unwrap()
    .join()
    .into_iter()
    .for_each(|r| r.unwrap());
}

fn main() {
    let db = BenchDb::create();
    let mut c = Criterion::default().configure_from_args();
    sink_upserts(&mut c, &db);
    end_to_end(&mut c, &db);
    c.final_summary();
}

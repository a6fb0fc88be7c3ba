//! The PostgreSQL sink against the batch oracle, on a fresh database per test: bounded
//! Kafka runs on 1, 2 and 4 workers; the sink's own upsert, delete and replay semantics;
//! the example SIGKILLed again and again; its connections terminated under it; and an
//! unreachable server.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballotflow::connectors::dataset::{self, read_jsonl, Share, SourcePosition, Vote};
use ballotflow::connectors::kafka::KafkaConfig;
use ballotflow::connectors::postgres::{PgConfig, Postgres};
use ballotflow::connectors::progress::{ReadPosition, SourcePositions};
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::{Change, Output, Sink};
use ballotflow::pipelines::election;
use ballotflow::pipelines::election::job::{run_job, JobConfig, JobOutputs, JobProgress, KafkaSource, Source, WorkerReport};
use ballotflow::pipelines::election::model::{AnomalyKind, VoteStatus};
use ballotflow::pipelines::election::records::{RecordKey, RecordRow};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow, VotesPerParty};
use common::example::{example, generated, load};
use common::pg::{
    assert_tables, expected_records, expected_results, read_tables, report_value, result_tables, terminate_sessions, watch_for_going_back, without_positions, FreshDb, Tables,
};
use common::published::{admitted, clock, election, on_mock, publish};
use common::{oracle, Event};
use differential_dataflow::Hashable;
use rand::{Rng, SeedableRng};

/// Runs the job over `source` into `db` on `workers` workers; every records change is also
/// logged in `log`.
fn run_into(db: &Arc<Postgres>, source: Source, workers: usize, log: &MemorySink<RecordKey, RecordRow>) -> Vec<WorkerReport> {
    let (db, log) = (db.clone(), log.clone());
    let progress = Arc::new(JobProgress::default());
    let config = JobConfig { clock: clock(), batch: 300, ..JobConfig::default() };
    timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let results = db.sink::<ResultKey, ResultRow>("results", index, peers).expect("results sink");
        let records = db.sink::<RecordKey, RecordRow>("records", index, peers).expect("records sink");
        let outputs = JobOutputs {
            results: vec![Output::background("PostgreSQL results", results)],
            records: vec![Output::background("PostgreSQL records", records), Output::new("records log", log.for_worker(index))],
        };
        run_job(worker, &source, outputs, &config, &progress).expect("the job runs")
    })
    .expect("timely runs")
    .join()
    .into_iter()
    .map(|r| r.expect("worker finished"))
    .collect()
}

/// Ledger rows that went from counted to duplicate during the run.
fn flips(log: &MemorySink<RecordKey, RecordRow>) -> usize {
    let mut status: BTreeMap<RecordKey, VoteStatus> = BTreeMap::new();
    let mut flips = 0;
    for commit in log.state().log.as_ref().unwrap() {
        for change in &commit.changes {
            if let Change::Upsert(key, RecordRow::Vote(vote)) = change {
                let before = status.insert(key.clone(), vote.status);
                flips += usize::from(before == Some(VoteStatus::Counted) && vote.status == VoteStatus::Rejected(AnomalyKind::DuplicateVote));
            }
        }
    }
    flips
}

#[test]
fn tables_equal_the_oracle_on_1_2_and_4_workers() {
    // One partition per topic: the worker reading it has seen the whole day when the late
    // votes at its end arrive, so they are late whatever the timing. (With several
    // partitions per worker, one not yet read holds the worker's frontier at 0, and a late
    // vote could arrive on time, with no flip to see.) The other workers read nothing and
    // follow the job's watermark.
    let (_cluster, kafka) = on_mock(1);
    let election = election(21);
    let publisher = publish(&kafka, &election);
    let mut admitted = admitted(&election);
    // Late votes: twenty counted voters vote again a millisecond earlier, after everything
    // else, so their counted vote becomes a duplicate long after it was written.
    let rejected: BTreeSet<String> = oracle(&admitted)
        .values()
        .filter_map(|r| match r {
            ResultRow::Anomaly(a) => a.vote_id.clone(),
            _ => None,
        })
        .collect();
    let mut votes = election.votes.clone();
    for (i, vote) in election.votes.iter().filter(|v| !rejected.contains(&v.vote_id) && v.voting_time % 60_000 != 0).take(20).enumerate() {
        let late = Vote { vote_id: format!("late-{i}"), voting_time: vote.voting_time - 1, ..vote.clone() };
        publisher.send("votes_topic", Some(late.voter_id.as_bytes()), Some(serde_json::to_string(&late).unwrap().as_bytes())).unwrap();
        admitted.add(u64::MAX - 100 + i as u64, &Event::Vote(late.clone()));
        votes.push(late);
    }
    publisher.flush().unwrap();
    let expected_rows = oracle(&admitted);
    let no_position = SourcePosition::new("", 0, 0);
    let votes: Vec<_> = votes.into_iter().map(|v| (no_position.clone(), v)).collect();
    let expected = expected_results(&expected_rows);
    let expected_records = without_positions(expected_records(&admitted, &votes, &expected_rows, true));

    let db = FreshDb::new("oracle");
    let mut client = db.client();
    for workers in [1, 2, 4] {
        let schema = format!("w{workers}");
        let mut config = PgConfig::new(&db.url()).unwrap().with_schema(&schema).unwrap();
        config.batch_interval = Duration::ZERO; // commit at every frontier: PostgreSQL sees every step
        let pg = Postgres::open(config, "oracle test", &election::tables()).unwrap();
        let log = MemorySink::new(true);
        let reports = run_into(&pg, Source::Kafka(Arc::new(KafkaSource::new(KafkaConfig::new(&kafka.brokers)))), workers, &log);
        let label = format!("{workers} workers");
        assert_eq!(reports.iter().map(|r| r.votes).sum::<u64>(), votes.len() as u64, "{label}");
        assert_tables(&result_tables(&mut client, &schema), &expected, &label);
        let records = without_positions(read_tables(&mut client, &schema, &["candidates", "polling_stations", "voters", "votes"]));
        assert_tables(&records, &expected_records, &label);
        // Every vote message has its own position.
        let positions: i64 = client.query_one(&format!("SELECT count(DISTINCT (source_partition, source_offset)) FROM {schema}.votes"), &[]).unwrap().get(0);
        assert_eq!(positions as usize, votes.len(), "{label}");
        let stats = pg.stats();
        assert!(stats.commits > 2 * workers as u64, "{label}: batched commits, not one at the end: {stats:?}");
        let progress: Vec<(String, Option<i64>)> =
            client.query(&format!("SELECT sink, frontier FROM {schema}.pipeline_progress ORDER BY sink, worker"), &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(progress.len(), 2 * workers, "{label}: a progress row per sink and worker");
        assert!(progress.iter().all(|(_, frontier)| frontier.is_none()), "{label}: complete: {progress:?}");
        let flipped = flips(&log);
        assert!(flipped >= 10, "{label}: the late votes flip counted votes to duplicates while the job runs ({flipped})");
    }
}

fn party(name: &str, votes: i64) -> (ResultKey, ResultRow) {
    ResultRow::VotesPerParty(VotesPerParty { party_affiliation: name.into(), votes }).keyed()
}

fn upsert((key, row): (ResultKey, ResultRow)) -> Change<ResultKey, ResultRow> {
    Change::Upsert(key, row)
}

fn parties(client: &mut postgres::Client) -> BTreeMap<String, i64> {
    client.query("SELECT party_affiliation, votes FROM ballotflow.results_votes_per_party", &[]).unwrap().iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// What a sink knows after receiving these positions of partition 0 of `votes`.
fn positions(received: &[(i64, Option<u64>)]) -> SourcePositions {
    let mut positions = SourcePositions::default();
    for (next, reflected_by) in received {
        positions.observe(ReadPosition { partition: "votes/0".to_string(), next: *next, reflected_by: *reflected_by });
    }
    positions
}

#[test]
fn the_sink_upserts_deletes_and_holds_a_replay_back_until_it_has_caught_up() {
    let db = FreshDb::new("sink");
    let mut client = db.client();
    let mut config = PgConfig::new(&db.url()).unwrap();
    config.batch_interval = Duration::ZERO;
    let pg = Postgres::open(config, "sink test", &election::tables()).unwrap();
    // Party names by the worker (of two) that owns them.
    let owned_by = |worker: u64| (0..).map(|i| format!("P{i}")).filter(move |p| party(p, 0).0.hashed() % 2 == worker);
    let mine: Vec<String> = owned_by(0).take(4).collect();
    let theirs = owned_by(1).next().unwrap();
    let [a, b, c, d] = [&mine[0], &mine[1], &mine[2], &mine[3]];
    let rows = |pairs: &[(&String, i64)]| pairs.iter().map(|(p, n)| (p.to_string(), *n)).collect::<BTreeMap<_, _>>();

    // A first run: worker 0 of 2 writes and deletes its keys; worker 1 wrote `theirs`.
    let read = positions(&[(10, Some(2))]);
    let mut first = pg.sink::<ResultKey, ResultRow>("results", 0, 2).unwrap();
    let mut other = pg.sink::<ResultKey, ResultRow>("results", 1, 2).unwrap();
    first.positions(&read);
    other.positions(&read);
    assert!(!first.holding(), "nothing committed yet");
    first.apply(0, vec![upsert(party(a, 3)), upsert(party(b, 1)), upsert(party(d, 7))]).unwrap();
    first.advance(Some(1)).unwrap();
    assert_eq!(parties(&mut client), rows(&[(a, 3), (b, 1), (d, 7)]));
    first.apply(1, vec![upsert(party(a, 4)), Change::Delete(party(b, 0).0)]).unwrap();
    first.advance(Some(2)).unwrap();
    other.apply(1, vec![upsert(party(&theirs, 9))]).unwrap();
    other.advance(Some(2)).unwrap();
    let committed = rows(&[(a, 4), (d, 7), (&theirs, 9)]);
    assert_eq!(parties(&mut client), committed);
    let row = client.query_one("SELECT frontier, positions FROM ballotflow.pipeline_progress WHERE sink = 'results' AND worker = 0", &[]).unwrap();
    assert_eq!((row.get::<_, Option<i64>>(0), row.get::<_, serde_json::Value>(1)), (Some(2), serde_json::json!({ "votes/0": 10 })));

    // A replay (after a crash): the same sink holds its writes back while the replay is
    // behind the committed positions, then reconciles: its current rows are upserted and
    // the rows of its keys that no longer exist (`d`) are deleted; `theirs` is not its own.
    let mut replay = pg.sink::<ResultKey, ResultRow>("results", 0, 2).unwrap();
    assert!(replay.holding());
    replay.apply(0, vec![upsert(party(a, 1)), upsert(party(c, 2))]).unwrap();
    replay.advance(Some(1)).unwrap();
    assert_eq!(parties(&mut client), committed, "held back: a reader must not see `a` go from 4 to 1");
    replay.positions(&positions(&[(9, Some(2))]));
    replay.advance(Some(3)).unwrap();
    assert_eq!(parties(&mut client), committed, "position 9 is behind the committed 10");
    replay.positions(&positions(&[(9, Some(2)), (10, None)]));
    replay.advance(Some(4)).unwrap();
    assert_eq!(parties(&mut client), committed, "read as far, but some of it held back");
    replay.positions(&positions(&[(10, Some(5))]));
    replay.advance(Some(4)).unwrap();
    assert_eq!(parties(&mut client), committed, "read far enough, but admitted before time 5 only");
    replay.apply(4, vec![upsert(party(a, 5))]).unwrap();
    replay.advance(Some(5)).unwrap();
    assert!(!replay.holding());
    assert_eq!(parties(&mut client), rows(&[(a, 5), (c, 2), (&theirs, 9)]));
    replay.apply(5, vec![Change::Delete(party(c, 0).0)]).unwrap();
    replay.advance(None).unwrap();
    assert_eq!(parties(&mut client), rows(&[(a, 5), (&theirs, 9)]));
    let frontier: Option<i64> = client.query_one("SELECT frontier FROM ballotflow.pipeline_progress WHERE sink = 'results' AND worker = 0", &[]).unwrap().get(0);
    assert_eq!(frontier, None, "complete");
    let stats = pg.stats();
    assert_eq!((stats.replays, stats.deletes), (1, 3), "{stats:?}");
}

/// A generated data set with two bad vote lines appended, and what the tables must hold.
struct Files {
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
    results: Tables,
    records: Tables,
    dead_letters: Vec<(i64, String)>,
}

fn files(voters: &str, seed: &str) -> Files {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), voters, seed);
    let mut admitted = load(&data);
    admitted.dead_letters = 2; // the bad lines below
    let rows = oracle(&admitted);
    let mut votes = Vec::new();
    read_jsonl::<Vote, _, _>(
        &data.join(dataset::VOTES),
        Share::all(),
        |at, v| {
            votes.push((SourcePosition::new(dataset::VOTES, 0, at as i64), v));
        },
        |d| panic!("{d:?}"),
    )
    .unwrap();
    // Positions in a file are byte offsets.
    let end = std::fs::metadata(data.join(dataset::VOTES)).unwrap().len() as i64;
    let mut file = std::fs::OpenOptions::new().append(true).open(data.join(dataset::VOTES)).unwrap();
    std::io::Write::write_all(&mut file, b"{not json\n\xff\xfe\n").unwrap();
    let dead_letters = vec![(end, "malformed_json".to_string()), (end + 10, "not_utf8".to_string())];
    Files { data, results: expected_results(&rows), records: expected_records(&admitted, &votes, &rows, true), dead_letters, _tmp: tmp }
}

fn assert_files_exact(client: &mut postgres::Client, expected: &Files, label: &str) {
    assert_tables(&result_tables(client, "ballotflow"), &expected.results, label);
    assert_tables(&read_tables(client, "ballotflow", &["candidates", "polling_stations", "voters", "votes"]), &expected.records, label);
    let dead: Vec<(i64, String)> = client
        .query("SELECT source_offset, reason FROM ballotflow.dead_letters WHERE source_topic = 'votes.jsonl' ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(dead, expected.dead_letters, "{label}: dead letters");
}

fn spawn(args: &[&str]) -> Child {
    Command::new(example()).args(args).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("the example starts")
}

#[test]
fn killed_again_and_again_the_job_ends_exact_and_readers_never_see_it_go_back() {
    let expected = files("100000", "9");
    let db = FreshDb::new("crash");
    let url = db.url();
    let args = ["--input", expected.data.to_str().unwrap(), "-w", "2", "--batch", "300", "--pg-batch-ms", "20", "--postgres", &url];
    watch_for_going_back(&url);
    let mut client = db.client();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let ledger = |client: &mut postgres::Client| client.query_one("SELECT count(*) FROM ballotflow.votes", &[]).map_or(0, |r| r.get::<_, i64>(0));
    // Each run is killed a little after it has committed something new, so every kill
    // but the first lands after a replay caught up.
    let mut committed = vec![0];
    for _ in 0..12 {
        if committed.len() > 4 {
            break;
        }
        let mut child = spawn(&args);
        let before = *committed.last().unwrap();
        while child.try_wait().unwrap().is_none() && ledger(&mut client) <= before {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..150)));
        if child.try_wait().unwrap().is_some() {
            continue; // it finished first
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        committed.push(ledger(&mut client));
    }
    let kills = committed.len() - 1;
    eprintln!("ledger rows at each kill: {committed:?}");
    assert!(kills >= 3, "the job must be killed mid-run at least three times ({committed:?})");
    let printed = common::example::run(&args);
    assert!(printed.stdout.contains("replays="), "{}", printed.stdout);
    let went_back: Vec<String> = client.query("SELECT what FROM public.went_back", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert!(went_back.is_empty(), "readers saw the results go back: {went_back:#?}");
    let total = expected.records["votes"].len() as i64;
    assert!(committed[1..].iter().all(|n| *n < total), "every kill came before the end: {committed:?} of {total}");
    assert_files_exact(&mut client, &expected, "after the kills");
}

#[test]
fn terminated_connections_are_reconnected_and_nothing_is_lost() {
    let expected = files("30000", "12");
    let db = FreshDb::new("outage");
    let url = db.url();
    let args = ["--input", expected.data.to_str().unwrap(), "-w", "2", "--batch", "300", "--pg-batch-ms", "20", "--postgres", &url];
    let child = Command::new(example()).args(args).env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut client = db.client();
    // Once the sinks have committed, terminate their connections three times.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut terminated = 0;
    while terminated < 3 && Instant::now() < deadline {
        let committed = client.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'ballotflow' AND tablename = 'pipeline_progress'", &[]).unwrap().get::<_, i64>(0) > 0
            && client.query_one("SELECT count(*) FROM ballotflow.pipeline_progress", &[]).unwrap().get::<_, i64>(0) > 0;
        if committed {
            terminated += usize::from(terminate_sessions(&mut client, "ballotflow"));
            std::thread::sleep(Duration::from_millis(300));
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the job must survive the outages:\n{stdout}\n{stderr}");
    assert_eq!(terminated, 3, "the run ended before three terminations");
    let outages: u64 = report_value(&stdout, "outages");
    assert!(outages >= 1, "the report shows the outages: {stdout}");
    assert!(stderr.contains("PostgreSQL connection lost"), "the log shows the outages: {stderr}");
    assert_files_exact(&mut client, &expected, "after the outages");
}

#[test]
fn sessions_terminated_every_second_for_the_whole_run_still_end_exact() {
    // Registry commits of 60 000 voters are cut into transactions (that get smaller after
    // each interrupted one).
    let expected = files("60000", "15");
    let db = FreshDb::new("terminated");
    let url = db.url();
    let args = ["--input", expected.data.to_str().unwrap(), "-w", "2", "--batch", "300", "--pg-batch-ms", "20", "--pg-transaction-rows", "5000", "--postgres", &url];
    let mut child = Command::new(example()).args(args).env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut client = db.client();
    let mut terminations = 0;
    while child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1000));
        terminations += usize::from(terminate_sessions(&mut client, "ballotflow"));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the job must get through:\n{stdout}\n{stderr}");
    assert!(terminations >= 2, "the run outlived only {terminations} terminations");
    let outages: u64 = report_value(&stdout, "outages");
    assert!(outages >= 1, "the report shows the outages: {stdout}");
    let split: u64 = report_value(&stdout, "split_commits");
    assert!(split >= 1, "commits were split: {stdout}");
    assert_files_exact(&mut client, &expected, "after a run terminated every second");
    let progress: Vec<Option<i64>> = client.query("SELECT writing_frontier FROM ballotflow.pipeline_progress", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert!(progress.iter().all(Option::is_none), "every split commit was finished: {progress:?}");
}

#[test]
fn an_unreachable_database_is_one_clear_error_without_the_password() {
    let out = Command::new(example()).args(["--voters", "1000", "--postgres", "postgresql://alice:hunter2@127.0.0.1:1/ballots"]).env("RUST_LOG", "warn").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("PostgreSQL at alice@127.0.0.1:1/ballots is unreachable"), "{stderr}");
    assert!(!stderr.contains("hunter2") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn tables_are_made_from_their_declarations_and_a_table_that_differs_is_named() {
    let db = FreshDb::new("declared");
    let open = || Postgres::open(PgConfig::new(&db.url()).unwrap(), "schema only", &election::tables());
    drop(open().expect("the schema is created"));
    drop(open().expect("and created again, idempotently"));
    // What the catalog holds is what the declarations say, column by column.
    let mut client = db.client();
    for table in election::tables() {
        let rows = client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(a.attnum = ANY(i.indkey), false)
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
                 WHERE n.nspname = 'ballotflow' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                &[&table.name],
            )
            .unwrap();
        let found: Vec<(String, String, bool, bool)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        let spelled = |sql: &str| sql.replace("timestamptz", "timestamp with time zone");
        let declared: Vec<(String, String, bool, bool)> =
            table.columns.iter().enumerate().map(|(i, c)| (c.name.clone(), spelled(c.ty.sql()), !c.nullable, i < table.keys)).collect();
        assert_eq!(found, declared, "{}", table.name);
    }
    client.batch_execute("ALTER TABLE ballotflow.results_votes_per_party ALTER COLUMN votes TYPE integer").unwrap();
    let error = open().expect_err("a column of another type").to_string();
    assert!(error.contains("table results_votes_per_party does not match its declaration: column votes is int4, declared bigint"), "{error}");
    client.batch_execute("ALTER TABLE ballotflow.results_votes_per_party ALTER COLUMN votes TYPE bigint; ALTER TABLE ballotflow.voters DROP COLUMN email").unwrap();
    let error = open().expect_err("a missing column").to_string();
    assert!(error.contains("table voters does not match its declaration: it has no column email"), "{error}");
}

#[test]
fn a_table_that_refuses_rows_stops_the_job_with_the_sink_named_and_the_other_outputs_complete() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generated(tmp.path(), "20000", "5");
    let total = load(&data).votes.len();
    let db = FreshDb::new("refused");
    let url = db.url();
    drop(Postgres::open(PgConfig::new(&url).unwrap(), "schema only", &election::tables()).expect("the schema is created"));
    let mut client = db.client();
    client.batch_execute("ALTER TABLE ballotflow.results_votes_per_candidate ADD CONSTRAINT at_most_ten CHECK (votes <= 10)").unwrap();

    let results = tmp.path().join("results.json");
    let args = ["--input", data.to_str().unwrap(), "-w", "2", "--batch", "300", "--pg-batch-ms", "20", "--postgres", &url, "--results", results.to_str().unwrap()];
    let out = Command::new(example()).args(args).env("RUST_LOG", "warn").output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "a refused table fails the job:\n{stdout}\n{stderr}");
    assert!(stderr.contains("output \"PostgreSQL results\" failed") && stderr.contains("at_most_ten"), "the error names the sink and the cause:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = stdout.lines().find(|l| l.starts_with("votes=")).unwrap_or_else(|| panic!("the report is printed:\n{stdout}"));
    let read: usize = report.split(' ').next().and_then(|v| v.strip_prefix("votes=")).unwrap().parse().unwrap();
    assert!(read < total, "the job stopped early: {report} of {total} votes");
    // The other outputs completed what was read: the results file, and the records sink
    // of every worker committed its final frontier.
    assert!(results.exists(), "the results file is written");
    let open: i64 = client.query_one("SELECT count(*) FROM ballotflow.pipeline_progress WHERE sink = 'records' AND frontier IS NOT NULL", &[]).unwrap().get(0);
    let done: i64 = client.query_one("SELECT count(*) FROM ballotflow.pipeline_progress WHERE sink = 'records' AND frontier IS NULL", &[]).unwrap().get(0);
    assert_eq!((open, done), (0, 2), "both workers' records are complete");
}

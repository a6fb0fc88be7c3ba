//! A fresh PostgreSQL database per test (dropped after), and the expected table contents
//! of an election, written from the oracle.

use std::collections::BTreeMap;

use ballotflow::connectors::dataset::{format_millis, parse_millis, SourcePosition, Vote};
use ballotflow::connectors::postgres::{PgConfig, Postgres};
use ballotflow::connectors::table::TableRow;
use ballotflow::pipelines::election;
use ballotflow::pipelines::election::model::{AnomalyKind, Ballot, VoteStatus};
use ballotflow::pipelines::election::records::{LedgerVote, RecordRow};
use ballotflow::pipelines::election::results::{Anomaly, ResultKey, ResultRow};
use postgres::{Client, NoTls};
use serde_json::Value;

use super::{live, Admitted};

/// The test server (trust auth), as `.ci/run` starts it.
const SERVER: &str = "postgresql://postgres@127.0.0.1:5432";

/// A database created for one test and dropped when this is dropped.
pub struct FreshDb {
    pub name: String,
}

impl FreshDb {
    pub fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("bf_{label}_{}_{nanos}", std::process::id());
        admin().batch_execute(&format!("CREATE DATABASE \"{name}\"")).unwrap_or_else(|e| panic!("creating database {name} on {SERVER}: {e}"));
        FreshDb { name }
    }

    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.url(), NoTls).expect("connecting to the test database")
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Err(e) = admin().batch_execute(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)) {
            eprintln!("dropping test database {}: {e}", self.name);
        }
    }
}

fn admin() -> Client {
    Client::connect(&format!("{SERVER}/postgres"), NoTls).unwrap_or_else(|e| panic!("PostgreSQL at {SERVER} is needed for this test: {e}"))
}

/// Tables as sorted lists of normalised row objects.
pub type Tables = BTreeMap<String, Vec<Value>>;

/// Times in any RFC 3339 form become `…T…000Z` and numbers become floats, so PostgreSQL's
/// rows (`60` for a double 60.0) and ours compare.
fn normalise(row: &mut Value) {
    super::normalise_projection(row);
    if let Value::Object(columns) = row {
        for value in columns.values_mut() {
            if let Some(number) = value.as_f64() {
                *value = number.into();
            }
            if let Some(ms) = value.as_str().filter(|s| s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T')).and_then(|s| parse_millis(s).ok()) {
                *value = format_millis(ms).into();
            }
        }
    }
}

fn sorted(mut rows: Vec<Value>) -> Vec<Value> {
    rows.iter_mut().for_each(normalise);
    rows.sort_by_key(|r| r.to_string());
    rows
}

/// Every row of `tables` in `schema`.
pub fn read_tables(client: &mut Client, schema: &str, tables: &[&str]) -> Tables {
    tables
        .iter()
        .map(|table| {
            let rows = client.query(&format!("SELECT to_jsonb(t) FROM \"{schema}\".\"{table}\" AS t"), &[]).unwrap();
            (table.to_string(), sorted(rows.into_iter().map(|r| r.get::<_, Value>(0)).collect()))
        })
        .collect()
}

/// The result tables as the oracle has them.
pub fn expected_results(oracle: &BTreeMap<ResultKey, ResultRow>) -> Tables {
    let mut tables: Tables = ResultRow::tables().iter().map(|t| (t.name.to_string(), Vec::new())).collect();
    for row in oracle.values() {
        tables.get_mut(row.table().name).unwrap().push(row.to_json());
    }
    tables.into_iter().map(|(t, rows)| (t, sorted(rows))).collect()
}

/// The record tables: the live registries, and every vote message at its position with
/// the verdict the oracle gives it (`counted` unless it is one of the oracle's anomalies).
pub fn expected_records(admitted: &Admitted, votes: &[(SourcePosition, Vote)], oracle: &BTreeMap<ResultKey, ResultRow>, ledger: bool) -> Tables {
    let mut verdicts: BTreeMap<(String, String, String, String, i64), AnomalyKind> = BTreeMap::new();
    for row in oracle.values() {
        // Per-vote findings only: window and turnout findings name no vote.
        if let ResultRow::Anomaly(a @ Anomaly { vote_id: Some(_), .. }) = row {
            let key = (a.vote_id.clone().unwrap(), a.voter_id.clone().unwrap(), a.candidate_id.clone().unwrap(), a.polling_station_id.clone().unwrap(), a.voting_time.unwrap());
            verdicts.insert(key, a.kind);
        }
    }
    let mut rows: Vec<RecordRow> = Vec::new();
    rows.extend(live(&admitted.candidates).into_values().map(RecordRow::Candidate));
    rows.extend(live(&admitted.stations).into_values().map(RecordRow::Station));
    rows.extend(live(&admitted.voters).into_values().map(RecordRow::Voter));
    if ledger {
        for (position, vote) in votes {
            let key = (vote.vote_id.clone(), vote.voter_id.clone(), vote.candidate_id.clone(), vote.polling_station_id.clone(), vote.voting_time);
            let status = verdicts.get(&key).map_or(VoteStatus::Counted, |kind| VoteStatus::Rejected(*kind));
            rows.push(RecordRow::Vote(LedgerVote::new(position.clone(), Ballot::from(vote.clone()), status)));
        }
    }
    let mut tables: Tables = RecordRow::tables().iter().filter(|t| t.name != "dead_letters").map(|t| (t.name.to_string(), Vec::new())).collect();
    for row in rows {
        tables.get_mut(row.table().name).unwrap().push(row.to_json());
    }
    tables.into_iter().map(|(t, rows)| (t, sorted(rows))).collect()
}

/// Asserts that `actual` holds exactly `expected`, table by table, with a short diff.
pub fn assert_tables(actual: &Tables, expected: &Tables, label: &str) {
    for (table, rows) in expected {
        let got = &actual[table];
        if got != rows {
            let missing: Vec<_> = rows.iter().filter(|r| !got.contains(r)).take(3).collect();
            let extra: Vec<_> = got.iter().filter(|r| !rows.contains(r)).take(3).collect();
            panic!("{label}: table {table} has {} rows, expected {}\nmissing: {missing:#?}\nunexpected: {extra:#?}", got.len(), rows.len());
        }
    }
}

pub fn result_tables(client: &mut postgres::Client, schema: &str) -> Tables {
    let names: Vec<&str> = ResultRow::tables().iter().map(|t| t.name).collect();
    read_tables(client, schema, &names)
}

/// The ledger without its positions (where a message landed is the broker's choice).
pub fn without_positions(mut tables: Tables) -> Tables {
    if let Some(votes) = tables.get_mut("votes") {
        for row in votes.iter_mut() {
            let columns = row.as_object_mut().unwrap();
            for column in ["source_topic", "source_partition", "source_offset"] {
                columns.remove(column);
            }
        }
        votes.sort_by_key(|r| r.to_string());
    }
    tables
}

/// Records, with triggers, every change a reader could see as going back: a sink
/// worker's committed frontier decreasing, or a ledger row disappearing.
pub fn watch_for_going_back(url: &str) {
    // The tables exist before the job starts; its first start empties them (another job
    // string) but keeps the triggers.
    Postgres::open(PgConfig::new(url).unwrap(), "setting up the watch", &election::tables()).unwrap();
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE TABLE public.went_back (what text NOT NULL);
             CREATE FUNCTION public.went_back() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 INSERT INTO public.went_back VALUES (TG_TABLE_NAME || ' ' || TG_OP || ': ' || row_to_json(OLD)::text || ' to ' || coalesce(row_to_json(NEW)::text, 'nothing'));
                 RETURN NULL;
             END $$;
             CREATE TRIGGER frontier_went_back AFTER UPDATE ON ballotflow.pipeline_progress
                 FOR EACH ROW WHEN (NEW.frontier < OLD.frontier) EXECUTE FUNCTION public.went_back();
             CREATE TRIGGER ledger_row_went_away AFTER DELETE ON ballotflow.votes
                 FOR EACH ROW EXECUTE FUNCTION public.went_back();",
        )
        .unwrap();
}

/// Terminates every session of the job (of its processes whose connections are named
/// `application`, `ballotflow` by default); whether there was one.
pub fn terminate_sessions(client: &mut postgres::Client, application: &str) -> bool {
    let killed: i64 = client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()",
            &[&application],
        )
        .unwrap()
        .get(0);
    killed > 0
}

/// `name=value` of the example's `postgres:` report line.
pub fn report_value(stdout: &str, name: &str) -> u64 {
    let prefix = format!("{name}=");
    stdout.split_whitespace().find_map(|w| w.strip_prefix(prefix.as_str())).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no {name} in a postgres report line: {stdout}"))
}

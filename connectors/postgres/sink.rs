//! [`PgSink`]: one worker's keyed changes, upserted and deleted in batched transactions that
//! also record the worker's progress, exactly once across crashes.
//!
//! ## Writing
//! Changes are merged per key as they are delivered (only a key's last change is written)
//! and committed at a frontier, at most every [`PgConfig::batch_interval`] or as soon as
//! [`PgConfig::batch_rows`] are pending, and when the input completes. One transaction
//! per commit: per table, the upserted rows are `COPY`ed into a temporary staging table and
//! merged with `INSERT … ON CONFLICT (primary key) DO UPDATE`; the deleted keys are removed
//! with one `DELETE … USING jsonb_populate_recordset($1)`; and the worker's
//! `pipeline_progress` row gets the frontier and the source positions.
//!
//! ## Exactly once
//! Rows are absolute values (a count, not an increment), so writing a row twice is
//! harmless, and a commit reflects a frontier: all input admitted before it and, at most,
//! the input up to the positions stored with it. After a crash the job reads its input
//! again from the start. A sink that finds committed progress holds its writes back,
//! keeping its keys' current rows in memory, until the replay has read at least as far
//! as any committed position and its frontier has passed both the time at which that
//! input is admitted ([`SourceProgress::reached`]) and the committed frontier. Its state
//! then reflects a superset of what was committed, so readers see the results move
//! forward only. It then reconciles in one transaction: upserts all its current rows and
//! deletes the rows of keys it owns that no longer exist. An input that ends before that
//! point opens the gate at its end. Every sink session holds the schema's run lock shared,
//! and [`Postgres::open`] takes it exclusively, so a restart reads the committed progress
//! only after every session of the killed run has ended.
//!
//! ## Outages
//! A commit that fails because the connection is gone (a restart, `pg_terminate_backend`)
//! or for another transient reason is retried on a new connection with exponential
//! backoff; pending changes keep merging meanwhile. After [`PgConfig::outage_limit`]
//! without success the sink fails with a clear error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::Hashable;
use postgres::{Client, Statement};
use serde_json::Value;

use super::{copy, describe, PgError, Postgres, Table};
use crate::connectors::progress::{Positions, SourceProgress};
use crate::connectors::sink::json::{TableKey, TableRow};
use crate::connectors::sink::{Change, Sink, SinkError};

/// Statements of one table on one connection.
struct Prepared {
    table: Table,
    copy: String,
    merge: Statement,
    delete: Statement,
    /// Every row as a JSON object (to reconcile after a replay).
    rows: String,
}

/// A live connection with its staging tables and statements.
struct Connection {
    client: Client,
    tables: BTreeMap<&'static str, Prepared>,
    progress: Statement,
}

/// The database and this worker's connection to it, re-made after failures.
struct Link {
    db: Arc<Postgres>,
    /// The tables the sink writes.
    tables: &'static [&'static str],
    connection: Option<Connection>,
}

/// The replay gate (see the module docs).
struct Hold<K, V> {
    /// The largest committed position of every partition, over this sink's workers.
    target: Positions,
    /// The largest committed frontier (of an incomplete input): the replay opens no
    /// earlier, so `pipeline_progress` never goes back either.
    frontier: u64,
    /// The time before which the replay has admitted everything up to `target`.
    open_at: Option<u64>,
    /// This worker's current rows.
    rows: BTreeMap<K, V>,
}

/// One worker's PostgreSQL sink; see the module docs.
pub struct PgSink<K, V> {
    link: Link,
    name: String,
    job: String,
    worker: usize,
    workers: usize,
    sources: Arc<SourceProgress>,
    measure_latency: bool,
    /// Changes since the last commit: `None` deletes the key.
    pending: BTreeMap<K, Option<V>>,
    hold: Option<Hold<K, V>>,
    last_commit: Instant,
}

impl Postgres {
    /// The sink `name` (its `pipeline_progress` rows) of worker `worker` of `workers`, which
    /// must receive exactly the keys whose hash is `worker` modulo `workers` (as
    /// [`crate::connectors::sink::SinkExt::sink_into`] routes them). `sources` is the
    /// process's reader progress.
    pub fn sink<K, V: TableRow>(self: &Arc<Self>, name: &str, worker: usize, workers: usize, sources: Arc<SourceProgress>) -> Result<PgSink<K, V>, PgError> {
        let mut connection = Link::connect(self, V::TABLES)?;
        let rows = connection
            .client
            .query(&format!("SELECT positions, frontier FROM {} WHERE sink = $1", self.config.qualified("pipeline_progress")), &[&name])
            .map_err(self.config.sql_error("reading pipeline_progress"))?;
        let hold = (!rows.is_empty()).then(|| {
            let (mut target, mut frontier) = (Positions::new(), 0);
            for row in rows {
                let positions: Value = row.get(0);
                frontier = frontier.max(row.get::<_, Option<i64>>(1).unwrap_or(0) as u64);
                for (key, next) in positions.as_object().into_iter().flatten() {
                    let next = next.as_i64().unwrap_or(0);
                    let entry = target.entry(key.clone()).or_insert(next);
                    *entry = (*entry).max(next);
                }
            }
            if worker == 0 {
                tracing::info!(sink = name, partitions = target.len(), frontier, "committed progress found: writes are held back until the replay has read as far");
            }
            self.count(|s| s.replays += 1);
            Hold { target, frontier, open_at: None, rows: BTreeMap::new() }
        });
        Ok(PgSink {
            link: Link { db: self.clone(), tables: V::TABLES, connection: Some(connection) },
            name: name.to_string(),
            job: self.job.clone(),
            worker,
            workers,
            sources,
            measure_latency: false,
            pending: BTreeMap::new(),
            hold,
            last_commit: Instant::now(),
        })
    }
}

impl<K, V> PgSink<K, V> {
    /// Also measure the latency from input arrival to commit (see
    /// [`SourceProgress::latency`]); for one sink of the job.
    pub fn measure_latency(mut self) -> Self {
        self.measure_latency = true;
        self.sources.measure_latency();
        self
    }

    /// Whether writes are held back for a replay.
    pub fn holding(&self) -> bool {
        self.hold.is_some()
    }
}

impl Link {
    fn connect(db: &Postgres, names: &[&str]) -> Result<Connection, PgError> {
        let config = &db.config;
        let mut client = config.connect()?;
        client.execute("SELECT pg_advisory_lock_shared(hashtext($1))", &[&config.run_lock()]).map_err(config.sql_error("taking the run lock"))?;
        // Staging tables live in local buffers (8 MB by default): a large commit would spill.
        client.batch_execute("SET temp_buffers = '64MB'").map_err(config.sql_error("configuring the session"))?;
        let mut tables = BTreeMap::new();
        for table in names.iter().map(|name| db.table(name)) {
            let table = table?;
            let qualified = config.qualified(table.name);
            let columns = quoted(&table.columns);
            let stage = format!("\"stage_{}\"", table.name);
            client
                .batch_execute(&format!("CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {qualified}) ON COMMIT DELETE ROWS"))
                .map_err(config.sql_error("creating a staging table"))?;
            let updates: Vec<String> = table.columns.iter().filter(|c| !table.keys.contains(c)).map(|c| format!("\"{c}\" = EXCLUDED.\"{c}\"")).collect();
            let on_conflict = if updates.is_empty() { "DO NOTHING".to_string() } else { format!("DO UPDATE SET {}", updates.join(", ")) };
            let keys = quoted(&table.keys);
            let merge = format!("INSERT INTO {qualified} ({columns}) SELECT {columns} FROM {stage} ON CONFLICT ({keys}) {on_conflict}");
            let matches: Vec<String> = table.keys.iter().map(|k| format!("t.\"{k}\" = d.\"{k}\"")).collect();
            let delete = format!("DELETE FROM {qualified} AS t USING jsonb_populate_recordset(NULL::{qualified}, $1) AS d WHERE {}", matches.join(" AND "));
            let prepared = Prepared {
                table: table.clone(),
                copy: format!("COPY {stage} ({columns}) FROM STDIN (FORMAT csv)"),
                merge: client.prepare(&merge).map_err(config.sql_error("preparing a merge"))?,
                delete: client.prepare(&delete).map_err(config.sql_error("preparing a delete"))?,
                rows: format!("SELECT to_jsonb(t) FROM {qualified} AS t"),
            };
            tables.insert(table.name, prepared);
        }
        let progress = client
            .prepare(&format!(
                "INSERT INTO {} (sink, job, worker, workers, frontier, positions, committed_at) VALUES ($1, $6, $2, $3, $4, $5, now())
                 ON CONFLICT (sink, worker) DO UPDATE SET job = EXCLUDED.job, workers = EXCLUDED.workers,
                 frontier = EXCLUDED.frontier, positions = EXCLUDED.positions, committed_at = EXCLUDED.committed_at",
                config.qualified("pipeline_progress")
            ))
            .map_err(config.sql_error("preparing the progress statement"))?;
        Ok(Connection { client, tables, progress })
    }

    /// Runs `attempt` on a live connection, reconnecting with backoff after transient
    /// failures (see the module docs).
    fn with_retry<T>(&mut self, what: &str, mut attempt: impl FnMut(&mut Connection) -> Result<T, Failure>) -> Result<T, SinkError> {
        let mut outage: Option<Instant> = None;
        let mut backoff = Duration::from_millis(50);
        loop {
            let failure = match self.connection.as_mut() {
                Some(connection) => match attempt(connection) {
                    Ok(value) => {
                        if let Some(start) = outage {
                            let lasted = start.elapsed();
                            tracing::warn!(target_db = %self.db.config.target(), lasted_s = lasted.as_secs_f64(), "PostgreSQL is back; {what} resumed");
                            self.db.count(|s| s.outage_time += lasted);
                        }
                        return Ok(value);
                    }
                    Err(Failure::Io(e)) => e.to_string(),
                    Err(Failure::Pg(e)) if transient(&e) => describe(&e),
                    Err(Failure::Pg(source)) => return Err(SinkError::permanent(PgError::Sql { target: self.db.config.target(), context: what.to_string(), source })),
                },
                None => match Self::connect(&self.db, self.tables) {
                    Ok(connection) => {
                        self.connection = Some(connection);
                        continue;
                    }
                    Err(PgError::Unreachable { source, .. }) => describe(&source),
                    Err(PgError::Sql { source, .. }) if transient(&source) => describe(&source),
                    Err(e) => return Err(SinkError::permanent(e)),
                },
            };
            self.connection = None;
            let start = *outage.get_or_insert_with(|| {
                tracing::warn!(target_db = %self.db.config.target(), error = %failure, "PostgreSQL connection lost; reconnecting with backoff");
                self.db.count(|s| s.outages += 1);
                Instant::now()
            });
            if start.elapsed() >= self.db.config.outage_limit {
                self.db.count(|s| s.outage_time += start.elapsed());
                return Err(SinkError::permanent(PgError::Outage {
                    target: self.db.config.target(),
                    seconds: start.elapsed().as_secs(),
                    context: what.to_string(),
                    last: failure,
                }));
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// Failures worth a new connection and another try: the connection is gone, the server is
/// shutting down or starting, resources ran out, or a serialisation conflict.
fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let code = code.code();
            ["08", "53", "57P"].iter().any(|class| code.starts_with(class)) || code == "40001" || code == "40P01"
        }
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// A `pipeline_progress` row.
#[derive(Clone, Copy)]
struct Progress<'a> {
    sink: &'a str,
    job: &'a str,
    worker: usize,
    workers: usize,
    frontier: Option<u64>,
    positions: &'a Value,
}

/// One transaction's work.
struct Write<'a, K, V> {
    upserts: Vec<(&'a K, &'a V)>,
    deletes: Vec<&'a K>,
}

impl<'a, K: TableKey, V: TableRow> Write<'a, K, V> {
    /// Runs the writes and the progress row in one transaction on `connection`.
    fn commit(&self, connection: &mut Connection, progress: Progress<'_>) -> Result<(u64, u64), Failure> {
        let mut upserts: BTreeMap<&str, String> = BTreeMap::new();
        for (key, row) in &self.upserts {
            let table = &connection.tables[key.table()].table;
            copy::write_row(upserts.entry(table.name).or_default(), &row.to_json(), &table.columns);
        }
        let mut deletes: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for key in &self.deletes {
            deletes.entry(key.table()).or_default().push(key.key_json());
        }
        let Connection { client, tables, progress: progress_statement } = connection;
        let mut tx = client.transaction()?;
        let (mut upserted, mut deleted) = (0, 0);
        for (table, csv) in upserts {
            let prepared = &tables[table];
            let mut writer = tx.copy_in(&prepared.copy)?;
            std::io::Write::write_all(&mut writer, csv.as_bytes()).map_err(Failure::Io)?;
            writer.finish()?;
            upserted += tx.execute(&prepared.merge, &[])?;
        }
        for (table, keys) in deletes {
            deleted += tx.execute(&tables[table].delete, &[&Value::Array(keys)])?;
        }
        let Progress { sink, job, worker, workers, frontier, positions } = progress;
        let frontier = frontier.map(|f| f as i64);
        tx.execute(&*progress_statement, &[&sink, &(worker as i32), &(workers as i32), &frontier, positions, &job])?;
        tx.commit()?;
        Ok((upserted, deleted))
    }
}

/// Why an attempt failed.
#[derive(Debug)]
enum Failure {
    /// The server or the client library said so.
    Pg(postgres::Error),
    /// Sending `COPY` data failed: the connection broke.
    Io(std::io::Error),
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Pg(e) => f.write_str(&describe(e)),
            Failure::Io(e) => write!(f, "sending COPY data: {e}"),
        }
    }
}

impl<K, V> PgSink<K, V>
where
    K: TableKey + Ord + Clone + Hashable,
    V: TableRow + Clone,
{
    fn positions_json(&self) -> Value {
        Value::Object(self.sources.positions().into_iter().map(|(k, v)| (k, Value::from(v))).collect())
    }

    /// Commits the pending changes with the progress row at `frontier`.
    fn commit(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        let positions = self.positions_json();
        let write = Write {
            upserts: self.pending.iter().filter_map(|(k, v)| v.as_ref().map(|v| (k, v))).collect(),
            deletes: self.pending.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect(),
        };
        let progress = Progress { sink: &self.name, job: &self.job, worker: self.worker, workers: self.workers, frontier, positions: &positions };
        let (upserted, deleted) = self.link.with_retry("committing", |connection| write.commit(connection, progress))?;
        self.link.db.count_commit(upserted, deleted);
        self.pending.clear();
        self.last_commit = Instant::now();
        if self.measure_latency {
            self.sources.committed(self.worker, self.workers, frontier, chrono::Utc::now().timestamp_millis());
        }
        Ok(())
    }

    /// Ends a replay: every current row of this worker is upserted and every row of a key
    /// it owns that no longer exists is deleted, with the progress row, in one transaction.
    fn reconcile(&mut self, rows: BTreeMap<K, V>, frontier: Option<u64>) -> Result<(), SinkError> {
        let positions = self.positions_json();
        let (worker, workers, name, job) = (self.worker, self.workers, self.name.clone(), self.job.clone());
        let owns = |key: &K| key.hashed().into() % workers as u64 == worker as u64;
        let (upserted, deleted) = self.link.with_retry("reconciling after a replay", |connection| {
            let mut gone = Vec::new();
            for table in V::TABLES {
                for row in connection.client.query(&connection.tables[table].rows, &[])? {
                    let json: Value = row.get(0);
                    if let Some(key) = K::from_row_json(table, &json) {
                        if owns(&key) && !rows.contains_key(&key) {
                            gone.push(key);
                        }
                    }
                }
            }
            let write = Write { upserts: rows.iter().collect(), deletes: gone.iter().collect() };
            write.commit(connection, Progress { sink: &name, job: &job, worker, workers, frontier, positions: &positions })
        })?;
        self.link.db.count_commit(upserted, deleted);
        tracing::info!(sink = %self.name, worker, rows = rows.len(), deleted, "replay caught up: rows reconciled, writing changes from now on");
        self.last_commit = Instant::now();
        Ok(())
    }
}

impl<K, V> Sink<K, V> for PgSink<K, V>
where
    K: TableKey + Ord + Clone + Hashable,
    V: TableRow + Clone,
{
    fn apply(&mut self, _time: u64, changes: Vec<Change<K, V>>) -> Result<(), SinkError> {
        for change in changes {
            match (&mut self.hold, change) {
                (Some(hold), Change::Upsert(key, row)) => {
                    hold.rows.insert(key, row);
                }
                (Some(hold), Change::Delete(key)) => {
                    hold.rows.remove(&key);
                }
                (None, Change::Upsert(key, row)) => {
                    self.pending.insert(key, Some(row));
                }
                (None, Change::Delete(key)) => {
                    self.pending.insert(key, None);
                }
            }
        }
        Ok(())
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        if let Some(hold) = &mut self.hold {
            if hold.open_at.is_none() {
                hold.open_at = self.sources.reached(&hold.target);
            }
            let caught_up = match (frontier, hold.open_at) {
                (None, _) => true,
                (Some(f), Some(at)) => f >= at.max(hold.frontier),
                (Some(_), None) => false,
            };
            if caught_up {
                let hold = self.hold.take().expect("holding");
                self.reconcile(hold.rows, frontier)?;
            }
            return Ok(());
        }
        let config = &self.link.db.config;
        if frontier.is_none() || self.pending.len() >= config.batch_rows || self.last_commit.elapsed() >= config.batch_interval {
            self.commit(frontier)?;
        }
        Ok(())
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

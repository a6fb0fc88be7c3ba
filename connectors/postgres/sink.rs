//! [`PgSink`]: one worker's keyed changes, upserted and deleted in batched transactions that
//! also record the worker's progress, exactly once across crashes.
//!
//! ## Writing
//! Changes are merged per key as they are delivered (only a key's last change is written)
//! and committed at a frontier, at most every [`PgConfig::batch_interval`] or as soon as
//! [`PgConfig::batch_rows`] are pending, and when the input completes. Per table, the
//! upserted rows are sent with binary `COPY` into a temporary staging table and merged with
//! `INSERT … ON CONFLICT (primary key) DO UPDATE`; the deleted keys are removed with one
//! `DELETE … USING jsonb_populate_recordset($1)`; and the worker's `pipeline_progress` row
//! gets the frontier and the source positions, in the same transaction. A commit of more
//! than [`PgConfig::transaction_rows`] is split into several transactions: all but the
//! last record the frontier being written as `writing_frontier` and keep the previous
//! complete `frontier`. The size adapts: a quarter after an interrupted transaction (so a
//! sink gets through whenever the database lets a small transaction commit), half after one
//! that took over a second, and doubling again after quick ones.
//!
//! Run it with [`crate::connectors::sink::Output::background`]: the sink then writes on its
//! own thread, and an outage stalls only this output.
//!
//! ## Exactly once
//! Rows are absolute values (a count, not an increment), so writing a row twice is
//! harmless, and every transaction's rows reflect at most the frontier and positions its
//! progress row records: the positions are what the sink operator has received of every
//! reader's positions, in every process ([`SourcePositions::read`]), so the sink needs the
//! positions stream ([`crate::connectors::sink::SinkExt::sink_output_with`]). After a crash
//! the job (every process of it) reads its input again from the start. A sink that finds
//! committed progress holds its writes back, keeping its keys' current rows in memory, until
//! the replay has read at least as far as any committed position and its frontier has passed
//! both the time at which that input is admitted ([`SourcePositions::reached`]) and the
//! largest committed or written frontier. Its state
//! then reflects a superset of what was committed, so readers see the results move forward
//! only. It then reconciles: upserts all its current rows and deletes the rows of keys it
//! owns that no longer exist. An input that ends before that point opens the gate at its
//! end. Every sink session holds the schema's run lock shared, and [`Postgres::open`] takes
//! it exclusively, so a restart reads the committed progress only after every session of
//! the killed run has ended.
//!
//! ## Outages
//! Each call makes one attempt. A commit that fails because the connection is gone (a
//! restart, `pg_terminate_backend`) or for another transient reason (see [`transient`])
//! returns [`SinkError::Temporary`] with the changes kept; the sink operator retries with
//! backoff while changes keep merging, and gives up after its retry limit
//! ([`PgConfig::outage_limit`] for the example's sinks) with the last error: the database
//! unreachable ([`PgError::Lost`]), or reachable but every attempt interrupted
//! ([`PgError::Interrupted`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::Hashable;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, Statement};
use serde_json::Value;

use super::copy::{cell, pg_type};
use super::{describe, PgConfig, PgError, Postgres};
use crate::connectors::progress::{Positions, SourcePositions, SourceProgress};
use crate::connectors::sink::{Change, Sink, SinkError};
use crate::connectors::table::{Cell, Table, TableKey, TableRow};

/// Statements of one table on one connection.
struct Prepared {
    /// The columns' types, in declaration order.
    types: Vec<Type>,
    /// Binary `COPY` into the staging table.
    copy: String,
    /// Binary `COPY` straight into the table, for keys it cannot hold yet.
    append: String,
    merge: Statement,
    delete: Statement,
    /// Every row's key columns (to reconcile after a replay).
    keys: String,
}

/// A live connection with its staging tables and statements.
struct Connection {
    client: Client,
    tables: BTreeMap<&'static str, Prepared>,
    progress: Statement,
}

/// Since when attempts fail, and how many reconnects succeeded meanwhile.
struct Outage {
    since: Instant,
    reconnects: u64,
}

/// The database and this worker's connection to it, re-made after failures.
struct Link {
    db: Arc<Postgres>,
    /// The tables the sink writes.
    tables: &'static [&'static Table],
    connection: Option<Connection>,
    outage: Option<Outage>,
}

/// The replay gate (see the module docs).
struct Hold<K, V> {
    /// The largest committed position of every partition, over this sink's workers.
    target: Positions,
    /// The largest committed or written frontier (of an incomplete input): the replay opens
    /// no earlier, so no row and no `pipeline_progress` row goes back either.
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
    /// How far the sources have been read, as of the frontier being written.
    positions: SourcePositions,
    /// This process's reader progress, told of commits to measure latency.
    latency: Option<Arc<SourceProgress>>,
    /// Changes not yet committed: `None` deletes the key.
    pending: BTreeMap<K, Option<V>>,
    hold: Option<Hold<K, V>>,
    /// The frontier of this worker's last complete commit.
    complete: Option<u64>,
    /// The most rows the next transaction writes (see the module docs).
    transaction_rows: usize,
    /// A commit is under way (split, or interrupted): the next `advance` goes on with it.
    unfinished: bool,
    /// Hashes of the keys this sink has written rows for (see [`Write::appends`]).
    written: HashSet<u64>,
    /// The commit under way reconciles a replay.
    reconciling: bool,
    last_commit: Instant,
}

impl Postgres {
    /// The sink `name` (its `pipeline_progress` rows) of worker `worker` of `workers`, which
    /// must receive exactly the keys whose hash is `worker` modulo `workers` (as
    /// [`crate::connectors::sink::SinkExt::sink_into`] routes them), across all processes.
    pub fn sink<K, V: TableRow>(self: &Arc<Self>, name: &str, worker: usize, workers: usize) -> Result<PgSink<K, V>, PgError> {
        let mut connection = Link::connect(self, V::tables())?;
        let rows = connection
            .client
            .query(&format!("SELECT positions, frontier, writing_frontier, worker FROM {} WHERE sink = $1", self.config.qualified("pipeline_progress")), &[&name])
            .map_err(self.config.sql_error("reading pipeline_progress"))?;
        let mut complete = Some(0);
        let hold = (!rows.is_empty()).then(|| {
            let (mut target, mut frontier) = (Positions::new(), 0);
            for row in rows {
                let positions: Value = row.get(0);
                let (committed, writing): (Option<i64>, Option<i64>) = (row.get(1), row.get(2));
                if row.get::<_, i32>(3) as usize == worker {
                    complete = committed.map(|f| f as u64);
                }
                // A complete input (NULL, or being written: i64::MAX) is matched by the positions.
                let written = writing.filter(|w| *w != i64::MAX).unwrap_or(0);
                frontier = frontier.max(committed.unwrap_or(0).max(written) as u64);
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
            link: Link { db: self.clone(), tables: V::tables(), connection: Some(connection), outage: None },
            name: name.to_string(),
            job: self.job.clone(),
            worker,
            workers,
            positions: SourcePositions::default(),
            latency: None,
            pending: BTreeMap::new(),
            hold,
            complete,
            transaction_rows: self.config.transaction_rows.max(1),
            unfinished: false,
            written: HashSet::new(),
            reconciling: false,
            last_commit: Instant::now(),
        })
    }
}

impl<K, V> PgSink<K, V> {
    /// Also measure the latency from input arrival to commit in `sources`, the reader
    /// progress of this process, which runs the sink on `local_workers` workers (see
    /// [`SourceProgress::latency`]); for one sink of the job.
    pub fn measure_latency(mut self, sources: Arc<SourceProgress>, local_workers: usize) -> Self {
        sources.measure_latency(local_workers);
        self.latency = Some(sources);
        self
    }

    /// Whether writes are held back for a replay.
    pub fn holding(&self) -> bool {
        self.hold.is_some()
    }
}

impl Link {
    fn connect(db: &Postgres, declared: &[&'static Table]) -> Result<Connection, PgError> {
        let config = &db.config;
        let mut client = config.connect()?;
        client.execute("SELECT pg_advisory_lock_shared(hashtext($1))", &[&config.run_lock()]).map_err(config.sql_error("taking the run lock"))?;
        // Staging tables live in local buffers (8 MB by default): a large commit would spill.
        client.batch_execute("SET temp_buffers = '64MB'").map_err(config.sql_error("configuring the session"))?;
        let mut tables = BTreeMap::new();
        for table in declared.iter().map(|t| db.table(t.name)) {
            let table = table?;
            let qualified = config.qualified(table.name);
            let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            let keys: Vec<&str> = names[..table.keys].to_vec();
            let columns = quoted(&names);
            let stage = format!("\"stage_{}\"", table.name);
            client
                .batch_execute(&format!("CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {qualified}) ON COMMIT DELETE ROWS"))
                .map_err(config.sql_error("creating a staging table"))?;
            let updates: Vec<String> = names[table.keys..].iter().map(|c| format!("\"{c}\" = EXCLUDED.\"{c}\"")).collect();
            let on_conflict = if updates.is_empty() { "DO NOTHING".to_string() } else { format!("DO UPDATE SET {}", updates.join(", ")) };
            let merge = format!("INSERT INTO {qualified} ({columns}) SELECT {columns} FROM {stage} ON CONFLICT ({}) {on_conflict}", quoted(&keys));
            let matches: Vec<String> = keys.iter().map(|k| format!("t.\"{k}\" = d.\"{k}\"")).collect();
            let delete = format!("DELETE FROM {qualified} AS t USING jsonb_populate_recordset(NULL::{qualified}, $1) AS d WHERE {}", matches.join(" AND "));
            let prepared = Prepared {
                types: table.columns.iter().map(|c| pg_type(c.ty)).collect(),
                copy: format!("COPY {stage} ({columns}) FROM STDIN (FORMAT binary)"),
                append: format!("COPY {qualified} ({columns}) FROM STDIN (FORMAT binary)"),
                merge: client.prepare(&merge).map_err(config.sql_error("preparing a merge"))?,
                delete: client.prepare(&delete).map_err(config.sql_error("preparing a delete"))?,
                keys: format!("SELECT {} FROM {qualified}", quoted(&keys)),
            };
            tables.insert(table.name, prepared);
        }
        let progress = client
            .prepare(&format!(
                "INSERT INTO {} (sink, job, worker, workers, frontier, writing_frontier, positions, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())
                 ON CONFLICT (sink, worker) DO UPDATE SET job = EXCLUDED.job, workers = EXCLUDED.workers, frontier = EXCLUDED.frontier,
                 writing_frontier = EXCLUDED.writing_frontier, positions = EXCLUDED.positions, committed_at = EXCLUDED.committed_at",
                config.qualified("pipeline_progress")
            ))
            .map_err(config.sql_error("preparing the progress statement"))?;
        Ok(Connection { client, tables, progress })
    }

    fn config(&self) -> &PgConfig {
        &self.db.config
    }

    /// Runs `attempt` once on a live connection (connecting first if needed). A transient
    /// failure drops the connection and is temporary (see the module docs).
    fn attempt<T>(&mut self, what: &str, attempt: impl FnOnce(&mut Connection) -> Result<T, postgres::Error>) -> Result<T, SinkError> {
        if self.connection.is_none() {
            match Self::connect(&self.db, self.tables) {
                Ok(connection) => {
                    self.connection = Some(connection);
                    if let Some(outage) = &mut self.outage {
                        outage.reconnects += 1;
                    }
                }
                Err(PgError::Unreachable { source, .. }) => return Err(self.lost(what, describe(&source), false)),
                Err(PgError::Sql { source, .. }) if transient(&source) => return Err(self.lost(what, describe(&source), false)),
                Err(e) => return Err(SinkError::permanent(e)),
            }
        }
        let connection = self.connection.as_mut().expect("connected");
        match attempt(connection) {
            Ok(value) => {
                if let Some(outage) = self.outage.take() {
                    let lasted = outage.since.elapsed();
                    tracing::warn!(target_db = %self.config().target(), lasted_s = lasted.as_secs_f64(), reconnects = outage.reconnects, "PostgreSQL is back; {what} resumed");
                    self.db.count(|s| s.outage_time += lasted);
                }
                Ok(value)
            }
            Err(e) if transient(&e) => Err(self.lost(what, describe(&e), true)),
            Err(source) => Err(SinkError::permanent(PgError::Sql { target: self.config().target(), context: what.to_string(), source })),
        }
    }

    /// A transient failure while doing `what`: the connection is dropped, the outage
    /// counted. `connected` says whether the failure came after a connection was made.
    fn lost(&mut self, what: &str, last: String, connected: bool) -> SinkError {
        self.connection = None;
        let target = self.config().target();
        let outage = self.outage.get_or_insert_with(|| {
            tracing::warn!(target_db = %target, error = %last, "PostgreSQL connection lost; reconnecting with backoff");
            self.db.count(|s| s.outages += 1);
            Outage { since: Instant::now(), reconnects: 0 }
        });
        let context = what.to_string();
        match (connected, outage.reconnects) {
            (true, reconnects) if reconnects > 0 => SinkError::temporary(PgError::Interrupted { target, context, reconnects, last }),
            _ => SinkError::temporary(PgError::Lost { target, context, last }),
        }
    }
}

/// Failures worth a new connection and another try: the connection is gone (or a query on
/// it was cut off), the server is shutting down or starting, resources ran out, a lock
/// wait timed out, or a serialisation conflict or deadlock.
fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    const TRANSIENT: [SqlState; 20] = [
        SqlState::CONNECTION_EXCEPTION,
        SqlState::CONNECTION_DOES_NOT_EXIST,
        SqlState::CONNECTION_FAILURE,
        SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        SqlState::SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
        SqlState::TRANSACTION_RESOLUTION_UNKNOWN,
        SqlState::PROTOCOL_VIOLATION,
        SqlState::INSUFFICIENT_RESOURCES,
        SqlState::DISK_FULL,
        SqlState::OUT_OF_MEMORY,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::CONFIGURATION_LIMIT_EXCEEDED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::IDLE_SESSION_TIMEOUT,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN,
    ];
    match e.code() {
        Some(code) => TRANSIENT.contains(code),
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// Sends `rows` (of one table, whose columns have `types`) with the binary `COPY` statement `copy`.
fn copy_rows<V: TableRow>(tx: &mut postgres::Transaction<'_>, copy: &str, types: &[Type], rows: &[&V]) -> Result<u64, postgres::Error> {
    let mut writer = BinaryCopyInWriter::new(tx.copy_in(copy)?, types);
    let mut cells: Vec<Cell<'_>> = Vec::with_capacity(types.len());
    for &row in rows {
        cells.clear();
        row.cells(&mut cells);
        writer.write_raw(cells.iter().map(|c| c as &dyn ToSql))?;
    }
    writer.finish()
}

/// A `pipeline_progress` row.
#[derive(Clone, Copy)]
struct Progress<'a> {
    sink: &'a str,
    job: &'a str,
    worker: usize,
    workers: usize,
    /// The last complete frontier.
    frontier: Option<u64>,
    /// The frontier some rows reflect while a split commit is under way.
    writing: Option<Option<u64>>,
    positions: &'a Value,
}

/// One transaction's work.
struct Write<'a, K, V> {
    /// Rows of keys the sink has not written before (by their hash), so that the table is
    /// unlikely to hold them: they are copied straight into it, and merged like the other
    /// upserts only if that fails on a key that is there after all (a replayed run's rows,
    /// a hash shared with a written key). This halves the work of rows written once, like
    /// the vote ledger's.
    appends: Vec<(&'a K, &'a V)>,
    upserts: Vec<(&'a K, &'a V)>,
    deletes: Vec<&'a K>,
}

impl<'a, K: TableKey + Hashable, V: TableRow> Write<'a, K, V> {
    /// The first `rows` of `pending`; `written` holds the hashes of keys written before,
    /// `None` if every key may be in the table.
    fn first(pending: &'a BTreeMap<K, Option<V>>, rows: usize, written: Option<&HashSet<u64>>) -> Self {
        let mut write = Write { appends: Vec::new(), upserts: Vec::new(), deletes: Vec::new() };
        for (key, row) in pending.iter().take(rows) {
            match row {
                Some(row) if written.is_some_and(|w| !w.contains(&key.hashed().into())) => write.appends.push((key, row)),
                Some(row) => write.upserts.push((key, row)),
                None => write.deletes.push(key),
            }
        }
        write
    }

    /// Runs the writes and the progress row in one transaction on `connection`.
    fn commit(&self, connection: &mut Connection, progress: Progress<'_>) -> Result<(u64, u64), postgres::Error> {
        let by_table = |rows: &[(&K, &'a V)]| {
            let mut tables: BTreeMap<&str, Vec<&'a V>> = BTreeMap::new();
            for (key, row) in rows {
                tables.entry(key.table().name).or_default().push(*row);
            }
            tables
        };
        let (appends, mut upserts) = (by_table(&self.appends), by_table(&self.upserts));
        let mut deletes: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for key in &self.deletes {
            deletes.entry(key.table().name).or_default().push(key.key_json());
        }
        let Connection { client, tables, progress: progress_statement } = connection;
        let mut tx = client.transaction()?;
        let (mut upserted, mut deleted) = (0, 0);
        for (table, rows) in appends {
            let prepared = &tables[table];
            let mut attempt = tx.savepoint("append")?;
            match copy_rows(&mut attempt, &prepared.append, &prepared.types, &rows) {
                Ok(copied) => {
                    attempt.commit()?;
                    upserted += copied;
                }
                // Dropping the savepoint rolls the copy back; the rows are merged instead.
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => upserts.entry(table).or_default().extend(rows),
                Err(e) => return Err(e),
            }
        }
        for (table, rows) in upserts {
            let prepared = &tables[table];
            copy_rows(&mut tx, &prepared.copy, &prepared.types, &rows)?;
            upserted += tx.execute(&prepared.merge, &[])?;
        }
        for (table, keys) in deletes {
            deleted += tx.execute(&tables[table].delete, &[&Value::Array(keys)])?;
        }
        let Progress { sink, job, worker, workers, frontier, writing, positions } = progress;
        let frontier = frontier.map(|f| f as i64);
        let writing = writing.map(|w| w.map_or(i64::MAX, |f| f as i64));
        tx.execute(&*progress_statement, &[&sink, &job, &(worker as i32), &(workers as i32), &frontier, &writing, positions])?;
        tx.commit()?;
        Ok((upserted, deleted))
    }
}

impl<K, V> PgSink<K, V>
where
    K: TableKey + Ord + Clone + Hashable,
    V: TableRow + Clone,
{
    fn positions_json(&self) -> Value {
        Value::Object(self.positions.read().iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect())
    }

    /// Commits the pending changes with the progress row at `frontier`, in as many
    /// transactions as [`PgSink::transaction_rows`] asks (see the module docs).
    fn commit(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        let positions = self.positions_json();
        self.unfinished = true;
        let mut transactions = 0;
        loop {
            let rows = self.transaction_rows.min(self.pending.len());
            let last = rows == self.pending.len();
            // A replay's reconciliation rewrites rows the table holds.
            let written = (!self.reconciling).then_some(&self.written);
            let write = Write::first(&self.pending, rows, written);
            let progress = Progress {
                sink: &self.name,
                job: &self.job,
                worker: self.worker,
                workers: self.workers,
                frontier: if last { frontier } else { self.complete },
                writing: (!last).then_some(frontier),
                positions: &positions,
            };
            let started = Instant::now();
            let result = self.link.attempt("committing", |connection| write.commit(connection, progress));
            let (upserted, deleted) = match result {
                Ok(counts) => counts,
                Err(error) => {
                    self.transaction_rows = (self.transaction_rows / 4).max(MIN_TRANSACTION_ROWS);
                    return Err(error);
                }
            };
            let took = started.elapsed();
            transactions += 1;
            for (key, row) in self.pending.iter().take(rows) {
                match row {
                    Some(_) => self.written.insert(key.hashed().into()),
                    None => self.written.remove(&key.hashed().into()),
                };
            }
            self.link.db.count_commit(&self.name, took, upserted, deleted);
            if !last {
                let first_kept = self.pending.keys().nth(rows).expect("more rows than written").clone();
                self.pending = self.pending.split_off(&first_kept);
            } else {
                self.pending.clear();
            }
            let limit = self.link.config().transaction_rows.max(1);
            self.transaction_rows = match took {
                t if t > Duration::from_secs(1) => (self.transaction_rows / 2).max(MIN_TRANSACTION_ROWS),
                t if t < Duration::from_millis(250) => (self.transaction_rows * 2).min(limit),
                _ => self.transaction_rows,
            };
            if last {
                break;
            }
        }
        if transactions > 1 {
            self.link.db.count(|s| s.split_commits += 1);
        }
        self.unfinished = false;
        self.reconciling = false;
        self.complete = frontier;
        self.last_commit = Instant::now();
        if let Some(sources) = &self.latency {
            sources.committed(self.worker, frontier, chrono::Utc::now().timestamp_millis());
        }
        Ok(())
    }

    /// Ends a replay: every current row of this worker is upserted and every row of a key
    /// it owns that no longer exists is deleted.
    fn reconcile(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        let (worker, workers) = (self.worker, self.workers);
        let owns = |key: &K| key.hashed().into() % workers as u64 == worker as u64;
        let rows = &self.hold.as_ref().expect("holding").rows;
        let gone = self.link.attempt("reading the rows to reconcile after a replay", |connection| {
            let mut gone = Vec::new();
            for table in V::tables() {
                let columns = table.key_columns();
                for row in connection.client.query(&connection.tables[table.name].keys, &[])? {
                    let cells = (0..columns.len()).map(|i| cell(&row, i, columns[i].ty)).collect::<Result<Vec<_>, _>>()?;
                    if let Some(key) = K::from_cells(table.name, &cells) {
                        if owns(&key) && !rows.contains_key(&key) {
                            gone.push(key);
                        }
                    }
                }
            }
            Ok(gone)
        })?;
        let rows = self.hold.take().expect("holding").rows;
        let (current, deleted) = (rows.len(), gone.len());
        self.pending = rows.into_iter().map(|(key, row)| (key, Some(row))).chain(gone.into_iter().map(|key| (key, None))).collect();
        tracing::info!(sink = %self.name, worker, rows = current, deleted, "replay caught up: reconciling the rows, writing changes from now on");
        self.reconciling = true;
        self.commit(frontier)
    }
}

/// The fewest rows a transaction is cut down to.
const MIN_TRANSACTION_ROWS: usize = 100;

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

    fn positions(&mut self, positions: &SourcePositions) {
        self.positions = positions.clone();
    }

    fn advance(&mut self, frontier: Option<u64>) -> Result<(), SinkError> {
        if let Some(hold) = &mut self.hold {
            if hold.open_at.is_none() {
                hold.open_at = self.positions.reached(&hold.target);
            }
            let caught_up = match (frontier, hold.open_at) {
                (None, _) => true,
                (Some(f), Some(at)) => f >= at.max(hold.frontier),
                (Some(_), None) => false,
            };
            return if caught_up { self.reconcile(frontier) } else { Ok(()) };
        }
        let config = self.link.config();
        if self.unfinished || frontier.is_none() || self.pending.len() >= config.batch_rows || self.last_commit.elapsed() >= config.batch_interval {
            self.commit(frontier)?;
        }
        Ok(())
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

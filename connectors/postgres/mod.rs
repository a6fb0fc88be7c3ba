//! PostgreSQL: the schema of declared tables ([`schema_sql`]) and [`PgSink`], an
//! exactly-once sink of keyed result changes.
//!
//! [`Postgres::open`] connects once, creates the tables it is given (idempotently, in the
//! configured PostgreSQL schema, from their [`Table`] declarations) and checks the catalog
//! against the declarations, so every statement the sink runs is built from declared,
//! static names, never from input; all values travel as parameters or `COPY` data.
//! [`Postgres::sink`] then opens one connection per worker.

mod copy;
mod sink;

pub use sink::PgSink;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::{Client, NoTls};

use crate::connectors::metrics::Histogram;
use crate::connectors::table::Table;

/// The sinks' own table: one row per sink and worker. Its rows are those of every input
/// time before `frontier` (NULL: the input is complete), and reflect at most the input up
/// to `positions` (`{"topic/partition": next offset}`). A commit too big for one
/// transaction is written in several: until its last, `writing_frontier` says which
/// frontier some rows already reflect (9223372036854775807: the complete input), and is
/// NULL again after it. `job` describes the job that wrote them; a different job starts
/// the schema afresh.
const PROGRESS_SQL: &str = "CREATE TABLE IF NOT EXISTS pipeline_progress (
    sink         text NOT NULL,
    job          text NOT NULL,
    worker       integer NOT NULL,
    workers      integer NOT NULL,
    frontier     bigint,
    positions    jsonb NOT NULL,
    committed_at timestamptz NOT NULL,
    PRIMARY KEY (sink, worker)
);
ALTER TABLE pipeline_progress ADD COLUMN IF NOT EXISTS writing_frontier bigint;
";

/// The schema of `tables` and the sinks' progress, as SQL: idempotent, and naming no
/// PostgreSQL schema (apply it with the target schema first on the search path, as
/// [`Postgres::open`] does).
pub fn schema_sql(tables: &[&Table]) -> String {
    let mut sql = String::from("-- ballotflow's tables, from their declarations. Idempotent: applying it twice changes nothing.\n");
    for table in tables {
        sql += "\n";
        sql += &table.ddl();
    }
    sql + "\n-- One row per sink and worker: how far its rows are complete (see the README, \"Exactly once\").\n" + PROGRESS_SQL
}

/// Why PostgreSQL could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection URL does not parse.
    #[error("invalid PostgreSQL URL: {0}")]
    BadUrl(String),
    /// The schema name is not a plain identifier.
    #[error("invalid PostgreSQL schema name {0:?}: use letters, digits and underscores, not starting with a digit")]
    BadSchema(String),
    /// The server could not be reached.
    #[error("PostgreSQL at {target} is unreachable: {}", describe(source))]
    Unreachable {
        /// `user@host:port/database`, without the password.
        target: String,
        /// The client's error.
        source: postgres::Error,
    },
    /// A sink writes a table the database was not opened with.
    #[error("table {0} was not among the tables PostgreSQL was opened with")]
    MissingTable(String),
    /// A table in the database does not have a declared column, or not with its type.
    #[error("PostgreSQL at {target}: table {table} does not match its declaration: {problem}")]
    Mismatch {
        /// `user@host:port/database`.
        target: String,
        /// The table.
        table: String,
        /// What differs.
        problem: String,
    },
    /// The connection is lost, or the server cannot be reached, for now (a temporary
    /// failure: the sink keeps its changes and tries again).
    #[error("PostgreSQL at {target} is unreachable while {context}: {last}")]
    Lost {
        /// `user@host:port/database`.
        target: String,
        /// What was being done.
        context: String,
        /// The failure.
        last: String,
    },
    /// The server answers every reconnect, but every attempt is interrupted before it
    /// commits (sessions terminated, the server restarting); temporary, like [`PgError::Lost`].
    #[error("PostgreSQL at {target} is reachable ({reconnects} reconnects) but every attempt at {context} is interrupted: {last}")]
    Interrupted {
        /// `user@host:port/database`.
        target: String,
        /// What was being done.
        context: String,
        /// Reconnects that succeeded since the failures began.
        reconnects: u64,
        /// The last failure.
        last: String,
    },
    /// A statement failed.
    #[error("PostgreSQL at {target}: {context}: {}", describe(source))]
    Sql {
        /// `user@host:port/database`.
        target: String,
        /// What was being done.
        context: String,
        /// The server's error.
        source: postgres::Error,
    },
}

/// A client error with the server's message, if it sent one (the plain `Display` says
/// only "db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}{}", db.severity(), db.message(), db.detail().map(|d| format!(" ({d})")).unwrap_or_default()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Where and how to write.
#[derive(Clone)]
pub struct PgConfig {
    config: postgres::Config,
    schema: String,
    /// Commit at least this often while changes are pending (default 200 ms).
    pub batch_interval: Duration,
    /// Commit as soon as this many rows are pending (default 50 000).
    pub batch_rows: usize,
    /// Give up when the database has been unreachable for this long in the middle of a
    /// run (default 5 minutes); until then, reconnect with backoff. The sink's
    /// [`crate::connectors::sink::Output::retry_for`].
    pub outage_limit: Duration,
    /// The most rows one transaction writes (default 50 000). A commit of more rows is
    /// split into transactions of at most this many, fewer after one was interrupted.
    pub transaction_rows: usize,
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig").field("target", &self.target()).field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl PgConfig {
    /// A configuration for `url` (`postgresql://user:password@host:port/database` or
    /// `host=… user=…`), writing to the PostgreSQL schema `ballotflow`.
    pub fn new(url: &str) -> Result<Self, PgError> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| PgError::BadUrl(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("ballotflow");
        }
        Ok(PgConfig {
            config,
            schema: "ballotflow".into(),
            batch_interval: Duration::from_millis(200),
            batch_rows: 50_000,
            outage_limit: Duration::from_secs(300),
            transaction_rows: 50_000,
        })
    }

    /// Writes to PostgreSQL schema `name` (created if missing).
    pub fn with_schema(mut self, name: &str) -> Result<Self, PgError> {
        let mut chars = name.chars();
        let plain = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_') && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') && name.len() <= 63;
        if !plain {
            return Err(PgError::BadSchema(name.to_string()));
        }
        self.schema = name.to_string();
        Ok(self)
    }

    /// The PostgreSQL schema written to.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// `user@host:port/database`, for messages: never the password.
    pub fn target(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let user = self.config.get_user().unwrap_or("(default user)");
        format!("{user}@{host}:{port}/{}", self.config.get_dbname().unwrap_or(user))
    }

    /// A new connection.
    pub fn connect(&self) -> Result<Client, PgError> {
        self.config.connect(NoTls).map_err(|source| PgError::Unreachable { target: self.target(), source })
    }

    fn sql_error(&self, context: impl Into<String>) -> impl FnOnce(postgres::Error) -> PgError + '_ {
        let context = context.into();
        move |source| PgError::Sql { target: self.target(), context, source }
    }

    /// The advisory lock of the schema's runs: every sink session holds it shared for its
    /// lifetime, and [`Postgres::open`] takes it exclusively before it reads anything. So a
    /// restarted job (after a SIGKILL) reads the committed progress only once every session
    /// of the killed run has ended, including a commit that was in flight.
    fn run_lock(&self) -> String {
        format!("ballotflow run of schema {}", self.schema)
    }

    /// `"schema"."table"`: both are plain identifiers (checked, or static).
    fn qualified(&self, table: &str) -> String {
        format!("\"{}\".\"{}\"", self.schema, table)
    }
}

/// What the sinks of a process did, for the final report.
#[derive(Clone, Debug, Default)]
pub struct PgStats {
    /// Transactions committed.
    pub commits: u64,
    /// Rows inserted or updated.
    pub upserts: u64,
    /// Rows deleted.
    pub deletes: u64,
    /// Times a connection was lost (or a commit failed transiently) and the sink reconnected.
    pub outages: u64,
    /// Total time spent waiting for the database to come back.
    pub outage_time: Duration,
    /// Sinks that held their writes back until a replay caught up with what was committed.
    pub replays: u64,
    /// Commits split into several transactions (more rows than a transaction may hold).
    pub split_commits: u64,
    /// Per sink, how long its committed transactions took, in seconds.
    pub transactions: BTreeMap<String, Histogram>,
}

/// A PostgreSQL database prepared for the sinks of one process.
#[derive(Debug)]
pub struct Postgres {
    config: PgConfig,
    job: String,
    tables: BTreeMap<&'static str, &'static Table>,
    stats: Mutex<PgStats>,
}

impl Postgres {
    /// Connects, creates `tables` and the progress table in the configured schema (see
    /// [`schema_sql`]) and checks the catalog against the declarations.
    ///
    /// `job` describes the job (its source and settings): a replay of the same job resumes
    /// what is committed (see [`PgSink`]); if the schema holds progress of another job, its
    /// tables are emptied first, so a schema always holds one job's rows.
    pub fn open(config: PgConfig, job: &str, tables: &[&'static Table]) -> Result<Arc<Self>, PgError> {
        let mut client = config.connect()?;
        let mut tx = client.transaction().map_err(config.sql_error("starting a transaction"))?;
        // Waits until no session of an earlier run of this schema is left (see
        // [`PgConfig::run_lock`]), which also serialises concurrent first runs:
        // CREATE … IF NOT EXISTS is not safe under races.
        tx.batch_execute("SET LOCAL client_min_messages = warning; SET LOCAL lock_timeout = '30s'").map_err(config.sql_error("configuring"))?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&config.run_lock()])
            .map_err(config.sql_error(format!("waiting for the sessions of another run of schema {} to end", config.schema)))?;
        let schema = format!("\"{}\"", config.schema);
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};")).map_err(config.sql_error("creating the schema"))?;
        tx.batch_execute(&schema_sql(tables)).map_err(config.sql_error("creating the tables"))?;
        let others = tx.query("SELECT DISTINCT job FROM pipeline_progress WHERE job <> $1", &[&job]).map_err(config.sql_error("reading pipeline_progress"))?;
        if let Some(other) = others.first() {
            let other: String = other.get(0);
            tracing::warn!(schema = %config.schema, previous = %other, "the schema holds another job's rows; emptying it");
            let names: Vec<String> = tables.iter().map(|t| t.name).chain(["pipeline_progress"]).map(|t| config.qualified(t)).collect();
            tx.batch_execute(&format!("TRUNCATE {}", names.join(", "))).map_err(config.sql_error("emptying the schema"))?;
        }
        let rows = tx
            .query(
                "SELECT c.relname::text, a.attname::text, a.atttypid
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE n.nspname = $1 AND c.relkind = 'r'",
                &[&config.schema],
            )
            .map_err(config.sql_error("reading the catalog"))?;
        tx.commit().map_err(config.sql_error("committing the schema"))?;
        let catalog: BTreeMap<(String, String), u32> = rows.iter().map(|row| ((row.get(0), row.get(1)), row.get(2))).collect();
        for table in tables {
            for column in &table.columns {
                let mismatch = |problem: String| PgError::Mismatch { target: config.target(), table: table.name.to_string(), problem };
                let declared = copy::pg_type(column.ty);
                match catalog.get(&(table.name.to_string(), column.name.clone())) {
                    None => return Err(mismatch(format!("it has no column {} (drop the table, or the schema, to have it made again)", column.name))),
                    Some(oid) if *oid != declared.oid() => {
                        let found = postgres::types::Type::from_oid(*oid).map_or_else(|| format!("type {oid}"), |t| t.name().to_string());
                        return Err(mismatch(format!("column {} is {found}, declared {}", column.name, column.ty.sql())));
                    }
                    Some(_) => {}
                }
            }
        }
        tracing::info!(target = %config.target(), schema = %config.schema, tables = tables.len(), "PostgreSQL schema ready");
        let tables = tables.iter().map(|t| (t.name, *t)).collect();
        Ok(Arc::new(Postgres { config, job: job.to_string(), tables, stats: Mutex::default() }))
    }

    /// The configuration.
    pub fn config(&self) -> &PgConfig {
        &self.config
    }

    /// A copy of the counters.
    pub fn stats(&self) -> PgStats {
        self.stats.lock().expect("stats poisoned").clone()
    }

    fn count(&self, f: impl FnOnce(&mut PgStats)) {
        f(&mut self.stats.lock().expect("stats poisoned"))
    }

    fn count_commit(&self, sink: &str, took: Duration, upserted: u64, deleted: u64) {
        self.count(|s| {
            s.commits += 1;
            s.transactions.entry(sink.to_string()).or_insert_with(Histogram::latency).observe(took.as_secs_f64(), 1);
            s.upserts += upserted;
            s.deletes += deleted;
        });
    }

    fn table(&self, name: &str) -> Result<&'static Table, PgError> {
        self.tables.get(name).copied().ok_or_else(|| PgError::MissingTable(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_never_show_passwords_and_schema_names_are_plain() {
        let config = PgConfig::new("postgresql://alice:s3cret@db.example:6543/tally").unwrap();
        assert_eq!(config.target(), "alice@db.example:6543/tally");
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(matches!(PgConfig::new("postgresql://[::1"), Err(PgError::BadUrl(_))));
        assert!(config.clone().with_schema("election_2026").is_ok());
        for bad in ["", "2026", "a-b", "x\"; DROP TABLE votes; --", "Public"] {
            assert!(matches!(config.clone().with_schema(bad), Err(PgError::BadSchema(_))), "{bad}");
        }
    }
}

//! PostgreSQL: the schema (`sql/schema.sql`) and [`PgSink`], an exactly-once sink of keyed
//! result changes.
//!
//! [`Postgres::open`] connects once, creates the schema (idempotently, in the configured
//! PostgreSQL schema) and reads the tables' columns and primary keys from the catalog, so
//! every statement the sink runs is built from the catalog and static table names, never
//! from input; all values travel as parameters or `COPY` data. [`Postgres::sink`] then
//! opens one connection per worker.

mod copy;
mod sink;

pub use sink::PgSink;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::{Client, NoTls};

/// The schema, applied by [`Postgres::open`] (idempotent).
pub const SCHEMA_SQL: &str = include_str!("../../sql/schema.sql");

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
    /// A sink writes a table the schema does not have.
    #[error("table {0} is not in sql/schema.sql")]
    MissingTable(String),
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
}

/// A table's columns and primary key, from the catalog.
#[derive(Clone, Debug)]
struct Table {
    name: &'static str,
    columns: Vec<String>,
    /// The columns' types, for binary `COPY`.
    types: Vec<postgres::types::Type>,
    keys: Vec<String>,
}

/// A PostgreSQL database prepared for the sinks of one process.
#[derive(Debug)]
pub struct Postgres {
    config: PgConfig,
    job: String,
    tables: BTreeMap<&'static str, Table>,
    stats: Mutex<PgStats>,
}

impl Postgres {
    /// Connects, applies [`SCHEMA_SQL`] in the configured schema and reads the catalog.
    ///
    /// `job` describes the job (its source and settings): a replay of the same job resumes
    /// what is committed (see [`PgSink`]); if the schema holds progress of another job, its
    /// tables are emptied first, so a schema always holds one job's rows.
    pub fn open(config: PgConfig, job: &str) -> Result<Arc<Self>, PgError> {
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
        tx.batch_execute(SCHEMA_SQL).map_err(config.sql_error("applying sql/schema.sql"))?;
        let others = tx.query("SELECT DISTINCT job FROM pipeline_progress WHERE job <> $1", &[&job]).map_err(config.sql_error("reading pipeline_progress"))?;
        if let Some(other) = others.first() {
            let other: String = other.get(0);
            tracing::warn!(schema = %config.schema, previous = %other, "the schema holds another job's rows; emptying it");
            let tables: Vec<String> = schema_tables().iter().map(|t| config.qualified(t)).collect();
            tx.batch_execute(&format!("TRUNCATE {}", tables.join(", "))).map_err(config.sql_error("emptying the schema"))?;
        }
        let rows = tx
            .query(
                "SELECT c.relname::text, a.attname::text, coalesce(a.attnum = ANY(i.indkey), false), a.atttypid
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
                 WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY c.relname, a.attnum",
                &[&config.schema],
            )
            .map_err(config.sql_error("reading the catalog"))?;
        tx.commit().map_err(config.sql_error("committing the schema"))?;
        let mut tables: BTreeMap<&'static str, Table> = BTreeMap::new();
        for row in rows {
            let (table, column, key, oid): (String, String, bool, u32) = (row.get(0), row.get(1), row.get(2), row.get(3));
            // Only tables the schema file names are written; their names become static.
            let Some(name) = schema_tables().into_iter().find(|t| *t == table) else { continue };
            let entry = tables.entry(name).or_insert_with(|| Table { name, columns: Vec::new(), types: Vec::new(), keys: Vec::new() });
            if key {
                entry.keys.push(column.clone());
            }
            // Our schema uses built-in types only; others travel as text.
            entry.types.push(postgres::types::Type::from_oid(oid).unwrap_or(postgres::types::Type::TEXT));
            entry.columns.push(column);
        }
        tracing::info!(target = %config.target(), schema = %config.schema, tables = tables.len(), "PostgreSQL schema ready");
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

    fn count_commit(&self, upserted: u64, deleted: u64) {
        self.count(|s| {
            s.commits += 1;
            s.upserts += upserted;
            s.deletes += deleted;
        });
    }

    fn table(&self, name: &str) -> Result<&Table, PgError> {
        self.tables.get(name).ok_or_else(|| PgError::MissingTable(name.to_string()))
    }
}

/// Every table `sql/schema.sql` creates, in file order.
fn schema_tables() -> Vec<&'static str> {
    SCHEMA_SQL.lines().filter_map(|line| line.strip_prefix("CREATE TABLE IF NOT EXISTS ")).filter_map(|rest| rest.split_whitespace().next()).collect()
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

    #[test]
    fn the_schema_file_names_every_table() {
        let tables = schema_tables();
        for t in ["candidates", "voters", "votes", "results_top_polling_stations", "anomalies", "dead_letters", "pipeline_progress"] {
            assert!(tables.contains(&t), "{t}");
        }
    }
}

//! The PostgreSQL sink of the example: where to write, and the report line.

use std::sync::Arc;

use anyhow::Context;
use ballotflow::connectors::postgres::{PgConfig, Postgres};
use ballotflow::connectors::progress::SourceProgress;

use crate::cli::PgArgs;

/// Where the embedded default looks for PostgreSQL when no URL is given.
fn local_url() -> String {
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "postgres".into());
    format!("postgresql://{user}@127.0.0.1:5432/postgres?connect_timeout=2")
}

/// Opens the database the run writes to: `--postgres` / `DATABASE_URL`, or, for the
/// embedded default, PostgreSQL on localhost if one answers (otherwise it says so in one
/// line and runs without it). `job` names the job for `pipeline_progress`.
pub fn open(args: &PgArgs, job: &str, embedded_default: bool) -> anyhow::Result<Option<Arc<Postgres>>> {
    if args.no_postgres {
        return Ok(None);
    }
    let (url, explicit) = match &args.postgres {
        Some(url) => (url.clone(), true),
        None if embedded_default => (local_url(), false),
        None => return Ok(None),
    };
    let mut config = PgConfig::new(&url)?.with_schema(&args.pg_schema)?;
    config.batch_interval = std::time::Duration::from_millis(args.pg_batch_ms);
    config.batch_rows = args.pg_batch_rows.max(1);
    config.transaction_rows = args.pg_transaction_rows.max(1);
    match Postgres::open(config.clone(), job, &ballotflow::pipelines::election::tables()) {
        Ok(db) => {
            eprintln!("writing to PostgreSQL {} (schema {})", config.target(), config.schema());
            Ok(Some(db))
        }
        Err(e) if !explicit => {
            eprintln!("running without PostgreSQL: none reachable on localhost ({e}); pass --postgres URL to use one");
            Ok(None)
        }
        Err(e) => Err(e).context("opening PostgreSQL"),
    }
}

/// The sink's report line, with arrival-to-commit latency.
pub fn print_report(db: &Postgres, sources: &SourceProgress) {
    let s = db.stats();
    let latency = sources.latency().map_or(String::new(), |l| format!(" latency_p50_ms={} latency_p99_ms={} latency_max_ms={}", l.p50_ms, l.p99_ms, l.max_ms));
    // How long each sink's transactions took: median and largest.
    let transactions: String = s
        .transactions
        .iter()
        .map(|(sink, h)| format!(" {sink}_transaction_p50_ms={:.0} {sink}_transaction_max_ms={:.0}", h.quantile(0.5).unwrap_or(0.0) * 1e3, h.max() * 1e3))
        .collect();
    println!(
        "postgres: commits={} split_commits={} upserts={} deletes={} outages={} outage_s={:.1} replays={}{transactions}{latency}",
        s.commits,
        s.split_commits,
        s.upserts,
        s.deletes,
        s.outages,
        s.outage_time.as_secs_f64(),
        s.replays
    );
}

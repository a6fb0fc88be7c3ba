//! The election's dashboard: which result rows the page streams, the page itself, the
//! engine's figures it shows and the job's metrics (see [`crate::connectors::dashboard`]).
//!
//! The page streams every result table but two that grow with the data set: cities (read a
//! page at a time, searched on the server) and the per-vote anomalies (counted by kind; the
//! station findings, `rate_spike` and `over_turnout`, are streamed, and shown as retracted
//! when late votes withdraw them).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use super::job::JobProgress;
use crate::connectors::dashboard::{self, Board, Page, Server, Views};
use crate::connectors::metrics::{resident_bytes, Exposition};
use crate::connectors::postgres::Postgres;

/// What the election's page streams and counts.
pub const VIEWS: Views = Views { streamed, counted: &[("anomalies", "kind")] };

fn streamed(table: &str, row: &Value) -> bool {
    match table {
        "results_turnout_by_city" => false,
        "anomalies" => matches!(row["kind"].as_str(), Some("rate_spike" | "over_turnout")),
        _ => true,
    }
}

/// The election's page.
pub const PAGE: Page = Page { html: include_str!("page.html"), js: include_str!("page.js"), css: include_str!("page.css") };

/// Serves the election's dashboard over `board` on `addr`, with the figures of `progress`
/// (and of the PostgreSQL sink, if the job writes to one).
pub fn serve(addr: &str, board: Arc<Board>, progress: Arc<JobProgress>, postgres: Option<Arc<Postgres>>) -> std::io::Result<Server> {
    let started = Instant::now();
    let (figures, figures_db) = (progress.clone(), postgres.clone());
    let metrics_board = board.clone();
    let engine_figures = move || engine(&figures, figures_db.as_deref(), started);
    dashboard::serve(addr, PAGE, board, Arc::new(engine_figures), Arc::new(move || metrics(&progress, postgres.as_deref(), &metrics_board)))
}

/// The engine's figures: `{"uptime_s", "votes", "late", "dead_letters" (per reason),
/// "registry_records", "watermark_ms", "max_event_ms", "positions", "partitions" (lag and
/// idleness), "latency", "postgres",
/// "rss_bytes", "finished_workers"}`.
pub fn engine(progress: &JobProgress, postgres: Option<&Postgres>, started: Instant) -> Value {
    let latency = progress.sources.latency_histogram();
    let reasons = progress.dead_letters.lock().expect("progress poisoned").clone();
    json!({
        "uptime_s": started.elapsed().as_secs_f64(),
        "votes": progress.votes.load(Ordering::Relaxed),
        "late": progress.late.load(Ordering::Relaxed),
        "dead_letters": reasons,
        "registry_records": progress.registry_records.load(Ordering::Relaxed),
        "watermark_ms": progress.watermark(),
        "max_event_ms": progress.max_event_ms(),
        "positions": progress.sources.positions(),
        "partitions": progress.sources.health(),
        "latency": { "count": latency.count(), "p50_s": latency.quantile(0.5), "p99_s": latency.quantile(0.99) },
        "postgres": postgres.map(|db| {
            let s = db.stats();
            json!({ "commits": s.commits, "upserts": s.upserts, "deletes": s.deletes, "outages": s.outages, "outage_s": s.outage_time.as_secs_f64() })
        }),
        "rss_bytes": resident_bytes(),
        "finished_workers": progress.finished.load(Ordering::Relaxed),
    })
}

/// The job's metrics in the Prometheus text format: the readers' and the clock's counters
/// from `progress`, the PostgreSQL sink's, and the anomalies and data-quality checks on
/// `board`.
pub fn metrics(progress: &JobProgress, postgres: Option<&Postgres>, board: &Board) -> String {
    let mut page = Exposition::default();
    let counter = |page: &mut Exposition, name: &str, help: &str, value: u64| page.counter(name, help, &[], value as f64);
    counter(&mut page, "ballotflow_votes_admitted_total", "Votes read and admitted into the dataflow.", progress.votes.load(Ordering::Relaxed));
    counter(&mut page, "ballotflow_late_votes_total", "Votes admitted behind the watermark (applied at the frontier).", progress.late.load(Ordering::Relaxed));
    counter(&mut page, "ballotflow_registry_records_total", "Registry records read (candidates, stations, voters).", progress.registry_records.load(Ordering::Relaxed));
    let reasons = progress.dead_letters.lock().expect("progress poisoned").clone();
    if reasons.is_empty() {
        page.counter("ballotflow_dead_letters_total", "Records rejected as dead letters, by reason.", &[], 0.0);
    }
    for (reason, n) in &reasons {
        page.counter("ballotflow_dead_letters_total", "Records rejected as dead letters, by reason.", &[("reason", reason)], *n as f64);
    }
    if let Some(watermark) = progress.watermark() {
        page.gauge("ballotflow_watermark_seconds", "Event-time watermark: every earlier time is closed (seconds since the epoch).", &[], watermark as f64 / 1000.0);
        if let Some(max) = progress.max_event_ms() {
            let lag = (max - watermark as i64).max(0) as f64 / 1000.0;
            page.gauge("ballotflow_watermark_lag_seconds", "Largest event time read minus the watermark.", &[], lag);
        }
    }
    for (position, next) in progress.sources.positions() {
        page.gauge("ballotflow_source_next_position", "Next position (offset, line) to read per source partition.", &partition_labels(&position), next as f64);
    }
    let health = progress.sources.health();
    for (position, lag) in health.iter().filter_map(|(position, h)| Some((position, h.lag?))) {
        page.gauge("ballotflow_consumer_lag", "Messages behind the end of a source partition (Kafka client statistics, once a second).", &partition_labels(position), lag as f64);
    }
    for (position, h) in &health {
        let help = "Whether the event clock counts a source partition idle (1), holding no time back.";
        page.gauge("ballotflow_partition_idle", help, &partition_labels(position), h.idle as u8 as f64);
    }
    page.histogram("ballotflow_sink_commit_latency_seconds", "From a message's arrival to the commit that holds its effect.", &[], &progress.sources.latency_histogram());
    if let Some(db) = postgres {
        let s = db.stats();
        counter(&mut page, "ballotflow_postgres_commits_total", "PostgreSQL transactions committed.", s.commits);
        page.counter("ballotflow_postgres_rows_total", "Rows written to PostgreSQL, by operation.", &[("operation", "upsert")], s.upserts as f64);
        page.counter("ballotflow_postgres_rows_total", "Rows written to PostgreSQL, by operation.", &[("operation", "delete")], s.deletes as f64);
        counter(&mut page, "ballotflow_postgres_outages_total", "Times the PostgreSQL connection was lost (or a commit failed transiently).", s.outages);
        page.counter("ballotflow_postgres_outage_seconds_total", "Time spent waiting for PostgreSQL to come back.", &[], s.outage_time.as_secs_f64());
        for (sink, histogram) in &s.transactions {
            page.histogram("ballotflow_postgres_transaction_seconds", "How long a sink's committed PostgreSQL transactions took.", &[("sink", sink)], histogram);
        }
    }
    let kinds = board.counts("anomalies", "kind");
    for (kind, n) in &kinds {
        page.gauge("ballotflow_anomalies", "Current anomaly rows, by kind.", &[("kind", kind)], *n as f64);
    }
    for check in board.table("data_quality") {
        let name = check["check"].as_str().unwrap_or_default();
        page.gauge(
            "ballotflow_data_quality_passed",
            "Whether a data-quality check passes (1) or fails (0).",
            &[("check", name)],
            check["passed"].as_bool().map_or(f64::NAN, |p| p as u8 as f64),
        );
    }
    page.gauge(
        "ballotflow_dashboard_frontier_seconds",
        "Event time before which the dashboard holds every result.",
        &[],
        board.frontier().map_or(f64::INFINITY, |f| f as f64 / 1000.0),
    );
    if let Some(bytes) = resident_bytes() {
        page.gauge("ballotflow_resident_memory_bytes", "Resident memory of the process.", &[], bytes as f64);
    }
    page.finish()
}

/// The `source` and `partition` labels of a [`crate::connectors::progress::position_key`].
fn partition_labels(position: &str) -> [(&'static str, &str); 2] {
    let (source, partition) = position.rsplit_once('/').unwrap_or((position, "0"));
    [("source", source), ("partition", partition)]
}

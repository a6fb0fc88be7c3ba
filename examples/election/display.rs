//! What the example shows: a live progress line, the summary tables and the report line.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ballotflow::connectors::dataset::format_millis;
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::pipelines::election::job::{JobProgress, WorkerReport};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};

/// Counts a worker as finished when dropped, also if the worker panics.
pub struct Finished<'a>(pub &'a JobProgress);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// Refreshes the progress line about once a second.
pub fn show_progress(sink: &MemorySink<ResultKey, ResultRow>, progress: &JobProgress, start: Instant, line: &ProgressLine) {
    if line.due() {
        let votes = progress.votes.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let watermark = progress.watermark().filter(|w| *w > 0).map(|w| format_millis(w as i64)).unwrap_or_else(|| "-".into());
        let leading = leader(&sink.state().rows).unwrap_or_else(|| "-".into());
        line.show(format!("votes={votes} ({:.0}/s) watermark={watermark} dead_letters={} leading: {leading}", votes as f64 / secs, progress.dead_letter_total()));
    }
}

fn leader(rows: &BTreeMap<ResultKey, ResultRow>) -> Option<String> {
    rows.values()
        .filter_map(|r| match r {
            ResultRow::VotesPerCandidate(c) if c.votes > 0 => Some(c),
            _ => None,
        })
        .max_by_key(|c| (c.votes, std::cmp::Reverse(&c.candidate_id)))
        .map(|c| format!("{} ({}) {}", c.candidate_name, c.party_affiliation, c.votes))
}

/// A once-a-second progress line: redrawn in place on a terminal, one line per update otherwise.
pub struct ProgressLine {
    bar: Option<indicatif::ProgressBar>,
    last: std::cell::Cell<Instant>,
}

impl ProgressLine {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        ProgressLine { bar, last: std::cell::Cell::new(Instant::now()) }
    }
    pub fn due(&self) -> bool {
        self.last.get().elapsed() >= Duration::from_secs(1)
    }
    pub fn show(&self, message: String) {
        self.last.set(Instant::now());
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => eprintln!("[progress] {message}"),
        }
    }
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn print_summary(rows: &BTreeMap<ResultKey, ResultRow>) {
    let mut candidates = Vec::new();
    let mut parties = Vec::new();
    let mut regions = Vec::new();
    let mut anomalies: BTreeMap<&str, u64> = BTreeMap::new();
    let mut checks = Vec::new();
    for row in rows.values() {
        match row {
            ResultRow::VotesPerCandidate(c) => candidates.push(c),
            ResultRow::VotesPerParty(p) => parties.push(p),
            ResultRow::TurnoutByRegion(r) => regions.push(r),
            ResultRow::Anomaly(a) => *anomalies.entry(a.kind.as_str()).or_default() += 1,
            ResultRow::DataQuality(c) => checks.push(c),
            _ => {}
        }
    }
    candidates.sort_by_key(|c| (std::cmp::Reverse(c.votes), c.candidate_id.clone()));
    parties.sort_by_key(|p| (std::cmp::Reverse(p.votes), p.party_affiliation.clone()));
    let counted: i64 = parties.iter().map(|p| p.votes).sum();
    let share = |v: i64| if counted > 0 { 100.0 * v as f64 / counted as f64 } else { 0.0 };

    println!("\n{:<28} {:<32} {:>10} {:>7}", "candidate", "party", "votes", "share");
    for c in &candidates {
        println!("{:<28} {:<32} {:>10} {:>6.2}%", c.candidate_name, c.party_affiliation, c.votes, share(c.votes));
    }
    println!("\n{:<32} {:>10} {:>7}", "party", "votes", "share");
    for p in &parties {
        println!("{:<32} {:>10} {:>6.2}%", p.party_affiliation, p.votes, share(p.votes));
    }
    println!("\n{:<28} {:>10} {:>12} {:>8}", "region", "votes", "registered", "turnout");
    for r in &regions {
        println!("{:<28} {:>10} {:>12} {:>7.2}%", r.region, r.votes, r.registered_voters, r.turnout_pct);
    }
    println!("\ncounted votes: {counted}");
    println!("anomalies: {}", anomalies.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(" "));
    if !checks.is_empty() {
        println!("\n{:<32} {:<6} detail", "data quality", "result");
        for c in &checks {
            println!("{:<32} {:<6} {}", c.check, if c.passed { "pass" } else { "FAIL" }, c.detail);
        }
    }
}

/// The dead letters by kind, any failed outputs, and the report line: the whole job, then its
/// two phases (registries until the first vote could be read, then the votes) and the
/// process's peak resident memory.
pub fn print_report(reports: &[WorkerReport], start: Instant, elapsed: f64, workers: usize) {
    let votes: u64 = reports.iter().map(|r| r.votes).sum();
    let late: u64 = reports.iter().map(|r| r.late).sum();
    let dead: u64 = reports.iter().map(|r| r.dead_letter_total()).sum();
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    for r in reports {
        for (kind, n) in &r.dead_letters {
            *by_kind.entry(kind).or_default() += n;
        }
    }
    if dead > 0 {
        eprintln!("dead letters: {}", by_kind.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(" "));
    }
    let mut failed: BTreeMap<&str, String> = BTreeMap::new();
    for output in reports.iter().flat_map(|r| &r.outputs) {
        if let Some(error) = output.error() {
            failed.entry(output.name()).or_insert_with(|| error.to_string());
        }
    }
    for (output, error) in &failed {
        eprintln!("output {output:?} failed: {error}");
    }
    // How long the workers waited for outputs whose queues were full (backpressure).
    let mut blocked: BTreeMap<&str, f64> = BTreeMap::new();
    for output in reports.iter().flat_map(|r| &r.outputs) {
        *blocked.entry(output.name()).or_default() += output.stats().blocked.as_secs_f64();
    }
    let blocked: Vec<String> = blocked.iter().filter(|(_, s)| **s >= 0.001).map(|(name, s)| format!("{name:?}={s:.2}s")).collect();
    if !blocked.is_empty() {
        eprintln!("workers waited for full output queues: {}", blocked.join(" "));
    }
    let registry_records: u64 = reports.iter().map(|r| r.registry_records).sum();
    let registry_s = reports.iter().filter_map(|r| r.registries_loaded).max().map_or(0.0, |at| at.duration_since(start).as_secs_f64()).min(elapsed);
    let vote_s = elapsed - registry_s;
    let rate = |n: u64, s: f64| n as f64 / s.max(1e-9);
    let peak_rss = peak_rss_mb().map_or_else(|| "-".to_string(), |mb| format!("{mb:.0}"));
    println!(
        "votes={votes} elapsed_s={elapsed:.3} votes_per_s={:.0} registry_records={registry_records} registry_s={registry_s:.3} \
         registry_per_s={:.0} vote_phase_s={vote_s:.3} vote_phase_per_s={:.0} peak_rss_mb={peak_rss} workers={workers} late={late} dead_letters={dead}",
        rate(votes, elapsed),
        rate(registry_records, registry_s),
        rate(votes, vote_s),
    );
}

/// The process's peak resident set size in MiB (`VmHWM`), where the system says it.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

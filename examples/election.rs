//! The main job: tally a simulated (or recorded) election incrementally on timely workers.
//!
//! ```text
//! cargo run --release --example election -- -w 8                  # generated election, 8 workers
//! cargo run --release --example election -- --voters 2000000 --seed 7 --results results.json
//! cargo run --release --example election -- generate --out data/  # write a data set
//! cargo run --release --example election -- --input data/ -w 2    # tally a data set
//! ```
//!
//! Timely's own `-w/-n/-p/-h` work as usual (`-h` is the hostfile, as in every timely
//! program; help is `--help`). While it runs, a progress line shows votes/s, the watermark
//! and the leading candidate; at the end it prints a summary and one report line
//! `votes=… elapsed_s=… votes_per_s=… workers=… late=… dead_letters=…`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::dataset::format_millis;
use ballotflow::connectors::generator::{generate, GeneratorConfig};
use ballotflow::connectors::sink::json::write_results;
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::Routing;
use ballotflow::pipelines::election::job::{run_worker, JobConfig, JobProgress, Source, WorkerReport};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};

#[derive(Parser, Debug)]
#[command(name = "election", about = "Incremental election tally on timely/differential dataflow", disable_help_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    timely: TimelyArgs,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a generated election as a data-set directory of JSON Lines files.
    Generate {
        /// Directory to write (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        generator: GeneratorArgs,
    },
}

#[derive(Args, Debug, Clone)]
struct GeneratorArgs {
    /// Registered voters to generate.
    #[arg(long, default_value_t = 200_000)]
    voters: usize,
    /// Random seed; the same seed gives the same election.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Parties (3 to 6).
    #[arg(long, default_value_t = 5)]
    parties: usize,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Tally this data-set directory instead of a generated election.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Write the final results here as JSON.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Timely time granularity in milliseconds of event time.
    #[arg(long, default_value_t = ClockConfig::default().tick_ms)]
    tick_ms: u64,
    /// How far the watermark trails the largest event time seen, in milliseconds.
    #[arg(long, default_value_t = ClockConfig::default().max_out_of_orderness_ms)]
    max_out_of_orderness_ms: u64,
    /// Election day (YYYY-MM-DD): votes more than a day away from it are dead letters.
    /// Defaults to the generator's date for generated elections.
    #[arg(long)]
    election_date: Option<chrono::NaiveDate>,
    /// Votes each worker admits between flushes.
    #[arg(long, default_value_t = JobConfig::default().batch)]
    batch: usize,
    #[command(flatten)]
    generator: GeneratorArgs,
}

/// Timely's options, passed through.
#[derive(Args, Debug)]
struct TimelyArgs {
    /// Timely worker threads per process (default: the number of cores).
    #[arg(short = 'w', long = "workers", alias = "threads")]
    workers: Option<usize>,
    /// Number of processes.
    #[arg(short = 'n', long = "processes", default_value_t = 1)]
    processes: usize,
    /// Index of this process.
    #[arg(short = 'p', long = "process", default_value_t = 0)]
    process: usize,
    /// Hostfile with one `host:port` per process.
    #[arg(short = 'h', long = "hostfile")]
    hostfile: Option<PathBuf>,
}

impl TimelyArgs {
    fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }

    fn to_args(&self) -> Vec<String> {
        let mut args = vec!["election".to_string(), "-w".into(), self.workers().to_string()];
        args.extend(["-n".into(), self.processes.to_string(), "-p".into(), self.process.to_string()]);
        if let Some(h) = &self.hostfile {
            args.extend(["-h".into(), h.display().to_string()]);
        }
        args
    }
}

impl GeneratorArgs {
    fn config(&self) -> GeneratorConfig {
        GeneratorConfig { seed: self.seed, voters: self.voters, parties: self.parties, ..GeneratorConfig::default() }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Generate { out, generator }) => {
            let start = Instant::now();
            let election = generate(&generator.config());
            election.write_dir(&out).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {} candidates, {} stations, {} voter records, {} votes, {} labels to {} in {:.1}s",
                election.candidates.len(), election.stations.len(), election.voters.len(), election.votes.len(),
                election.labels.len(), out.display(), start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        None => run(cli.run, cli.timely),
    }
}

fn run(args: RunArgs, timely_args: TimelyArgs) -> anyhow::Result<()> {
    let source = match &args.input {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "--input {} is not a directory", dir.display());
            Source::Directory(dir.clone())
        }
        None => {
            let start = Instant::now();
            let election = generate(&args.generator.config());
            eprintln!(
                "generated {} votes of {} voters at {} stations (seed {}) in {:.1}s",
                election.votes.len(), args.generator.voters, election.stations.len(), args.generator.seed,
                start.elapsed().as_secs_f64()
            );
            Source::Generated(Arc::new(election))
        }
    };
    let workers = timely_args.workers() * timely_args.processes;
    let mut clock = ClockConfig { tick_ms: args.tick_ms.max(1), max_out_of_orderness_ms: args.max_out_of_orderness_ms, ..ClockConfig::DEFAULT };
    // Votes more than a day away from election day are absurd.
    let election_date = args.election_date.or(args.input.is_none().then_some(args.generator.config().election_date));
    if let Some(date) = election_date {
        clock = clock.around_day(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis());
    }
    let config = JobConfig {
        clock,
        batch: args.batch,
        // With several processes, gather the results in process 0 to print and write them.
        routing: if timely_args.processes > 1 { Routing::Worker(0) } else { Routing::ByKey },
    };
    let sink = MemorySink::<ResultKey, ResultRow>::new(false);
    let progress = Arc::new(JobProgress::default());

    let start = Instant::now();
    let guards = {
        let (sink, progress, source) = (sink.clone(), progress.clone(), source.clone());
        timely::execute_from_args(timely_args.to_args().into_iter(), move |worker| {
            let index = worker.index();
            let _finished = Finished(&progress);
            run_worker(worker, &source, sink.for_worker(index), &config, &progress)
        })
        .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?
    };
    let reporter = ProgressLine::new();
    let local_workers = timely_args.workers();
    while progress.finished.load(Ordering::Relaxed) < local_workers {
        show_progress(&sink, &progress, start, &reporter);
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut reports = Vec::new();
    for result in guards.join() {
        let report = result.map_err(|e| anyhow::anyhow!("a worker failed: {e}"))?;
        reports.push(report.context("reading input")?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    reporter.finish();

    let rows = sink.rows();
    if timely_args.process == 0 {
        print_summary(&rows);
    }
    if let Some(path) = &args.results {
        write_results(path, rows.values()).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    print_report(&reports, elapsed, workers)
}

/// Counts a worker as finished when dropped, also if the worker panics.
struct Finished<'a>(&'a JobProgress);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// Refreshes the progress line about once a second.
fn show_progress(sink: &MemorySink<ResultKey, ResultRow>, progress: &JobProgress, start: Instant, line: &ProgressLine) {
    if line.due() {
        let votes = progress.votes.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let watermark = progress.watermark().filter(|w| *w > 0).map(|w| format_millis(w as i64)).unwrap_or_else(|| "-".into());
        let leading = leader(&sink.state().rows).unwrap_or_else(|| "-".into());
        line.show(format!(
            "votes={votes} ({:.0}/s) watermark={watermark} dead_letters={} leading: {leading}",
            votes as f64 / secs, progress.dead_letters.load(Ordering::Relaxed)
        ));
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
struct ProgressLine {
    bar: Option<indicatif::ProgressBar>,
    last: std::cell::Cell<Instant>,
}

impl ProgressLine {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        ProgressLine { bar, last: std::cell::Cell::new(Instant::now()) }
    }
    fn due(&self) -> bool {
        self.last.get().elapsed() >= Duration::from_secs(1)
    }
    fn show(&self, message: String) {
        self.last.set(Instant::now());
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => eprintln!("[progress] {message}"),
        }
    }
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_summary(rows: &BTreeMap<ResultKey, ResultRow>) {
    let mut candidates = Vec::new();
    let mut parties = Vec::new();
    let mut regions = Vec::new();
    let mut anomalies: BTreeMap<&str, u64> = BTreeMap::new();
    for row in rows.values() {
        match row {
            ResultRow::VotesPerCandidate(c) => candidates.push(c),
            ResultRow::VotesPerParty(p) => parties.push(p),
            ResultRow::TurnoutByRegion(r) => regions.push(r),
            ResultRow::Anomaly(a) => *anomalies.entry(a.kind.as_str()).or_default() += 1,
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
}

fn print_report(reports: &[WorkerReport], elapsed: f64, workers: usize) -> anyhow::Result<()> {
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
    let sink_error = reports.iter().find_map(|r| r.sink.stats().error);
    println!(
        "votes={votes} elapsed_s={elapsed:.3} votes_per_s={:.0} workers={workers} late={late} dead_letters={dead}",
        votes as f64 / elapsed.max(1e-9)
    );
    match sink_error {
        Some(e) => anyhow::bail!("the result sink failed: {e}"),
        None => Ok(()),
    }
}

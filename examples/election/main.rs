//! The main job: tally a simulated (or recorded) election incrementally on timely workers.
//!
//! ```text
//! cargo run --release --example election -- -w 8                  # embedded Kafka, 8 workers
//! cargo run --release --example election -- --voters 2000000 --seed 7 --results results.json
//! cargo run --release --example election -- generate --out data/  # write a data set
//! cargo run --release --example election -- --input data/ -w 2    # tally a data set's files
//! cargo run --release --example election -- --direct --voters 48000000 --no-postgres -w 2  # national scale
//! cargo run --release --example election -- produce --brokers localhost:9092 --rate 20000
//! cargo run --release --example election -- --brokers localhost:9092 -w 2   # until Ctrl-C
//! ```
//!
//! By default the election is generated, published into an embedded Kafka cluster
//! (librdkafka's in-process mock broker, spoken to over the real Kafka protocol) and read
//! back from it, bounded. `--brokers` reads a real cluster instead (fill it with
//! `election produce`), until Ctrl-C or SIGTERM unless `--bounded`; `--input` reads a
//! data-set directory directly. With Kafka, results are also published to one topic per
//! result table and dead letters to a dead-letter topic.
//!
//! Timely's own `-w/-n/-p/-h` work as usual (`-h` is the hostfile, as in every timely
//! program; help is `--help`). While it runs, a progress line shows votes/s, the watermark
//! and the leading candidate; at the end it prints a summary and one report line
//! `votes=… elapsed_s=… votes_per_s=… registry_records=… registry_s=… registry_per_s=… vote_phase_s=…
//! vote_phase_per_s=… peak_rss_mb=… workers=… late=… dead_letters=…`.

mod cli;
mod detection;
mod display;
mod forecast;
mod kafka;
mod postgres;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::dashboard::Board;
use ballotflow::connectors::dataset;
use ballotflow::connectors::generator::{generate, StreamedElection};
use ballotflow::connectors::kafka::{KafkaSink, Pace, Publisher};
use ballotflow::connectors::sink::json::write_results;
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::connectors::sink::{Output, Routing};
use ballotflow::huge_pages::HugePages;
use ballotflow::pipelines::election::dashboard;
use ballotflow::pipelines::election::job::{run_job, JobConfig, JobError, JobOutputs, JobProgress, KafkaSource, Source};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};

use cli::{Cli, Command, RunArgs, TimelyArgs};
use display::{print_report, print_summary, show_progress, Finished, ProgressLine};

/// Large blocks (the voter state) on transparent huge pages: see [`HugePages`].
#[global_allocator]
static ALLOCATOR: HugePages = HugePages;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Generate { out, generator }) => {
            let start = Instant::now();
            let election = generate(&generator.config());
            election.write_dir(&out).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {} candidates, {} stations, {} voter records, {} votes, {} labels to {} in {:.1}s",
                election.candidates.len(),
                election.stations.len(),
                election.voters.len(),
                election.votes.len(),
                election.labels.len(),
                out.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Some(Command::Produce(args)) => kafka::produce(args),
        Some(Command::Forecast(args)) => forecast::run(args),
        Some(Command::Schema) => {
            print!("{}", ballotflow::connectors::postgres::schema_sql(&ballotflow::pipelines::election::tables()));
            Ok(())
        }
        None => run(cli.run, cli.timely),
    }
}

/// Stops a Kafka job gracefully on the first Ctrl-C / SIGTERM, at once on the second.
/// (Jobs over files keep the default: they stop at once.)
fn shutdown_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    ctrlc::set_handler(move || {
        if set.swap(true, Ordering::SeqCst) {
            eprintln!("\nstopping now");
            std::process::exit(130);
        }
        eprintln!("\nstopping: finishing the results (again to stop at once)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(flag)
}

fn run(args: RunArgs, timely_args: TimelyArgs) -> anyhow::Result<()> {
    let mut cluster = None;
    // Ctrl-C stops a Kafka job gracefully, and ends a lingering dashboard.
    let shutdown = match args.input.is_none() && !args.direct || args.linger {
        true => Some(shutdown_flag()?),
        false => None,
    };
    let mut paced = None;
    // One producer per process for result topics, another for dead letters: a failure of
    // one never takes the other's messages with it.
    let mut result_publisher = None;
    let g = &args.generator;
    let job = match (&args.input, &args.kafka.brokers) {
        _ if args.direct => format!("direct generator seed={} voters={} parties={}", g.seed, g.voters, g.parties),
        (Some(dir), _) => format!("files {}", std::fs::canonicalize(dir).unwrap_or(dir.clone()).display()),
        (None, Some(brokers)) => format!("kafka {brokers} {}", args.kafka.votes_topic),
        (None, None) => format!("embedded kafka, generated seed={} voters={} parties={}", g.seed, g.voters, g.parties),
    };
    let embedded_default = args.input.is_none() && args.kafka.brokers.is_none() && !args.direct;
    let detectors = args.detection.detectors()?;
    // Ground truth to score the findings against: given, in the data set, or generated below.
    let mut labels = match (&args.detection.labels, &args.input) {
        (Some(path), _) => Some(detection::load_labels(path)?),
        (None, Some(dir)) if dir.join(dataset::INJECTED_ANOMALIES).is_file() => Some(detection::load_labels(&dir.join(dataset::INJECTED_ANOMALIES))?),
        _ => None,
    };
    let db = postgres::open(&args.postgres, &job, embedded_default)?;
    let source = match &args.input {
        _ if args.direct => {
            let start = Instant::now();
            anyhow::ensure!(args.generator.stress.is_empty(), "--direct draws the election voter by voter, without the --stress options; drop one of them");
            let election = StreamedElection::new(&args.generator.config());
            eprintln!(
                "drawing {} voters at {} stations (seed {}) on the workers; registries ready in {:.1}s",
                args.generator.voters,
                election.stations().len(),
                args.generator.seed,
                start.elapsed().as_secs_f64()
            );
            Source::Streamed(Arc::new(election))
        }
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "--input {} is not a directory", dir.display());
            Source::Directory(dir.clone())
        }
        None => {
            let connected = kafka::Cluster::connect(&args.kafka)?;
            let topics = args.kafka.topics();
            if connected.embedded() {
                let start = Instant::now();
                let election = generate(&args.generator.config());
                eprintln!(
                    "generated {} votes of {} voters at {} stations (seed {}) in {:.1}s",
                    election.votes.len(),
                    args.generator.voters,
                    election.stations.len(),
                    args.generator.seed,
                    start.elapsed().as_secs_f64()
                );
                let votes = election.votes.len();
                let data = election.to_bytes();
                labels.get_or_insert(election.labels);
                connected.create_data_topics(&topics, Some(&data), args.kafka.partitions, 1)?;
                if args.dashboard.is_some() {
                    // Live: the votes go out over about a minute while the job reads them.
                    let rate = args.rate.unwrap_or(votes as f64 / 60.0).max(1.0);
                    paced = Some(kafka::publish_paced(&connected.config, &topics, data, rate)?);
                } else {
                    kafka::publish(&connected.config, &topics, &data, Pace::Unlimited)?;
                    connected.check_retained(&topics)?;
                }
            }
            connected.ensure_output_topics(&topics, !args.no_result_topics)?;
            if !args.no_result_topics {
                result_publisher = Some(Arc::new(Publisher::new(&connected.config)?));
            }
            let source = KafkaSource {
                config: connected.config.clone(),
                topics,
                start: args.start.clone(),
                bounded: args.bounded || (connected.embedded() && paced.is_none()),
                shutdown: shutdown.clone().expect("Kafka jobs stop on Ctrl-C"),
                dead_letters: Some(Arc::new(Publisher::new(&connected.config)?)),
            };
            cluster = Some(connected);
            Source::Kafka(Arc::new(source))
        }
    };

    let workers = timely_args.workers() * timely_args.processes;
    let mut clock = ClockConfig {
        tick_ms: args.tick_ms.max(1),
        max_out_of_orderness_ms: args.max_out_of_orderness_ms,
        idle_timeout_ms: Some(args.idle_timeout_ms).filter(|ms| *ms > 0),
        ..ClockConfig::DEFAULT
    };
    // Votes more than a day away from election day are absurd; without a date, the clock
    // learns the range from the votes themselves.
    let generated = args.direct || (args.input.is_none() && cluster.as_ref().is_some_and(|c| c.embedded()));
    let election_date = args.election_date.or(generated.then_some(args.generator.config().election_date));
    if let Some(date) = election_date {
        clock = clock.around_day(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis());
    }
    let config = JobConfig { clock, batch: args.batch, ledger: !args.postgres.no_ledger, detectors };
    let sink = MemorySink::<ResultKey, ResultRow>::new(false);
    let progress = Arc::new(JobProgress::default());
    let board = args.dashboard.as_ref().map(|_| Board::new(dashboard::VIEWS));
    let server = match (&args.dashboard, &board) {
        (Some(addr), Some(board)) => {
            let server = dashboard::serve(addr, board.clone(), progress.clone(), db.clone()).with_context(|| format!("serving the dashboard on {addr}"))?;
            eprintln!("dashboard: http://{}/  (metrics: http://{}/metrics)", server.addr(), server.addr());
            Some(server)
        }
        _ => None,
    };

    let start = Instant::now();
    let guards = {
        let (sink, progress, source, result_publisher, db, board) = (sink.clone(), progress.clone(), source.clone(), result_publisher.clone(), db.clone(), board.clone());
        // With several processes, gather the results in process 0 to print and write them.
        let gather = if timely_args.processes > 1 { Routing::Worker(0) } else { Routing::ByKey };
        let local_workers = timely_args.workers();
        timely::execute_from_args(timely_args.to_args().into_iter(), move |worker| -> anyhow::Result<_> {
            let (index, peers) = (worker.index(), worker.peers());
            let _finished = Finished(&progress);
            let mut outputs = JobOutputs::default();
            outputs.results.push(Output::new("results", sink.for_worker(index)).routed(gather));
            if let Some(board) = &board {
                outputs.results.push(Output::background("dashboard", board.sink(index)).routed(gather));
            }
            if let Some(publisher) = &result_publisher {
                outputs.results.push(Output::background("result topics", KafkaSink::new(publisher.clone())));
            }
            if let Some(db) = &db {
                let outage_limit = db.config().outage_limit;
                let results = db.sink("results", index, peers)?.measure_latency(progress.sources.clone(), local_workers);
                outputs.results.push(Output::background("PostgreSQL results", results).retry_for(outage_limit));
                outputs.records.push(Output::background("PostgreSQL records", db.sink("records", index, peers)?).retry_for(outage_limit));
            }
            Ok(run_job(worker, &source, outputs, &config, &progress))
        })
        .map_err(|e| anyhow::anyhow!("starting timely: {e}"))?
    };
    let reporter = ProgressLine::new();
    let local_workers = timely_args.workers();
    // The line is redrawn once a second; the short sleep sees the workers finish at once.
    while progress.finished.load(Ordering::Relaxed) < local_workers {
        show_progress(&sink, &progress, start, &reporter);
        std::thread::sleep(Duration::from_millis(5));
    }
    // Every worker's report, and the first output failure any worker returned.
    let (mut reports, mut failure) = (Vec::new(), None);
    for result in guards.join() {
        let result = result.map_err(|e| anyhow::anyhow!("a worker failed: {e}"))??;
        match result {
            Ok(report) => reports.push(report),
            Err(JobError::Output { failure: f, report }) => {
                reports.push(*report);
                failure.get_or_insert(f);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    reporter.finish();

    let rows = sink.rows();
    if timely_args.process == 0 {
        print_summary(&rows);
        if let Some(labels) = &labels {
            detection::print_detection(labels, &rows);
        }
    }
    if let Some(path) = &args.results {
        write_results(path, rows.values()).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    // Clients first, then the embedded cluster they talk to.
    drop((source, result_publisher));
    drop(cluster);
    if let Some(db) = &db {
        postgres::print_report(db, &progress.sources);
    }
    print_report(&reports, start, elapsed, workers);
    if let (Some(server), true, Some(shutdown)) = (&server, args.linger, &shutdown) {
        eprintln!("dashboard still at http://{}/ (Ctrl-C to stop)", server.addr());
        while !shutdown.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    if let Some(paced) = paced.filter(|p| p.is_finished()) {
        paced.join().map_err(|_| anyhow::anyhow!("the publisher panicked"))??;
    }
    match failure {
        Some(failure) => Err(anyhow::Error::new(failure).context("the job stopped before the end of its input")),
        None => Ok(()),
    }
}

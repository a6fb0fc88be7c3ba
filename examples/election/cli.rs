//! The command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use ballotflow::connectors::clock::ClockConfig;
use ballotflow::connectors::generator::{GeneratorConfig, Stress};
use ballotflow::connectors::kafka::{KafkaConfig, StartPosition, Topics};
use ballotflow::operators::rate::RateModel;
use ballotflow::pipelines::election::job::JobConfig;
use ballotflow::pipelines::election::projection::{ProjectionConfig, ProjectionModel};
use ballotflow::pipelines::election::quality::QualityRules;
use ballotflow::pipelines::election::Detectors;

#[derive(Parser, Debug)]
#[command(name = "election", about = "Incremental election tally on timely/differential dataflow", disable_help_flag = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub timely: TimelyArgs,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help, global = true)]
    help: Option<bool>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a generated election as a data-set directory of JSON Lines files.
    Generate {
        /// Directory to write (created if missing).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        generator: GeneratorArgs,
    },
    /// Publish a generated election (or a data-set directory) to Kafka topics.
    Produce(ProduceArgs),
    /// Print the PostgreSQL schema the job creates (idempotent SQL, for psql).
    Schema,
    /// Measure the live projection like a forecast on generated elections (calibration and
    /// test seeds, stress options on and off); prints markdown tables.
    Forecast(crate::forecast::ForecastArgs),
}

#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// Publish this data-set directory instead of a generated election.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Votes per second on average, following the turnout curve (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Replication factor of the topics created.
    #[arg(long, default_value_t = 1)]
    pub replication: i32,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
}

#[derive(Args, Debug, Clone)]
pub struct GeneratorArgs {
    /// Registered voters to generate.
    #[arg(long, default_value_t = 200_000)]
    pub voters: usize,
    /// Random seed; the same seed gives the same election.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Parties (3 to 6).
    #[arg(long, default_value_t = 5)]
    pub parties: usize,
    /// Options that make the election hard to project (off by default; not with
    /// `--direct`): age-timing, regional-hours, station-shocks, late-swing, or all.
    #[arg(long, value_delimiter = ',')]
    pub stress: Vec<StressOption>,
}

/// A generator stress option (see `ballotflow::connectors::generator::Stress`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StressOption {
    AgeTiming,
    RegionalHours,
    StationShocks,
    LateSwing,
    All,
}

impl GeneratorArgs {
    pub fn config(&self) -> GeneratorConfig {
        let mut stress = Stress::default();
        for option in &self.stress {
            match option {
                StressOption::AgeTiming => stress.age_timing = true,
                StressOption::RegionalHours => stress.regional_hours = true,
                StressOption::StationShocks => stress.station_shock = Stress::ALL.station_shock,
                StressOption::LateSwing => stress.late_swing = Stress::ALL.late_swing,
                StressOption::All => stress = Stress::ALL,
            }
        }
        GeneratorConfig { seed: self.seed, voters: self.voters, parties: self.parties, stress, ..GeneratorConfig::default() }
    }
}

/// Kafka connection and topics.
#[derive(Args, Debug, Clone)]
pub struct KafkaArgs {
    /// Kafka brokers (`host:port,…`). Without it, the example runs an embedded
    /// (in-process, mock) Kafka cluster.
    #[arg(long)]
    pub brokers: Option<String>,
    /// A librdkafka setting `key=value` (SASL, SSL, tuning); repeatable. Values of
    /// secret-looking keys are never printed.
    #[arg(long = "kafka-config", value_name = "KEY=VALUE")]
    pub kafka_config: Vec<String>,
    /// Partitions of the topics created (`produce` and the embedded cluster).
    #[arg(long, default_value_t = 8)]
    pub partitions: i32,
    /// Topic of candidate records.
    #[arg(long, default_value_t = Topics::default().candidates)]
    pub candidates_topic: String,
    /// Topic of polling-station records.
    #[arg(long, default_value_t = Topics::default().polling_stations)]
    pub polling_stations_topic: String,
    /// Topic of voter records.
    #[arg(long, default_value_t = Topics::default().voters)]
    pub voters_topic: String,
    /// Topic of votes.
    #[arg(long, default_value_t = Topics::default().votes)]
    pub votes_topic: String,
    /// Topic dead letters are published to.
    #[arg(long, default_value_t = Topics::default().dead_letters)]
    pub dead_letters_topic: String,
}

impl KafkaArgs {
    /// The client configuration for `brokers`.
    pub fn config(&self, brokers: &str) -> anyhow::Result<KafkaConfig> {
        let mut config = KafkaConfig::new(brokers);
        for setting in &self.kafka_config {
            config = config.with_setting(setting)?;
        }
        Ok(config)
    }

    pub fn topics(&self) -> Topics {
        Topics {
            candidates: self.candidates_topic.clone(),
            polling_stations: self.polling_stations_topic.clone(),
            voters: self.voters_topic.clone(),
            votes: self.votes_topic.clone(),
            dead_letters: self.dead_letters_topic.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Tally this data-set directory (read directly, without Kafka).
    #[arg(long, conflicts_with = "brokers")]
    pub input: Option<PathBuf>,
    /// Tally a generated election drawn by the workers themselves, each its own share of
    /// the voters, streaming (no Kafka, no files): any size, and the same election for a
    /// seed whatever `-w`/`-n` (but not the one `generate` writes for it).
    #[arg(long, conflicts_with_all = ["input", "brokers"])]
    pub direct: bool,
    /// Write the final results here as JSON.
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Kafka: read every vote partition up to its end at start, then finish (the embedded
    /// cluster always runs bounded). Without it, run until Ctrl-C / SIGTERM.
    #[arg(long)]
    pub bounded: bool,
    /// Kafka: publish no result topics (they are otherwise created if missing, compacted,
    /// and gzip-compressed unless `--kafka-config compression.type=…` says otherwise).
    #[arg(long)]
    pub no_result_topics: bool,
    /// Kafka: where vote partitions start: `earliest`, `latest` or `partition:offset,…`.
    #[arg(long, default_value = "earliest", value_parser = |s: &str| s.parse::<StartPosition>())]
    pub start: StartPosition,
    /// Kafka: a vote partition silent for this long (wall time) stops holding the watermark back.
    #[arg(long, default_value_t = ClockConfig::default().idle_timeout_ms.unwrap_or(0))]
    pub idle_timeout_ms: u64,
    /// Timely time granularity in milliseconds of event time.
    #[arg(long, default_value_t = ClockConfig::default().tick_ms)]
    pub tick_ms: u64,
    /// How far the watermark trails the largest event time seen, in milliseconds.
    #[arg(long, default_value_t = ClockConfig::default().max_out_of_orderness_ms)]
    pub max_out_of_orderness_ms: u64,
    /// Election day (YYYY-MM-DD): votes more than a day away from it are dead letters.
    /// Defaults to the generator's date for generated elections; otherwise the plausible
    /// range is learned from the first votes (their median, give or take a day).
    #[arg(long)]
    pub election_date: Option<chrono::NaiveDate>,
    /// Votes each worker admits between flushes.
    #[arg(long, default_value_t = JobConfig::default().batch)]
    pub batch: usize,
    /// Serve a live dashboard and `/metrics` on this address (e.g. `127.0.0.1:8080`; port 0
    /// picks a free one). On the embedded default, the election is then paced to unfold over
    /// about a minute (see `--rate`) and the page stays up until Ctrl-C.
    #[arg(long)]
    pub dashboard: Option<String>,
    /// With `--dashboard` on the embedded default: votes per second (default: the whole
    /// election in about 60 s).
    #[arg(long, requires = "dashboard")]
    pub rate: Option<f64>,
    /// With `--dashboard`: keep serving the page after a bounded run ends, until Ctrl-C.
    #[arg(long, requires = "dashboard")]
    pub linger: bool,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub postgres: PgArgs,
    #[command(flatten)]
    pub detection: DetectionArgs,
}

/// Detectors and their measurement.
#[derive(Args, Debug, Clone)]
pub struct DetectionArgs {
    /// Ground-truth labels (`injected_anomalies.jsonl`) to score the findings against at the
    /// end. Defaults to the generated election's own labels, or the file in `--input`.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Only the per-vote checks: no rate spikes, over-turnout or data-quality table.
    #[arg(long)]
    pub no_detectors: bool,
    /// `data_quality`: the largest share of dead letters among records read that passes.
    #[arg(long, default_value_t = QualityRules::default().max_dead_letter_share)]
    pub max_dead_letter_share: f64,
    /// `rate_spike`: the least score (a Poisson z-score against the peers' pooled rate).
    #[arg(long, default_value_t = RateModel::default().min_score)]
    pub spike_min_score: f64,
    /// No `projection` table (the live race call).
    #[arg(long)]
    pub no_projection: bool,
    /// The projection's model (JSON, as `election forecast --save-model` writes it) instead
    /// of the embedded one, which is calibrated on elections of the generator's defaults.
    #[arg(long)]
    pub projection_model: Option<PathBuf>,
}

impl DetectionArgs {
    pub fn detectors(&self) -> anyhow::Result<Detectors> {
        anyhow::ensure!((0.0..=1.0).contains(&self.max_dead_letter_share), "--max-dead-letter-share must be between 0 and 1");
        anyhow::ensure!(self.spike_min_score.is_finite(), "--spike-min-score must be a number");
        if self.no_detectors {
            return Ok(Detectors::NONE);
        }
        Ok(Detectors {
            rate_spike: Some(RateModel { min_score: self.spike_min_score, ..RateModel::default() }),
            over_turnout: true,
            data_quality: Some(QualityRules { max_dead_letter_share: self.max_dead_letter_share }),
            projection: match (self.no_projection, &self.projection_model) {
                (true, _) => None,
                (false, None) => Some(ProjectionConfig::default()),
                (false, Some(path)) => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                    let model: ProjectionModel = serde_json::from_str(&text).with_context(|| format!("{} is not a projection model", path.display()))?;
                    Some(ProjectionConfig { model: std::sync::Arc::new(model), ..ProjectionConfig::default() })
                }
            },
        })
    }
}

/// The PostgreSQL sink.
#[derive(Args, Debug, Clone)]
pub struct PgArgs {
    /// Write results, registries, the vote ledger and dead letters to this PostgreSQL
    /// database (`postgresql://user:password@host:port/db`). The embedded default run
    /// uses PostgreSQL on localhost when one answers.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub postgres: Option<String>,
    /// Never write to PostgreSQL.
    #[arg(long)]
    pub no_postgres: bool,
    /// The PostgreSQL schema to write to (created if missing).
    #[arg(long, default_value = "ballotflow")]
    pub pg_schema: String,
    /// Leave the vote ledger (`votes` table) out.
    #[arg(long)]
    pub no_ledger: bool,
    /// Commit at least this often (milliseconds) while changes are pending.
    #[arg(long, default_value_t = 200)]
    pub pg_batch_ms: u64,
    /// Commit as soon as this many rows are pending per worker.
    #[arg(long, default_value_t = 50_000)]
    pub pg_batch_rows: usize,
    /// The most rows one transaction writes; a bigger commit is split (and transactions
    /// shrink after one is interrupted).
    #[arg(long, default_value_t = 50_000)]
    pub pg_transaction_rows: usize,
}

/// Timely's options, passed through.
#[derive(Args, Debug)]
pub struct TimelyArgs {
    /// Timely worker threads per process (default: the number of cores).
    #[arg(short = 'w', long = "workers", alias = "threads")]
    workers: Option<usize>,
    /// Number of processes.
    #[arg(short = 'n', long = "processes", default_value_t = 1)]
    pub processes: usize,
    /// Index of this process.
    #[arg(short = 'p', long = "process", default_value_t = 0)]
    pub process: usize,
    /// Hostfile with one `host:port` per process.
    #[arg(short = 'h', long = "hostfile")]
    hostfile: Option<PathBuf>,
}

impl TimelyArgs {
    /// Workers in this process.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }

    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["election".to_string(), "-w".into(), self.workers().to_string()];
        args.extend(["-n".into(), self.processes.to_string(), "-p".into(), self.process.to_string()]);
        if let Some(h) = &self.hostfile {
            args.extend(["-h".into(), h.display().to_string()]);
        }
        args
    }
}

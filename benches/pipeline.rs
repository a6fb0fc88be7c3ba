//! Throughput of the whole election pipeline, from JSON Lines bytes to consolidated results
//! in an in-memory sink, on 1 and 2 timely workers, beside the hand-written single-threaded
//! baseline (`support/baseline.rs`) on the same bytes, and on 2 workers without the
//! detectors (rate spikes, over-turnout, data quality), so their cost is visible too.
//! Criterion reports votes per second for each, so the ratios are visible:
//!
//! ```text
//! cargo bench --bench pipeline                                 # 400,000 voters, 273 k votes
//! BALLOTFLOW_BENCH_VOTERS=50000 cargo bench --bench pipeline   # a smaller election
//! ```
//!
//! The pipeline keeps every result current at every minute of event time, the baseline only
//! computes the final tallies: the pipeline's fixed costs per run (about 70 µs per minute of
//! event time on 2 cores, whatever its votes) dominate a small election.

#[path = "support/baseline.rs"]
mod baseline;

use std::sync::Arc;
use std::time::Duration;

use ballotflow::connectors::dataset::DatasetBytes;
use ballotflow::connectors::generator::{generate, GeneratorConfig};
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::pipelines::election::job::{run_worker, JobConfig, JobProgress, Source};
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};
use ballotflow::pipelines::election::Detectors;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn pipeline(data: &Arc<DatasetBytes>, workers: usize, detectors: Detectors) -> MemorySink<ResultKey, ResultRow> {
    let config = JobConfig { detectors, ..JobConfig::default() };
    let sink = MemorySink::new(false);
    let (shared, source) = (sink.clone(), Source::Bytes(data.clone()));
    let progress = Arc::new(JobProgress::default());
    timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        run_worker(worker, &source, shared.for_worker(index), &config, &progress).expect("in-memory input")
    })
    .expect("timely runs")
    .join();
    sink
}

fn bench(c: &mut Criterion) {
    let voters = std::env::var("BALLOTFLOW_BENCH_VOTERS").ok().and_then(|v| v.parse().ok()).unwrap_or(400_000);
    let election = generate(&GeneratorConfig { voters, ..GeneratorConfig::default() });
    let votes = election.votes.len() as u64;
    let data = Arc::new(election.to_bytes());

    // The two agree before either is timed.
    let expected = baseline::tally(&data);
    let rows = pipeline(&data, 2, Detectors::default()).rows();
    for (id, n) in &expected.per_candidate {
        let got = rows.get(&ResultKey::VotesPerCandidate(id.into()));
        assert!(matches!(got, Some(ResultRow::VotesPerCandidate(r)) if r.votes == *n), "candidate {id}: baseline {n}, pipeline {got:?}");
    }

    let mut group = c.benchmark_group("election");
    group.throughput(Throughput::Elements(votes)).sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function(BenchmarkId::new("baseline_hashmaps", votes), |b| b.iter(|| baseline::tally(&data)));
    for workers in [1, 2] {
        group.bench_function(BenchmarkId::new(format!("differential_{workers}_workers"), votes), |b| b.iter(|| pipeline(&data, workers, Detectors::default())));
    }
    group.bench_function(BenchmarkId::new("differential_2_workers_no_detectors", votes), |b| b.iter(|| pipeline(&data, 2, Detectors::NONE)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Detection quality on generated elections at the generator's default settings: the
//! findings against the labels of what was injected, on several seeds.
//!
//! Goals: every per-vote kind has precision and recall 1; `rate_spike` at least 0.9 each;
//! and an election without injected bursts has no `rate_spike` finding at all (its
//! ordinary turnout peaks must not trigger it).

use std::collections::BTreeMap;
use std::sync::Arc;

use ballotflow::connectors::generator::{generate, Election, GeneratorConfig};
use ballotflow::connectors::sink::memory::MemorySink;
use ballotflow::pipelines::election::evaluate::{score, KindScore};
use ballotflow::pipelines::election::job::{run_worker, JobConfig, JobProgress, Source};
use ballotflow::pipelines::election::model::AnomalyKind;
use ballotflow::pipelines::election::results::{Anomaly, ResultRow};

/// The findings of the whole pipeline (2 workers) on `election`.
fn findings(election: &Arc<Election>) -> Vec<Anomaly> {
    let sink = MemorySink::new(false);
    let (shared, source) = (sink.clone(), Source::Generated(election.clone()));
    let progress = Arc::new(JobProgress::default());
    timely::execute(timely::Config::process(2), move |worker| {
        let index = worker.index();
        run_worker(worker, &source, shared.for_worker(index), &JobConfig::default(), &progress).expect("in-memory input")
    })
    .expect("timely runs")
    .join();
    sink.rows()
        .into_values()
        .filter_map(|row| match row {
            ResultRow::Anomaly(a) => Some(a),
            _ => None,
        })
        .collect()
}

fn scores(election: &Arc<Election>) -> BTreeMap<AnomalyKind, KindScore> {
    score(&election.labels, &findings(election)).into_iter().map(|s| (s.kind, s)).collect()
}

const SEEDS: [u64; 3] = [1, 2, 3];

#[test]
fn per_vote_kinds_are_exact_and_rate_spikes_are_found_at_default_settings() {
    let mut bursts = 0;
    for seed in SEEDS {
        let election = Arc::new(generate(&GeneratorConfig { seed, ..GeneratorConfig::default() }));
        let scores = scores(&election);
        for kind in AnomalyKind::PER_VOTE {
            let s = &scores[&kind];
            assert!(s.labelled > 0, "seed {seed}: no {} injected", s.kind);
            assert_eq!((s.precision(), s.recall()), (Some(1.0), Some(1.0)), "seed {seed}: {s:?}");
        }
        let spikes = &scores[&AnomalyKind::RateSpike];
        assert!(spikes.precision() >= Some(0.9) && spikes.recall() >= Some(0.9), "seed {seed}: {spikes:?}");
        assert!(!scores.contains_key(&AnomalyKind::OverTurnout), "seed {seed}: the generator's rolls match its voters");
        bursts += spikes.labelled;
    }
    assert!(bursts >= 2 * SEEDS.len(), "a few bursts per seed ({bursts})");
}

#[test]
fn turnout_peaks_alone_raise_no_rate_spike() {
    for seed in SEEDS {
        let election = Arc::new(generate(&GeneratorConfig { seed, rate_spikes: 0, ..GeneratorConfig::default() }));
        let spikes: Vec<_> = findings(&election).into_iter().filter(|a| a.kind == AnomalyKind::RateSpike).collect();
        assert!(spikes.is_empty(), "seed {seed}: {spikes:?}");
    }
}

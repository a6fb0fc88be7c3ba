//! Ground-truth labels, and the detection report printed at the end of a run.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use ballotflow::connectors::dataset::{read_jsonl, AnomalyLabel, Share};
use ballotflow::pipelines::election::evaluate::score;
use ballotflow::pipelines::election::results::{ResultKey, ResultRow};

/// Reads an `injected_anomalies.jsonl`; a line that is not a label is an error.
pub fn load_labels(path: &Path) -> anyhow::Result<Vec<AnomalyLabel>> {
    let mut labels = Vec::new();
    let mut bad = None;
    read_jsonl::<AnomalyLabel, _, _>(
        path,
        Share::all(),
        |_, label| labels.push(label),
        |letter| {
            bad.get_or_insert(letter);
        },
    )
    .with_context(|| format!("reading labels {}", path.display()))?;
    if let Some(letter) = bad {
        anyhow::bail!("{} at byte {} is not an anomaly label: {}", path.display(), letter.source.offset, letter.reason);
    }
    Ok(labels)
}

/// Prints precision and recall per anomaly kind.
pub fn print_detection(labels: &[AnomalyLabel], rows: &BTreeMap<ResultKey, ResultRow>) {
    let findings = rows.values().filter_map(|row| match row {
        ResultRow::Anomaly(a) => Some(a),
        _ => None,
    });
    let ratio = |r: Option<f64>| r.map(|r| format!("{r:.3}")).unwrap_or_else(|| "-".into());
    println!("\ndetection against {} labels:", labels.len());
    println!("{:<20} {:>9} {:>9} {:>9} {:>10} {:>8}", "kind", "labelled", "found", "matched", "precision", "recall");
    for s in score(labels, findings) {
        println!("{:<20} {:>9} {:>9} {:>9} {:>10} {:>8}", s.kind, s.labelled, s.found, s.matched, ratio(s.precision()), ratio(s.recall()));
    }
}

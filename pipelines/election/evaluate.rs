//! How well the findings match the ground truth: precision and recall per anomaly kind.
//!
//! In: the labels of the injected anomalies ([`AnomalyLabel`], from the generator or a data
//! set's `injected_anomalies.jsonl`) and the `anomalies` rows of a run. Out: one
//! [`KindScore`] per kind that was labelled or found.
//!
//! A per-vote finding matches the label of its kind and `vote_id`; a window finding
//! (`rate_spike`) the label of its kind, `polling_station_id` and `window_start`; any other
//! finding the label of its kind and station (the generator labels no `over_turnout`, so
//! those are only counted).

use std::collections::{BTreeMap, BTreeSet};

use super::results::Anomaly;
use crate::connectors::dataset::{AnomalyKind, AnomalyLabel};

/// What a finding and a label are matched on: kind, vote, station, window.
type Identity = (AnomalyKind, Option<String>, Option<String>, Option<i64>);

fn identity(kind: AnomalyKind, vote_id: &Option<String>, station: &Option<String>, window_start: Option<i64>) -> Identity {
    match vote_id {
        Some(vote) => (kind, Some(vote.clone()), None, None),
        None => (kind, None, station.clone(), window_start),
    }
}

/// The findings of one kind against its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindScore {
    /// The kind.
    pub kind: AnomalyKind,
    /// Labels of this kind.
    pub labelled: usize,
    /// Findings of this kind.
    pub found: usize,
    /// Findings that match a label.
    pub matched: usize,
}

impl KindScore {
    /// Matched findings among all findings; `None` without findings.
    pub fn precision(&self) -> Option<f64> {
        (self.found > 0).then(|| self.matched as f64 / self.found as f64)
    }

    /// Matched labels among all labels; `None` without labels.
    pub fn recall(&self) -> Option<f64> {
        (self.labelled > 0).then(|| self.matched as f64 / self.labelled as f64)
    }
}

fn entry(scores: &mut BTreeMap<AnomalyKind, KindScore>, kind: AnomalyKind) -> &mut KindScore {
    scores.entry(kind).or_insert_with(|| KindScore { kind, labelled: 0, found: 0, matched: 0 })
}

/// Scores `findings` against `labels`, per kind, in kind order.
pub fn score<'a>(labels: &[AnomalyLabel], findings: impl IntoIterator<Item = &'a Anomaly>) -> Vec<KindScore> {
    let labels: BTreeSet<Identity> = labels.iter().map(|l| identity(l.kind, &l.vote_id, &l.polling_station_id, l.window_start)).collect();
    let found: BTreeSet<Identity> = findings.into_iter().map(|a| identity(a.kind, &a.vote_id, &a.polling_station_id, a.window_start)).collect();
    let mut scores: BTreeMap<AnomalyKind, KindScore> = BTreeMap::new();
    for label in &labels {
        entry(&mut scores, label.0).labelled += 1;
    }
    for finding in &found {
        let score = entry(&mut scores, finding.0);
        score.found += 1;
        score.matched += labels.contains(finding) as usize;
    }
    scores.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_match_labels_by_vote_or_by_station_and_window() {
        let label = |kind: AnomalyKind, vote: Option<&str>, station: Option<&str>, window: Option<i64>| AnomalyLabel {
            kind,
            vote_id: vote.map(Into::into),
            polling_station_id: station.map(Into::into),
            window_start: window,
        };
        let labels = [
            label(AnomalyKind::DuplicateVote, Some("v1"), None, None),
            label(AnomalyKind::RateSpike, None, Some("s1"), Some(0)),
            label(AnomalyKind::RateSpike, None, Some("s2"), Some(0)),
        ];
        let duplicate = Anomaly { vote_id: Some("v1".into()), polling_station_id: Some("s9".into()), ..Anomaly::of(AnomalyKind::DuplicateVote) };
        let spike = |station: &str, window| Anomaly { polling_station_id: Some(station.into()), window_start: Some(window), ..Anomaly::of(AnomalyKind::RateSpike) };
        let findings = [duplicate, spike("s1", 0), spike("s1", 300_000), Anomaly::of(AnomalyKind::OverTurnout)];
        let scores = score(&labels, &findings);
        let by_kind: BTreeMap<&str, &KindScore> = scores.iter().map(|s| (s.kind.as_str(), s)).collect();
        assert_eq!((by_kind["duplicate_vote"].precision(), by_kind["duplicate_vote"].recall()), (Some(1.0), Some(1.0)));
        assert_eq!((by_kind["rate_spike"].precision(), by_kind["rate_spike"].recall()), (Some(0.5), Some(0.5)));
        assert_eq!((by_kind["over_turnout"].precision(), by_kind["over_turnout"].recall()), (Some(0.0), None));
    }
}

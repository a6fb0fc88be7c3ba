//! The `data_quality` table: one row per rule, kept current as data arrives.
//!
//! In: every record read and dead letter, every vote's verdict, the voter registry and the
//! result rows. Out: a [`QualityCheck`] per rule, evaluated over totals taken at one time
//! ([`crate::operators::quality`]):
//!
//! | check | observed | passes when |
//! |---|---|---|
//! | `referential_integrity` | votes naming a voter or candidate missing from the registries | 0 |
//! | `candidate_totals_match_counted` | sum of `results_votes_per_candidate.votes` | = counted votes in the ledger |
//! | `turnout_within_0_100` | highest `results_turnout_by_region.turnout_pct` | every region within 0–100 |
//! | `counted_within_registry` | counted votes in the ledger | ≤ registered voters |
//! | `dead_letter_share` | dead letters / (records read + dead letters) | ≤ [`QualityRules::max_dead_letter_share`] |

use std::collections::BTreeMap;

use differential_dataflow::VecCollection;
use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

use super::model::{AnomalyKind, VoteStatus};
use super::results::{QualityCheck, ResultKey, ResultRow};
use crate::operators::prelude::*;

/// Settings of the data-quality rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualityRules {
    /// The largest share of dead letters among all records read that passes. Default 0.01.
    pub max_dead_letter_share: f64,
}

impl Default for QualityRules {
    fn default() -> Self {
        QualityRules { max_dead_letter_share: 0.01 }
    }
}

/// What the rules are computed from; the total of a measure is its multiplicity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Measure {
    /// A record read (vote message or registry version).
    Read,
    /// A dead letter.
    DeadLetter,
    /// A distinct vote (a ledger row).
    Vote,
    /// A vote whose voter or candidate is not registered.
    UnknownReference,
    /// A counted vote.
    Counted,
    /// A vote in `results_votes_per_candidate`.
    CandidateVote,
    /// A registered voter.
    RegisteredVoter,
    /// A region whose turnout is this percentage.
    RegionTurnout(OrderedFloat<f64>),
}

impl Measure {
    /// The measures of a vote's verdict.
    pub fn of_status(status: &VoteStatus) -> impl Iterator<Item = Measure> {
        let extra = match status {
            VoteStatus::Counted => Some(Measure::Counted),
            VoteStatus::Rejected(AnomalyKind::UnregisteredVoter | AnomalyKind::UnknownCandidate) => Some(Measure::UnknownReference),
            VoteStatus::Rejected(_) => None,
        };
        std::iter::once(Measure::Vote).chain(extra)
    }

    /// The measures of a result row, with their multiplicities.
    pub fn of_result(row: &ResultRow) -> Option<(Measure, isize)> {
        match row {
            ResultRow::VotesPerCandidate(r) => Some((Measure::CandidateVote, r.votes as isize)),
            ResultRow::TurnoutByRegion(r) => Some((Measure::RegionTurnout(OrderedFloat(r.turnout_pct)), 1)),
            _ => None,
        }
    }
}

/// The `data_quality` rows of `measures`.
pub fn checks<'scope>(measures: VecCollection<'scope, u64, Measure>, rules: QualityRules) -> VecCollection<'scope, u64, (ResultKey, ResultRow)> {
    measures.check_totals("DataQuality", move |totals| evaluate(totals, &rules)).map(|check| ResultRow::DataQuality(check).keyed())
}

/// The rules over the current totals.
pub fn evaluate(totals: &BTreeMap<Measure, i64>, rules: &QualityRules) -> Vec<QualityCheck> {
    let total = |m: Measure| totals.get(&m).copied().unwrap_or(0);
    let check = |name: &str, passed: bool, observed: f64, expected: f64, detail: String| QualityCheck {
        check: name.to_string(),
        passed,
        observed: OrderedFloat(observed),
        expected: OrderedFloat(expected),
        detail,
    };
    let (votes, counted, unknown) = (total(Measure::Vote), total(Measure::Counted), total(Measure::UnknownReference));
    let candidate_votes = total(Measure::CandidateVote);
    let registered = total(Measure::RegisteredVoter);
    let (dead, read) = (total(Measure::DeadLetter), total(Measure::Read));
    let turnouts: Vec<f64> = totals
        .iter()
        .filter_map(|(m, n)| match m {
            Measure::RegionTurnout(pct) if *n > 0 => Some(pct.0),
            _ => None,
        })
        .collect();
    let outside = turnouts.iter().filter(|pct| !(0.0..=100.0).contains(*pct)).count();
    let highest = turnouts.iter().copied().fold(0.0, f64::max);
    let share = if dead + read > 0 { dead as f64 / (dead + read) as f64 } else { 0.0 };
    vec![
        check("referential_integrity", unknown == 0, unknown as f64, 0.0, format!("{unknown} of {votes} votes name a voter or candidate missing from the registries")),
        check(
            "candidate_totals_match_counted",
            candidate_votes == counted,
            candidate_votes as f64,
            counted as f64,
            format!("the candidates' totals sum to {candidate_votes}; the ledger counts {counted} votes"),
        ),
        check("turnout_within_0_100", outside == 0, highest, 100.0, format!("{outside} of {} regions have a turnout outside 0–100%; the highest is {highest:.2}%", turnouts.len())),
        check("counted_within_registry", counted <= registered, counted as f64, registered as f64, format!("{counted} counted votes for {registered} registered voters")),
        check(
            "dead_letter_share",
            share <= rules.max_dead_letter_share,
            share,
            rules.max_dead_letter_share,
            format!("{dead} dead letters among {} records; at most a share of {} passes", dead + read, rules.max_dead_letter_share),
        ),
    ]
}

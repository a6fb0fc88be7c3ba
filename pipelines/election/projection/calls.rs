//! [`RaceCall`]: the status of a race, from its projections one watermark after another.
//!
//! - **too early**: less than [`CallRules::min_counted`] of the expected vote is counted;
//! - **leading**: otherwise, until a call;
//! - **certain** (AP's "no path to victory"): the leader's counted lead over every other
//!   choice exceeds the votes still possible; final, whatever comes later;
//! - **called**: the leader's win probability has been at least [`CallRules::call_at`] at
//!   every projection for [`CallRules::debounce_ms`] of event time, with enough of the vote
//!   counted;
//! - **uncalled**: a called choice's win probability fell below [`CallRules::uncall_below`];
//!   the race stays uncalled (with when it was called) until it is called again.

use super::estimate::RaceProjection;
use crate::pipelines::election::model::Id;

/// A race's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallStatus {
    /// Too little is counted to say.
    TooEarly,
    /// Someone leads; no call.
    Leading,
    /// Called by probability.
    Called,
    /// No path to victory for anyone else.
    Certain,
    /// A call that stopped holding.
    Uncalled,
}

impl CallStatus {
    /// The status as written to tables.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::TooEarly => "too_early",
            CallStatus::Leading => "leading",
            CallStatus::Called => "called",
            CallStatus::Certain => "certain",
            CallStatus::Uncalled => "uncalled",
        }
    }
}

/// When races are called.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallRules {
    /// Win probability at which a race is called.
    pub call_at: f64,
    /// Event time for which every projection must be at or above `call_at` before a call
    /// (the first and the last at least this far apart).
    pub debounce_ms: i64,
    /// Share of the expected vote that must be counted before a call (or any leader).
    pub min_counted: f64,
    /// Win probability of the called choice below which a call is withdrawn.
    pub uncall_below: f64,
}

impl Default for CallRules {
    fn default() -> Self {
        CallRules { call_at: 0.999, debounce_ms: 15 * 60_000, min_counted: 0.2, uncall_below: 0.95 }
    }
}

/// The call state of one race.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaceCall {
    /// The status.
    pub status: Option<CallStatus>,
    /// The choice called (or certain), also after the call is withdrawn.
    pub called_for: Option<Id>,
    /// When (the watermark, ms) it was called.
    pub called_at: Option<i64>,
    /// Since when (the watermark, ms) every projection has been at or above the call
    /// threshold for the current leader, and who that is.
    above_since: Option<(i64, usize)>,
}

impl RaceCall {
    /// The status after a projection as of `as_of` (ms) of a race between `choices` (in
    /// the projection's order).
    pub fn update(&mut self, race: &RaceProjection, choices: &[Id], as_of: i64, rules: &CallRules) -> CallStatus {
        if self.status == Some(CallStatus::Certain) {
            return CallStatus::Certain;
        }
        let Some(leader) = race.favourite() else {
            self.status = Some(CallStatus::TooEarly);
            return CallStatus::TooEarly;
        };
        // No path: the counted leader's lead over everyone exceeds the votes still possible.
        let by_count = race.counted_leader().expect("choices");
        let runner_up = race.choices.iter().enumerate().filter(|&(c, _)| c != by_count).map(|(_, p)| p.counted).max().unwrap_or(0);
        if race.counted > 0 && race.choices[by_count].counted - runner_up > race.still_possible {
            if self.called_for.as_ref() != Some(&choices[by_count]) || self.called_at.is_none() {
                self.called_at = Some(as_of);
            }
            self.called_for = Some(choices[by_count].clone());
            self.status = Some(CallStatus::Certain);
            return CallStatus::Certain;
        }
        let enough = race.expected > 0.0 && race.counted as f64 >= rules.min_counted * race.expected;
        let p = race.choices[leader].win_probability;
        self.above_since = match self.above_since {
            _ if !(enough && p >= rules.call_at) => None,
            Some((since, who)) if who == leader => Some((since, who)),
            _ => Some((as_of, leader)),
        };
        let held = self.above_since.is_some_and(|(since, _)| as_of - since >= rules.debounce_ms);
        // The called choice's probability now (0 if it is no longer a choice).
        let called_p = self.called_for.as_ref().and_then(|id| choices.iter().position(|c| c == id)).map_or(0.0, |c| race.choices[c].win_probability);
        let status = match self.status {
            Some(CallStatus::Called) if called_p < rules.uncall_below => CallStatus::Uncalled,
            Some(CallStatus::Called) => CallStatus::Called,
            _ if held => {
                self.called_for = Some(choices[leader].clone());
                self.called_at = Some(as_of);
                CallStatus::Called
            }
            Some(CallStatus::Uncalled) => CallStatus::Uncalled,
            _ if !enough => CallStatus::TooEarly,
            _ => CallStatus::Leading,
        };
        self.status = Some(status);
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipelines::election::projection::ChoiceProjection;

    /// A two-way race: counted votes, win probability of the first, votes still possible.
    fn race(counted: [u64; 2], p: f64, still_possible: u64, expected: f64) -> RaceProjection {
        let choice =
            |counted: u64, win_probability: f64| ChoiceProjection { counted, votes: 0.0, votes_lo: 0.0, votes_hi: 0.0, share: 0.0, share_lo: 0.0, share_hi: 0.0, win_probability };
        RaceProjection { region: None, counted: counted[0] + counted[1], expected, still_possible, choices: vec![choice(counted[0], p), choice(counted[1], 1.0 - p)] }
    }

    #[test]
    fn a_race_is_called_after_the_debounce_uncalled_when_it_slips_and_certain_for_good() {
        let choices: Vec<Id> = vec!["a".into(), "b".into()];
        let rules = CallRules::default();
        // Projections a quarter of an hour apart: the debounce's length.
        let q = |n: i64| n * rules.debounce_ms;
        let mut call = RaceCall::default();
        let mut step = |r: RaceProjection, at: i64| call.update(&r, &choices, at, &rules);
        assert_eq!(step(race([10, 5], 0.9999, 900, 1000.0), q(1)), CallStatus::TooEarly, "15 of 1000 expected is too early");
        assert_eq!(step(race([300, 200], 0.9, 500, 1000.0), q(2)), CallStatus::Leading);
        assert_eq!(step(race([310, 200], 0.9991, 490, 1000.0), q(3)), CallStatus::Leading, "one projection above the threshold is not enough");
        assert_eq!(step(race([320, 200], 0.9992, 480, 1000.0), q(4)), CallStatus::Called);
        assert_eq!(step(race([330, 200], 0.96, 470, 1000.0), q(5)), CallStatus::Called, "still above the withdrawal threshold");
        assert_eq!(step(race([330, 250], 0.5, 420, 1000.0), q(6)), CallStatus::Uncalled);
        assert_eq!(step(race([340, 250], 0.6, 410, 1000.0), q(7)), CallStatus::Uncalled, "stays visible until called again");
        assert_eq!(step(race([600, 250], 0.9999, 400, 1000.0), q(8)), CallStatus::Uncalled);
        assert_eq!(step(race([610, 250], 0.9999, 390, 1000.0), q(9)), CallStatus::Called);
        assert_eq!((call.called_for.as_deref(), call.called_at), (Some("a"), Some(q(9))));
        let mut step = |r: RaceProjection, at: i64| call.update(&r, &choices, at, &rules);
        assert_eq!(step(race([700, 250], 0.9999, 449, 1000.0), q(10)), CallStatus::Certain, "a lead of 450 over 449 possible votes");
        assert_eq!(step(race([700, 250], 0.2, 449, 1000.0), q(11)), CallStatus::Certain, "certain is final");
        assert_eq!((call.called_for.as_deref(), call.called_at), (Some("a"), Some(q(9))), "certain for the called choice keeps its call time");
    }

    #[test]
    fn the_trailing_candidate_can_be_certain_by_count_alone() {
        let choices: Vec<Id> = vec!["a".into(), "b".into()];
        let mut call = RaceCall::default();
        // Few votes expected, but the count already settles it: b leads by more than is left.
        assert_eq!(call.update(&race([1, 9], 0.5, 7, 100.0), &choices, 1, &CallRules::default()), CallStatus::Certain);
        assert_eq!(call.called_for.as_deref(), Some("b"));
        let mut tied = RaceCall::default();
        assert_eq!(tied.update(&race([5, 5], 0.5, 0, 10.0), &choices, 1, &CallRules::default()), CallStatus::Leading, "a tie is never certain");
    }
}

//! [`RaceCall`]: the status of a race, from its projections one watermark after another.
//!
//! - **too early**: less than [`CallRules::min_counted`] of the expected vote is counted;
//! - **leading**: otherwise, until a call;
//! - **certain** (AP's "no path to victory"): the leader's counted lead over every other
//!   choice exceeds the votes still possible; final, whatever comes later;
//! - **called**: the leader's win probability has been at least [`CallRules::call_at`] at
//!   [`CallRules::debounce`] projections in a row, with enough of the vote counted;
//! - **uncalled**: a called choice's win probability fell below [`CallRules::uncall_below`];
//!   the race stays uncalled (with when it was called) until it is called again.

use serde::{Deserialize, Serialize};

use super::estimate::RaceProjection;

/// A race's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Projections in a row at or above `call_at` before a call.
    pub debounce: u32,
    /// Share of the expected vote that must be counted before a call (or any leader).
    pub min_counted: f64,
    /// Win probability of the called choice below which a call is withdrawn.
    pub uncall_below: f64,
}

impl Default for CallRules {
    fn default() -> Self {
        CallRules { call_at: 0.995, debounce: 2, min_counted: 0.2, uncall_below: 0.95 }
    }
}

/// The call state of one race.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceCall {
    /// The status.
    pub status: Option<CallStatus>,
    /// The choice called (or certain), also after the call is withdrawn.
    pub called_for: Option<usize>,
    /// When (the watermark, ms) it was called.
    pub called_at: Option<i64>,
    /// Projections in a row at or above the call threshold for the current leader.
    streak: u32,
}

impl RaceCall {
    /// The status after a projection as of `as_of` (ms).
    pub fn update(&mut self, race: &RaceProjection, as_of: i64, rules: &CallRules) -> CallStatus {
        if self.status == Some(CallStatus::Certain) {
            return CallStatus::Certain;
        }
        let leader = (0..race.choices.len()).max_by(|&a, &b| race.choices[a].win_probability.total_cmp(&race.choices[b].win_probability).then(b.cmp(&a)));
        let Some(leader) = leader else {
            self.status = Some(CallStatus::TooEarly);
            return CallStatus::TooEarly;
        };
        // No path: the counted leader's lead over everyone exceeds the votes still possible.
        let by_count = (0..race.choices.len()).max_by_key(|&c| (race.choices[c].counted, std::cmp::Reverse(c))).expect("choices");
        let runner_up = race.choices.iter().enumerate().filter(|&(c, _)| c != by_count).map(|(_, p)| p.counted).max().unwrap_or(0);
        if race.counted > 0 && race.choices[by_count].counted - runner_up > race.still_possible {
            if self.called_for != Some(by_count) || self.called_at.is_none() {
                self.called_at = Some(as_of);
            }
            self.called_for = Some(by_count);
            self.status = Some(CallStatus::Certain);
            return CallStatus::Certain;
        }
        let enough = race.expected > 0.0 && race.counted as f64 >= rules.min_counted * race.expected;
        let p = race.choices[leader].win_probability;
        self.streak = if enough && p >= rules.call_at { self.streak + 1 } else { 0 };
        let status = match self.status {
            Some(CallStatus::Called) if race.choices[self.called_for.expect("a call has a choice")].win_probability < rules.uncall_below => CallStatus::Uncalled,
            Some(CallStatus::Called) => CallStatus::Called,
            _ if self.streak >= rules.debounce => {
                self.called_for = Some(leader);
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

//! Rate anomalies: windows in which a unit has far more events than its peers make expected.
//!
//! In: the events as `(window_start, unit)`, one per event (a time's events of a window and
//! unit may come as one update with their number as multiplicity; no count in between), and
//! the units `(unit, info)` with a [`RateUnit`] info (peer group, size, when it is active).
//! Out: `(unit, RateSpike)` for every flagged window. Both are collections like any other:
//! when a late event changes a window's count, or a unit's record changes, the findings of
//! that window are recomputed, and a finding appears or is retracted.
//! [`window_start`] gives an event's window.
//!
//! ## The model
//! In a window `w`, every unit active during `w` with a positive size `s` has an observed
//! count `n` (0 if it had no events). Its *peers* are the other units of its group active in
//! `w`, or, if fewer than [`RateModel::min_peers`] of them are, every other active unit. The
//! peers' pooled rate is their events over their members, `N / S`, and the unit's
//! **expected** count is `e = s × N / S`. The unit itself is left out, so its own burst cannot
//! raise its expectation. The **score** is a Poisson z-score that allows for the error of the
//! estimate, `(n − e) / √(max(e, 1) × (1 + s / S))`: the count and the peers' pooled count
//! are both Poisson, and a unit large beside its peers has a less certain expectation. A
//! window is flagged when `n ≥ min_count`, `n ≥ min_ratio × e` and `score ≥ min_score`.
//!
//! The pooled rate rather than a median of per-unit rates: in short windows most counts are
//! small, and the median of a few noisy small-count rates misjudges the rate by a factor of
//! two or more (it made ordinary morning peaks look like spikes). Pooling weighs each peer by
//! its size, as the Poisson model says it should.
//!
//! Because the expectation comes from the peers in the *same* window, the daily shape of
//! activity (the morning and evening turnout peaks) is expected wherever it is shared: a
//! peak raises every station's count and its peers' rate alike.
//!
//! ## Assumptions, and when it misfires
//! - Counts are roughly Poisson around `size × rate`, with one rate shared by the peers in
//!   a window. Peers that differ systematically break this: a station whose electorate votes
//!   at other times (a student hall, a night-shift town) or whose opening hours squeeze the
//!   same turnout into fewer windows. `min_ratio` absorbs differences up to that factor.
//! - `size` must be right. A roll that undercounts a station's voters makes its ordinary
//!   turnout look like a spike (that is also what `over_turnout` reports).
//! - Small groups borrow the national curve (the fallback), which is blind to regional
//!   timing; with fewer than `min_peers` other active units in all, nothing is judged.
//! - A burst at a peer raises the pooled rate of its group in that window, so two bursts in
//!   one group and window can hide each other (a median would not be moved, but is too
//!   noisy, see above).
//! - Only windows in which some unit has an event are judged, and only units that are
//!   active in them.
//! - It sees bursts that land in one aligned window. A burst spread thinly over many
//!   windows, or stuffing that follows the turnout curve, stays below the thresholds;
//!   a burst across a window boundary is split and may be flagged twice or not at all.
//!
//! [`window_start`]: super::window::window_start

use std::collections::HashMap;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use foldhash::fast::FixedState;
use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::batches::TimeBatches;
use super::reduce::replace_output;

/// What the rate model needs to know about a unit.
pub trait RateUnit: ExchangeData {
    /// Units are compared with the others of their group.
    type Group: Eq + std::hash::Hash + Clone;
    /// The unit's peer group (e.g. a station's region).
    fn group(&self) -> Self::Group;
    /// How many members can produce events (e.g. registered voters); units of size 0 are
    /// neither judged nor peers.
    fn size(&self) -> u64;
    /// Whether the unit can have events during `[window_start, window_start + width_ms)`
    /// (e.g. the station is open); inactive units are neither judged nor peers.
    fn active(&self, window_start: i64, width_ms: i64) -> bool;
}

/// Settings of [`RateSpikes::rate_spikes`]; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateModel {
    /// Window width in milliseconds (the events' windows must have this width).
    pub width_ms: i64,
    /// Least number of active peers of a unit's group to use the group's rate; with fewer,
    /// every other active unit is a peer; with fewer than that, nothing is judged. At least 1.
    pub min_peers: usize,
    /// Least observed count to flag.
    pub min_count: i64,
    /// Least ratio of observed to expected to flag.
    pub min_ratio: f64,
    /// Least score to flag.
    pub min_score: f64,
}

impl Default for RateModel {
    /// 5-minute windows, 3 peers, at least 10 events, 3 times the expected count and a
    /// score of 12. On generated elections (8 seeds, about 19,000 judged station-windows
    /// each) no ordinary window scored above 8.3 and no injected burst below 27.
    fn default() -> Self {
        RateModel { width_ms: 5 * 60_000, min_peers: 3, min_count: 10, min_ratio: 3.0, min_score: 12.0 }
    }
}

/// A flagged window of one unit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RateSpike {
    /// Start of the window, ms since the epoch.
    pub window_start: i64,
    /// Events in the window.
    pub observed: i64,
    /// Events the peers' pooled rate predicts.
    pub expected: OrderedFloat<f64>,
    /// `(observed − expected) / √(max(expected, 1) × (1 + size / peers' size))`.
    pub score: OrderedFloat<f64>,
}

/// Flags windows with far more events than expected.
pub trait RateSpikes<'scope, T: Timestamp, S> {
    /// The flagged windows of every unit; see the module documentation.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use ballotflow::operators::rate::{RateModel, RateUnit};
    /// use differential_dataflow::input::Input;
    /// use ordered_float::OrderedFloat;
    ///
    /// /// A station of `size` voters, always open.
    /// #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
    /// struct Station { size: u64 }
    /// impl RateUnit for Station {
    ///     type Group = ();
    ///     fn group(&self) {}
    ///     fn size(&self) -> u64 { self.size }
    ///     fn active(&self, _: i64, _: i64) -> bool { true }
    /// }
    ///
    /// timely::example(|scope| {
    ///     let stations = scope.new_collection_from((0..5).map(|s| (s, Station { size: 1000 }))).1;
    ///     // (window, station) per event: station 4 has 40 in window 0, the others 2 each.
    ///     let events = scope.new_collection_from((0..5).flat_map(|s| vec![(0i64, s); if s == 4 { 40 } else { 2 }])).1;
    ///     events
    ///         .rate_spikes(stations, RateModel::default())
    ///         .map(|(s, spike)| (s, spike.observed, spike.expected))
    ///         .assert_eq(scope.new_collection_from(vec![(4, 40, OrderedFloat(2.0))]).1);
    /// });
    /// ```
    fn rate_spikes<U>(self, units: VecCollection<'scope, T, (S, U)>, model: RateModel) -> VecCollection<'scope, T, (S, RateSpike)>
    where
        U: RateUnit;
}

impl<'scope, T, S> RateSpikes<'scope, T, S> for VecCollection<'scope, T, (i64, S)>
where
    T: Timestamp + TotalOrder,
    S: ExchangeData + std::hash::Hash,
{
    fn rate_spikes<U>(self, units: VecCollection<'scope, T, (S, U)>, model: RateModel) -> VecCollection<'scope, T, (S, RateSpike)>
    where
        U: RateUnit,
    {
        // Events go to their window's worker; every worker holds every unit (they are few).
        // Once the frontiers pass a time, each window whose counts changed at it (every
        // window of the worker, if a unit changed) is judged again from its current counts
        // and the current units, and the difference to its last findings goes out.
        let mut builder = OperatorBuilder::new("RateSpikes".to_string(), self.inner.scope());
        let by_window = Exchange::new(|((w, _), _, _): &((i64, S), T, isize)| (*w as u64).hashed());
        let mut events_in = builder.new_input(self.inner, by_window);
        let mut units_in = builder.new_input(units.inner.broadcast(), Pipeline);
        let (output, stream) = builder.new_output::<Vec<((S, RateSpike), T, isize)>>();
        let mut output = OutputBuilder::from(output);
        builder.build(move |_capabilities| {
            let mut batches: TimeBatches<T, Updates<S, U>> = TimeBatches::new(1);
            let mut units: HashMap<S, Vec<(U, isize)>, FixedState> = HashMap::default();
            let mut windows: HashMap<i64, Window<S>, FixedState> = HashMap::default();
            let mut roster: Option<Roster<S, U>> = None;
            move |frontiers| {
                events_in.for_each(|cap, data| {
                    batches.hold(&cap);
                    for ((w, s), time, diff) in data.drain(..) {
                        batches.at(time).events.push((w, s, diff as i64));
                    }
                });
                units_in.for_each(|cap, data| {
                    batches.hold(&cap);
                    for ((s, u), time, diff) in data.drain(..) {
                        batches.at(time).units.push((s, u, diff));
                    }
                });
                while let Some((time, updates)) = batches.next_complete(frontiers) {
                    let mut dirty: Vec<i64> = Vec::new();
                    for (w, s, n) in updates.events {
                        let window = windows.entry(w).or_default();
                        if !window.dirty {
                            window.dirty = true;
                            dirty.push(w);
                        }
                        super::add_to(&mut window.events, s, n);
                    }
                    if !updates.units.is_empty() {
                        roster = None;
                        for (s, u, diff) in updates.units {
                            let versions = units.entry(s.clone()).or_default();
                            match versions.iter_mut().find(|(v, _)| *v == u) {
                                Some((_, count)) => *count += diff,
                                None => versions.push((u, diff)),
                            }
                            versions.retain(|(_, count)| *count != 0);
                            if versions.is_empty() {
                                units.remove(&s);
                            }
                        }
                        for (w, window) in windows.iter_mut().filter(|(_, window)| !window.dirty) {
                            window.dirty = true;
                            dirty.push(*w);
                        }
                    }
                    dirty.sort_unstable();
                    let roster = roster.get_or_insert_with(|| Roster::of(&units));
                    let mut output = output.activate();
                    let mut session = output.session(batches.caps(0));
                    for w in dirty {
                        let window = windows.get_mut(&w).expect("dirty windows exist");
                        window.dirty = false;
                        let mut fresh = if window.events.is_empty() { Vec::new() } else { judge_window(w, &window.events, roster, &model) };
                        for (found, diff) in replace_output(&mut window.found, &mut fresh) {
                            session.give((found, time.clone(), diff));
                        }
                        if window.events.is_empty() && window.found.is_empty() {
                            windows.remove(&w);
                        }
                    }
                }
                batches.downgrade();
            }
        });
        stream.as_collection()
    }
}

/// A time's updates of the events `(window, unit, number)` and of the units.
struct Updates<S, U> {
    events: Vec<(i64, S, i64)>,
    units: Vec<(S, U, isize)>,
}

impl<S, U> Default for Updates<S, U> {
    fn default() -> Self {
        Updates { events: Vec::new(), units: Vec::new() }
    }
}

/// A window's events per unit and its last findings.
struct Window<S> {
    events: HashMap<S, i64, FixedState>,
    found: Vec<((S, RateSpike), isize)>,
    dirty: bool,
}

impl<S> Default for Window<S> {
    fn default() -> Self {
        Window { events: HashMap::default(), found: Vec::new(), dirty: false }
    }
}

/// The units as judging reads them, rebuilt when one changes: each unit of positive size
/// with its current record (the greatest, if a collection holds several), its size and its
/// group as an index, and where each unit is.
struct Roster<S, U> {
    units: Vec<(S, U, u64, usize)>,
    position: HashMap<S, usize, FixedState>,
    groups: usize,
}

impl<S: Clone + Eq + std::hash::Hash, U: RateUnit> Roster<S, U> {
    fn of(units: &HashMap<S, Vec<(U, isize)>, FixedState>) -> Self {
        let mut groups: HashMap<U::Group, usize, FixedState> = HashMap::default();
        let (mut list, mut position) = (Vec::new(), HashMap::default());
        for (s, versions) in units {
            let Some(u) = versions.iter().filter(|(_, count)| *count > 0).map(|(u, _)| u).max() else { continue };
            let size = u.size();
            if size == 0 {
                continue;
            }
            let next = groups.len();
            let group = *groups.entry(u.group()).or_insert(next);
            position.insert(s.clone(), list.len());
            list.push((s.clone(), u.clone(), size, group));
        }
        Roster { units: list, position, groups: groups.len() }
    }
}

/// The findings of window `w`: every unit of the roster active in it, with its events in
/// the window (0 if it had none).
fn judge_window<S: Clone + Eq + std::hash::Hash, U: RateUnit>(
    w: i64,
    counts: &HashMap<S, i64, FixedState>,
    roster: &Roster<S, U>,
    model: &RateModel,
) -> Vec<((S, RateSpike), isize)> {
    let mut events = vec![0i64; roster.units.len()];
    for (s, n) in counts {
        if let Some(&i) = roster.position.get(s) {
            events[i] = *n;
        }
    }
    let mut groups = vec![Pool::default(); roster.groups];
    let mut all = Pool::default();
    let mut active = Vec::new();
    for (i, (_, u, size, group)) in roster.units.iter().enumerate() {
        if u.active(w, model.width_ms) {
            groups[*group].add(events[i], *size);
            all.add(events[i], *size);
            active.push(i);
        }
    }
    let least = model.min_peers.max(1);
    let mut found = Vec::new();
    for i in active.into_iter().filter(|i| events[*i] >= model.min_count) {
        let (n, (unit, _, size, group)) = (events[i], &roster.units[i]);
        let peers = [groups[*group], all].into_iter().map(|pool| pool.without(n, *size)).find(|peers| peers.2 >= least);
        let Some(Pool(events, members, _)) = peers else { continue };
        let expected = *size as f64 * (events as f64 / members as f64);
        let variance = expected.max(1.0) * (1.0 + *size as f64 / members as f64);
        let score = (n as f64 - expected) / variance.sqrt();
        if n as f64 >= model.min_ratio * expected && score >= model.min_score {
            found.push(((unit.clone(), RateSpike { window_start: w, observed: n, expected: OrderedFloat(expected), score: OrderedFloat(score) }), 1));
        }
    }
    found
}

/// Events and members of a set of units: `(events, members, units)`.
#[derive(Clone, Copy, Default)]
struct Pool(i64, u64, usize);

impl Pool {
    fn add(&mut self, n: i64, size: u64) {
        (self.0, self.1, self.2) = (self.0 + n, self.1 + size, self.2 + 1);
    }

    /// The pool without one of its units.
    fn without(self, n: i64, size: u64) -> Pool {
        Pool(self.0 - n, self.1 - size, self.2 - 1)
    }
}

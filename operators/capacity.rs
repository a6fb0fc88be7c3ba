//! Counts over capacity.
//!
//! In: counts `(key, count)`, as [`count_by`](super::count::CountBy::count_by) gives them,
//! and capacities `(key, capacity)`, at most one per key. Out: `(key, (count, capacity))` for
//! every key whose count exceeds its capacity (e.g. a polling station with more counted
//! votes than registered voters). Keys without a capacity are never over it.
//!
//! [`OverCapacityGrouped::over_capacity_grouped`] does the same for units that belong to
//! groups (stations in regions), and for the groups: a group is over capacity when its units'
//! counts sum to more than their capacities. It takes the units' events themselves, one key
//! per event (a time's events of a unit may come as one update with their number as
//! multiplicity), and counts them: a count that changes is one update rather than the
//! retraction of the old count and the insertion of the new. It is one frontier-aware
//! operator for totally ordered time whose state is a count and a capacity per unit and per
//! group, where the plain version is a join over two arrangements and a group total would
//! need a join and a count more. All its input goes to one worker: it is made for few units
//! (thousands of stations), with their events added up per time upstream.

use std::collections::HashMap;
use std::hash::Hash;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::lattice::Lattice;
use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::batches::TimeBatches;

/// A row of [`OverCapacityGrouped::over_capacity_grouped`]: what is over, with `(count, capacity)`.
pub type OverRow<K, G> = (Over<K, G>, (i64, i64));

/// What is over capacity: a unit (with its group) or a whole group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Over<K, G> {
    /// A unit whose count exceeds its capacity, and its group.
    Unit(K, G),
    /// A group whose units' counts sum to more than their capacities.
    Group(G),
}

/// Finds counts above their key's capacity.
pub trait OverCapacity<'scope, T: Timestamp, K> {
    /// `(key, (count, capacity))` for every key with `count > capacity`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let counts = scope.new_collection_from(vec![('a', 3isize), ('b', 9)]).1;
    ///     let capacities = scope.new_collection_from(vec![('a', 5i64), ('b', 8)]).1;
    ///     counts.over_capacity(capacities).assert_eq(scope.new_collection_from(vec![('b', (9, 8))]).1);
    /// });
    /// ```
    fn over_capacity(self, capacities: VecCollection<'scope, T, (K, i64)>) -> VecCollection<'scope, T, (K, (i64, i64))>;
}

/// Finds units, and groups of units, with more events than their capacities.
pub trait OverCapacityGrouped<'scope, T: Timestamp, K> {
    /// `(Over::Unit(key, group), (count, capacity))` for every unit with `count > capacity`
    /// (a unit's count is the multiplicity of its key in this collection), and
    /// `(Over::Group(group), (count, capacity))` for every group whose units (those with a
    /// capacity) count more than their capacities sum to; `units` holds each unit's
    /// `(capacity, group)`, at most one at a time (as `latest_by_key` gives). Totally ordered
    /// time only.
    ///
    /// ```
    /// use ballotflow::operators::capacity::Over;
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // the station of every vote: a has 3 votes, b 9, c 1
    ///     let votes = scope.new_collection_from("aaabbbbbbbbbc".chars()).1;
    ///     // stations a and b in region 1, c in region 2: (station, (capacity, region))
    ///     let units = scope.new_collection_from(vec![('a', (5i64, 1u8)), ('b', (8, 1)), ('c', (0, 2))]).1;
    ///     votes.over_capacity_grouped(units).assert_eq(scope.new_collection_from(vec![
    ///         (Over::Unit('b', 1), (9, 8)),
    ///         (Over::Unit('c', 2), (1, 0)),
    ///         (Over::Group(2), (1, 0)),
    ///     ]).1);
    /// });
    /// ```
    fn over_capacity_grouped<G>(self, units: VecCollection<'scope, T, (K, (i64, G))>) -> VecCollection<'scope, T, OverRow<K, G>>
    where
        T: TotalOrder,
        K: Hash,
        G: ExchangeData + Hash;
}

impl<'scope, T, K> OverCapacity<'scope, T, K> for VecCollection<'scope, T, (K, isize)>
where
    T: Timestamp + Lattice + Ord,
    K: ExchangeData + Hashable,
{
    fn over_capacity(self, capacities: VecCollection<'scope, T, (K, i64)>) -> VecCollection<'scope, T, (K, (i64, i64))> {
        self.join_map(capacities, |k, n, capacity| (k.clone(), (*n as i64, *capacity))).filter(|(_, (n, capacity))| n > capacity)
    }
}

impl<'scope, T, K> OverCapacityGrouped<'scope, T, K> for VecCollection<'scope, T, K>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
{
    fn over_capacity_grouped<G>(self, units: VecCollection<'scope, T, (K, (i64, G))>) -> VecCollection<'scope, T, OverRow<K, G>>
    where
        T: TotalOrder,
        K: Hash,
        G: ExchangeData + Hash,
    {
        let name = "OverCapacityGrouped";
        let mut builder = OperatorBuilder::new(name.to_string(), self.inner.scope());
        let home = super::home_worker(name);
        let mut events_in = builder.new_input(self.inner, Exchange::new(move |_: &(K, T, isize)| home));
        let mut units_in = builder.new_input(units.inner, Exchange::new(move |_: &((K, (i64, G)), T, isize)| home));
        let (output, stream) = builder.new_output::<Vec<(OverRow<K, G>, T, isize)>>();
        let mut output = OutputBuilder::from(output);
        builder.build(move |_capabilities| {
            let mut batches: TimeBatches<T, Vec<(K, Change<G>)>> = TimeBatches::new(1);
            let mut state = Capacities::<K, G>::default();
            move |frontiers| {
                events_in.for_each(|cap, data| {
                    batches.hold(&cap);
                    for (key, time, diff) in data.drain(..) {
                        batches.at(time).push((key, Change::Count(diff as i64)));
                    }
                });
                units_in.for_each(|cap, data| {
                    batches.hold(&cap);
                    for ((key, unit), time, diff) in data.drain(..) {
                        batches.at(time).push((key, Change::Unit(unit, diff)));
                    }
                });
                while let Some((time, changes)) = batches.next_complete(frontiers) {
                    let mut output = output.activate();
                    let mut session = output.session(batches.caps(0));
                    for (row, diff) in state.apply(changes) {
                        session.give((row, time.clone(), diff));
                    }
                }
                batches.downgrade();
            }
        });
        stream.as_collection()
    }
}

/// A change to a unit: its count by this much, or one of its `(capacity, group)` records.
enum Change<G> {
    Count(i64),
    Unit((i64, G), isize),
}

/// A unit's count and `(capacity, group)` records, and its row if it is over.
struct Unit<K, G> {
    count: i64,
    records: Vec<((i64, G), isize)>,
    row: Option<OverRow<K, G>>,
    /// Within a time: the count and live record before its first change.
    before: Option<(i64, Option<(i64, G)>)>,
}

impl<K, G> Default for Unit<K, G> {
    fn default() -> Self {
        Unit { count: 0, records: Vec::new(), row: None, before: None }
    }
}

impl<K, G: Clone> Unit<K, G> {
    /// The live `(capacity, group)` record.
    fn capacity(&self) -> Option<(i64, G)> {
        self.records.iter().find(|(_, n)| *n > 0).map(|(unit, _)| unit.clone())
    }
}

/// A group's totals over its units with a capacity, and its row if it is over.
struct Group<K, G> {
    count: i64,
    capacity: i64,
    units: i64,
    row: Option<OverRow<K, G>>,
    dirty: bool,
}

impl<K, G> Default for Group<K, G> {
    fn default() -> Self {
        Group { count: 0, capacity: 0, units: 0, row: None, dirty: false }
    }
}

/// The state of [`OverCapacity::over_capacity_grouped`].
struct Capacities<K, G> {
    units: HashMap<K, Unit<K, G>, foldhash::fast::FixedState>,
    groups: HashMap<G, Group<K, G>, foldhash::fast::FixedState>,
}

impl<K, G> Default for Capacities<K, G> {
    fn default() -> Self {
        Capacities { units: HashMap::default(), groups: HashMap::default() }
    }
}

impl<K: ExchangeData + Hash, G: ExchangeData + Hash> Capacities<K, G> {
    /// Applies a time's changes; returns the changes of the output.
    fn apply(&mut self, changes: Vec<(K, Change<G>)>) -> Vec<(OverRow<K, G>, isize)> {
        let mut touched = Vec::new();
        for (key, change) in changes {
            // Looked up by reference first: the key is cloned only for a new unit.
            let unit = match self.units.get_mut(&key) {
                Some(unit) => unit,
                None => self.units.entry(key.clone()).or_default(),
            };
            if unit.before.is_none() {
                unit.before = Some((unit.count, unit.capacity()));
                touched.push(key);
            }
            match change {
                Change::Count(n) => unit.count += n,
                Change::Unit(record, diff) => {
                    unit.records.push((record, diff));
                    consolidate(&mut unit.records);
                }
            }
        }
        let mut out = Vec::new();
        let mut dirty_groups = Vec::new();
        for key in touched {
            let unit = self.units.get_mut(&key).expect("touched units exist");
            let (old_count, old) = unit.before.take().expect("touched units have a before");
            let new = unit.capacity();
            let mut shift = |g: &G, count: i64, capacity: i64, units: i64| {
                let group = self.groups.entry(g.clone()).or_default();
                (group.count, group.capacity, group.units) = (group.count + count, group.capacity + capacity, group.units + units);
                if !std::mem::replace(&mut group.dirty, true) {
                    dirty_groups.push(g.clone());
                }
            };
            match (&old, &new) {
                // The same group before and after (a count changed): one shift.
                (Some((before, g)), Some((after, h))) if g == h => shift(g, unit.count - old_count, after - before, 0),
                _ => {
                    if let Some((capacity, g)) = &old {
                        shift(g, -old_count, -capacity, -1);
                    }
                    if let Some((capacity, g)) = &new {
                        shift(g, unit.count, *capacity, 1);
                    }
                }
            }
            let row = new.filter(|(capacity, _)| unit.count > *capacity).map(|(capacity, g)| (Over::Unit(key.clone(), g), (unit.count, capacity)));
            replace(&mut unit.row, row, &mut out);
            if unit.count == 0 && unit.records.is_empty() {
                self.units.remove(&key);
            }
        }
        for g in dirty_groups {
            let group = self.groups.get_mut(&g).expect("dirty groups exist");
            group.dirty = false;
            let row = (group.count > group.capacity).then(|| (Over::Group(g.clone()), (group.count, group.capacity)));
            replace(&mut group.row, row, &mut out);
            if group.units == 0 && group.row.is_none() {
                self.groups.remove(&g);
            }
        }
        out
    }
}

/// Makes `row` the current row, recording the change in `out`.
fn replace<R: PartialEq + Clone>(current: &mut Option<R>, row: Option<R>, out: &mut Vec<(R, isize)>) {
    if *current != row {
        out.extend(current.take().map(|old| (old, -1)));
        out.extend(row.clone().map(|new| (new, 1)));
        *current = row;
    }
}

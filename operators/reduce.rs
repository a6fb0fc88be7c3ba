//! `reduce` for totally ordered time, with its state in a hash map.
//!
//! In: `(key, value)`. Out: `(key, output)`, whatever `logic(key, values, output)` says for
//! each key's current values (distinct values in order, with their non-zero counts), as
//! differential's `reduce` computes it: when a key's values change at a time, its logic runs
//! again and the difference between the new and the previous output goes out at that time.
//!
//! Differential's `reduce` keeps every key's history in arrangements, so that it can work for
//! partially ordered time; for totally ordered time a key's current values and last output
//! are all there is to know. This operator keeps just those, in a hash map, and processes
//! each time once its input frontier has passed it: cheaper by a wide margin for keys with
//! many values that change often (a top-k over every station, a window's stations). A key's
//! values are a sorted vector, merged with each time's changes in one pass, so a key with
//! one value (a registry's latest record) costs that value and no more; use it where a key's
//! values are at most thousands.

use std::collections::HashMap;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::batches::TimeBatches;

/// A time's updates.
type Updates<K, V> = Vec<((K, V), isize)>;

/// A key's current values (sorted, with non-zero counts) and last output.
struct Group<V, O> {
    values: Vec<(V, isize)>,
    output: Vec<(O, isize)>,
}

impl<V, O> Default for Group<V, O> {
    fn default() -> Self {
        Group { values: Vec::new(), output: Vec::new() }
    }
}

/// Adds `changes` (sorted by value, consolidated) to `values` (the same), dropping values
/// whose count becomes zero; the result holds no spare capacity.
fn merge<V: Ord>(values: &mut Vec<(V, isize)>, changes: impl Iterator<Item = (V, isize)>) {
    let mut merged = Vec::with_capacity(values.len() + changes.size_hint().0);
    let mut old = std::mem::take(values).into_iter().peekable();
    for (value, diff) in changes {
        while let Some(smaller) = old.next_if(|(o, _)| *o < value) {
            merged.push(smaller);
        }
        match old.next_if(|(o, _)| *o == value) {
            Some((same, count)) if count + diff != 0 => merged.push((same, count + diff)),
            Some(_) => {}
            None => merged.push((value, diff)),
        }
    }
    merged.extend(old);
    merged.shrink_to_fit();
    *values = merged;
}

/// Reduces each key's values, for totally ordered time (see the module docs).
pub trait ReduceTotal<'scope, T: Timestamp, K, V> {
    /// `logic(key, values, output)` for every key with values.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // (station, votes) → each station's largest count
    ///     let counts = scope.new_collection_from(vec![(1u32, 5u32), (1, 9), (2, 3)]).1;
    ///     counts
    ///         .reduce_total(|_station, counts, out| out.push((*counts.last().unwrap().0, 1)))
    ///         .assert_eq(scope.new_collection_from(vec![(1, 9), (2, 3)]).1);
    /// });
    /// ```
    fn reduce_total<O, L>(self, logic: L) -> VecCollection<'scope, T, (K, O)>
    where
        O: ExchangeData,
        L: FnMut(&K, &[(&V, isize)], &mut Vec<(O, isize)>) + 'static;

    /// As [`ReduceTotal::reduce_total`], with a name for logs.
    fn reduce_total_named<O, L>(self, name: &str, logic: L) -> VecCollection<'scope, T, (K, O)>
    where
        O: ExchangeData,
        L: FnMut(&K, &[(&V, isize)], &mut Vec<(O, isize)>) + 'static;
}

impl<'scope, T, K, V> ReduceTotal<'scope, T, K, V> for VecCollection<'scope, T, (K, V)>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hashable + std::hash::Hash,
    V: ExchangeData,
{
    fn reduce_total<O, L>(self, logic: L) -> VecCollection<'scope, T, (K, O)>
    where
        O: ExchangeData,
        L: FnMut(&K, &[(&V, isize)], &mut Vec<(O, isize)>) + 'static,
    {
        self.reduce_total_named("ReduceTotal", logic)
    }

    fn reduce_total_named<O, L>(self, name: &str, mut logic: L) -> VecCollection<'scope, T, (K, O)>
    where
        O: ExchangeData,
        L: FnMut(&K, &[(&V, isize)], &mut Vec<(O, isize)>) + 'static,
    {
        let mut builder = OperatorBuilder::new(name.to_string(), self.inner.scope());
        let by_key = Exchange::new(|((key, _), _, _): &((K, V), T, isize)| key.hashed().into());
        let mut input = builder.new_input(self.inner, by_key);
        let (output, stream) = builder.new_output::<Vec<((K, O), T, isize)>>();
        let mut output = OutputBuilder::from(output);
        builder.build(move |_capabilities| {
            let mut batches: TimeBatches<T, Updates<K, V>> = TimeBatches::new(1);
            let mut groups: HashMap<K, Group<V, O>, foldhash::fast::FixedState> = HashMap::default();
            let mut fresh = Vec::new();
            move |frontiers| {
                input.for_each(|cap, data| {
                    batches.hold(&cap);
                    for (update, time, diff) in data.drain(..) {
                        batches.at(time).push((update, diff));
                    }
                });
                while let Some((time, mut updates)) = batches.next_complete(frontiers) {
                    // Sorted by key, then value: each key's changes are one run.
                    consolidate(&mut updates);
                    let mut output = output.activate();
                    let mut session = output.session(batches.caps(0));
                    let mut updates = updates.into_iter().peekable();
                    while let Some(((key, _), _)) = updates.peek() {
                        let key = key.clone();
                        let group = groups.entry(key.clone()).or_default();
                        let mut changes = Vec::new();
                        while let Some(((_, value), diff)) = updates.next_if(|((k, _), _)| *k == key) {
                            changes.push((value, diff));
                        }
                        merge(&mut group.values, changes.into_iter());
                        let values: Vec<(&V, isize)> = group.values.iter().map(|(v, n)| (v, *n)).collect();
                        if !values.is_empty() {
                            logic(&key, &values, &mut fresh);
                        }
                        for (out, diff) in replace_output(&mut group.output, &mut fresh) {
                            session.give(((key.clone(), out), time.clone(), diff));
                        }
                        if group.values.is_empty() && group.output.is_empty() {
                            groups.remove(&key);
                        }
                    }
                }
                batches.downgrade();
            }
        });
        stream.as_collection()
    }
}

/// Makes `fresh` (consolidated here) the last output and returns `fresh − last`; `fresh` is
/// left empty, with its capacity, for reuse (the last output holds no spare capacity).
pub(crate) fn replace_output<O: Ord + Clone>(last: &mut Vec<(O, isize)>, fresh: &mut Vec<(O, isize)>) -> Vec<(O, isize)> {
    consolidate(fresh);
    let changes = differences(last, fresh);
    last.clear();
    last.append(fresh);
    last.shrink_to_fit();
    changes
}

/// `new − old`, of two consolidated lists.
fn differences<O: Ord + Clone>(old: &[(O, isize)], new: &[(O, isize)]) -> Vec<(O, isize)> {
    let mut out = Vec::new();
    let (mut a, mut b) = (old.iter().peekable(), new.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some((o, n)), Some((p, m))) => match o.cmp(p) {
                std::cmp::Ordering::Less => {
                    out.push((o.clone(), -n));
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push((p.clone(), *m));
                    b.next();
                }
                std::cmp::Ordering::Equal => {
                    if m != n {
                        out.push((o.clone(), m - n));
                    }
                    a.next();
                    b.next();
                }
            },
            (Some((o, n)), None) => {
                out.push((o.clone(), -n));
                a.next();
            }
            (None, Some((p, m))) => {
                out.push((p.clone(), *m));
                b.next();
            }
            (None, None) => return out,
        }
    }
}

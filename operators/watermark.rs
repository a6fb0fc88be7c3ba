//! [`ViewAtWatermark`]: a view of a whole collection recomputed each time the watermark moves.
//!
//! In: a collection over totally ordered `u64` times (event-time ticks, so the input
//! frontier is the watermark), and two functions: `update`, which folds one update into a
//! state, and `view`, which computes output records from the state and the watermark. Out:
//! the view as a collection. Each time the frontier passes new times, the updates before the
//! new frontier `w` are folded in, the view is computed as of [`Watermark::At`]`(w)` and its
//! difference to the last view goes out at time `w`; when the input ends, once more as of
//! [`Watermark::End`] (at the time after the last view's). So a view that depends on the watermark itself (a
//! projection of what is still to come, a deadline) changes as time passes even when no
//! data does, once per frontier step rather than once per update.
//!
//! The whole collection goes to one worker (the first): this is for views over small
//! aggregates, such as counts per station, not over raw events.

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;

use super::reduce::replace_output;

/// Where a view is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watermark {
    /// Every update before this time is in, and none after it.
    At(u64),
    /// Every update is in: the input has ended. The time is the latest of the last view's
    /// watermark and any update's time.
    End(u64),
}

/// Recomputes a view of a collection at each watermark; see the [module documentation](self).
pub trait ViewAtWatermark<'scope, D> {
    /// The view of the collection, with `state` folded by `update` and read by `view`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use ballotflow::operators::watermark::Watermark;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     // Events at times 0 and 30; the view: how many there are, and whether the
    ///     // watermark has passed 20 (a deadline), which changes with time alone.
    ///     let early = scope.new_collection_from(vec![1u32]).1;
    ///     let late = scope.new_collection_from(vec![2u32]).1.delay(|_| 30);
    ///     early
    ///         .concat(late)
    ///         .view_at_watermark_named("Seen", 0isize, |n, _, diff| *n += diff, |n, w| vec![(*n, w >= Watermark::At(20))])
    ///         .inspect(|((seen, past_deadline), time, diff)| println!("{seen} seen, deadline passed {past_deadline}: {diff:+} at {time}"));
    /// });
    /// ```
    fn view_at_watermark_named<S, O, U, V>(self, name: &str, state: S, update: U, view: V) -> VecCollection<'scope, u64, O>
    where
        S: 'static,
        O: ExchangeData + Ord,
        U: FnMut(&mut S, D, isize) + 'static,
        V: FnMut(&mut S, Watermark) -> Vec<O> + 'static;
}

impl<'scope, D: ExchangeData> ViewAtWatermark<'scope, D> for VecCollection<'scope, u64, D> {
    fn view_at_watermark_named<S, O, U, V>(self, name: &str, mut state: S, mut update: U, mut view: V) -> VecCollection<'scope, u64, O>
    where
        S: 'static,
        O: ExchangeData + Ord,
        U: FnMut(&mut S, D, isize) + 'static,
        V: FnMut(&mut S, Watermark) -> Vec<O> + 'static,
    {
        let scope = self.inner.scope();
        let first = scope.index() == 0;
        let mut builder = OperatorBuilder::new(name.to_string(), scope);
        let mut input = builder.new_input(self.inner, Exchange::new(|_: &(D, u64, isize)| 0));
        let (output, stream) = builder.new_output::<Vec<(O, u64, isize)>>();
        let mut output = OutputBuilder::from(output);
        builder.build(move |mut capabilities| {
            // Only the first worker has data; the others hold nothing.
            let mut cap = capabilities.pop().filter(|_| first);
            let mut pending: BTreeMap<u64, Vec<(D, isize)>> = BTreeMap::new();
            let mut shown: Vec<(O, isize)> = Vec::new();
            let mut at: Option<u64> = None;
            let mut latest = 0;
            move |frontiers| {
                input.for_each(|_, data| {
                    for (d, time, diff) in data.drain(..) {
                        latest = latest.max(time);
                        pending.entry(time).or_default().push((d, diff));
                    }
                });
                let Some(held) = cap.as_mut() else { return };
                let frontier = frontiers[0].frontier();
                let watermark = match frontier.first() {
                    Some(&w) if at.is_none_or(|a| w > a) => Watermark::At(w),
                    Some(_) => return,
                    None => Watermark::End(latest.max(at.unwrap_or(0))),
                };
                while let Some(entry) = pending.first_entry() {
                    if matches!(watermark, Watermark::At(w) if *entry.key() >= w) {
                        break;
                    }
                    for (d, diff) in entry.remove() {
                        update(&mut state, d, diff);
                    }
                }
                match watermark {
                    Watermark::At(w) => {
                        held.downgrade(&w);
                        at = Some(w);
                    }
                    // After the last view's time, so the two are told apart.
                    Watermark::End(_) => held.downgrade(&at.map_or(*held.time(), |a| a + 1)),
                }
                let mut fresh: Vec<(O, isize)> = view(&mut state, watermark).into_iter().map(|o| (o, 1)).collect();
                let mut out = output.activate();
                let mut session = out.session(&*held);
                let time = *held.time();
                for (o, diff) in replace_output(&mut shown, &mut fresh) {
                    session.give((o, time, diff));
                }
                drop(session);
                drop(out);
                if matches!(watermark, Watermark::End(_)) {
                    cap = None;
                }
            }
        });
        stream.as_collection()
    }
}

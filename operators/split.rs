//! Splitting a collection into parts.
//!
//! In: any records. Out: one collection per part, each record in the part `route` names.
//! Where several consumers each want a slice of one collection, splitting it once moves each
//! record to the one consumer that wants it; filtering it once per consumer would clone every
//! record for every consumer.

use differential_dataflow::{AsCollection, Data, VecCollection};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::progress::Timestamp;

/// Splits a collection into parts.
pub trait Split<'scope, T: Timestamp, D> {
    /// `N` collections; record `d` goes to part `route(&d)`, which must be below `N`.
    ///
    /// ```
    /// use ballotflow::operators::prelude::*;
    /// use differential_dataflow::input::Input;
    ///
    /// timely::example(|scope| {
    ///     let numbers = scope.new_collection_from(vec![1u32, 2, 3, 4, 5]).1;
    ///     let [even, odd] = numbers.split(|n| (n % 2) as usize);
    ///     even.assert_eq(scope.new_collection_from(vec![2, 4]).1);
    ///     odd.assert_eq(scope.new_collection_from(vec![1, 3, 5]).1);
    /// });
    /// ```
    fn split<const N: usize, F>(self, route: F) -> [VecCollection<'scope, T, D>; N]
    where
        F: FnMut(&D) -> usize + 'static;
}

impl<'scope, T: Timestamp, D: Data> Split<'scope, T, D> for VecCollection<'scope, T, D> {
    fn split<const N: usize, F>(self, mut route: F) -> [VecCollection<'scope, T, D>; N]
    where
        F: FnMut(&D) -> usize + 'static,
    {
        // Each input batch is cut into one batch per part, handed over whole: timely's
        // `partition` pushes every record through a map of parts and a container builder.
        let mut builder = OperatorBuilder::new("Split".to_string(), self.inner.scope());
        let mut input = builder.new_input(self.inner, Pipeline);
        let (mut outputs, mut streams) = (Vec::with_capacity(N), Vec::with_capacity(N));
        for _ in 0..N {
            let (output, stream) = builder.new_output::<Vec<(D, T, isize)>>();
            outputs.push(OutputBuilder::from(output));
            streams.push(stream);
        }
        builder.build(move |_capabilities| {
            let mut parts: Vec<Vec<(D, T, isize)>> = (0..N).map(|_| Vec::new()).collect();
            let mut routes: Vec<usize> = Vec::new();
            move |_frontiers| {
                let mut handles: Vec<_> = outputs.iter_mut().map(|output| output.activate()).collect();
                input.for_each(|cap, data| {
                    // Routed first, so that each part is sized once: a part handed over
                    // leaves an empty buffer behind, which would otherwise grow push by push.
                    routes.clear();
                    routes.extend(data.iter().map(|update| route(&update.0)));
                    let mut sizes = [0; N];
                    routes.iter().for_each(|&part| sizes[part] += 1);
                    for (part, size) in parts.iter_mut().zip(sizes) {
                        part.reserve(size);
                    }
                    for (update, &part) in data.drain(..).zip(&routes) {
                        parts[part].push(update);
                    }
                    for (handle, part) in handles.iter_mut().zip(parts.iter_mut()).filter(|(_, part)| !part.is_empty()) {
                        handle.session(&cap).give_container(part);
                        part.clear(); // a recycled buffer may come back with its old records
                    }
                });
            }
        });
        let mut streams = streams.into_iter();
        std::array::from_fn(|_| streams.next().expect("one stream per part").as_collection())
    }
}

//! Reusable incremental operators on differential [`VecCollection`]s.
//!
//! Each module holds one operator family as an extension trait, in the style of timely's
//! `operators/` folder: bring the traits into scope with `use ballotflow::operators::prelude::*`
//! and call them as methods (`votes.count_by("Votes per party", |v| v.party.clone())`).
//! Every operator has a `_named` variant whose name shows up in timely logs.
//!
//! All operators are generic over the key and value types; the ones that need a totally
//! ordered time (`count_total`-based) say so in their bounds. Nothing here knows about
//! elections: the election pipeline in [`crate::pipelines`] composes them.
//!
//! [`VecCollection`]: differential_dataflow::VecCollection

pub mod batches;
pub mod capacity;
pub mod classify;
pub mod count;
pub mod dedup;
pub mod enrich;
pub mod group;
pub mod quality;
pub mod rate;
pub mod reduce;
pub mod split;
pub mod topk;
pub mod upsert;
pub mod watermark;
pub mod window;

/// The operator traits, for `use ballotflow::operators::prelude::*`.
pub mod prelude {
    pub use super::capacity::{OverCapacity, OverCapacityGrouped};
    pub use super::classify::Classify;
    pub use super::count::{CountBy, CountKeys};
    pub use super::dedup::FirstWins;
    pub use super::enrich::Enrich;
    pub use super::group::GroupWith;
    pub use super::quality::CheckTotals;
    pub use super::rate::RateSpikes;
    pub use super::reduce::ReduceTotal;
    pub use super::split::Split;
    pub use super::topk::{MostFrequent, TopK};
    pub use super::upsert::LatestByKey;
    pub use super::watermark::ViewAtWatermark;
    pub use super::window::TumblingWindow;
}

/// The worker an operator that gathers everything on one worker runs on: chosen by the
/// operator's name, so that different such operators (a top-k, a capacity check) spread over
/// the workers rather than all landing on worker 0. The same on every worker and process.
pub(crate) fn home_worker(name: &str) -> u64 {
    use differential_dataflow::Hashable;
    name.hashed()
}

/// Adds `diff` to `key`'s entry of `map`, which is removed when it comes to zero: a map of
/// counts or multiplicities that holds only the non-zero ones.
pub(crate) fn add_to<K, D, S>(map: &mut std::collections::HashMap<K, D, S>, key: K, diff: D)
where
    K: std::hash::Hash + Eq,
    D: Copy + Default + PartialEq + std::ops::AddAssign,
    S: std::hash::BuildHasher,
{
    use std::collections::hash_map::Entry;
    match map.entry(key) {
        Entry::Occupied(mut held) => {
            *held.get_mut() += diff;
            if *held.get() == D::default() {
                held.remove();
            }
        }
        Entry::Vacant(new) => {
            new.insert(diff);
        }
    }
}

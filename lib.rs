//! # ballotflow
//!
//! Incremental election analytics on [timely dataflow] and [differential dataflow].
//!
//! Data flows one way through the crate's folders:
//! [`connectors`] (sources) → [`operators`] → [`pipelines`] → [`connectors`] (sinks).
//!
//! ## Time model
//! Timely time is **event time**: `u64` milliseconds since the Unix epoch, cut down to a
//! configurable tick (one minute by default). A source's frontier is its *watermark*: per
//! partition, the largest event time it has delivered minus an out-of-orderness bound,
//! rounded down to a tick, and the least of those over the active partitions (see
//! [`connectors::clock`]).
//! An event whose tick is already behind the frontier is *late*: it is still applied, at the
//! frontier, with its true event time kept in the data (so it lands in the right hour
//! window), and it is counted. Results are therefore corrected, never silently wrong.
//!
//! Registry inputs (candidates, polling stations, voters) are collections of versioned
//! records: the version with the highest sequence number (its position in the source) wins,
//! see [`operators::upsert`].
//!
//! [timely dataflow]: https://docs.rs/timely
//! [differential dataflow]: https://docs.rs/differential-dataflow
#![deny(missing_docs)]

pub mod connectors;
pub mod huge_pages;
pub mod operators;
pub mod pipelines;

//! Pipelines: functions from input collections to output collections, built from
//! [`crate::operators`]. They know nothing of Kafka, files or databases, so tests and
//! benchmarks drive them from differential `InputSession`s.

pub mod election;

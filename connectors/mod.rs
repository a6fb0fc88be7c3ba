//! Where data enters and leaves ballotflow: data-set files, the election generator, the
//! event-time clock that turns event times into timely frontiers, Kafka, result sinks, and a
//! live dashboard with Prometheus metrics.

pub mod clock;
pub mod dashboard;
pub mod dataset;
pub mod generator;
pub mod kafka;
pub mod metrics;
pub mod postgres;
pub mod progress;
pub mod sink;
pub mod table;

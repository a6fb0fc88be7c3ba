//! A live race call: projected final votes and shares, 90 % intervals, win probabilities and
//! call statuses, for the nation and each region, as of the event-time watermark.
//!
//! - [`dataflow`]: the projection as an operator on the pipeline's counts, recomputed each
//!   time the watermark moves;
//! - [`estimate`]: the projection of every race from the tallies counted by a watermark;
//! - [`calls`]: a race's status (too early, leading, called, certain, uncalled) from one
//!   projection to the next;
//! - [`model`]: what the projection learns from calibration elections;
//! - [`replay`] and [`forecast`]: the projection measured like a forecast on generated
//!   elections.

pub mod calls;
pub mod dataflow;
pub mod estimate;
pub mod forecast;
pub mod model;
pub mod replay;
mod sampling;

use super::model::AGE_GROUPS;

pub use calls::{CallRules, CallStatus, RaceCall};
pub use dataflow::{projection, rows, Calls, ProjectionConfig, NATIONAL};
pub use estimate::{project, ChoiceProjection, RaceProjection, StationTally, Tallies};
pub use model::ProjectionModel;
pub use replay::Replay;

/// Age bands the projection is stratified by (those of the results, [`AGE_GROUPS`]).
pub const BANDS: usize = AGE_GROUPS.len();

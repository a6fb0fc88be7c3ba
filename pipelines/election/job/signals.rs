//! [`JobSignals`]: what the workers of a job, in every process, tell each other while it
//! runs, through a small broadcast dataflow:
//!
//! * the largest event time each worker has admitted, so that a worker whose partitions
//!   are all idle (or that has none) follows the job's watermark instead of holding it back;
//! * the event-time center a worker established (see [`crate::connectors::clock`]), for a
//!   worker with too few events of its own to establish one;
//! * a request to stop, when an output failed for good: every worker stops reading, the
//!   inputs close, and the job ends with the failure named.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Operator};
use timely::dataflow::InputHandle;
use timely::worker::Worker;

/// An output's failure, as told to every worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// The output that failed.
    pub output: String,
    /// Its error.
    pub error: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Signal {
    MaxSeen(u64),
    Center { worker: usize, center: i64 },
    Stop(StopRequest),
}

#[derive(Debug, Default)]
struct Heard {
    max: u64,
    /// The center of the lowest-numbered worker that shared one.
    center: Option<(usize, i64)>,
    stop: Option<StopRequest>,
}

impl Heard {
    fn hear(&mut self, signal: Signal) {
        match signal {
            Signal::MaxSeen(max) => self.max = self.max.max(max),
            Signal::Center { worker, center } => {
                if self.center.is_none_or(|(w, _)| worker < w) {
                    self.center = Some((worker, center));
                }
            }
            Signal::Stop(request) => {
                self.stop.get_or_insert(request);
            }
        }
    }
}

/// One worker's end of the job's signals (see the module docs).
pub(super) struct JobSignals {
    input: InputHandle<u64, CapacityContainerBuilder<Vec<Signal>>>,
    heard: Rc<RefCell<Heard>>,
    index: usize,
    sent_max: Option<u64>,
    sent_center: bool,
    sent_stop: bool,
}

impl JobSignals {
    pub(super) fn new(worker: &mut Worker) -> Self {
        let heard = Rc::new(RefCell::new(Heard::default()));
        let hearing = heard.clone();
        let input = worker.dataflow::<u64, _, _>(move |scope| {
            let (input, stream) = scope.new_input::<Vec<Signal>>();
            stream.broadcast().sink(Pipeline, "JobSignals", move |(input, _)| {
                input.for_each(|_, data| {
                    let mut heard = hearing.borrow_mut();
                    data.drain(..).for_each(|signal| heard.hear(signal));
                });
            });
            input
        });
        JobSignals { input, heard, index: worker.index(), sent_max: None, sent_center: false, sent_stop: false }
    }

    fn send(&mut self, signal: Signal) {
        // Heard here at once; the broadcast tells the others (and, later, this worker again).
        self.heard.borrow_mut().hear(signal.clone());
        self.input.send(signal);
        self.input.flush();
    }

    /// Shares this worker's largest admitted event time if it grew.
    pub(super) fn max_seen(&mut self, max_seen: Option<u64>) {
        if let Some(max) = max_seen.filter(|m| Some(*m) > self.sent_max) {
            self.sent_max = Some(max);
            self.send(Signal::MaxSeen(max));
        }
    }

    /// Shares this worker's established center, once.
    pub(super) fn center(&mut self, center: Option<i64>) {
        if let Some(center) = center.filter(|_| !self.sent_center) {
            self.sent_center = true;
            self.send(Signal::Center { worker: self.index, center });
        }
    }

    /// Asks every worker to stop, once.
    pub(super) fn stop(&mut self, request: StopRequest) {
        if !self.sent_stop {
            self.sent_stop = true;
            self.send(Signal::Stop(request));
        }
    }

    /// The largest event time any worker has shared so far.
    pub(super) fn job_max(&self) -> u64 {
        self.heard.borrow().max
    }

    /// A center some worker established, if any.
    pub(super) fn center_heard(&self) -> Option<i64> {
        self.heard.borrow().center.map(|(_, center)| center)
    }

    /// The first stop request heard, if any.
    pub(super) fn stop_requested(&self) -> Option<StopRequest> {
        self.heard.borrow().stop.clone()
    }
}

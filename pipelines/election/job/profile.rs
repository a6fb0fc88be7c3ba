//! Where a worker's time goes, per operator: with `BALLOTFLOW_OPERATOR_PROFILE=1` set, each
//! worker records how long timely scheduled each operator (from timely's own `Schedule`
//! events) and logs the operators that took the most when the job ends. A diagnosis aid:
//! recording costs a few percent.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use timely::logging::{StartStop, TimelyEvent, TimelyEventBuilder};
use timely::worker::Worker;

/// The environment variable that turns the profile on.
pub const ENV: &str = "BALLOTFLOW_OPERATOR_PROFILE";

#[derive(Default)]
struct Times {
    /// Operator id → (name, depth in the scope tree).
    names: HashMap<usize, (String, usize)>,
    started: HashMap<usize, Duration>,
    total: HashMap<usize, (Duration, u64)>,
}

/// A worker's per-operator scheduled time, recorded from timely's log.
pub struct OperatorProfile {
    times: Rc<RefCell<Times>>,
}

impl OperatorProfile {
    /// Starts recording on `worker` if [`ENV`] is set; call before building the dataflow.
    pub fn start(worker: &mut Worker) -> Option<Self> {
        std::env::var_os(ENV)?;
        let times = Rc::new(RefCell::new(Times::default()));
        let recorded = Rc::clone(&times);
        worker.log_register()?.insert::<TimelyEventBuilder, _>("timely", move |_, events| {
            let Some(events) = events else { return };
            let mut times = recorded.borrow_mut();
            for (at, event) in events.iter() {
                match event {
                    TimelyEvent::Operates(op) => {
                        times.names.insert(op.id, (op.name.clone(), op.addr.len()));
                    }
                    TimelyEvent::Schedule(s) => match s.start_stop {
                        StartStop::Start => {
                            times.started.insert(s.id, *at);
                        }
                        StartStop::Stop => {
                            if let Some(start) = times.started.remove(&s.id) {
                                let total = times.total.entry(s.id).or_default();
                                total.0 += at.saturating_sub(start);
                                total.1 += 1;
                            }
                        }
                    },
                    _ => {}
                }
            }
        });
        Some(OperatorProfile { times })
    }

    /// Logs the `top` operators by scheduled time since the last report (a scope's time
    /// includes its operators'), as the times of `phase`, and starts over.
    pub fn report(&self, worker: &mut Worker, phase: &str, top: usize) {
        if let Some(mut registry) = worker.log_register() {
            registry.flush();
        }
        let mut times = self.times.borrow_mut();
        let mut rows: Vec<_> = times.total.drain().collect();
        rows.sort_by_key(|(_, (time, _))| std::cmp::Reverse(*time));
        for (id, (time, runs)) in rows.into_iter().take(top) {
            let (name, depth) = times.names.get(&id).cloned().unwrap_or_default();
            tracing::info!(worker = worker.index(), phase, seconds = time.as_secs_f64(), runs, depth, "operator {id} {name}");
        }
    }
}

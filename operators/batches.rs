//! [`TimeBatches`]: what a frontier-aware operator holds between a time's first update and
//! the moment its inputs' frontiers pass it.
//!
//! For totally ordered time, an operator that keeps its own state (a hash map rather than an
//! arrangement) processes a time's updates once no input can deliver more at that time, in
//! time order, and emits the differences at that time. Until then it buffers them, and holds
//! a capability for each of its outputs at the earliest buffered time. This type does that
//! bookkeeping for any number of outputs.

use std::collections::BTreeMap;

use timely::dataflow::operators::{CapabilitySet, InputCapability};
use timely::order::TotalOrder;
use timely::progress::frontier::MutableAntichain;
use timely::progress::Timestamp;

/// Buffered updates per time (a `B` each), and capabilities to emit at them.
pub struct TimeBatches<T: Timestamp, B> {
    pending: BTreeMap<T, B>,
    caps: Vec<CapabilitySet<T>>,
}

impl<T: Timestamp + TotalOrder, B: Default> TimeBatches<T, B> {
    /// For an operator with `outputs` outputs.
    pub fn new(outputs: usize) -> Self {
        TimeBatches { pending: BTreeMap::new(), caps: (0..outputs).map(|_| CapabilitySet::new()).collect() }
    }

    /// Holds capabilities for every output at the times of a message.
    pub fn hold(&mut self, cap: &InputCapability<T>) {
        for (port, set) in self.caps.iter_mut().enumerate() {
            for capability in cap.retain_stamp(port).iter() {
                set.insert(capability.clone());
            }
        }
    }

    /// The batch of `time`.
    pub fn at(&mut self, time: T) -> &mut B {
        self.pending.entry(time).or_default()
    }

    /// The earliest buffered time, if any.
    pub fn earliest(&self) -> Option<&T> {
        self.pending.keys().next()
    }

    /// Removes and returns the earliest batch if no input can still deliver at its time.
    pub fn next_complete(&mut self, frontiers: &[MutableAntichain<T>]) -> Option<(T, B)> {
        let entry = self.pending.first_entry()?;
        let open = frontiers.iter().any(|f| f.frontier().less_equal(entry.key()));
        (!open).then(|| entry.remove_entry())
    }

    /// The capabilities of output `port` (valid for every buffered time).
    pub fn caps(&self, port: usize) -> &CapabilitySet<T> {
        &self.caps[port]
    }

    /// Keeps capabilities only for the buffered times: later updates bring their own.
    pub fn downgrade(&mut self) {
        let earliest = self.pending.keys().next().cloned();
        for set in self.caps.iter_mut().filter(|set| !set.is_empty()) {
            set.downgrade(earliest.iter());
        }
    }
}

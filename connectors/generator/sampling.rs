//! Random streams per generation phase and sampling from fixed weights.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An independent random stream per generation phase, so that phases do not shift each other.
pub(super) fn rng_for(seed: u64, phase: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(phase);
    rng
}

/// A counter-based random stream per (seed, phase, entity): SplitMix64 started at a hash of
/// the three, so any entity's draws can be made anywhere, in any order, at the cost of one
/// hash.
pub(super) struct EntityRng(u64);

impl EntityRng {
    pub(super) fn new(seed: u64, phase: u64, entity: u64) -> Self {
        EntityRng(mix(mix(seed ^ phase.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ entity))
    }
}

/// SplitMix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RngCore for EntityRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Sampling from fixed non-negative weights by binary search on the cumulative sums.
pub(super) struct Weighted {
    cum: Vec<f64>,
}

impl Weighted {
    pub(super) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut total = 0.0;
        let cum = weights
            .into_iter()
            .map(|w| {
                total += w.max(0.0);
                total
            })
            .collect();
        Weighted { cum }
    }

    pub(super) fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = *self.cum.last().expect("non-empty weights");
        let u = rng.random::<f64>() * total;
        self.cum.partition_point(|&c| c <= u).min(self.cum.len() - 1)
    }
}

/// An index into a short list of weights, drawn by a linear scan (no table needed).
pub(super) fn pick(rng: &mut impl Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

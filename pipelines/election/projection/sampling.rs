//! Seeded draws for the projection: standard normals from a ChaCha stream, so a projection
//! is the same wherever and whenever it is computed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream of one projection: a function of the model's seed and the watermark
/// only.
pub(super) fn stream(seed: u64, as_of_ms: i64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(as_of_ms as u64);
    rng
}

/// Standard normal draws (Box-Muller, both of each pair).
pub(super) struct Normals<R> {
    rng: R,
    spare: Option<f64>,
}

impl<R: Rng> Normals<R> {
    pub(super) fn new(rng: R) -> Self {
        Normals { rng, spare: None }
    }

    /// The next draw.
    pub(super) fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u: f64 = 1.0 - self.rng.random::<f64>();
        let v: f64 = self.rng.random::<f64>();
        let (r, theta) = ((-2.0 * u.ln()).sqrt(), 2.0 * std::f64::consts::PI * v);
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normals_have_their_moments() {
        let mut normals = Normals::new(stream(1, 2));
        let zs: Vec<f64> = (0..40_000).map(|_| normals.next()).collect();
        let mean = zs.iter().sum::<f64>() / zs.len() as f64;
        let var = zs.iter().map(|z| z * z).sum::<f64>() / zs.len() as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.03, "{mean} {var}");
    }
}

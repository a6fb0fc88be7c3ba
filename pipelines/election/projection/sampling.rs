//! Seeded draws for the projection: standard normals and gammas (so Dirichlets), from a
//! ChaCha stream, so a projection is the same wherever and whenever it is computed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream of one projection: a function of the model's seed, the race and the
/// watermark only.
pub(super) fn stream(seed: u64, race: u64, as_of_ms: i64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ race.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(as_of_ms as u64);
    rng
}

/// A standard normal draw (Box-Muller, one of the pair).
pub(super) fn normal(rng: &mut impl Rng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// A Gamma(`shape`, 1) draw (Marsaglia and Tsang; boosted below shape 1).
pub(super) fn gamma(rng: &mut impl Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u: f64 = 1.0 - rng.random::<f64>();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = 1.0 - rng.random::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// Fills `out` with a Dirichlet draw of mean `mean` (summing to 1) and total concentration
/// `concentration`.
pub(super) fn dirichlet(rng: &mut impl Rng, mean: &[f64], concentration: f64, out: &mut [f64]) {
    let mut total = 0.0;
    for (o, &m) in out.iter_mut().zip(mean) {
        *o = if m > 0.0 { gamma(rng, m * concentration) } else { 0.0 };
        total += *o;
    }
    if total > 0.0 {
        out.iter_mut().for_each(|o| *o /= total);
    } else {
        out.copy_from_slice(mean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_normal_have_their_moments() {
        let mut rng = stream(1, 2, 3);
        for shape in [0.3, 1.0, 4.5, 60.0] {
            let n = 40_000;
            let xs: Vec<f64> = (0..n).map(|_| gamma(&mut rng, shape)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!((mean - shape).abs() < 0.05 * shape.max(1.0), "shape {shape}: mean {mean}");
            assert!((var - shape).abs() < 0.1 * shape.max(1.0), "shape {shape}: var {var}");
        }
        let zs: Vec<f64> = (0..40_000).map(|_| normal(&mut rng)).collect();
        let var = zs.iter().map(|z| z * z).sum::<f64>() / zs.len() as f64;
        assert!((var - 1.0).abs() < 0.03, "{var}");
    }
}

//! The facade's one source of pseudo-random numbers: seeded, reproducible, no dependency.
//!
//! Two generators, because results depend on the exact sequences they gave before they were
//! gathered here: [`XorShift64`] deals the evaluation folds (`eval::album_folds`) and samples
//! the log-mel blocks kept for training (`LogMelReservoir`); [`SplitMix64`] splits a track's
//! tiles into the learned stage's views and draws their descriptor noise. Each keeps its
//! arithmetic bit for bit (the tests pin the first values).
#![cfg_attr(not(feature = "full"), allow(dead_code))]

/// The golden-ratio constant: splitmix64's increment, and what seeds are mixed with.
pub(crate) const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// What both generators give: 64 random bits at a time, and what is made of them.
pub(crate) trait Rng {
    /// The next 64 bits.
    fn next_u64(&mut self) -> u64;

    /// A value in `0..n` (`next_u64() % n`: slightly biased for large `n`, kept because
    /// results depend on it). `n` must be positive.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Shuffles `items` in place (Fisher–Yates from the end: position `i` swaps with
    /// [`below(i + 1)`](Self::below)).
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17): the state is the output. A zero state stays
/// zero, so seed it with [`mixing`](Self::mixing) unless the state is known to be non-zero.
#[derive(Debug, Clone)]
pub(crate) struct XorShift64(u64);

impl XorShift64 {
    /// A generator starting from `state` as it is.
    pub(crate) fn from_state(state: u64) -> Self {
        Self(state)
    }

    /// A generator from `seed` multiplied by [`GOLDEN_GAMMA`] and made odd (never zero).
    pub(crate) fn mixing(seed: u64) -> Self {
        Self(seed.wrapping_mul(GOLDEN_GAMMA) | 1)
    }
}

impl Rng for XorShift64 {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// splitmix64 (Steele, Lea and Flood 2014): any state, zero included, gives a good sequence.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `state`.
    pub(crate) fn new(state: u64) -> Self {
        Self(state)
    }

    /// A standard normal value (Box–Muller on two draws, the cosine branch).
    pub(crate) fn normal(&mut self) -> f32 {
        let u1 = ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

impl Rng for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first3(mut r: impl Rng) -> [u64; 3] {
        [r.next_u64(), r.next_u64(), r.next_u64()]
    }

    /// The sequences the call sites gave before they shared this module.
    #[test]
    fn sequences_are_pinned() {
        assert_eq!(
            first3(XorShift64::mixing(42)),
            [
                0xd343_7968_948e_9705,
                0xd34b_deeb_6234_eb6b,
                0x9656_d686_d45d_387d
            ]
        );
        assert_eq!(
            first3(XorShift64::from_state(7 ^ GOLDEN_GAMMA)),
            [
                0xdc1b_77af_c87d_ac6a,
                0x14f1_29ab_266f_0db2,
                0xba5f_d151_f404_ff29
            ]
        );
        assert_eq!(
            first3(SplitMix64::new(3)),
            [
                0x1d0b_14e4_db01_8fed,
                0xb346_6f8a_7b81_a989,
                0x9ceb_e8a6_d050_dd01
            ]
        );
    }

    #[test]
    fn shuffle_is_a_permutation_and_normal_is_standard() {
        let mut v: Vec<usize> = (0..50).collect();
        SplitMix64::new(1).shuffle(&mut v);
        assert_ne!(v, (0..50).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
        let mut r = SplitMix64::new(9);
        let x: Vec<f64> = (0..20_000).map(|_| f64::from(r.normal())).collect();
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / x.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}

//! The power spectrum of a real frame, from a half-length complex FFT.
//!
//! The STFT needs `|X[k]|²` and `|X[k]|` of each windowed frame, never the complex spectrum.
//! [`PowerFft`] windows the frame while packing it for `split_fft.rs`'s [`ForwardHalf`]
//! (rustfft's half-length FFT), whose [`power`](ForwardHalf::power) pass turns each pair of
//! half-length bins straight into the two powers they determine, then takes the square roots.

use crate::split_fft::ForwardHalf;
use crate::{Error, Result};

/// Power and magnitude spectra of windowed real frames of one even length: what the STFT
/// computes for each frame, for a sink that needs a second frame length inside the pass (a
/// sink cuts its shorter frame out of [`Frame::samples`](crate::Frame::samples)).
///
/// # Examples
/// ```
/// use sonority_mfcc::{PowerFft, hann_periodic};
/// let mut fft = PowerFft::new(1024)?;
/// let tone: Vec<f32> = (0..1024).map(|i| (i as f32 * 0.1).sin()).collect();
/// let (mut power, mut magnitude) = (vec![0.0; 513], vec![0.0; 513]);
/// fft.process(&tone, &hann_periodic(1024), &mut power, &mut magnitude)?;
/// assert!((power[16] - magnitude[16] * magnitude[16]).abs() < 1e-3 * power[16]);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub struct PowerFft {
    n: usize,
    fft: ForwardHalf,
}

impl PowerFft {
    /// Plans the half-length FFT for frames of `n` samples.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `n` is even and at least 2.
    pub fn new(n: usize) -> Result<Self> {
        if n < 2 || !n.is_multiple_of(2) {
            return Err(Error::config(
                "n_fft",
                "the frame length must be even and at least 2",
            ));
        }
        Ok(Self::planned(n))
    }

    /// [`new`](Self::new) for a length already validated.
    pub(crate) fn planned(n: usize) -> Self {
        let bins = n / 2 + 1;
        Self {
            n,
            fft: ForwardHalf::new(&mut rustfft::FftPlanner::new(), n, bins),
        }
    }

    /// Windows `samples` with `window` (both `n` long), transforms, and writes `|X[k]|²` to
    /// `power` and `|X[k]|` to `magnitude` for `k` in `0..=n/2` (no scaling, as
    /// `np.abs(np.fft.rfft(w · x))`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if a slice has the wrong length.
    pub fn process(
        &mut self,
        samples: &[f32],
        window: &[f32],
        power: &mut [f32],
        magnitude: &mut [f32],
    ) -> Result<()> {
        let bins = self.n / 2 + 1;
        if samples.len() != self.n
            || window.len() != self.n
            || power.len() != bins
            || magnitude.len() != bins
        {
            return Err(Error::config(
                "n_fft",
                "samples and window must hold n values, power and magnitude n / 2 + 1",
            ));
        }
        self.process_unchecked(samples, window, power, magnitude);
        Ok(())
    }

    /// [`process`](Self::process) for slices the caller sized.
    pub(crate) fn process_unchecked(
        &mut self,
        samples: &[f32],
        window: &[f32],
        power: &mut [f32],
        magnitude: &mut [f32],
    ) {
        self.fft.power(samples, Some(window), power, magnitude);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split_fft::tests::noise;
    use realfft::RealFftPlanner;

    /// realfft's complex spectrum of the windowed frame, as power.
    fn reference(x: &[f32], w: &[f32]) -> Vec<f32> {
        let n = x.len();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let mut input: Vec<f32> = x.iter().zip(w).map(|(a, b)| a * b).collect();
        let mut out = fft.make_output_vec();
        fft.process(&mut input, &mut out).unwrap();
        out.iter().map(|c| c.norm_sqr()).collect()
    }

    #[test]
    fn matches_realfft_power_and_magnitude() {
        for (n, seed) in [
            (2, 1),
            (4, 2),
            (6, 3),
            (64, 4),
            (2048, 5),
            (1000, 6),
            (4096, 7),
        ] {
            let x = noise(n, seed);
            let w = crate::hann_periodic(n);
            let want = reference(&x, &w);
            let mut f = PowerFft::new(n).unwrap();
            let mut p = vec![f32::NAN; n / 2 + 1];
            let mut mag = vec![f32::NAN; n / 2 + 1];
            f.process(&x, &w, &mut p, &mut mag).unwrap();
            let scale = want.iter().cloned().fold(0.0_f32, f32::max).max(1e-12);
            for k in 0..=n / 2 {
                assert!(
                    (p[k] - want[k]).abs() <= 2e-5 * scale,
                    "n {n} bin {k}: {} vs realfft {}",
                    p[k],
                    want[k]
                );
                assert!((mag[k] - p[k].sqrt()).abs() <= 1e-6 * mag[k].max(1.0));
            }
        }
    }

    #[test]
    fn a_tone_lands_in_its_bin_and_parseval_holds() {
        let n = 512;
        let k0 = 37;
        let x: Vec<f32> = (0..n)
            .map(|i| (std::f32::consts::TAU * k0 as f32 * i as f32 / n as f32).cos())
            .collect();
        let w = vec![1.0; n];
        let mut f = PowerFft::new(n).unwrap();
        let mut p = vec![0.0; n / 2 + 1];
        let mut mag = vec![0.0; n / 2 + 1];
        f.process(&x, &w, &mut p, &mut mag).unwrap();
        // A unit cosine on bin k0: |X[k0]| = n / 2, every other bin ~0.
        approx::assert_relative_eq!(mag[k0], n as f32 / 2.0, max_relative = 1e-4);
        let others: f32 = p
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != k0)
            .map(|(_, v)| v)
            .sum();
        assert!(others < 1e-6 * p[k0], "leakage {others}");
        // Parseval over the full spectrum (bins 1..n/2 count twice).
        let energy: f32 = x.iter().map(|v| v * v).sum();
        let spec: f32 = p[0] + p[n / 2] + 2.0 * p[1..n / 2].iter().sum::<f32>();
        approx::assert_relative_eq!(spec / n as f32, energy, max_relative = 1e-4);
    }
}

//! The power spectrum of a real frame, straight from a half-length complex FFT.
//!
//! The STFT needs `|X[k]|²` and `|X[k]|` of each windowed frame, never the complex spectrum.
//! [`realfft`] computes the complex spectrum of a real signal of `n` samples from a complex FFT
//! of `n / 2` points and a post-processing pass over bin pairs `k`, `n/2 − k`; that pass is
//! scalar (the pairs are read from both ends of one interleaved buffer) and cost about as much
//! as the FFT itself in a whole analysis. [`PowerFft`] runs the same complex FFT (rustfft, the
//! one realfft wraps) and then splits the result into four plain `f32` arrays (real and
//! imaginary parts read forwards and backwards), so that the post-processing, the power and the
//! magnitude are one loop over straight arrays that the compiler vectorises. The arithmetic is
//! realfft's: for `m = n / 2`, `A = Z[k]`, `B = conj(Z[(m − k) mod m])`, the even samples'
//! spectrum is `E = (A + B) / 2`, the odd samples' `O = −i (A − B) / 2`, and
//! `X[k] = E + e^{−2πik/n} O`.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Power and magnitude spectra of real frames of one even length.
pub(crate) struct PowerFft {
    n: usize,
    fft: Arc<dyn Fft<f32>>,
    /// The packed frame, then its half-length spectrum: `z[j] = x[2j] + i·x[2j+1]`.
    z: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// `Re Z[k]`, `Im Z[k]`, `Re Z[(m−k) mod m]`, `Im Z[(m−k) mod m]` for `k` in `0..=m`.
    ar: Vec<f32>,
    ai: Vec<f32>,
    br: Vec<f32>,
    bi: Vec<f32>,
    /// `cos(2πk/n)` and `−sin(2πk/n)` for `k` in `0..=m`, halved (the `/ 2` of `O`).
    wr: Vec<f32>,
    wi: Vec<f32>,
}

impl PowerFft {
    /// Plans the half-length FFT for frames of `n` samples (`n` even, at least 2).
    pub(crate) fn new(n: usize) -> Self {
        debug_assert!(
            n >= 2 && n.is_multiple_of(2),
            "n_fft is validated even and positive"
        );
        let m = n / 2;
        let fft = FftPlanner::<f32>::new().plan_fft_forward(m);
        let scratch = vec![Complex::default(); fft.get_inplace_scratch_len()];
        let (wr, wi) = (0..=m)
            .map(|k| {
                let t = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                ((0.5 * t.cos()) as f32, (0.5 * t.sin()) as f32)
            })
            .unzip();
        Self {
            n,
            fft,
            z: vec![Complex::default(); m],
            scratch,
            ar: vec![0.0; m + 1],
            ai: vec![0.0; m + 1],
            br: vec![0.0; m + 1],
            bi: vec![0.0; m + 1],
            wr,
            wi,
        }
    }

    /// Windows `samples` with `window` (both `n` long), transforms, and writes `|X[k]|²` to
    /// `power` and `|X[k]|` to `magnitude` for `k` in `0..=n/2` (no scaling, as
    /// `np.abs(np.fft.rfft(w · x))`).
    pub(crate) fn process(
        &mut self,
        samples: &[f32],
        window: &[f32],
        power: &mut [f32],
        magnitude: &mut [f32],
    ) {
        let n = self.n;
        let m = n / 2;
        debug_assert!(samples.len() == n && window.len() == n);
        debug_assert!(power.len() == m + 1 && magnitude.len() == m + 1);
        for ((z, x), w) in self
            .z
            .iter_mut()
            .zip(samples.chunks_exact(2))
            .zip(window.chunks_exact(2))
        {
            *z = Complex::new(x[0] * w[0], x[1] * w[1]);
        }
        self.fft
            .process_with_scratch(&mut self.z, &mut self.scratch);
        // Forwards: A = Z[k] for k in 0..m, and Z[m] = Z[0] (the spectrum is m-periodic).
        for ((r, i), z) in self.ar.iter_mut().zip(self.ai.iter_mut()).zip(&self.z) {
            *r = z.re;
            *i = z.im;
        }
        self.ar[m] = self.z[0].re;
        self.ai[m] = self.z[0].im;
        // Backwards: B's source Z[(m − k) mod m]: Z[0] for k = 0, then Z[m−1], …, Z[0] at k = m.
        self.br[0] = self.z[0].re;
        self.bi[0] = self.z[0].im;
        for ((r, i), z) in self.br[1..]
            .iter_mut()
            .zip(self.bi[1..].iter_mut())
            .zip(self.z.iter().rev())
        {
            *r = z.re;
            *i = z.im;
        }
        // One pass over straight arrays of one length: no bounds checks, vectorised.
        let len = m + 1;
        let (ar, ai, br, bi) = (
            &self.ar[..len],
            &self.ai[..len],
            &self.br[..len],
            &self.bi[..len],
        );
        let (wr, wi) = (&self.wr[..len], &self.wi[..len]);
        let (power, magnitude) = (&mut power[..len], &mut magnitude[..len]);
        for k in 0..len {
            // 2E = A + conj(B'), with B' = Z[(m−k) mod m].
            let er = ar[k] + br[k];
            let ei = ai[k] - bi[k];
            // 2O = −i (A − conj(B')) = (ai + bi) − i (ar − br).
            let or = ai[k] + bi[k];
            let oi = br[k] - ar[k];
            // X = E + W O, with the halves folded into w (the E half is applied here).
            let xr = 0.5 * er + (wr[k] * or - wi[k] * oi);
            let xi = 0.5 * ei + (wr[k] * oi + wi[k] * or);
            let pw = xr * xr + xi * xi;
            power[k] = pw;
            magnitude[k] = pw.sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
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
            let mut f = PowerFft::new(n);
            let mut p = vec![f32::NAN; n / 2 + 1];
            let mut mag = vec![f32::NAN; n / 2 + 1];
            f.process(&x, &w, &mut p, &mut mag);
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
        let mut f = PowerFft::new(n);
        let mut p = vec![0.0; n / 2 + 1];
        let mut mag = vec![0.0; n / 2 + 1];
        f.process(&x, &w, &mut p, &mut mag);
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

//! Real FFTs on rustfft's half-length complex FFTs, for the STFT (`power_fft.rs`) and the
//! overlap-add resampler (`resample/ola.rs`).
//!
//! realfft turns a half-length complex FFT into a real one with a scalar pass over bin pairs
//! `k`, `m − k` of one interleaved buffer; that pass cost about as much as the FFT itself in a
//! whole analysis. Here the pairs' second members are copied out backwards into split `f32`
//! arrays first, so that the combining pass reads everything forwards and vectorises (the
//! forward members straight from the interleaved buffer). [`ForwardHalf`] computes only
//! the bins its caller keeps (the resampler keeps those below the lower Nyquist frequency: half
//! of them when downsampling by two). [`ForwardHalf::power`], for the STFT, goes further: bins
//! `k` and `n/2 − k` are built from the same two half-length bins, so one pass over the first
//! half reads the complex buffer once, eight pairs at a time, and writes both bins' powers
//! (the same operations on the same values as the split passes: bit-identical results).
//!
//! Conventions are realfft's: the forward transform is `X[k] = Σ x[j] e^{−2πijk/n}`, the inverse
//! unnormalised (`n` times the inverse DFT), and the inverse ignores the imaginary parts of its
//! first and last bins.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// `X[k]` for `k` in `0..keep` of a real frame of `n` samples (`n` even).
pub(crate) struct ForwardHalf {
    n: usize,
    keep: usize,
    fft: Arc<dyn Fft<f32>>,
    z: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// `Z[(m − k) mod m]`, split, for `k` in `0..keep`.
    br: Vec<f32>,
    bi: Vec<f32>,
    /// `e^{−2πik/n} / 2`, split.
    wr: Vec<f32>,
    wi: Vec<f32>,
}

impl ForwardHalf {
    /// A transform of `n` samples (even, at least 2) giving the first `keep` bins
    /// (`keep ≤ n / 2 + 1`).
    pub(crate) fn new(planner: &mut FftPlanner<f32>, n: usize, keep: usize) -> Self {
        debug_assert!(n >= 2 && n.is_multiple_of(2) && keep <= n / 2 + 1);
        let m = n / 2;
        let fft = planner.plan_fft_forward(m);
        let (wr, wi) = (0..keep)
            .map(|k| {
                let t = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                ((0.5 * t.cos()) as f32, (0.5 * t.sin()) as f32)
            })
            .unzip();
        Self {
            n,
            keep,
            scratch: vec![Complex::default(); fft.get_inplace_scratch_len()],
            fft,
            z: vec![Complex::default(); m],
            br: vec![0.0; keep],
            bi: vec![0.0; keep],
            wr,
            wi,
        }
    }

    /// Transforms `input` (at most `n` samples, zero padded to `n`), multiplied sample by
    /// sample by `window` if one is given (at least as long as `input`), and writes the real
    /// and imaginary parts of bins `0..keep` to `xr` and `xi`.
    pub(crate) fn process(
        &mut self,
        input: &[f32],
        window: Option<&[f32]>,
        xr: &mut [f32],
        xi: &mut [f32],
    ) {
        self.transform(input, window);
        self.split(xr, xi);
    }

    /// Like [`process`](Self::process) for a transform keeping every bin (`keep = n/2 + 1`),
    /// but writes `|X[k]|²` to `power` and `|X[k]|` to `magnitude` for `k` in `0..=n/2`.
    ///
    /// Bins `k` and `m − k` (`m = n/2`) come from the same two half-length bins `Z[k]` and
    /// `Z[m − k]`: with `E` and `O` the spectra of the even and odd samples and `W = e^{−2πik/n}`,
    /// `X[k] = E + W·O` and `X[m − k] = conj(E − W·O)`. One pass over `k ≤ m/2` reads each `Z`
    /// once, in interleaved form, and writes both powers: no split copies, half the twiddles.
    pub(crate) fn power(
        &mut self,
        input: &[f32],
        window: Option<&[f32]>,
        power: &mut [f32],
        magnitude: &mut [f32],
    ) {
        let m = self.n / 2;
        debug_assert_eq!(self.keep, m + 1);
        self.transform(input, window);
        let (power, magnitude) = (&mut power[..=m], &mut magnitude[..=m]);
        let z = &self.z[..m];
        // Bin 0 and bin m: X[0] = Re Z[0] + Im Z[0], X[m] = Re Z[0] − Im Z[0].
        let (lo, hi) = (z[0].re + z[0].im, z[0].re - z[0].im);
        power[0] = lo * lo;
        power[m] = hi * hi;
        // Pairs (k, m − k) for k in 1..=pairs, where k < m − k.
        let pairs = (m - 1) / 2;
        let (wr, wi) = (&self.wr[1..=pairs], &self.wi[1..=pairs]);
        let (a, b) = (&z[1..=pairs], &z[m - pairs..m]);
        let (p_lo, rest) = power[1..m].split_at_mut(pairs);
        let mid = rest.len() - pairs;
        let (p_mid, p_hi) = rest.split_at_mut(mid);
        // Eight pairs at a time through fixed-size arrays (the reversed halves flipped on the
        // way in and out), which the compiler keeps in vector registers; the rest one by one.
        const L: usize = 8;
        let blocks = pairs / L;
        for (((a, b), (pl, ph)), (wr, wi)) in a
            .chunks_exact(L)
            .zip(b.rchunks_exact(L))
            .zip(p_lo.chunks_exact_mut(L).zip(p_hi.rchunks_exact_mut(L)))
            .zip(wr.chunks_exact(L).zip(wi.chunks_exact(L)))
        {
            let (mut ar, mut ai, mut br, mut bi) = ([0.0_f32; L], [0.0; L], [0.0; L], [0.0; L]);
            for j in 0..L {
                ar[j] = a[j].re;
                ai[j] = a[j].im;
                br[j] = b[L - 1 - j].re;
                bi[j] = b[L - 1 - j].im;
            }
            let (mut lo, mut hi) = ([0.0_f32; L], [0.0; L]);
            for j in 0..L {
                let (xlo, xhi) = pair_power(ar[j], ai[j], br[j], bi[j], wr[j], wi[j]);
                lo[j] = xlo;
                hi[j] = xhi;
            }
            pl.copy_from_slice(&lo);
            for j in 0..L {
                ph[L - 1 - j] = hi[j];
            }
        }
        for k in blocks * L..pairs {
            let (a, b) = (z[1 + k], z[m - 1 - k]);
            let (xlo, xhi) = pair_power(a.re, a.im, b.re, b.im, wr[k], wi[k]);
            p_lo[k] = xlo;
            p_hi[pairs - 1 - k] = xhi;
        }
        // With m even, bin m/2 pairs with itself: X[m/2] = conj(Z[m/2]).
        if let Some(p) = p_mid.first_mut() {
            *p = z[m / 2].norm_sqr();
        }
        for (mag, &p) in magnitude.iter_mut().zip(power.iter()) {
            *mag = p.sqrt();
        }
    }

    /// Packs `input` (windowed) into the half-length buffer and transforms it in place.
    fn transform(&mut self, input: &[f32], window: Option<&[f32]>) {
        let input = &input[..input.len().min(self.n)];
        let pairs = input.len() / 2;
        let z = &mut self.z[..pairs];
        match window {
            Some(w) => {
                for ((z, p), w) in z
                    .iter_mut()
                    .zip(input.chunks_exact(2))
                    .zip(w.chunks_exact(2))
                {
                    *z = Complex::new(p[0] * w[0], p[1] * w[1]);
                }
            }
            None => {
                for (z, p) in z.iter_mut().zip(input.chunks_exact(2)) {
                    *z = Complex::new(p[0], p[1]);
                }
            }
        }
        let mut filled = pairs;
        if input.len() % 2 == 1 {
            let last = input.len() - 1;
            let w = window.map_or(1.0, |w| w[last]);
            self.z[pairs] = Complex::new(input[last] * w, 0.0);
            filled += 1;
        }
        self.z[filled..].fill(Complex::default());
        self.fft
            .process_with_scratch(&mut self.z, &mut self.scratch);
    }

    /// Bins `0..keep` of the transformed buffer, as real and imaginary parts.
    fn split(&mut self, xr: &mut [f32], xi: &mut [f32]) {
        let (m, keep) = (self.n / 2, self.keep);
        if keep == 0 {
            return;
        }
        // Backwards: Z[0] at k = 0, then Z[m − 1], Z[m − 2], … (split, so that the combining
        // loop reads them forwards).
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
        // A = Z[k] read straight from the interleaved buffer (k < m), B from the split copy.
        let fwd = keep.min(m);
        let (br, bi) = (&self.br[..keep], &self.bi[..keep]);
        let (wr, wi) = (&self.wr[..keep], &self.wi[..keep]);
        let (xr, xi) = (&mut xr[..keep], &mut xi[..keep]);
        for (((z, (&br, &bi)), (&wr, &wi)), (xr, xi)) in self.z[..fwd]
            .iter()
            .zip(br.iter().zip(bi))
            .zip(wr.iter().zip(wi))
            .zip(xr.iter_mut().zip(xi.iter_mut()))
        {
            (*xr, *xi) = combine(z.re, z.im, br, bi, wr, wi);
        }
        // Bin m, when kept: A = Z[m] = Z[0].
        if keep > m {
            let z0 = self.z[0];
            (xr[m], xi[m]) = combine(z0.re, z0.im, br[m], bi[m], wr[m], wi[m]);
        }
    }
}

/// `X = E + W·O` from `A = Z[k]`, `B = Z[(m − k) mod m]` and the halved twiddle
/// `W/2 = wr + i·wi` (`2E = A + conj(B)`, `2O = −i (A − conj(B))`), as real and imaginary parts.
#[inline(always)]
fn combine(ar: f32, ai: f32, br: f32, bi: f32, wr: f32, wi: f32) -> (f32, f32) {
    let er = ar + br;
    let ei = ai - bi;
    let or = ai + bi;
    let oi = br - ar;
    (
        0.5 * er + (wr * or - wi * oi),
        0.5 * ei + (wr * oi + wi * or),
    )
}

/// `|X[k]|²` and `|X[m − k]|²` from `A = Z[k]`, `B = Z[m − k]` and the halved twiddle
/// `W/2 = wr + i·wi`: `2E = A + conj(B)`, `2O = −i (A − conj(B))`, `X[k] = E + W·O`,
/// `X[m − k] = conj(E − W·O)`.
#[inline(always)]
fn pair_power(ar: f32, ai: f32, br: f32, bi: f32, wr: f32, wi: f32) -> (f32, f32) {
    let er = 0.5 * (ar + br);
    let ei = 0.5 * (ai - bi);
    let or = ai + bi;
    let oi = br - ar;
    let pr = wr * or - wi * oi;
    let pi = wr * oi + wi * or;
    let (xr, xi) = (er + pr, ei + pi);
    let (yr, yi) = (er - pr, ei - pi);
    (xr * xr + xi * xi, yr * yr + yi * yi)
}

/// The unnormalised inverse of a real signal's spectrum: `n` samples from bins `0..=n/2`.
pub(crate) struct InverseReal {
    n: usize,
    fft: Arc<dyn Fft<f32>>,
    z: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// `Y[m − k]`, split, for `k` in `0..m` (`m = n / 2`).
    cr: Vec<f32>,
    ci: Vec<f32>,
    /// `e^{+2πik/n}`, split, for `k` in `0..m`.
    wr: Vec<f32>,
    wi: Vec<f32>,
}

impl InverseReal {
    /// An inverse transform giving `n` samples (even, at least 2).
    pub(crate) fn new(planner: &mut FftPlanner<f32>, n: usize) -> Self {
        debug_assert!(n >= 2 && n.is_multiple_of(2));
        let m = n / 2;
        let fft = planner.plan_fft_inverse(m);
        let (wr, wi) = (0..m)
            .map(|k| {
                let t = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                (t.cos() as f32, t.sin() as f32)
            })
            .unzip();
        Self {
            n,
            scratch: vec![Complex::default(); fft.get_inplace_scratch_len()],
            fft,
            z: vec![Complex::default(); m],
            cr: vec![0.0; m],
            ci: vec![0.0; m],
            wr,
            wi,
        }
    }

    /// From the bins `Y[k] = yr[k] + i·yi[k]`, `k` in `0..=n/2`, writes the `n` samples of
    /// `Σ_k Y[k] e^{2πijk/n}` over the whole conjugate-symmetric spectrum to `out`. The
    /// imaginary parts of the first and last bins are taken as zero.
    pub(crate) fn process(&mut self, yr: &[f32], yi: &[f32], out: &mut [f32]) {
        let m = self.n / 2;
        let (yr, yi) = (&yr[..=m], &yi[..=m]);
        // Backwards: C = Y[m − k] for k in 0..m (Y[m], Y[m−1], …, Y[1]).
        for ((r, i), (&a, &b)) in self
            .cr
            .iter_mut()
            .zip(self.ci.iter_mut())
            .zip(yr[1..].iter().zip(&yi[1..]).rev())
        {
            *r = a;
            *i = b;
        }
        self.ci[0] = 0.0;
        // S = A + conj(C) = 2E; (A − conj(C)) W⁻ᵏ = 2O; Z = S + i·2O. Bin 0 apart (its
        // imaginary part is taken as zero), then one straight loop.
        let z0 = yr[0] + self.cr[0];
        let d0 = yr[0] - self.cr[0];
        self.z[0] = Complex::new(z0, d0);
        let (cr, ci, wr, wi) = (
            &self.cr[1..m],
            &self.ci[1..m],
            &self.wr[1..m],
            &self.wi[1..m],
        );
        let (ar, ai) = (&yr[1..m], &yi[1..m]);
        for (k, z) in self.z[1..m].iter_mut().enumerate() {
            let sr = ar[k] + cr[k];
            let si = ai[k] - ci[k];
            let dr = ar[k] - cr[k];
            let di = ai[k] + ci[k];
            let or = dr * wr[k] - di * wi[k];
            let oi = dr * wi[k] + di * wr[k];
            *z = Complex::new(sr - oi, si + or);
        }
        self.fft
            .process_with_scratch(&mut self.z, &mut self.scratch);
        for (o, z) in out[..self.n].chunks_exact_mut(2).zip(&self.z) {
            o[0] = z.re;
            o[1] = z.im;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    /// Uniform noise in [−1, 1) (the test kit's generator).
    pub(crate) fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut x = vec![0.0; n];
        sonority_testkit::Rng::new(seed).fill_uniform(&mut x, 1.0);
        x
    }

    #[test]
    fn forward_matches_realfft_on_the_kept_bins() {
        for (n, keep, len, seed) in [
            (2, 2, 2, 1),
            (8, 5, 8, 2),
            (8, 3, 5, 3),
            (1280, 320, 1120, 4),
            (5120, 1280, 4480, 5),
            (5120, 2561, 5120, 6),
            (1000, 501, 999, 7),
        ] {
            let x = noise(len, seed);
            let real = RealFftPlanner::<f32>::new().plan_fft_forward(n);
            let mut padded = x.clone();
            padded.resize(n, 0.0);
            let mut want = real.make_output_vec();
            real.process(&mut padded, &mut want).unwrap();
            let mut f = ForwardHalf::new(&mut FftPlanner::new(), n, keep);
            let (mut xr, mut xi) = (vec![f32::NAN; keep], vec![f32::NAN; keep]);
            f.process(&x, None, &mut xr, &mut xi);
            let scale = want.iter().map(|c| c.norm()).fold(1e-6_f32, f32::max);
            for k in 0..keep {
                let err = (Complex::new(xr[k], xi[k]) - want[k]).norm();
                assert!(err <= 2e-6 * scale, "n {n} bin {k}: error {err}");
            }
        }
    }

    #[test]
    fn power_is_the_split_spectrum_squared_bit_for_bit() {
        for (n, len, seed) in [
            (2, 2, 1),
            (4, 4, 2),
            (6, 5, 3),
            (16, 16, 4),
            (18, 18, 5),
            (34, 30, 6),
            (64, 64, 7),
            (1000, 1000, 8),
            (2048, 2048, 9),
            (2048, 1500, 10),
            (4096, 4096, 11),
        ] {
            let m = n / 2;
            let x = noise(len, seed);
            let w = noise(len, seed + 100);
            let mut split = ForwardHalf::new(&mut FftPlanner::new(), n, m + 1);
            let (mut xr, mut xi) = (vec![0.0; m + 1], vec![0.0; m + 1]);
            split.process(&x, Some(&w), &mut xr, &mut xi);
            let mut fused = ForwardHalf::new(&mut FftPlanner::new(), n, m + 1);
            let (mut p, mut mag) = (vec![f32::NAN; m + 1], vec![f32::NAN; m + 1]);
            fused.power(&x, Some(&w), &mut p, &mut mag);
            for k in 0..=m {
                let want = xr[k] * xr[k] + xi[k] * xi[k];
                assert_eq!(
                    p[k].to_bits(),
                    want.to_bits(),
                    "n {n} bin {k}: {} vs {want}",
                    p[k]
                );
                assert_eq!(mag[k], p[k].sqrt());
            }
        }
    }

    #[test]
    fn inverse_matches_realfft_and_inverts_the_forward() {
        for (n, seed) in [(2, 1), (8, 2), (640, 3), (2560, 4), (1000, 5)] {
            let m = n / 2;
            let x = noise(n, seed);
            let mut f = ForwardHalf::new(&mut FftPlanner::new(), n, m + 1);
            let (mut yr, mut yi) = (vec![0.0; m + 1], vec![0.0; m + 1]);
            f.process(&x, None, &mut yr, &mut yi);
            // Imaginary parts at DC and Nyquist that realfft would refuse are ignored here.
            yi[0] = 0.25;
            yi[m] = -0.5;
            let mut inv = InverseReal::new(&mut FftPlanner::new(), n);
            let mut out = vec![f32::NAN; n];
            inv.process(&yr, &yi, &mut out);
            // The round trip: n · x.
            for (j, (&o, &v)) in out.iter().zip(&x).enumerate() {
                assert!(
                    (o / n as f32 - v).abs() <= 2e-5,
                    "n {n} sample {j}: {o} vs {v}"
                );
            }
            // And realfft's inverse of the same bins (imaginary ends zeroed for it).
            let real = RealFftPlanner::<f32>::new().plan_fft_inverse(n);
            let mut bins: Vec<Complex<f32>> = yr
                .iter()
                .zip(&yi)
                .map(|(&r, &i)| Complex::new(r, i))
                .collect();
            bins[0].im = 0.0;
            bins[m].im = 0.0;
            let mut want = real.make_output_vec();
            real.process(&mut bins, &mut want).unwrap();
            let scale = want.iter().fold(1e-6_f32, |a, v| a.max(v.abs()));
            for j in 0..n {
                assert!((out[j] - want[j]).abs() <= 2e-6 * scale, "n {n} sample {j}");
            }
        }
    }
}

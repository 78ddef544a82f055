//! Properties of the streaming STFT: it equals a naive DFT of librosa's framing, whatever the
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! chunking.

use proptest::prelude::*;
use sonority_mfcc::{Frame, FrameSink, Result, SliceSource, StftSpec, analyze, hann_periodic};

#[derive(Default)]
struct Collect {
    power: Vec<Vec<f32>>,
}

impl FrameSink for Collect {
    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        assert_eq!(frame.index, self.power.len());
        self.power.push(frame.power.to_vec());
        Ok(())
    }
}

/// librosa's framing (`center=True`, zero padding) and a direct O(n²) DFT, in f64.
fn naive_stft(y: &[f32], n_fft: usize, hop: usize) -> Vec<Vec<f64>> {
    let mut padded = vec![0.0_f64; n_fft / 2];
    padded.extend(y.iter().map(|&x| f64::from(x)));
    padded.extend(std::iter::repeat_n(0.0, n_fft / 2));
    let w = hann_periodic(n_fft);
    let frames = 1 + y.len() / hop;
    (0..frames)
        .map(|t| {
            let seg = &padded[t * hop..t * hop + n_fft];
            (0..=n_fft / 2)
                .map(|k| {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (n, &x) in seg.iter().enumerate() {
                        let a = -2.0 * std::f64::consts::PI * (k * n) as f64 / n_fft as f64;
                        let v = x * f64::from(w[n]);
                        re += v * a.cos();
                        im += v * a.sin();
                    }
                    re * re + im * im
                })
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn stft_matches_naive_dft(
        y in prop::collection::vec(-1.0_f32..1.0, 0..700),
        log_n in 4_u32..8,
        hop_div in 1_usize..5,
        chunk in 1_usize..300,
    ) {
        let n_fft = 1 << log_n;
        let hop = (n_fft / hop_div).max(1);
        let spec = StftSpec { sample_rate: 22_050, n_fft, hop_length: hop };
        let mut sink = Collect::default();
        let a = analyze(&mut SliceSource::new(&y, 22_050).with_chunk_len(chunk), &spec, &mut [&mut sink]).unwrap();
        let want = naive_stft(&y, n_fft, hop);
        prop_assert_eq!(a.frames, want.len());
        prop_assert_eq!(sink.power.len(), want.len());
        let scale = want.iter().flatten().fold(1e-3_f64, |m, &v| m.max(v));
        for (g, w) in sink.power.iter().zip(&want) {
            for (&gv, &wv) in g.iter().zip(w) {
                prop_assert!((f64::from(gv) - wv).abs() <= 1e-4 * scale, "{} vs {}", gv, wv);
            }
        }
    }
}

#[test]
fn frame_count_is_librosas() {
    let spec = StftSpec {
        sample_rate: 22_050,
        n_fft: 2048,
        hop_length: 512,
    };
    for len in [0_usize, 1, 511, 512, 513, 2047, 2048, 110_250] {
        let y = vec![0.25_f32; len];
        let mut sink = Collect::default();
        let a = analyze(&mut SliceSource::new(&y, 22_050), &spec, &mut [&mut sink]).unwrap();
        assert_eq!(a.frames, 1 + len / 512, "len {len}");
    }
}

#[test]
fn non_finite_input_is_an_error() {
    let spec = StftSpec {
        sample_rate: 22_050,
        n_fft: 64,
        hop_length: 16,
    };
    let y = [0.0, f32::NAN, 0.0];
    let mut sink = Collect::default();
    let e = analyze(&mut SliceSource::new(&y, 22_050), &spec, &mut [&mut sink]).unwrap_err();
    assert!(matches!(e, sonority_mfcc::Error::NonFinite { .. }), "{e}");
}

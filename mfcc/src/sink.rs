//! The frame sink: how one STFT pass feeds several consumers.

use crate::{MelBands, MelFrame, Result};

/// The shape of the STFT that drives a [`FrameSink`], given to it before the first frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StftSpec {
    /// Sample rate of the analysed signal, in Hz.
    pub sample_rate: u32,
    /// FFT length in samples (`n_fft`).
    pub n_fft: usize,
    /// Hop between frames in samples (`hop_length`).
    pub hop_length: usize,
}

impl StftSpec {
    /// Number of frequency bins per frame, `n_fft / 2 + 1`.
    #[must_use]
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Centre frequency of bin `k` in Hz, `k · sr / n_fft`.
    #[must_use]
    pub fn bin_hz(&self, k: usize) -> f32 {
        k as f32 * self.sample_rate as f32 / self.n_fft as f32
    }

    /// Frames per second, `sr / hop_length`.
    #[must_use]
    pub fn frame_rate(&self) -> f32 {
        self.sample_rate as f32 / self.hop_length as f32
    }
}

/// One STFT frame, as pushed to every [`FrameSink`].
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Frame number, from 0. Frame `t` is centred on sample `t · hop_length`.
    pub index: usize,
    /// Power spectrum `|X|²` (no scaling), `n_fft / 2 + 1` bins.
    pub power: &'a [f32],
    /// Magnitude spectrum `|X|`, `n_fft / 2 + 1` bins.
    pub magnitude: &'a [f32],
    /// The frame's raw (unwindowed) samples, `n_fft` of them, zero padded at the edges.
    pub samples: &'a [f32],
    /// The pass's shared mel spectrum, when a sink asked for one ([`FrameSink::mel_bands`]).
    pub mel: Option<MelFrame<'a>>,
}

impl<'a> Frame<'a> {
    /// The shared mel spectrum if it has exactly these bands; otherwise the sink computes its
    /// own (for example with a [`MelStage`](crate::MelStage)).
    #[must_use]
    pub fn mel_for(&self, bands: &MelBands) -> Option<&MelFrame<'a>> {
        self.mel.as_ref().filter(|m| m.bands == *bands)
    }
}

/// A consumer of STFT frames: mel spectrogram, MFCC, and descriptors in other crates.
///
/// The STFT pushes each frame to every sink, so the FFT is computed once per frame however many
/// consumers there are. The trait is object safe: one pass drives `&mut [&mut dyn FrameSink]`.
/// Results are taken from the concrete sink afterwards (for example
/// [`MfccSink::into_matrix`](crate::MfccSink::into_matrix)), not through the trait.
pub trait FrameSink {
    /// Called once before the first frame.
    ///
    /// # For implementors
    /// The default does nothing.
    ///
    /// # Errors
    /// A sink that cannot work with this STFT shape returns an error, which stops the pass.
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        let _ = spec;
        Ok(())
    }

    /// The mel bands this sink reads, if any, asked after [`begin`](Self::begin).
    ///
    /// The STFT computes the mel spectrum of the first sink that names bands once per frame
    /// and hands it to every sink in [`Frame::mel`], so several sinks over the same bands
    /// (MFCCs, onset strength, log-mel tiles) share one filterbank product and one dB
    /// conversion. A sink whose bands differ finds `None` in [`Frame::mel_for`] and computes
    /// its own.
    ///
    /// # For implementors
    /// The default names none. Sinks that wrap others must forward the call.
    fn mel_bands(&self) -> Option<MelBands> {
        None
    }

    /// Called for every frame, in order.
    ///
    /// # Errors
    /// Any error stops the pass and is returned to the caller.
    fn frame(&mut self, frame: &Frame<'_>) -> Result<()>;

    /// Called once after the last frame.
    ///
    /// # For implementors
    /// The default does nothing.
    ///
    /// # Errors
    /// Any error is returned to the caller.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<S: FrameSink + ?Sized> FrameSink for &mut S {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        (**self).begin(spec)
    }
    fn mel_bands(&self) -> Option<MelBands> {
        (**self).mel_bands()
    }
    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        (**self).frame(frame)
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
}

impl<S: FrameSink + ?Sized> FrameSink for Box<S> {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        (**self).begin(spec)
    }
    fn mel_bands(&self) -> Option<MelBands> {
        (**self).mel_bands()
    }
    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        (**self).frame(frame)
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
}

/// A sink that only counts frames; handy in tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FrameCounter {
    /// Frames seen so far.
    pub frames: usize,
}

impl FrameSink for FrameCounter {
    fn frame(&mut self, _frame: &Frame<'_>) -> Result<()> {
        self.frames += 1;
        Ok(())
    }
}

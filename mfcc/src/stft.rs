//! Streaming STFT: periodic Hann window, `center=True` zero padding, power spectrum.

use crate::config::validate_stft;
use crate::power_fft::PowerFft;
use crate::{Error, Frame, FrameSink, MelStage, Result, StftSpec};

/// The periodic Hann window of length `n`: `w[i] = 0.5 − 0.5·cos(2πi/n)`, as
/// `scipy.signal.get_window('hann', n, fftbins=True)`.
#[must_use]
pub fn hann_periodic(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// A streaming short-time Fourier transform that pushes frames to [`FrameSink`]s.
///
/// It matches `librosa.stft(y, n_fft, hop_length, window='hann', center=True,
/// pad_mode='constant')`: the signal is padded with `n_fft / 2` zeros on both sides, frame `t`
/// covers padded samples `[t·hop, t·hop + n_fft)`, and a signal of `n` samples gives
/// `1 + n / hop_length` frames. Memory is `O(n_fft + chunk)`, whatever the signal length.
///
/// # Examples
/// ```
/// use sonority_mfcc::{FrameCounter, FrameSink, Stft, StftSpec};
/// let spec = StftSpec { sample_rate: 22_050, n_fft: 2048, hop_length: 512 };
/// let mut stft = Stft::new(spec)?;
/// let mut counter = FrameCounter::default();
/// let signal = vec![0.1_f32; 22_050];
/// stft.begin(&mut [&mut counter])?;
/// stft.process(&signal, &mut [&mut counter])?;
/// stft.finish(&mut [&mut counter])?;
/// assert_eq!(counter.frames, 1 + 22_050 / 512);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub struct Stft {
    spec: StftSpec,
    window: Vec<f32>,
    fft: PowerFft,
    /// Pending samples; `buf[start..]` is not yet consumed.
    buf: Vec<f32>,
    start: usize,
    power: Vec<f32>,
    magnitude: Vec<f32>,
    /// The shared mel stage, when a sink names bands.
    mel: Option<MelStage>,
    frames: usize,
    samples_in: u64,
    finished: bool,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("spec", &self.spec)
            .field("frames", &self.frames)
            .field("samples_in", &self.samples_in)
            .finish_non_exhaustive()
    }
}

impl Stft {
    /// Plans the FFT and builds the window.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an odd or out-of-range `n_fft`, a zero hop or a bad rate.
    pub fn new(spec: StftSpec) -> Result<Self> {
        validate_stft(&spec)?;
        let n = spec.n_fft;
        let mut buf = Vec::with_capacity(4 * n);
        buf.resize(n / 2, 0.0);
        Ok(Self {
            spec,
            window: hann_periodic(n),
            fft: PowerFft::planned(n),
            buf,
            start: 0,
            power: vec![0.0; n / 2 + 1],
            magnitude: vec![0.0; n / 2 + 1],
            mel: None,
            frames: 0,
            samples_in: 0,
            finished: false,
        })
    }

    /// The STFT's shape.
    #[must_use]
    pub fn spec(&self) -> StftSpec {
        self.spec
    }

    /// Frames pushed so far.
    #[must_use]
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Samples received so far.
    #[must_use]
    pub fn samples_in(&self) -> u64 {
        self.samples_in
    }

    /// Calls [`FrameSink::begin`] on every sink, then sets up the shared mel stage for the
    /// first sink that names bands ([`FrameSink::mel_bands`]). Call it once, before the first
    /// [`process`](Self::process).
    ///
    /// # Errors
    /// The first sink error, or invalid bands.
    pub fn begin(&mut self, sinks: &mut [&mut dyn FrameSink]) -> Result<()> {
        for s in sinks.iter_mut() {
            s.begin(&self.spec)?;
        }
        self.mel = match sinks.iter().find_map(|s| s.mel_bands()) {
            Some(bands) => Some(MelStage::new(&self.spec, &bands)?),
            None => None,
        };
        Ok(())
    }

    /// Feeds samples, pushing every complete frame to the sinks.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a sample is NaN or infinite; otherwise the first sink error.
    pub fn process(&mut self, samples: &[f32], sinks: &mut [&mut dyn FrameSink]) -> Result<()> {
        if !crate::fastmath::all_finite(samples) {
            return Err(Error::NonFinite {
                what: "input samples",
            });
        }
        self.samples_in += samples.len() as u64;
        self.buf.extend_from_slice(samples);
        self.drain(sinks)
    }

    /// Pads the end with `n_fft / 2` zeros and pushes the remaining frames, then calls
    /// [`FrameSink::finish`]. Returns the total number of frames.
    ///
    /// # Errors
    /// The first sink error.
    pub fn finish(&mut self, sinks: &mut [&mut dyn FrameSink]) -> Result<usize> {
        if !self.finished {
            self.finished = true;
            let hop = self.spec.hop_length as u64;
            let total = (1 + self.samples_in / hop) as usize;
            let half = self.spec.n_fft / 2;
            self.buf.resize(self.buf.len() + half, 0.0);
            while self.frames < total && self.buf.len() - self.start >= self.spec.n_fft {
                self.one_frame(sinks)?;
            }
            for s in sinks.iter_mut() {
                s.finish()?;
            }
        }
        Ok(self.frames)
    }

    fn drain(&mut self, sinks: &mut [&mut dyn FrameSink]) -> Result<()> {
        while self.buf.len() - self.start >= self.spec.n_fft {
            self.one_frame(sinks)?;
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(())
    }

    fn one_frame(&mut self, sinks: &mut [&mut dyn FrameSink]) -> Result<()> {
        let n = self.spec.n_fft;
        let frame_samples = &self.buf[self.start..self.start + n];
        self.fft.process_unchecked(
            frame_samples,
            &self.window,
            &mut self.power,
            &mut self.magnitude,
        );
        let mel = self.mel.as_mut().map(|m| m.compute(&self.power));
        let frame = Frame {
            index: self.frames,
            power: &self.power,
            magnitude: &self.magnitude,
            samples: frame_samples,
            mel,
        };
        for s in sinks.iter_mut() {
            s.frame(&frame)?;
        }
        self.frames += 1;
        self.start += self.spec.hop_length;
        Ok(())
    }
}

//! One pass over a source: STFT once, every sink fed.

use crate::{AudioSource, Error, FrameSink, Result, Stft, StftSpec};

/// What a pass over a source saw.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Analysis {
    /// Mono samples analysed, at the analysis rate.
    pub samples: u64,
    /// STFT frames pushed to the sinks.
    pub frames: usize,
    /// Duration of the analysed audio in seconds.
    pub duration_s: f64,
}

/// Pulls every chunk from `source`, runs the STFT once and pushes each frame to every sink.
///
/// Memory is bounded by the source's chunk size and `n_fft`, whatever the track length (sinks
/// decide what they keep).
///
/// # Errors
/// [`Error::InvalidConfig`] if the source's rate differs from `spec.sample_rate`; decoding
/// errors from the source; the first sink error.
///
/// # Examples
/// ```
/// use sonority_mfcc::{FrameCounter, MfccConfig, SliceSource, analyze};
/// let signal = vec![0.0_f32; 44_100];
/// let mut counter = FrameCounter::default();
/// let spec = MfccConfig::default().stft_spec();
/// let a = analyze(&mut SliceSource::new(&signal, 22_050), &spec, &mut [&mut counter])?;
/// assert_eq!(a.frames, counter.frames);
/// assert_eq!(a.duration_s, 2.0);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub fn analyze(
    source: &mut dyn AudioSource,
    spec: &StftSpec,
    sinks: &mut [&mut dyn FrameSink],
) -> Result<Analysis> {
    let rate = source.spec().sample_rate;
    if rate != spec.sample_rate {
        return Err(Error::config(
            "sample_rate",
            format!(
                "source delivers {rate} Hz, STFT expects {} Hz",
                spec.sample_rate
            ),
        ));
    }
    let mut stft = Stft::new(*spec)?;
    stft.begin(sinks)?;
    while let Some(chunk) = source.next_chunk()? {
        stft.process(chunk, sinks)?;
    }
    let frames = stft.finish(sinks)?;
    let samples = stft.samples_in();
    Ok(Analysis {
        samples,
        frames,
        duration_s: samples as f64 / f64::from(spec.sample_rate),
    })
}

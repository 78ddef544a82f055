//! Audio sources: mono samples at the analysis rate, pulled in chunks.

use crate::Result;

/// What a source delivers and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SourceSpec {
    /// Rate of the samples that [`AudioSource::next_chunk`] returns, in Hz.
    pub sample_rate: u32,
    /// Sample rate of the original stream, in Hz.
    pub original_sample_rate: u32,
    /// Channels of the original stream (the source downmixes them to mono).
    pub original_channels: usize,
}

impl SourceSpec {
    /// A spec for a mono source whose original rate is its output rate.
    #[must_use]
    pub fn mono(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            original_sample_rate: sample_rate,
            original_channels: 1,
        }
    }
}

/// A pull-based source of mono samples at the analysis rate.
///
/// Like symphonia's `FormatReader::next_packet`, it returns `Ok(None)` at the end. Chunks are of
/// any length; memory is bounded by the chunk size, never by the track length.
pub trait AudioSource {
    /// The source's rate and provenance.
    fn spec(&self) -> SourceSpec;

    /// The next chunk of mono samples, or `Ok(None)` at the end of the stream.
    ///
    /// # Errors
    /// Decoding errors of the underlying stream.
    fn next_chunk(&mut self) -> Result<Option<&[f32]>>;
}

impl<S: AudioSource + ?Sized> AudioSource for &mut S {
    fn spec(&self) -> SourceSpec {
        (**self).spec()
    }
    fn next_chunk(&mut self) -> Result<Option<&[f32]>> {
        (**self).next_chunk()
    }
}

impl<S: AudioSource + ?Sized> AudioSource for Box<S> {
    fn spec(&self) -> SourceSpec {
        (**self).spec()
    }
    fn next_chunk(&mut self) -> Result<Option<&[f32]>> {
        (**self).next_chunk()
    }
}

/// An [`AudioSource`] over samples already in memory (generated signals, tests).
///
/// # Examples
/// ```
/// use sonority_mfcc::{AudioSource, SliceSource};
/// let samples = vec![0.0_f32; 10_000];
/// let mut src = SliceSource::new(&samples, 22_050).with_chunk_len(4096);
/// let mut n = 0;
/// while let Some(chunk) = src.next_chunk()? {
///     n += chunk.len();
/// }
/// assert_eq!(n, 10_000);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SliceSource<'a> {
    samples: &'a [f32],
    pos: usize,
    chunk_len: usize,
    sample_rate: u32,
}

impl<'a> SliceSource<'a> {
    /// A source over `samples` at `sample_rate` Hz, in chunks of 8192 samples.
    #[must_use]
    pub fn new(samples: &'a [f32], sample_rate: u32) -> Self {
        Self {
            samples,
            pos: 0,
            chunk_len: 8192,
            sample_rate,
        }
    }

    /// Sets the chunk length (at least 1). Default: `8192`.
    #[must_use]
    pub fn with_chunk_len(mut self, chunk_len: usize) -> Self {
        self.chunk_len = chunk_len.max(1);
        self
    }
}

impl AudioSource for SliceSource<'_> {
    fn spec(&self) -> SourceSpec {
        SourceSpec::mono(self.sample_rate)
    }

    fn next_chunk(&mut self) -> Result<Option<&[f32]>> {
        if self.pos >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.pos + self.chunk_len).min(self.samples.len());
        let chunk = &self.samples[self.pos..end];
        self.pos = end;
        Ok(Some(chunk))
    }
}

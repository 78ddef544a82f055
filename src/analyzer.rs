//! One track in, one final vector out: a single decode and STFT pass feeds the tile encoder,
//! the timbre statistics and the key, tempo and roll-off descriptors.

use std::path::Path;
use std::time::{Duration, Instant};

use sonority_fusion::DescriptorSummary;
use sonority_mfcc::{AudioSource, DecodeOptions, FileSource, SourceSpec, Tags};

use crate::model::Model;
use crate::pipeline::{BlockPipeline, final_vector};
use crate::{Error, Result};

/// Everything the analysis of one track produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrackAnalysis {
    /// Tags read from the file (empty for in-memory sources).
    pub tags: Tags,
    /// Duration of the decoded audio, in seconds.
    pub duration_s: f64,
    /// Sample rate of the original stream, in Hz.
    pub sample_rate_hz: u32,
    /// Channels of the original stream.
    pub channels: usize,
    /// Key, tempo, roll-off.
    pub descriptors: DescriptorSummary,
    /// The raw blocks (before standardisation), by name, in [`BLOCKS`](crate::model::BLOCKS)
    /// order: those the model's layout names with a weight above 0 (a block of weight 0 is
    /// zeros in the final vector and is not computed), and the descriptors.
    pub blocks: Vec<(&'static str, Vec<f32>)>,
    /// The final vector (finite).
    pub vector: Vec<f32>,
}

impl TrackAnalysis {
    /// The raw block of this name, if the analysis computed it.
    #[must_use]
    pub fn block(&self, name: &str) -> Option<&[f32]> {
        crate::pipeline::named_block(&self.blocks, name)
    }
}

/// Analyses tracks with a [`Model`].
///
/// # Examples
/// ```no_run
/// use sonority::{Analyzer, Model};
/// let model = Model::load_default()?;
/// let analyzer = Analyzer::new(&model);
/// let a = analyzer.analyze_file("song.flac".as_ref())?;
/// println!("{} at {:.0} BPM: {} values", a.descriptors.key.key, a.descriptors.tempo.bpm, a.vector.len());
/// # Ok::<(), sonority::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Analyzer<'m> {
    model: &'m Model,
    decode: DecodeOptions,
    time_limit: Option<Duration>,
    batch: usize,
}

/// A source that ends when a deadline passes (checked before every chunk) and remembers that
/// it did, so a timed-out pass is told apart from a finished one without an error round trip.
struct UntilDeadline<'a> {
    inner: &'a mut dyn AudioSource,
    at: Option<Instant>,
    passed: bool,
}

impl AudioSource for UntilDeadline<'_> {
    fn spec(&self) -> SourceSpec {
        self.inner.spec()
    }

    fn next_chunk(&mut self) -> sonority_mfcc::Result<Option<&[f32]>> {
        if let Some(at) = self.at
            && Instant::now() > at
        {
            self.passed = true;
            return Ok(None);
        }
        self.inner.next_chunk()
    }
}

impl<'m> Analyzer<'m> {
    /// An analyzer with default decoding options and no time limit.
    #[must_use]
    pub fn new(model: &'m Model) -> Self {
        Self {
            model,
            decode: model.header.settings().decode_options(),
            time_limit: None,
            batch: 16,
        }
    }

    /// Sets the decoding options (the sample rate is always the model's).
    #[must_use]
    pub fn with_decode_options(mut self, opts: DecodeOptions) -> Self {
        self.decode = opts.with_sample_rate(self.model.header.sample_rate);
        self
    }

    /// Stops an analysis that takes longer than `limit`. Default: none.
    #[must_use]
    pub fn with_time_limit(mut self, limit: Option<Duration>) -> Self {
        self.time_limit = limit;
        self
    }

    /// The model.
    #[must_use]
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Decodes and analyses a file, or one track of a CUE sheet named `DIR/SHEET.cue/trackNNNN`
    /// (only its span of the audio file is decoded; its tags come from the sheet, then from the
    /// audio file for what the sheet lacks).
    ///
    /// # Errors
    /// For a sheet track: the sheet cannot be read or parsed, has no such track, or its audio
    /// file cannot be found ([`Error::Query`] or [`sonority_mfcc::Error::CueSheet`], naming it).
    /// Decoding errors naming the file, [`Error::Timeout`], [`Error::NoSignal`] for a file with
    /// no frames, model errors.
    pub fn analyze_file(&self, path: &Path) -> Result<TrackAnalysis> {
        let start = Instant::now();
        let sheet = crate::sheets::resolve(path)?;
        let mut src = match &sheet {
            None => FileSource::open(path, &self.decode)?,
            Some(t) => {
                FileSource::open_span(&t.audio, &self.decode, t.track.start_s, t.track.end_s)?
            }
        };
        let tags = match &sheet {
            None => src.tags().clone(),
            Some(t) => t.tags(src.tags()),
        };
        let spec = src.source_spec();
        let mut timed = UntilDeadline {
            inner: &mut src,
            at: self.time_limit.map(|l| start + l),
            passed: false,
        };
        let result = self.analyze_source(&mut timed);
        if timed.passed {
            return Err(Error::Timeout {
                path: path.to_path_buf(),
                limit_s: self.time_limit.map_or(0.0, |l| l.as_secs_f64()),
            });
        }
        let mut a = result?;
        a.tags = tags;
        a.sample_rate_hz = spec.original_sample_rate;
        a.channels = spec.original_channels;
        Ok(a)
    }

    /// Analyses samples from any [`AudioSource`] delivering the model's sample rate.
    ///
    /// # Errors
    /// As [`Analyzer::analyze_file`].
    pub fn analyze_source(&self, source: &mut dyn AudioSource) -> Result<TrackAnalysis> {
        let spec = source.spec();
        let pass = BlockPipeline::for_model(self.model, self.batch)?.run(source)?;
        let named: Vec<(&str, &[f32])> = pass
            .blocks
            .iter()
            .map(|(n, b)| (*n, b.as_slice()))
            .collect();
        let vector = final_vector(self.model, &named)?;
        Ok(TrackAnalysis {
            tags: Tags::default(),
            duration_s: pass.duration_s,
            sample_rate_hz: spec.original_sample_rate,
            channels: spec.original_channels,
            descriptors: pass.descriptors,
            blocks: pass.blocks,
            vector,
        })
    }
}

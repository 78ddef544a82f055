//! Audio files as an [`AudioSource`]: symphonia demuxes and decodes, packets are downmixed to
//! mono and resampled to the analysis rate, chunk by chunk.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use symphonia::core::audio::conv::FromSample;
use symphonia::core::audio::sample::Sample;
use symphonia::core::audio::{Audio, AudioBuffer, GenericAudioBufferRef};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::resample::{MAX_RESAMPLE_RATIO, StreamResampler, ratio_ok};
use crate::{AudioSource, Error, Matrix, MfccConfig, MfccSink, Result, SourceSpec, Tags, analyze};

/// Options for decoding a file into mono samples at the analysis rate.
///
/// # Examples
/// ```
/// use sonority_mfcc::DecodeOptions;
/// let opts = DecodeOptions::default().with_sample_rate(16_000).with_max_duration_s(Some(600.0));
/// assert_eq!(opts.max_channels, 32);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Rate of the delivered samples in Hz; the stream is resampled to it. Default: `22050`.
    pub sample_rate: u32,
    /// Longest audio accepted, in seconds of decoded audio (not the container's claim); longer
    /// files give [`Error::Limit`] when decoding passes the limit. `None` accepts any length
    /// (memory does not grow with length). Default: `None`.
    pub max_duration_s: Option<f64>,
    /// Most channels accepted. Default: `32`.
    pub max_channels: usize,
    /// Highest original sample rate accepted, in Hz. Raising it lets hostile headers ask for
    /// larger resampler buffers. Default: `768000`.
    pub max_sample_rate: u32,
    /// Lowest original sample rate accepted, in Hz. A header claiming a lower rate (1 Hz, say)
    /// would make a few bytes of audio resample to millions of samples; lowering it accepts
    /// more such files. Default: `4000`.
    pub min_sample_rate: u32,
    /// Malformed packets skipped in a row before the file is given up. Default: `64`.
    pub max_consecutive_errors: usize,
    /// Smallest part of the container's declared length that a truncated file must still hold
    /// to be kept, in `[0, 1]`; `0.0` keeps any truncated file. Default: `0.1`.
    pub min_truncated_fraction: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            sample_rate: 22_050,
            max_duration_s: None,
            max_channels: 32,
            max_sample_rate: 768_000,
            min_sample_rate: 4_000,
            max_consecutive_errors: 64,
            min_truncated_fraction: 0.1,
        }
    }
}

impl DecodeOptions {
    /// Sets [`sample_rate`](Self::sample_rate).
    #[must_use]
    pub fn with_sample_rate(mut self, sample_rate: u32) -> Self {
        self.sample_rate = sample_rate;
        self
    }
    /// Sets [`max_duration_s`](Self::max_duration_s).
    #[must_use]
    pub fn with_max_duration_s(mut self, max_duration_s: Option<f64>) -> Self {
        self.max_duration_s = max_duration_s;
        self
    }
    /// Sets [`max_channels`](Self::max_channels).
    #[must_use]
    pub fn with_max_channels(mut self, max_channels: usize) -> Self {
        self.max_channels = max_channels;
        self
    }
    /// Sets [`max_sample_rate`](Self::max_sample_rate).
    #[must_use]
    pub fn with_max_sample_rate(mut self, max_sample_rate: u32) -> Self {
        self.max_sample_rate = max_sample_rate;
        self
    }
    /// Sets [`min_sample_rate`](Self::min_sample_rate).
    #[must_use]
    pub fn with_min_sample_rate(mut self, min_sample_rate: u32) -> Self {
        self.min_sample_rate = min_sample_rate;
        self
    }
    /// Sets [`max_consecutive_errors`](Self::max_consecutive_errors).
    #[must_use]
    pub fn with_max_consecutive_errors(mut self, max_consecutive_errors: usize) -> Self {
        self.max_consecutive_errors = max_consecutive_errors;
        self
    }

    /// Sets [`min_truncated_fraction`](Self::min_truncated_fraction).
    #[must_use]
    pub fn with_min_truncated_fraction(mut self, min_truncated_fraction: f64) -> Self {
        self.min_truncated_fraction = min_truncated_fraction;
        self
    }

    /// Checks that every value is in range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        if self.sample_rate == 0 {
            return Err(Error::config("sample_rate", "must be positive"));
        }
        if self.max_channels == 0 {
            return Err(Error::config("max_channels", "must be at least 1"));
        }
        if self.max_sample_rate == 0 {
            return Err(Error::config("max_sample_rate", "must be positive"));
        }
        if self.min_sample_rate == 0 {
            return Err(Error::config("min_sample_rate", "must be positive"));
        }
        if self.min_sample_rate > self.max_sample_rate {
            return Err(Error::config(
                "min_sample_rate",
                format!(
                    "must be at most max_sample_rate ({} Hz), got {} Hz",
                    self.max_sample_rate, self.min_sample_rate
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_truncated_fraction) {
            return Err(Error::config(
                "min_truncated_fraction",
                format!("must be in [0, 1], got {}", self.min_truncated_fraction),
            ));
        }
        if let Some(d) = self.max_duration_s
            && !(d.is_finite() && d > 0.0)
        {
            return Err(Error::config(
                "max_duration_s",
                format!("must be finite and positive, got {d}"),
            ));
        }
        Ok(())
    }
}

/// An [`AudioSource`] that decodes a file with symphonia, downmixes it to mono (the mean of the
/// channels, as librosa does) and resamples it to [`DecodeOptions::sample_rate`] (see the
/// crate docs on how close this is to librosa's soxr).
///
/// Memory is bounded by one packet and one resampler chunk, whatever the file's length.
///
/// # Untrusted input
/// - The path must name a regular file (symlinks are followed); directories, FIFOs, sockets and
///   devices give [`Error::NotAFile`] without being opened (opening a FIFO blocks). On Unix the
///   file is also opened with `O_NONBLOCK` and checked again, so swapping in a FIFO cannot hang.
/// - Container durations and frame counts are never trusted: every limit is checked on the
///   decoded samples. A zero sample rate or zero channels gives [`Error::Decode`], more channels
///   than [`DecodeOptions::max_channels`], a rate outside [`DecodeOptions::min_sample_rate`] ..=
///   [`DecodeOptions::max_sample_rate`] (checked on the header, on the first decoded packet and
///   on every later one), a resampling ratio above 256 (possible only with widened rate limits)
///   or more audio than [`DecodeOptions::max_duration_s`] give [`Error::Limit`], and a stream
///   that decodes to no samples gives [`Error::Empty`].
/// - A packet the codec rejects as malformed is skipped and counted
///   ([`FileSource::skipped_packets`]); after [`DecodeOptions::max_consecutive_errors`] in a row
///   the file is given up with [`Error::Decode`].
/// - If the file ends in the middle of the stream (symphonia reports "unexpected end of file"),
///   what was decoded so far is kept and the stream ends normally
///   ([`FileSource::was_truncated`] tells), unless it is less than
///   [`DecodeOptions::min_truncated_fraction`] of the length the container declares: then the
///   header is taken to be lying (or the file to be a stub) and [`Error::Decode`] is returned.
///   The declared length is used for nothing else. With nothing decoded it is [`Error::Empty`].
/// - A chained Ogg stream ends at the end of its first logical stream.
/// - NaN or infinite samples (float WAVs can hold them) give [`Error::Decode`].
/// - symphonia may panic on malformed input. Each call into it runs under
///   [`std::panic::catch_unwind`]; a panic becomes [`Error::Decode`] for that file and the
///   decoder is never used again, so no state it may have left half-updated is observed. The
///   process's panic hook still runs (it prints the panic message to stderr unless the
///   application installs its own hook).
///
/// Every error names the file.
///
/// # Examples
/// ```
/// use sonority_mfcc::{AudioSource, DecodeOptions, FileSource};
/// # let dir = std::env::temp_dir().join(format!("sonority-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("tone.wav");
/// # let spec = hound::WavSpec { channels: 2, sample_rate: 44_100, bits_per_sample: 16,
/// #     sample_format: hound::SampleFormat::Int };
/// # let mut w = hound::WavWriter::create(&path, spec)?;
/// # for i in 0..44_100 { let s = ((i as f32 * 0.06).sin() * 8000.0) as i16; w.write_sample(s)?; w.write_sample(s)?; }
/// # w.finalize()?;
/// let mut src = FileSource::open(&path, &DecodeOptions::default())?;
/// assert_eq!(src.source_spec().original_sample_rate, 44_100);
/// let mut n = 0;
/// while let Some(chunk) = src.next_chunk()? {
///     n += chunk.len();
/// }
/// assert_eq!(n, 22_050); // 1 s at 22050 Hz
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileSource {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    tags: Tags,
    spec: SourceSpec,
    resampler: Option<StreamResampler>,
    /// Mono samples of the last decoded packet.
    mono: Vec<f32>,
    /// `mono` holds the first packet, decoded by `open`, not yet delivered.
    primed: bool,
    /// The chunk handed out by `next_chunk`.
    out: Vec<f32>,
    frames_decoded: u64,
    max_frames: Option<u64>,
    max_channels: usize,
    /// Accepted original rates, checked on every decoded packet.
    rate_range: (u32, u32),
    max_consecutive_errors: usize,
    /// Frames the container declares (only used to judge truncation).
    declared_frames: Option<u64>,
    min_truncated_fraction: f64,
    consecutive_errors: usize,
    skipped_packets: u64,
    truncated: bool,
    done: bool,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .field("tags", &self.tags)
            .field("frames_decoded", &self.frames_decoded)
            .field("skipped_packets", &self.skipped_packets)
            .field("truncated", &self.truncated)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl FileSource {
    /// Opens `path`, probes its container, reads its tags and decodes its first packet (so
    /// most broken files fail here rather than in [`next_chunk`](AudioSource::next_chunk)).
    ///
    /// The file extension is only a hint: a FLAC file named `.mp3` opens as FLAC.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for bad options; [`Error::NotAFile`] for directories, FIFOs,
    /// sockets and devices; [`Error::Io`] if it cannot be opened (missing, dangling or looping
    /// symlink, no permission); [`Error::Empty`] for a zero-byte file or a stream without
    /// samples; [`Error::Unsupported`] if no enabled format or codec recognises it;
    /// [`Error::Decode`] for malformed streams (zero sample rate or channels included);
    /// [`Error::Limit`] when a limit of `opts` is exceeded.
    pub fn open(path: impl AsRef<Path>, opts: &DecodeOptions) -> Result<Self> {
        let path = path.as_ref();
        opts.validate()?;
        let file = open_regular_file(path)?;
        let mss = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(&ext.to_ascii_lowercase());
        }
        let probed = guarded(path, "probe", || {
            symphonia::default::get_probe().probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
        })?;
        let mut format = probed.map_err(|e| match e {
            SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                unsupported(path, "no known container found before the end of the file")
            }
            SymError::IoError(io) => Error::Io {
                path: path.to_path_buf(),
                source: io,
            },
            e => map_symphonia(path, e),
        })?;

        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| unsupported(path, "no audio track"))?;
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| unsupported(path, "audio track without codec parameters"))?
            .clone();
        if params.sample_rate == Some(0) {
            return Err(decode_err(path, "sample rate is 0 Hz"));
        }
        if let Some(ch) = &params.channels {
            check_channels(path, ch.count(), opts.max_channels)?;
        }
        if let Some(rate) = params.sample_rate {
            check_rate(path, rate, opts)?;
        }
        let decoder = guarded(path, "decoder setup", || {
            symphonia::default::get_codecs()
                .make_audio_decoder(&params, &AudioDecoderOptions::default())
        })?
        .map_err(|e| map_symphonia(path, e))?;
        let tags = guarded(path, "metadata", || Tags::read_from(format.as_mut()))?;

        let mut src = Self {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            tags,
            spec: SourceSpec::mono(opts.sample_rate),
            resampler: None,
            mono: Vec::new(),
            primed: false,
            out: Vec::new(),
            frames_decoded: 0,
            max_frames: None,
            max_channels: opts.max_channels,
            rate_range: (opts.min_sample_rate, opts.max_sample_rate),
            max_consecutive_errors: opts.max_consecutive_errors,
            declared_frames,
            min_truncated_fraction: opts.min_truncated_fraction,
            consecutive_errors: 0,
            skipped_packets: 0,
            truncated: false,
            done: false,
        };
        // Decode the first packet: it tells the real rate and channels, whatever the header says.
        let Some((rate, channels)) = src.decode_next()? else {
            return Err(Error::Empty {
                path: src.path.clone(),
            });
        };
        if rate == 0 {
            return Err(decode_err(path, "sample rate is 0 Hz"));
        }
        check_rate(path, rate, opts)?;
        check_ratio(path, rate, opts.sample_rate)?;
        src.spec = SourceSpec {
            sample_rate: opts.sample_rate,
            original_sample_rate: rate,
            original_channels: channels,
        };
        src.max_frames = opts
            .max_duration_s
            .map(|d| (d * f64::from(rate)).ceil() as u64);
        src.check_duration()?;
        src.resampler = Some(StreamResampler::new(rate, opts.sample_rate)?);
        src.primed = true;
        Ok(src)
    }

    /// The tags read from the file (empty fields where it has none).
    #[must_use]
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The delivered rate and the original rate and channel count, as decoded (not as claimed
    /// by the container).
    #[must_use]
    pub fn source_spec(&self) -> SourceSpec {
        self.spec
    }

    /// The path the source was opened with.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames (per channel, at the original rate) decoded so far.
    #[must_use]
    pub fn decoded_frames(&self) -> u64 {
        self.frames_decoded
    }

    /// Malformed packets skipped so far.
    #[must_use]
    pub fn skipped_packets(&self) -> u64 {
        self.skipped_packets
    }

    /// `true` once the file has been found to end in the middle of the stream (the part before
    /// was delivered).
    #[must_use]
    pub fn was_truncated(&self) -> bool {
        self.truncated
    }

    fn check_duration(&self) -> Result<()> {
        match self.max_frames {
            Some(max) if self.frames_decoded > max => Err(Error::Limit {
                path: self.path.clone(),
                reason: format!(
                    "longer than the {:.1} s allowed",
                    max as f64 / f64::from(self.spec.original_sample_rate.max(1))
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Decodes packets until one yields samples, downmixed into `self.mono`; returns that
    /// buffer's rate and channel count, or `None` at the end of the stream.
    fn decode_next(&mut self) -> Result<Option<(u32, usize)>> {
        loop {
            let next = guarded(&self.path, "demuxer", || self.format.next_packet())?;
            let packet = match next {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(None),
                Err(SymError::ResetRequired) => {
                    log::debug!(
                        "{}: chained stream, analysing the first one only",
                        self.path.display()
                    );
                    return Ok(None);
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.check_truncation()?;
                    log::warn!(
                        "{}: file ends mid-stream, keeping the {} frames decoded",
                        self.path.display(),
                        self.frames_decoded
                    );
                    self.truncated = true;
                    return Ok(None);
                }
                Err(e) => return Err(map_symphonia(&self.path, e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoder = &mut self.decoder;
            let mono = &mut self.mono;
            let decoded = guarded(&self.path, "decoder", || {
                decoder.decode(&packet).map(|buf| downmix(&buf, mono))
            })?;
            match decoded {
                Ok((rate, channels)) => {
                    self.consecutive_errors = 0;
                    if self.mono.is_empty() {
                        continue;
                    }
                    check_channels(&self.path, channels, self.max_channels)?;
                    if self.mono.iter().any(|s| !s.is_finite()) {
                        return Err(decode_err(&self.path, "NaN or infinite sample"));
                    }
                    self.frames_decoded += self.mono.len() as u64;
                    return Ok(Some((rate, channels)));
                }
                Err(SymError::DecodeError(msg)) => self.skip_packet(msg)?,
                Err(SymError::IoError(e)) => self.skip_packet(&e.to_string())?,
                Err(e) => return Err(map_symphonia(&self.path, e)),
            }
        }
    }

    /// Rejects a truncated stream that holds too little of its declared length.
    fn check_truncation(&self) -> Result<()> {
        let Some(declared) = self.declared_frames.filter(|&d| d > 0) else {
            return Ok(());
        };
        let fraction = self.frames_decoded as f64 / declared as f64;
        if fraction < self.min_truncated_fraction {
            return Err(decode_err(
                &self.path,
                format!(
                    "file ends after {} of the {declared} frames its header declares",
                    self.frames_decoded
                ),
            ));
        }
        Ok(())
    }

    fn skip_packet(&mut self, why: &str) -> Result<()> {
        self.skipped_packets += 1;
        self.consecutive_errors += 1;
        log::debug!("{}: skipping malformed packet: {why}", self.path.display());
        if self.consecutive_errors > self.max_consecutive_errors {
            return Err(decode_err(
                &self.path,
                format!(
                    "{} malformed packets in a row (last: {why})",
                    self.consecutive_errors
                ),
            ));
        }
        Ok(())
    }

    /// One step of [`AudioSource::next_chunk`]: fills `self.out`; `false` at the end.
    fn fill(&mut self) -> Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            let Some(resampler) = self.resampler.as_mut() else {
                return Ok(false);
            };
            if self.primed {
                self.primed = false;
                resampler.process(&self.mono, &mut self.out)?;
            } else {
                match self.decode_next()? {
                    Some((rate, _)) => {
                        check_rate_in(&self.path, rate, self.rate_range)?;
                        if rate != self.spec.original_sample_rate {
                            return Err(unsupported(
                                &self.path,
                                format!(
                                    "sample rate changes mid-stream ({} Hz to {rate} Hz)",
                                    self.spec.original_sample_rate
                                ),
                            ));
                        }
                        self.check_duration()?;
                        if let Some(r) = self.resampler.as_mut() {
                            r.process(&self.mono, &mut self.out)?;
                        }
                    }
                    None => {
                        if let Some(r) = self.resampler.as_mut() {
                            r.finish(&mut self.out)?;
                        }
                        self.done = true;
                        return Ok(!self.out.is_empty());
                    }
                }
            }
            if !self.out.is_empty() {
                return Ok(true);
            }
        }
    }
}

impl AudioSource for FileSource {
    fn spec(&self) -> SourceSpec {
        self.spec
    }

    fn next_chunk(&mut self) -> Result<Option<&[f32]>> {
        self.out.clear();
        match self.fill() {
            Ok(true) => Ok(Some(&self.out)),
            Ok(false) => Ok(None),
            Err(e) => {
                // Never touch the decoder again after an error (it may follow a panic).
                self.done = true;
                Err(e)
            }
        }
    }
}

/// Decodes a whole file to mono samples at `opts.sample_rate`, like `librosa.load(path,
/// sr=..., mono=True)`.
///
/// Holds the whole result in memory: for long files, stream a [`FileSource`] instead.
///
/// # Errors
/// As [`FileSource::open`] and [`AudioSource::next_chunk`].
///
/// # Examples
/// ```no_run
/// let y = sonority_mfcc::load("track.flac", &sonority_mfcc::DecodeOptions::default())?;
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub fn load(path: impl AsRef<Path>, opts: &DecodeOptions) -> Result<Vec<f32>> {
    let mut src = FileSource::open(path, opts)?;
    let mut y = Vec::new();
    while let Some(chunk) = src.next_chunk()? {
        y.extend_from_slice(chunk);
    }
    Ok(y)
}

/// Decodes a file and returns its MFCCs (`n_mfcc` × frames), streaming: memory does not grow
/// with the file's length except for the result.
///
/// # Errors
/// As [`FileSource::open`], plus [`Error::InvalidConfig`] for a bad `cfg`.
///
/// # Examples
/// ```no_run
/// use sonority_mfcc::{MfccConfig, mfcc_file};
/// let m = mfcc_file("track.mp3", &MfccConfig::default())?;
/// assert_eq!(m.rows(), 20);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub fn mfcc_file(path: impl AsRef<Path>, cfg: &MfccConfig) -> Result<Matrix> {
    cfg.validate()?;
    let opts = DecodeOptions::default().with_sample_rate(cfg.sample_rate);
    let mut src = FileSource::open(path, &opts)?;
    let mut sink = MfccSink::new(cfg)?;
    analyze(&mut src, &cfg.stft_spec(), &mut [&mut sink])?;
    Ok(sink.into_matrix())
}

/// Checks the file type without opening it, then opens it (non-blocking on Unix) and checks
/// again.
fn open_regular_file(path: &Path) -> Result<File> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    check_file_type(path, &meta.file_type())?;
    let file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    check_file_type(path, &meta.file_type())?;
    if meta.len() == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: if a FIFO was swapped in after the type check, open returns at once instead
    // of waiting for a writer. It has no effect on reads from regular files.
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

fn check_file_type(path: &Path, ft: &std::fs::FileType) -> Result<()> {
    if ft.is_file() {
        return Ok(());
    }
    let kind = if ft.is_dir() {
        "directory"
    } else {
        special_kind(ft)
    };
    Err(Error::NotAFile {
        path: path.to_path_buf(),
        kind,
    })
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_ft: &std::fs::FileType) -> &'static str {
    "special file"
}

/// Runs a call into symphonia, turning a panic into [`Error::Decode`].
fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        decode_err(path, format!("symphonia {what} panicked: {msg}"))
    })
}

/// Writes the mean of the channels of `buf` to `mono`, converting samples to f32 as
/// libsndfile does (integers divided by 2^(bits-1), unsigned centred first). Returns the
/// buffer's rate and channel count.
fn downmix(buf: &GenericAudioBufferRef<'_>, mono: &mut Vec<f32>) -> (u32, usize) {
    match buf {
        GenericAudioBufferRef::U8(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::U16(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::U24(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::U32(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S8(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S16(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S24(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S32(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::F32(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::F64(b) => downmix_planes(b, mono),
    }
}

fn downmix_planes<S>(buf: &AudioBuffer<S>, mono: &mut Vec<f32>) -> (u32, usize)
where
    S: Sample,
    f32: FromSample<S>,
{
    let frames = buf.frames();
    let channels = buf.num_planes();
    mono.clear();
    mono.resize(frames, 0.0);
    // Sum in channel order in f32, then divide: numpy's `mean(axis=0)` on float32.
    for plane in buf.iter_planes() {
        for (m, &s) in mono.iter_mut().zip(plane) {
            *m += f32::from_sample(s);
        }
    }
    if channels > 1 {
        let n = channels as f32;
        mono.iter_mut().for_each(|m| *m /= n);
    }
    (buf.spec().rate(), channels)
}

fn check_channels(path: &Path, channels: usize, max: usize) -> Result<()> {
    if channels == 0 {
        return Err(decode_err(path, "zero channels"));
    }
    if channels > max {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            reason: format!("{channels} channels, at most {max} allowed"),
        });
    }
    Ok(())
}

fn check_rate(path: &Path, rate: u32, opts: &DecodeOptions) -> Result<()> {
    check_rate_in(path, rate, (opts.min_sample_rate, opts.max_sample_rate))
}

/// Rejects an original rate outside `min..=max` with [`Error::Limit`].
fn check_rate_in(path: &Path, rate: u32, (min, max): (u32, u32)) -> Result<()> {
    if !(min..=max).contains(&rate) {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            reason: format!("sample rate {rate} Hz, outside the {min}..={max} Hz allowed"),
        });
    }
    Ok(())
}

/// Rejects a resampling ratio whose buffers would be too large (see
/// [`MAX_RESAMPLE_RATIO`]): only reachable when the rate limits are widened.
fn check_ratio(path: &Path, rate: u32, out_rate: u32) -> Result<()> {
    if !ratio_ok(rate, out_rate) {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            reason: format!(
                "resampling {rate} Hz to {out_rate} Hz is a ratio above {MAX_RESAMPLE_RATIO}"
            ),
        });
    }
    Ok(())
}

fn decode_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Decode {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn unsupported(path: &Path, reason: impl Into<String>) -> Error {
    Error::Unsupported {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn map_symphonia(path: &Path, e: SymError) -> Error {
    match e {
        SymError::IoError(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        SymError::DecodeError(msg) => decode_err(path, msg),
        SymError::Unsupported(msg) => unsupported(path, msg),
        SymError::LimitError(msg) => Error::Limit {
            path: path.to_path_buf(),
            reason: msg.to_owned(),
        },
        other => decode_err(path, other.to_string()),
    }
}

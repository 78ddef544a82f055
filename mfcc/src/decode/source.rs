//! [`FileSource`]: a file decoded with symphonia, downmixed and resampled packet by packet.

use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::{Time, TimeBase};

use super::downmix::downmix;
use super::errors::{decode_err, guarded, map_symphonia, unsupported};
use super::limits::{check_channels, check_rate, check_rate_in, check_ratio};
use super::open::open_regular_file;
use crate::fastmath::all_finite;
use crate::resample::Resampler;
use crate::{AudioSource, DecodeOptions, Error, Result, SourceSpec, Tags};

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
    resampler: Option<Resampler>,
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
    /// Frames still to drop before the span starts (at the original rate).
    skip_frames: u64,
    /// After a seek: the span's first frame and the track's time base, to place the first
    /// decoded packet by its timestamp (a decoder may hold back a packet after a reset).
    seek_target: Option<(u64, TimeBase)>,
    /// Frames of the span still to deliver (at the original rate); `None`: to the end.
    remaining_frames: Option<u64>,
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
        // lofty reads what symphonia's metadata misses (disc, genre, year, album artist in
        // more containers); a panic there costs the tags, never the track.
        let tags = std::panic::catch_unwind(|| Tags::read_path(path))
            .unwrap_or_default()
            .or(tags);

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
            skip_frames: 0,
            seek_target: None,
            remaining_frames: None,
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
        src.resampler = Some(Resampler::new(rate, opts.sample_rate)?);
        src.primed = true;
        Ok(src)
    }

    /// Opens `path` like [`open`](Self::open) and restricts it to the span from `start_s` to
    /// `end_s` seconds (`None`: to the end of the file): one track of a CUE sheet. The span is
    /// cut at the original rate, before resampling, to the nearest frame.
    ///
    /// The reader seeks to the start where the container allows it (WAV, FLAC, Ogg, MP4...);
    /// when a seek fails or lands after the start, the file is opened again and decoded from
    /// the beginning, dropping the frames before the start, so a span never starts late. A
    /// span beyond the end of the file delivers no samples.
    ///
    /// # Errors
    /// As [`open`](Self::open); [`Error::InvalidConfig`] for a negative or non-finite start or
    /// an end not after the start.
    ///
    /// # Examples
    /// ```
    /// use sonority_mfcc::{AudioSource, DecodeOptions, FileSource};
    /// # let dir = std::env::temp_dir().join(format!("sonority-span-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("three-seconds.wav");
    /// # let spec = hound::WavSpec { channels: 1, sample_rate: 22_050, bits_per_sample: 16,
    /// #     sample_format: hound::SampleFormat::Int };
    /// # let mut w = hound::WavWriter::create(&path, spec)?;
    /// # for i in 0..3 * 22_050 { w.write_sample(((i as f32 * 0.05).sin() * 8000.0) as i16)?; }
    /// # w.finalize()?;
    /// let mut src = FileSource::open_span(&path, &DecodeOptions::default(), 1.0, Some(2.5))?;
    /// let mut n = 0;
    /// while let Some(chunk) = src.next_chunk()? {
    ///     n += chunk.len();
    /// }
    /// assert_eq!(n, 33_075); // 1.5 s at 22050 Hz
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_span(
        path: impl AsRef<Path>,
        opts: &DecodeOptions,
        start_s: f64,
        end_s: Option<f64>,
    ) -> Result<Self> {
        let path = path.as_ref();
        if !(start_s.is_finite() && start_s >= 0.0) {
            return Err(Error::InvalidConfig {
                field: "start_s",
                reason: format!("span start {start_s} s is not a finite time from 0"),
            });
        }
        if let Some(end) = end_s
            && !(end.is_finite() && end > start_s)
        {
            return Err(Error::InvalidConfig {
                field: "end_s",
                reason: format!("span end {end} s is not after its start {start_s} s"),
            });
        }
        let mut src = Self::open(path, opts)?;
        let rate = f64::from(src.spec.original_sample_rate);
        // Rounded frame positions; the float casts saturate and the limits bound them anyway.
        let start = (start_s * rate).round() as u64;
        src.remaining_frames = end_s.map(|e| ((e * rate).round() as u64).saturating_sub(start));
        if start == 0 {
            return Ok(src);
        }
        match src.seek_to(start) {
            Some(at) => {
                src.skip_frames = start - at;
                Ok(src)
            }
            None => {
                // The reader's state after a failed seek is unknown: start again, and drop
                // the frames before the span (the first packet, decoded by `open`, included).
                let remaining = src.remaining_frames;
                drop(src);
                let mut src = Self::open(path, opts)?;
                src.remaining_frames = remaining;
                src.skip_frames = start;
                Ok(src)
            }
        }
    }

    /// Seeks to frame `start` (at the original rate): the frame position where decoding
    /// resumes, at or before `start`; `None` when the container cannot seek there.
    fn seek_to(&mut self, start: u64) -> Option<u64> {
        let rate = f64::from(self.spec.original_sample_rate);
        let time = Time::try_from_secs_f64(start as f64 / rate)?;
        let track_id = self.track_id;
        let format = &mut self.format;
        let seeked = guarded(&self.path, "seek", || {
            format.seek(
                SeekMode::Accurate,
                SeekTo::Time {
                    time,
                    track_id: Some(track_id),
                },
            )
        })
        .ok()?
        .ok()?;
        let tb = self
            .format
            .tracks()
            .iter()
            .find(|t| t.id == track_id)?
            .time_base?;
        let at_s = tb.calc_time(seeked.actual_ts)?.as_secs_f64();
        let at = (at_s * rate).round();
        if !(0.0..=start as f64).contains(&at) {
            return None;
        }
        let decoder = &mut self.decoder;
        guarded(&self.path, "decoder reset", || decoder.reset()).ok()?;
        self.primed = false;
        self.mono.clear();
        let at = at as u64;
        self.seek_target = Some((start, tb));
        self.declared_frames = self.declared_frames.map(|d| d.saturating_sub(at));
        Some(at)
    }

    /// Cuts `self.mono` to the span: drops what comes before its start and what comes after
    /// its end.
    fn clip_to_span(&mut self) {
        if self.skip_frames > 0 {
            let n = usize::try_from(self.skip_frames)
                .unwrap_or(usize::MAX)
                .min(self.mono.len());
            self.mono.drain(..n);
            self.skip_frames -= n as u64;
        }
        if let Some(left) = self.remaining_frames.as_mut() {
            let n = usize::try_from(*left)
                .unwrap_or(usize::MAX)
                .min(self.mono.len());
            self.mono.truncate(n);
            *left -= n as u64;
        }
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
                    if !all_finite(&self.mono) {
                        return Err(decode_err(&self.path, "NaN or infinite sample"));
                    }
                    if let Some((target, tb)) = self.seek_target.take() {
                        // The first samples after a seek: where they lie, by their packet's
                        // timestamp, tells how many come before the span.
                        let rate = f64::from(rate);
                        if let Some(t) = tb.calc_time(packet.pts) {
                            let first = (t.as_secs_f64() * rate).round().max(0.0) as u64;
                            self.skip_frames = target.saturating_sub(first);
                        }
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
            if self.resampler.is_none() {
                return Ok(false);
            }
            if self.primed {
                self.primed = false;
                self.clip_to_span();
                if let Some(r) = self.resampler.as_mut() {
                    r.process(&self.mono, &mut self.out)?;
                }
            } else {
                let next = if self.remaining_frames == Some(0) {
                    None // the span is complete
                } else {
                    self.decode_next()?
                };
                match next {
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
                        self.clip_to_span();
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

//! Fixed-size tiles of a log-mel spectrogram, streamed as frames arrive.

use crate::{
    Error, Frame, FrameSink, MelBands, MelFilterbank, MelStage, MfccConfig, Result, StftSpec,
};

/// What happens to the frames after the last full tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PartialTile {
    /// Emit one more tile that ends at the last frame, overlapping the previous tile, so no
    /// frame is lost and no invented data enters a tile. A track shorter than one tile is
    /// repeated (looped) to fill it. This is the default.
    #[default]
    AlignEnd,
    /// Pad the last tile with the dB floor (`10·log10(amin)`), as silence.
    PadSilence,
    /// Drop the frames after the last full tile (a track shorter than a tile gives none).
    Drop,
}

/// A tile: `[n_mels, tile_frames]` row-major log-mel values in dB (`ref = 1.0`, floor
/// `10·log10(amin)`, no `top_db` clipping, which would need the whole track).
#[derive(Debug, Clone, Copy)]
pub struct Tile<'a> {
    /// Tile number, from 0.
    pub index: usize,
    /// First frame of the tile.
    pub start_frame: usize,
    /// Mel bands (rows).
    pub n_mels: usize,
    /// Frames (columns).
    pub frames: usize,
    /// Row-major `[n_mels, frames]` dB values.
    pub data: &'a [f32],
}

/// A [`FrameSink`] that cuts the log-mel spectrogram into tiles of `tile_frames` frames every
/// `tile_hop` frames and hands each to a callback as soon as it is complete.
///
/// Memory is `O(n_mels · tile_frames)`, whatever the track length.
///
/// # Examples
/// ```
/// use sonority_mfcc::{MfccConfig, PartialTile, SliceSource, TileSink, analyze};
/// let cfg = MfccConfig::default();
/// let noise: Vec<f32> = (0..5 * 22_050).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
/// let mut count = 0;
/// let mut tiles = TileSink::new(&cfg, 64, 64, PartialTile::AlignEnd, |t| {
///     assert_eq!(t.data.len(), 128 * 64);
///     count += 1;
///     Ok(())
/// })?;
/// analyze(&mut SliceSource::new(&noise, 22_050), &cfg.stft_spec(), &mut [&mut tiles])?;
/// drop(tiles);
/// assert_eq!(count, 4); // 216 frames: 3 full tiles and one aligned to the end
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub struct TileSink<F> {
    stage: MelStage,
    amin: f32,
    tile_frames: usize,
    tile_hop: usize,
    partial: PartialTile,
    callback: F,
    /// Ring of the last `tile_frames` frames, frame-major.
    ring: Vec<f32>,
    frames_seen: usize,
    tiles_emitted: usize,
    last_emitted_end: usize,
    tile: Vec<f32>,
}

impl<F> std::fmt::Debug for TileSink<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileSink")
            .field("tile_frames", &self.tile_frames)
            .field("tile_hop", &self.tile_hop)
            .field("partial", &self.partial)
            .field("frames_seen", &self.frames_seen)
            .field("tiles_emitted", &self.tiles_emitted)
            .finish_non_exhaustive()
    }
}

impl<F: FnMut(Tile<'_>) -> Result<()>> TileSink<F> {
    /// A tile sink for `cfg`'s mel filterbank.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an invalid configuration, a zero tile size or hop.
    pub fn new(
        cfg: &MfccConfig,
        tile_frames: usize,
        tile_hop: usize,
        partial: PartialTile,
        callback: F,
    ) -> Result<Self> {
        cfg.validate()?;
        if tile_frames == 0 || tile_frames > 1 << 16 {
            return Err(Error::config("tile_frames", "must be in 1..=65536"));
        }
        if tile_hop == 0 || tile_hop > tile_frames {
            return Err(Error::config("tile_hop", "must be in 1..=tile_frames"));
        }
        let fb = MelFilterbank::from_config(cfg)?;
        let n = fb.n_mels();
        Ok(Self {
            stage: MelStage::with_filterbank(fb),
            amin: cfg.amin,
            tile_frames,
            tile_hop,
            partial,
            callback,
            ring: vec![0.0; n * tile_frames],
            frames_seen: 0,
            tiles_emitted: 0,
            last_emitted_end: 0,
            tile: vec![0.0; n * tile_frames],
        })
    }

    /// Tiles handed to the callback so far.
    #[must_use]
    pub fn tiles_emitted(&self) -> usize {
        self.tiles_emitted
    }

    /// Emits the tile of frames `[end - tile_frames, end)`; frames before 0 are taken from
    /// `fill` (looped frames or silence).
    fn emit(&mut self, end: usize, loop_short: bool) -> Result<()> {
        let n = self.stage.filterbank().n_mels();
        let tf = self.tile_frames;
        let floor = 10.0 * self.amin.max(f32::MIN_POSITIVE).log10();
        let start = end as isize - tf as isize;
        for c in 0..tf {
            let f = start + c as isize;
            let src_frame = if f >= 0 {
                Some(f as usize)
            } else if loop_short && self.frames_seen > 0 {
                Some((c % self.frames_seen) + end.saturating_sub(self.frames_seen))
            } else {
                None
            };
            for r in 0..n {
                self.tile[r * tf + c] = match src_frame {
                    Some(sf) => self.ring[(sf % tf) * n + r],
                    None => floor,
                };
            }
        }
        let tile = Tile {
            index: self.tiles_emitted,
            start_frame: start.max(0) as usize,
            n_mels: n,
            frames: tf,
            data: &self.tile,
        };
        (self.callback)(tile)?;
        self.tiles_emitted += 1;
        self.last_emitted_end = end;
        Ok(())
    }
}

impl<F: FnMut(Tile<'_>) -> Result<()>> FrameSink for TileSink<F> {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        if !self.stage.filterbank().matches(spec) {
            return Err(Error::config(
                "n_fft",
                "filterbank and STFT disagree (sample rate or n_fft)",
            ));
        }
        Ok(())
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.stage.filterbank().bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let n = self.stage.filterbank().n_mels();
        let slot = (self.frames_seen % self.tile_frames) * n;
        let amin = self.amin;
        let mel = self.stage.frame_mel(frame);
        mel.db_with_amin(amin, &mut self.ring[slot..slot + n]);
        self.frames_seen += 1;
        let end = self.frames_seen;
        if end >= self.tile_frames && (end - self.tile_frames).is_multiple_of(self.tile_hop) {
            self.emit(end, false)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let end = self.frames_seen;
        if end == 0 || end == self.last_emitted_end {
            return Ok(());
        }
        match self.partial {
            PartialTile::Drop => Ok(()),
            PartialTile::AlignEnd => self.emit(end, true),
            PartialTile::PadSilence => {
                // The padded tile starts where the next hop would have started.
                let start = if self.tiles_emitted == 0 {
                    0
                } else {
                    self.last_emitted_end + self.tile_hop - self.tile_frames
                };
                if start >= end {
                    return Ok(());
                }
                self.emit_padded(start, end)
            }
        }
    }
}

impl<F: FnMut(Tile<'_>) -> Result<()>> TileSink<F> {
    fn emit_padded(&mut self, start: usize, end: usize) -> Result<()> {
        let n = self.stage.filterbank().n_mels();
        let tf = self.tile_frames;
        let floor = 10.0 * self.amin.max(f32::MIN_POSITIVE).log10();
        for c in 0..tf {
            let f = start + c;
            for r in 0..n {
                self.tile[r * tf + c] = if f < end {
                    self.ring[(f % tf) * n + r]
                } else {
                    floor
                };
            }
        }
        let tile = Tile {
            index: self.tiles_emitted,
            start_frame: start,
            n_mels: n,
            frames: tf,
            data: &self.tile,
        };
        (self.callback)(tile)?;
        self.tiles_emitted += 1;
        self.last_emitted_end = end;
        Ok(())
    }
}

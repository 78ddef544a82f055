//! Fixed-size tiles of a log-mel spectrogram, streamed as frames arrive.

use crate::{Error, Frame, FrameSink, LogMelStage, MelBands, MfccConfig, Result, StftSpec};

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

/// `Tiler` is the one streaming tiling of a log-mel spectrogram in sonority: dB frames go in one
/// at a time, tiles of `tile_frames` frames every `tile_hop` frames come out as soon as they are
/// complete, and [`finish`](Self::finish) applies the [`PartialTile`] rule to what is left.
/// [`TileSink`] and the facade's tile encoder both cut their tiles with it, so a short track is
/// handled the same way everywhere.
///
/// Memory is two tiles, whatever the track length.
///
/// # Examples
/// ```
/// use sonority_mfcc::{PartialTile, Tiler};
/// let mut tiler = Tiler::new(2, 4, 4, PartialTile::AlignEnd, -100.0)?;
/// let mut tiles = 0;
/// for f in 0..6 {
///     if tiler.push_frame(|db| db.fill(f as f32)).is_some() {
///         tiles += 1;
///     }
/// }
/// let last = tiler.finish().map(|t| (t.start_frame, t.data.to_vec()));
/// assert_eq!(tiles, 1);
/// // The last tile ends at the last frame: frames 2..6.
/// assert_eq!(last, Some((2, vec![2.0, 3.0, 4.0, 5.0, 2.0, 3.0, 4.0, 5.0])));
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Tiler {
    n_mels: usize,
    tile_frames: usize,
    tile_hop: usize,
    partial: PartialTile,
    floor_db: f32,
    /// Ring of the last `tile_frames` frames, frame-major.
    ring: Vec<f32>,
    frames_seen: usize,
    tiles_emitted: usize,
    last_emitted_end: usize,
    tile: Vec<f32>,
    /// Per column of the tile being cut: its frame's row in the ring, or `usize::MAX` for
    /// silence.
    columns: Vec<usize>,
}

impl Tiler {
    /// Tiles of `[n_mels, tile_frames]` every `tile_hop` frames; `floor_db` is the value of
    /// silence for [`PartialTile::PadSilence`].
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero bands, a tile size outside `1..=65536` or a hop
    /// outside `1..=tile_frames`.
    pub fn new(
        n_mels: usize,
        tile_frames: usize,
        tile_hop: usize,
        partial: PartialTile,
        floor_db: f32,
    ) -> Result<Self> {
        if n_mels == 0 {
            return Err(Error::config("n_mels", "must be positive"));
        }
        if tile_frames == 0 || tile_frames > 1 << 16 {
            return Err(Error::config("tile_frames", "must be in 1..=65536"));
        }
        if tile_hop == 0 || tile_hop > tile_frames {
            return Err(Error::config("tile_hop", "must be in 1..=tile_frames"));
        }
        Ok(Self {
            n_mels,
            tile_frames,
            tile_hop,
            partial,
            floor_db,
            ring: vec![0.0; n_mels * tile_frames],
            frames_seen: 0,
            tiles_emitted: 0,
            last_emitted_end: 0,
            tile: vec![0.0; n_mels * tile_frames],
            columns: vec![0; tile_frames],
        })
    }

    /// Mel bands per frame.
    #[must_use]
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Frames per tile.
    #[must_use]
    pub fn tile_frames(&self) -> usize {
        self.tile_frames
    }

    /// Tiles emitted so far.
    #[must_use]
    pub fn tiles_emitted(&self) -> usize {
        self.tiles_emitted
    }

    /// Frames pushed so far.
    #[must_use]
    pub fn frames_seen(&self) -> usize {
        self.frames_seen
    }

    /// Pushes one frame: `write` fills its `n_mels` dB values in place. Returns the tile this
    /// frame completes, if any.
    pub fn push_frame(&mut self, write: impl FnOnce(&mut [f32])) -> Option<Tile<'_>> {
        let n = self.n_mels;
        let slot = (self.frames_seen % self.tile_frames) * n;
        write(&mut self.ring[slot..slot + n]);
        self.frames_seen += 1;
        let end = self.frames_seen;
        if end >= self.tile_frames && (end - self.tile_frames).is_multiple_of(self.tile_hop) {
            Some(self.emit(end, false))
        } else {
            None
        }
    }

    /// The last tile under the [`PartialTile`] rule, if the frames after the last full tile
    /// make one (none after no frame at all).
    pub fn finish(&mut self) -> Option<Tile<'_>> {
        let end = self.frames_seen;
        if end == 0 || end == self.last_emitted_end {
            return None;
        }
        match self.partial {
            PartialTile::Drop => None,
            PartialTile::AlignEnd => Some(self.emit(end, true)),
            PartialTile::PadSilence => {
                // The padded tile starts where the next hop would have started.
                let start = if self.tiles_emitted == 0 {
                    0
                } else {
                    self.last_emitted_end + self.tile_hop - self.tile_frames
                };
                (start < end).then(|| self.emit_padded(start, end))
            }
        }
    }

    /// The tile of frames `[end - tile_frames, end)`; frames before 0 are the track looped
    /// (`loop_short`) or silence.
    fn emit(&mut self, end: usize, loop_short: bool) -> Tile<'_> {
        let tf = self.tile_frames;
        let start = end as isize - tf as isize;
        for (c, col) in self.columns.iter_mut().enumerate() {
            let f = start + c as isize;
            *col = if f >= 0 {
                f as usize % tf
            } else if loop_short && self.frames_seen > 0 {
                ((c % self.frames_seen) + end.saturating_sub(self.frames_seen)) % tf
            } else {
                usize::MAX
            };
        }
        self.fill_tile();
        self.emitted(start.max(0) as usize, end)
    }

    fn emit_padded(&mut self, start: usize, end: usize) -> Tile<'_> {
        let tf = self.tile_frames;
        for (c, col) in self.columns.iter_mut().enumerate() {
            let f = start + c;
            *col = if f < end { f % tf } else { usize::MAX };
        }
        self.fill_tile();
        self.emitted(start, end)
    }

    /// Transposes the ring rows named by `columns` into the band-major tile, in 16 × 16
    /// blocks (a straight loop writes one value per cache line across the whole tile).
    fn fill_tile(&mut self) {
        const B: usize = 16;
        let (n, tf) = (self.n_mels, self.tile_frames);
        for c0 in (0..tf).step_by(B) {
            let c1 = (c0 + B).min(tf);
            for r0 in (0..n).step_by(B) {
                let r1 = (r0 + B).min(n);
                for c in c0..c1 {
                    let row = self.columns[c];
                    if row == usize::MAX {
                        for r in r0..r1 {
                            self.tile[r * tf + c] = self.floor_db;
                        }
                    } else {
                        let src = &self.ring[row * n + r0..row * n + r1];
                        for (r, &v) in (r0..r1).zip(src) {
                            self.tile[r * tf + c] = v;
                        }
                    }
                }
            }
        }
    }

    fn emitted(&mut self, start_frame: usize, end: usize) -> Tile<'_> {
        let index = self.tiles_emitted;
        self.tiles_emitted += 1;
        self.last_emitted_end = end;
        Tile {
            index,
            start_frame,
            n_mels: self.n_mels,
            frames: self.tile_frames,
            data: &self.tile,
        }
    }
}

/// A [`FrameSink`] that cuts the log-mel spectrogram into tiles of `tile_frames` frames every
/// `tile_hop` frames (with a [`Tiler`]) and hands each to a callback as soon as it is complete.
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
    logmel: LogMelStage,
    tiler: Tiler,
    callback: F,
}

impl<F> std::fmt::Debug for TileSink<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileSink")
            .field("tiler", &self.tiler)
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
        let logmel = LogMelStage::new(cfg)?;
        let tiler = Tiler::new(
            logmel.n_mels(),
            tile_frames,
            tile_hop,
            partial,
            logmel.floor_db(),
        )?;
        Ok(Self {
            logmel,
            tiler,
            callback,
        })
    }

    /// Tiles handed to the callback so far.
    #[must_use]
    pub fn tiles_emitted(&self) -> usize {
        self.tiler.tiles_emitted()
    }
}

impl<F: FnMut(Tile<'_>) -> Result<()>> FrameSink for TileSink<F> {
    fn begin(&mut self, spec: &StftSpec) -> Result<()> {
        self.logmel.check(spec)
    }

    fn mel_bands(&self) -> Option<MelBands> {
        Some(self.logmel.bands())
    }

    fn frame(&mut self, frame: &Frame<'_>) -> Result<()> {
        let logmel = &mut self.logmel;
        match self.tiler.push_frame(|db| logmel.frame_db(frame, db)) {
            Some(tile) => (self.callback)(tile),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self.tiler.finish() {
            Some(tile) => (self.callback)(tile),
            None => Ok(()),
        }
    }
}

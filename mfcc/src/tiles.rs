//! Fixed-size tiles of a log-mel spectrogram, streamed as frames arrive.

use std::ops::Range;

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
        // Every full tile is out: the next index is the partial one, if the rule makes it.
        let span = self.tile_span(self.tiles_emitted)?;
        match self.partial {
            PartialTile::AlignEnd => Some(self.emit(span.end, true)),
            PartialTile::PadSilence => Some(self.emit_padded(span.start, span.end)),
            PartialTile::Drop => None,
        }
    }

    /// The frames of the track that tile `index` holds, as this tiler cuts the frames pushed so
    /// far (the whole track, once every frame is in): `None` for no such tile.
    ///
    /// Full tile `i` is `i · tile_hop .. i · tile_hop + tile_frames`. After them, the frames
    /// left make one more tile by the [`PartialTile`] rule: [`AlignEnd`](PartialTile::AlignEnd)
    /// the last `tile_frames` frames (the whole track, looped, when it is shorter than a tile),
    /// [`PadSilence`](PartialTile::PadSilence) the frames from where the next hop would start
    /// (then silence), [`Drop`](PartialTile::Drop) none. This is the span of the tile
    /// [`push_frame`](Self::push_frame) or [`finish`](Self::finish) emits with that index, so
    /// a caller holding a track's tile vectors can find the frames each one came from.
    ///
    /// # Examples
    /// ```
    /// use sonority_mfcc::{PartialTile, Tiler};
    /// let mut tiler = Tiler::new(1, 4, 4, PartialTile::AlignEnd, -100.0)?;
    /// for _ in 0..10 {
    ///     tiler.push_frame(|db| db.fill(0.0));
    /// }
    /// // Two full tiles, then the last four frames (overlapping the second tile).
    /// assert_eq!(tiler.tile_span(1), Some(4..8));
    /// assert_eq!(tiler.tile_span(2), Some(6..10));
    /// assert_eq!(tiler.tile_span(3), None);
    /// # Ok::<(), sonority_mfcc::Error>(())
    /// ```
    #[must_use]
    pub fn tile_span(&self, index: usize) -> Option<Range<usize>> {
        let (n, tf, hop) = (self.frames_seen, self.tile_frames, self.tile_hop);
        let full = if n >= tf { (n - tf) / hop + 1 } else { 0 };
        if index < full {
            return Some(index * hop..index * hop + tf);
        }
        let full_end = if full == 0 { 0 } else { (full - 1) * hop + tf };
        if index > full || n == full_end {
            return None;
        }
        match self.partial {
            PartialTile::Drop => None,
            PartialTile::AlignEnd => Some(n.saturating_sub(tf)..n),
            PartialTile::PadSilence => {
                // The padded tile starts where the next hop would have started.
                let start = if full == 0 { 0 } else { full_end + hop - tf };
                (start < n).then_some(start..n)
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
        self.emitted(start.max(0) as usize)
    }

    fn emit_padded(&mut self, start: usize, end: usize) -> Tile<'_> {
        let tf = self.tile_frames;
        for (c, col) in self.columns.iter_mut().enumerate() {
            let f = start + c;
            *col = if f < end { f % tf } else { usize::MAX };
        }
        self.fill_tile();
        self.emitted(start)
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

    fn emitted(&mut self, start_frame: usize) -> Tile<'_> {
        let index = self.tiles_emitted;
        self.tiles_emitted += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tile a tiler emits holds the frames [`Tiler::tile_span`] names for its index
    /// (frame `f` carries the value `f`), and no other index has a span.
    #[test]
    fn tile_span_is_what_each_tile_holds() {
        let floor = -100.0;
        for partial in [
            PartialTile::AlignEnd,
            PartialTile::PadSilence,
            PartialTile::Drop,
        ] {
            for (tf, hop) in [(4, 4), (4, 2), (3, 1), (5, 3)] {
                for n in 0..15 {
                    let mut tiler = Tiler::new(1, tf, hop, partial, floor).unwrap();
                    let mut tiles = Vec::new();
                    for f in 0..n {
                        if let Some(t) = tiler.push_frame(|db| db.fill(f as f32)) {
                            tiles.push((t.index, t.start_frame, t.data.to_vec()));
                        }
                    }
                    if let Some(t) = tiler.finish() {
                        tiles.push((t.index, t.start_frame, t.data.to_vec()));
                    }
                    let case = format!("{partial:?} tile {tf} hop {hop}, {n} frames");
                    assert_eq!(tiler.tile_span(tiles.len()), None, "{case}");
                    for (i, (index, start, data)) in tiles.iter().enumerate() {
                        let span = tiler.tile_span(i).unwrap();
                        assert_eq!((*index, *start), (i, span.start), "{case}");
                        let real: Vec<f32> = span.clone().map(|f| f as f32).collect();
                        let want: Vec<f32> = match partial {
                            // A short track looped: the tile ends at its last frame, the
                            // columns before its first frame repeat it from the start.
                            PartialTile::AlignEnd => (0..tf)
                                .map(|c| (span.end + c).checked_sub(tf).unwrap_or(c % n) as f32)
                                .collect(),
                            _ => real
                                .iter()
                                .copied()
                                .chain(std::iter::repeat(floor))
                                .take(tf)
                                .collect(),
                        };
                        assert_eq!(data, &want, "{case}, tile {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn tile_span_of_non_overlapping_tiles_aligned_to_the_end() {
        let mut tiler = Tiler::new(2, 4, 4, PartialTile::AlignEnd, -100.0).unwrap();
        for _ in 0..42 {
            tiler.push_frame(|db| db.fill(0.0));
        }
        assert_eq!(tiler.tile_span(0), Some(0..4));
        assert_eq!(tiler.tile_span(9), Some(36..40));
        assert_eq!(tiler.tile_span(10), Some(38..42));
        assert_eq!(tiler.tile_span(11), None);
        let mut short = Tiler::new(2, 4, 4, PartialTile::AlignEnd, -100.0).unwrap();
        for _ in 0..3 {
            short.push_frame(|db| db.fill(0.0));
        }
        assert_eq!(short.tile_span(0), Some(0..3));
        assert_eq!(short.tile_span(1), None);
    }
}

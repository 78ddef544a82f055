//! What one analysis pass keeps of a track for training and evaluation ([`TrackData`], from
//! [`extract_track_data`] and [`extract_all`], over the files [`audio_files`] finds), and the
//! band statistics fitted on it.

use std::path::{Path, PathBuf};

#[cfg(doc)]
use sonority_fusion::Fusion;
use sonority_mfcc::{AudioSource, FileSource};

use super::options::ExtractOptions;
use crate::artist::ArtistPooling;
use crate::blocks::{ARTIST, TILES};
#[cfg(doc)]
use crate::blocks::{BLOCKS, PUBLISHED_DESCRIPTORS};
use crate::model::{AnalysisSettings, BandStats};
use crate::moments::Moments;
use crate::pipeline::{BlockPipeline, published_block};
use crate::{Error, Result};

/// What one analysis pass keeps of a track for training and evaluation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrackData {
    /// Mel bands of [`logmel`](Self::logmel).
    pub n_mels: usize,
    /// Frames kept (all of them, or a reservoir sample of blocks).
    pub frames: usize,
    /// Log-mel dB `[n_mels, frames]`, row-major.
    pub logmel: Vec<f32>,
    /// The model-independent blocks by name, in [`BLOCKS`] order after `tiles`: timbre, key,
    /// tempo, roll-off.
    pub blocks: Vec<(&'static str, Vec<f32>)>,
    /// The settings of the analysis that made them.
    pub settings: AnalysisSettings,
    /// Key, tempo and roll-off as values (for the published design's fusion and for display).
    pub descriptors: sonority_fusion::DescriptorSummary,
    /// Duration of the whole track, in seconds.
    pub duration_s: f64,
    /// A uniform sample of the artist encoder's input segments (standardised log-mel,
    /// [`ARTIST_SEGMENT_FRAMES`](sonority_autoencoders::ARTIST_SEGMENT_FRAMES) frames of
    /// [`ARTIST_BANDS`](sonority_autoencoders::ARTIST_BANDS) values each, one after the
    /// other), as many as
    /// [`ExtractOptions::artist_segments`] asked; empty without. For fine-tuning the encoder
    /// ([`ArtistEncoder::fine_tune`](sonority_autoencoders::ArtistEncoder::fine_tune)) and
    /// recomputing the block ([`artist_mean_std`](crate::train::artist_mean_std)).
    pub artist_segments: Vec<f32>,
    /// The track's group for training with
    /// [`Positives::SameGroup`](sonority_autoencoders::Positives::SameGroup) (its album,
    /// say); `None` after extraction: the caller labels it.
    pub group: Option<u64>,
}

/// Decodes a file once and keeps its log-mel frames (bounded by `opts.max_blocks`) and its
/// model-independent blocks.
///
/// # Errors
/// Decoding errors naming the file, [`Error::NoSignal`].
pub fn extract_track_data(path: &Path, opts: &ExtractOptions) -> Result<TrackData> {
    let mut src = FileSource::open(path, &opts.settings.decode_options())?;
    let seed = opts.seed
        ^ path
            .to_string_lossy()
            .bytes()
            .fold(0_u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
    extract_source(&mut src, opts, seed)
}

/// [`extract_track_data`] of any source, its block sample drawn with `seed`.
pub(super) fn extract_source(
    src: &mut dyn AudioSource,
    opts: &ExtractOptions,
    seed: u64,
) -> Result<TrackData> {
    let blocks = opts
        .max_blocks
        .unwrap_or(usize::MAX / (opts.block_frames + 1));
    let pass = BlockPipeline::keeping_logmel(
        &opts.settings,
        opts.block_frames,
        blocks,
        seed,
        opts.artist.as_deref(),
        opts.artist_segments,
    )?
    .run(src)?;
    let m = pass.logmel.ok_or(Error::NoSignal)?;
    Ok(TrackData {
        n_mels: m.rows(),
        frames: m.cols(),
        logmel: m.into_vec(),
        blocks: pass.blocks,
        settings: opts.settings.clone(),
        descriptors: pass.descriptors,
        duration_s: pass.duration_s,
        artist_segments: pass.artist_segments,
        group: None,
    })
}

/// The whole of a 22,050 Hz signal as training data, with the default settings (for tests).
#[cfg(test)]
pub(super) fn whole_signal(y: &[f32]) -> TrackData {
    let opts = ExtractOptions::default().whole_track();
    extract_source(&mut sonority_mfcc::SliceSource::new(y, 22_050), &opts, 0)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Group labels for [`TrackData::group`] from names (albums, say): each name's index among the
/// distinct names in sorted order, so equal names get equal labels whatever the order.
///
/// # Examples
///
/// ```
/// let ids = sonority::train::group_ids(&["b", "a", "b", "c"]);
/// assert_eq!(ids, [1, 0, 1, 2]);
/// ```
#[must_use]
pub fn group_ids<S: AsRef<str>>(names: &[S]) -> Vec<u64> {
    let mut distinct: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    distinct.sort_unstable();
    distinct.dedup();
    names
        .iter()
        .map(|n| distinct.binary_search(&n.as_ref()).unwrap_or(0) as u64)
        .collect()
}

impl TrackData {
    /// Writes frame `c`'s dB values (one a band) into `db`: how the tiler and the timbre sink
    /// read the kept frames.
    pub(super) fn frame_db(&self, c: usize, db: &mut [f32]) {
        for (b, v) in db.iter_mut().enumerate() {
            *v = self.logmel[b * self.frames + c];
        }
    }

    /// The model-independent block called `name`.
    #[must_use]
    pub fn block(&self, name: &str) -> Option<&[f32]> {
        crate::pipeline::named_block(&self.blocks, name)
    }

    /// The published design's descriptor block ([`PUBLISHED_DESCRIPTORS`]): roll-off Hz,
    /// tempo BPM, key label.
    #[must_use]
    pub fn published_descriptors(&self) -> [f32; 3] {
        published_block(&self.descriptors)
    }

    /// Every block by name, with `tiles` (the track's pooled tile vector under some model)
    /// first: what [`Fusion::concat_named`] and [`Fusion::fuse_named`] take (the published
    /// design's [`PUBLISHED_DESCRIPTORS`] block is not among them; see
    /// [`published_descriptors`](Self::published_descriptors)). The `artist` block, when the
    /// track has one, is cut to `artist`'s pooling, or left out for `None`.
    #[must_use]
    pub fn named_blocks<'a>(
        &'a self,
        tiles: &'a [f32],
        artist: Option<ArtistPooling>,
    ) -> Vec<(&'a str, &'a [f32])> {
        std::iter::once((TILES, tiles))
            .chain(self.blocks.iter().filter_map(|(n, b)| match *n {
                ARTIST => artist.map(|p| (*n, p.of_mean_std(b))),
                _ => Some((*n, b.as_slice())),
            }))
            .collect()
    }
}

/// The audio files under `dir`, as indexing finds them (symlinks followed, FIFOs and other
/// special files left out), sorted by path.
///
/// # Examples
/// ```
/// let dir = std::env::temp_dir().join(format!("sonority-audio-files-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("album.mp3"))?; // a directory named like audio
/// std::fs::write(dir.join("a.wav"), b"RIFF")?;
/// std::fs::write(dir.join("cover.jpg"), b"")?;
/// assert_eq!(sonority::train::audio_files(&dir), [dir.join("a.wav")]);
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use]
pub fn audio_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = crate::walk::scan_folder(dir)
        .files
        .into_iter()
        .map(|f| f.path)
        .collect();
    files.sort();
    files
}

/// [`extract_track_data`] for many files on `threads` threads. The results are in the order
/// of `paths` (an error names its file; a panic while analysing one file fails that file
/// only, with [`Error::Panicked`]); `progress` is called after each file, in completion order.
#[must_use]
pub fn extract_all<F>(
    paths: &[PathBuf],
    opts: &ExtractOptions,
    threads: usize,
    mut progress: F,
) -> Vec<Result<TrackData>>
where
    F: FnMut(&Path, Option<&Error>),
{
    let mut out: Vec<Option<Result<TrackData>>> = (0..paths.len()).map(|_| None).collect();
    let items: Vec<usize> = (0..paths.len()).collect();
    crate::parallel::for_each_parallel(
        items,
        threads,
        &crate::StopFlag::new(),
        |&i| extract_track_data(&paths[i], opts),
        |&i, r| {
            let r = r.unwrap_or_else(|panic| Err(panic.into_error(paths[i].clone())));
            progress(&paths[i], r.as_ref().err());
            out[i] = Some(r);
        },
    );
    out.into_iter()
        .zip(paths)
        .map(|(r, p)| {
            r.unwrap_or_else(|| {
                Err(Error::Query {
                    reason: format!("{}: not analysed", p.display()),
                })
            })
        })
        .collect()
}

/// Per-band mean and standard deviation of the log-mel frames of `tracks` (a standard
/// deviation of at least `1e-3`).
#[must_use]
pub fn fit_band_stats(tracks: &[&TrackData]) -> BandStats {
    let n_mels = tracks.first().map_or(0, |t| t.n_mels);
    let mut moments = Moments::new(n_mels);
    for t in tracks {
        moments.push_columns(&t.logmel, t.frames);
    }
    let mean_std = moments.mean_std().unwrap_or_else(|| vec![0.0; 2 * n_mels]);
    let (mean, std) = mean_std.split_at(n_mels);
    BandStats {
        mean: mean.to_vec(),
        std: std.iter().map(|s| s.max(1e-3)).collect(),
    }
}

/// One scale for all bands mapping the training frames' dB range to `[0, 1]`:
/// `(dB − min) / (max − min)`, stored as a [`BandStats`] whose every band has mean `min` and
/// std `max − min` (the published design's tiles are images in `[0, 1]`).
#[must_use]
pub fn fit_unit_range(tracks: &[&TrackData]) -> BandStats {
    let n_mels = tracks.first().map_or(0, |t| t.n_mels);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in tracks.iter().flat_map(|t| t.logmel.iter()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    let range = (hi - lo).max(1e-3);
    BandStats {
        mean: vec![lo; n_mels],
        std: vec![range; n_mels],
    }
}

pub(super) fn standardised(t: &TrackData, stats: &BandStats) -> Vec<f32> {
    let mut out = t.logmel.clone();
    for (b, row) in out.chunks_exact_mut(t.frames.max(1)).enumerate() {
        for v in row {
            *v = (*v - stats.mean[b]) / stats.std[b];
        }
    }
    out
}

//! Training data: [`TrackMatrix`] (one track's features), tile extraction and augmentation.

use crate::error::{Error, Result};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// `TrackMatrix` is one track's features as a row-major `[rows, cols]` matrix: for mel tiles,
/// `[n_mels, frames]` (bins × frames, the layout of `sonority-mfcc`), standardised per band by the
/// caller.
///
/// # Examples
///
/// ```
/// use sonority_autoencoders::TrackMatrix;
///
/// let t = TrackMatrix::new(vec![0.0; 128 * 500], 128, 500)?;
/// assert_eq!(t.cols(), 500);
/// # Ok::<(), sonority_autoencoders::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrackMatrix {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
    group: Option<u64>,
    teacher: Option<Vec<f32>>,
}

impl TrackMatrix {
    /// Wraps `data` (`rows × cols` values, row-major).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] when `rows` or `cols` is 0, [`Error::ShapeMismatch`] when the length is
    /// not `rows × cols`, [`Error::NonFinite`] for NaN or infinite values.
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(Error::Empty {
                what: "track matrix",
            });
        }
        if data.len() != rows * cols {
            return Err(Error::ShapeMismatch {
                what: "track matrix".into(),
                expected: vec![rows, cols],
                actual: vec![data.len()],
            });
        }
        if data.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "track matrix",
            });
        }
        Ok(Self {
            data,
            rows,
            cols,
            group: None,
            teacher: None,
        })
    }

    /// Labels the track with a group (its album, say), used by
    /// [`Positives::SameGroup`](crate::Positives::SameGroup).
    #[must_use]
    pub fn with_group(mut self, group: u64) -> Self {
        self.group = Some(group);
        self
    }

    /// Gives the track a teacher vector (a pretrained encoder's vector of the whole track), used
    /// by the distillation term ([`TrainConfig::distill`](crate::TrainConfig::distill)).
    ///
    /// # Errors
    /// [`Error::NonFinite`] for NaN or infinite values, [`Error::Empty`] for an empty vector.
    pub fn with_teacher(mut self, teacher: Vec<f32>) -> Result<Self> {
        if teacher.is_empty() {
            return Err(Error::Empty {
                what: "teacher vector",
            });
        }
        if teacher.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "teacher vector",
            });
        }
        self.teacher = Some(teacher);
        Ok(self)
    }

    /// The track's teacher vector, if given.
    #[must_use]
    pub fn teacher(&self) -> Option<&[f32]> {
        self.teacher.as_deref()
    }

    /// The track's group, if labelled.
    #[must_use]
    pub fn group(&self) -> Option<u64> {
        self.group
    }

    /// Rows (mel bands).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (frames).
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The row-major values.
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Gives the values back.
    #[must_use]
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}

/// Copies the `[rows, width]` window starting at column `start` of a row-major `[rows, cols]`
/// matrix into `out`, with zeros past the last column.
pub(crate) fn copy_tile(
    m: &[f32],
    rows: usize,
    cols: usize,
    start: usize,
    width: usize,
    out: &mut [f32],
) {
    for r in 0..rows {
        let dst = &mut out[r * width..(r + 1) * width];
        let avail = cols.saturating_sub(start).min(width);
        dst[..avail].copy_from_slice(&m[r * cols + start..r * cols + start + avail]);
        dst[avail..].fill(0.0);
    }
}

/// `Augment` sets the random changes made to training tiles. All are off by default; the
/// amounts are in input units (standardised log-mel: standard deviations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Augment {
    /// Largest offset added to a whole tile (a gain change in the log domain), drawn uniformly
    /// from `±gain`. Default: `0.0` (off).
    pub gain: f32,
    /// Largest circular shift of a tile along time, in columns, drawn uniformly from
    /// `±time_shift`. Default: `0` (off).
    pub time_shift: usize,
    /// Standard deviation of Gaussian noise added to every value. Default: `0.0` (off).
    pub noise: f32,
}

impl Default for Augment {
    fn default() -> Self {
        Self {
            gain: 0.0,
            time_shift: 0,
            noise: 0.0,
        }
    }
}

impl Augment {
    /// Sets [`gain`](Self::gain).
    #[must_use]
    pub fn with_gain(mut self, gain: f32) -> Self {
        self.gain = gain;
        self
    }

    /// Sets [`time_shift`](Self::time_shift).
    #[must_use]
    pub fn with_time_shift(mut self, time_shift: usize) -> Self {
        self.time_shift = time_shift;
        self
    }

    /// Sets [`noise`](Self::noise).
    #[must_use]
    pub fn with_noise(mut self, noise: f32) -> Self {
        self.noise = noise;
        self
    }

    /// Whether any augmentation is on.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.gain > 0.0 || self.time_shift > 0 || self.noise > 0.0
    }

    /// Applies the augmentations to one `[rows, width]` tile in place.
    pub(crate) fn apply(&self, tile: &mut [f32], rows: usize, width: usize, rng: &mut Rng) {
        if self.time_shift > 0 && width > 1 {
            let s = rng.below(2 * self.time_shift + 1) as isize - self.time_shift as isize;
            let s = s.rem_euclid(width as isize) as usize;
            for r in 0..rows {
                tile[r * width..(r + 1) * width].rotate_right(s);
            }
        }
        if self.gain > 0.0 {
            let g = rng.uniform_range(-f64::from(self.gain), f64::from(self.gain)) as f32;
            tile.iter_mut().for_each(|x| *x += g);
        }
        if self.noise > 0.0 {
            for x in tile.iter_mut() {
                *x += self.noise * rng.normal() as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tile_pads_with_zeros() {
        let m: Vec<f32> = (0..2 * 5).map(|x| x as f32 + 1.0).collect();
        let mut out = vec![9.0; 2 * 4];
        copy_tile(&m, 2, 5, 3, 4, &mut out);
        assert_eq!(out, vec![4.0, 5.0, 0.0, 0.0, 9.0, 10.0, 0.0, 0.0]);
    }

    #[test]
    fn augment_shift_rotates_and_off_is_identity() {
        let mut rng = Rng::new(1);
        let orig: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let mut t = orig.clone();
        Augment::default().apply(&mut t, 2, 6, &mut rng);
        assert_eq!(t, orig);
        Augment::default()
            .with_time_shift(2)
            .apply(&mut t, 2, 6, &mut rng);
        let mut a = t[..6].to_vec();
        a.sort_by(f32::total_cmp);
        assert_eq!(a, orig[..6]);
        let mut t = orig.clone();
        Augment::default()
            .with_gain(1.0)
            .apply(&mut t, 2, 6, &mut rng);
        let d = t[0] - orig[0];
        assert!(d.abs() <= 1.0 && t.iter().zip(&orig).all(|(a, b)| (a - b - d).abs() < 1e-6));
    }

    #[test]
    fn track_matrix_validates() {
        assert!(matches!(
            TrackMatrix::new(vec![], 0, 3),
            Err(Error::Empty { .. })
        ));
        assert!(matches!(
            TrackMatrix::new(vec![0.0; 5], 2, 3),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            TrackMatrix::new(vec![f32::NAN; 6], 2, 3),
            Err(Error::NonFinite { .. })
        ));
    }
}

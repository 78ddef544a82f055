//! A dense row-major matrix with an explicit layout: rows are bins (mel bands, coefficients),
//! columns are frames.

/// A dense `f32` matrix, row-major: element `(r, c)` is at `r · cols + c`.
///
/// Spectrograms and MFCCs use rows = bins (mel bands or coefficients) and columns = frames,
/// the layout of librosa's arrays and of the golden `.npy` files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// Wraps row-major data.
    ///
    /// # Panics
    /// If `data.len() != rows · cols`.
    #[must_use]
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix data length");
        Self { rows, cols, data }
    }

    /// Builds a `[rows, frames]` matrix from frame-major data (frame `t` occupies
    /// `[t·rows, (t+1)·rows)`), transposing it.
    ///
    /// # Panics
    /// If `frame_major.len() != rows · frames`.
    #[must_use]
    pub fn from_frame_major(rows: usize, frames: usize, frame_major: &[f32]) -> Self {
        assert_eq!(frame_major.len(), rows * frames, "frame-major data length");
        let mut data = vec![0.0; rows * frames];
        for (t, frame) in frame_major.chunks_exact(rows.max(1)).enumerate() {
            for (r, &v) in frame.iter().enumerate() {
                data[r * frames + t] = v;
            }
        }
        Self::from_vec(rows, frames, data)
    }

    /// Number of rows (bins).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (frames).
    #[must_use]
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `(rows, cols)`.
    #[must_use]
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The row-major data.
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The row-major data, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes the matrix, returning its row-major data.
    #[must_use]
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Row `r` (one bin over all frames).
    ///
    /// # Panics
    /// If `r >= rows`.
    #[must_use]
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Element `(r, c)`.
    ///
    /// # Panics
    /// If out of range.
    #[must_use]
    pub fn get(&self, r: usize, c: usize) -> f32 {
        assert!(r < self.rows && c < self.cols, "matrix index out of range");
        self.data[r * self.cols + c]
    }

    /// Columns `start..start + len` as a new `[rows, len]` matrix.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[must_use]
    pub fn columns(&self, start: usize, len: usize) -> Matrix {
        assert!(start + len <= self.cols, "column range out of bounds");
        let mut data = Vec::with_capacity(self.rows * len);
        for r in 0..self.rows {
            data.extend_from_slice(&self.row(r)[start..start + len]);
        }
        Matrix::from_vec(self.rows, len, data)
    }
}

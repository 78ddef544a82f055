//! One running mean and standard deviation per dimension, over the rows pushed: the pooling of
//! the `tiles` and `artist` blocks, the views' tile blocks and the band statistics of training.

/// Sums and sums of squares, in `f64`, of the rows pushed so far.
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    rows: usize,
}

impl Moments {
    /// An empty accumulator of `dim` dimensions.
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            sum: vec![0.0; dim],
            sum_sq: vec![0.0; dim],
            rows: 0,
        }
    }

    /// Adds every `dim`-long row of `rows`.
    pub(crate) fn push_rows(&mut self, rows: &[f32]) {
        let d = self.sum.len().max(1);
        for row in rows.chunks_exact(d) {
            for ((s, q), &v) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(row) {
                let v = f64::from(v);
                *s += v;
                *q += v * v;
            }
            self.rows += 1;
        }
    }

    /// Adds each of the `cols` columns of `[dim, cols]` row-major values (a band-major
    /// spectrogram, one frame a column) as one row: the same sums, in the same order per
    /// dimension, as pushing the columns one by one.
    pub(crate) fn push_columns(&mut self, values: &[f32], cols: usize) {
        if cols == 0 {
            return;
        }
        for ((s, q), row) in self
            .sum
            .iter_mut()
            .zip(&mut self.sum_sq)
            .zip(values.chunks_exact(cols))
        {
            for &v in row {
                let v = f64::from(v);
                *s += v;
                *q += v * v;
            }
        }
        self.rows += cols;
    }

    /// Rows pushed so far.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// `[mean of each dimension..., population std of each dimension...]`, or `None` before
    /// the first row.
    pub(crate) fn mean_std(&self) -> Option<Vec<f32>> {
        if self.rows == 0 {
            return None;
        }
        let n = self.rows as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std = self
            .sum_sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / n - m * m).max(0.0).sqrt());
        Some(mean.iter().copied().chain(std).map(|x| x as f32).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_population_std_per_dimension() {
        let mut m = Moments::new(2);
        assert!(m.mean_std().is_none());
        m.push_rows(&[1.0, 10.0, 3.0, 10.0, 5.0, 10.0]);
        assert_eq!(m.rows(), 3);
        let v = m.mean_std().unwrap();
        assert_eq!(v[..2], [3.0, 10.0]);
        assert!((v[2] - (8.0_f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(v[3], 0.0);
    }

    #[test]
    fn columns_are_rows_of_the_transpose() {
        let band_major = [0.1_f32, 2.5, -3.0, 7.25, 1e-3, 4.0];
        let mut by_columns = Moments::new(2);
        by_columns.push_columns(&band_major, 3);
        by_columns.push_columns(&[], 0);
        let mut by_rows = Moments::new(2);
        by_rows.push_rows(&[0.1, 7.25, 2.5, 1e-3, -3.0, 4.0]);
        assert_eq!(by_columns.rows(), 3);
        assert_eq!(by_columns.mean_std(), by_rows.mean_std());
    }
}

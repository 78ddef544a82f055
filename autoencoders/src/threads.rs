//! Whether one matrix product may be split across threads.
//!
//! candle multiplies matrices with `gemm`, which splits a large product across rayon's threads.
//! That helps one training run; it hurts an indexer that already keeps every core busy with one
//! file per worker (each worker's products then wait on threads that are busy with other files:
//! 3 % slower on 2 cores, measured with `benches/throughput.sh`).

use std::sync::Mutex;

/// Live guards, and the threshold to restore when the last one drops.
static GUARDS: Mutex<(usize, usize)> = Mutex::new((0, 0));

/// While alive, matrix products run on the calling thread only (process-wide: `gemm`'s
/// threading threshold is raised to the maximum). When the last live guard drops, the setting
/// from before the first is restored, so guards on several threads (two indexers at once) may
/// overlap in any order.
///
/// # Examples
/// ```
/// use sonority_autoencoders::SerialMatmul;
/// {
///     let _serial = SerialMatmul::new();
///     assert!(SerialMatmul::active());
/// }
/// assert!(!SerialMatmul::active());
/// ```
#[derive(Debug)]
#[must_use = "products are serial only while the guard lives"]
pub struct SerialMatmul {
    _private: (),
}

impl SerialMatmul {
    /// Makes matrix products serial until the guard (and every other live guard) is dropped.
    pub fn new() -> Self {
        let mut g = GUARDS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.0 == 0 {
            g.1 = gemm::get_threading_threshold();
            gemm::set_threading_threshold(usize::MAX);
        }
        g.0 += 1;
        Self { _private: () }
    }

    /// Whether matrix products are serial now.
    #[must_use]
    pub fn active() -> bool {
        gemm::get_threading_threshold() == usize::MAX
    }
}

impl Default for SerialMatmul {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SerialMatmul {
    fn drop(&mut self) {
        let mut g = GUARDS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.0 = g.0.saturating_sub(1);
        if g.0 == 0 {
            gemm::set_threading_threshold(g.1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SerialMatmul;

    #[test]
    fn overlapping_guards_restore_the_setting_once_the_last_drops() {
        let before = gemm::get_threading_threshold();
        assert_ne!(before, usize::MAX);
        let a = SerialMatmul::new();
        let b = SerialMatmul::new();
        drop(a);
        assert!(SerialMatmul::active(), "b still lives");
        drop(b);
        assert_eq!(gemm::get_threading_threshold(), before);
        // Across threads, dropped in another order.
        let c = SerialMatmul::new();
        let d = std::thread::spawn(SerialMatmul::new).join().unwrap();
        drop(c);
        assert!(SerialMatmul::active());
        drop(d);
        assert_eq!(gemm::get_threading_threshold(), before);
    }
}

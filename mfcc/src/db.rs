//! Power to decibels, as `librosa.power_to_db`.

/// The reference level of [`power_to_db`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DbRef {
    /// A fixed reference power (librosa's `ref=1.0` is `Value(1.0)`).
    Value(f32),
    /// The maximum of the input (librosa's `ref=np.max`).
    Max,
}

/// Converts power to dB in place: `10·log10(max(S, amin)) − 10·log10(max(amin, ref))`, then
/// clips from below at `max − top_db` (the maximum taken over the whole slice).
///
/// Silence stays finite: every value is at least `10·log10(amin) − 10·log10(max(amin, ref))`.
///
/// # Examples
/// ```
/// use sonority_mfcc::{DbRef, power_to_db};
/// let mut s = [1.0_f32, 0.1, 0.0];
/// power_to_db(&mut s, DbRef::Value(1.0), 1e-10, Some(80.0));
/// assert_eq!(s, [0.0, -10.0, -80.0]);
/// ```
pub fn power_to_db(s: &mut [f32], reference: DbRef, amin: f32, top_db: Option<f32>) {
    let amin = amin.max(f32::MIN_POSITIVE);
    let r = match reference {
        DbRef::Value(v) => v.abs(),
        DbRef::Max => s.iter().copied().fold(0.0_f32, f32::max),
    };
    let offset = 10.0 * amin.max(r).log10();
    let mut hi = f32::NEG_INFINITY;
    for x in s.iter_mut() {
        let v = if x.is_finite() { x.max(amin) } else { amin };
        *x = 10.0 * v.log10() - offset;
        hi = hi.max(*x);
    }
    if let Some(top) = top_db {
        let lo = hi - top;
        for x in s.iter_mut() {
            *x = x.max(lo);
        }
    }
}

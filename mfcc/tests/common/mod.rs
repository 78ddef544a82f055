//! Fixture helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// Path of a fixture in `tests/data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads a little-endian float32 `.npy` file (version 1.0, C order): `(shape, data)`.
pub fn read_npy_f32(name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(data(name)).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name}: not an npy file");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'"),
        "{name}: not <f4: {header}"
    );
    assert!(header.contains("'fortran_order': False"));
    let shape_str = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_str
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let body = &bytes[10 + header_len..];
    let values: Vec<f32> = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>());
    (shape, values)
}

/// Reads a 16-bit PCM WAV as librosa does (`/32768`, channels averaged).
pub fn read_wav_mono(name: &str) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(data(name)).unwrap();
    let spec = r.spec();
    assert_eq!(spec.bits_per_sample, 16);
    let ch = spec.channels as usize;
    let raw: Vec<f32> = r
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let mono = raw
        .chunks_exact(ch)
        .map(|f| f.iter().sum::<f32>() / ch as f32)
        .collect();
    (mono, spec.sample_rate)
}

/// Pearson correlation of two equally long slices.
pub fn correlation(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let ma = a.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let mb = b.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa.sqrt() * sbb.sqrt()).max(1e-300)
}

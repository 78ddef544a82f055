//! Whole-file helpers: [`load`] (all samples in memory) and [`mfcc_file`] (MFCCs, streaming).

use std::path::Path;

use crate::{
    AudioSource, DecodeOptions, FileSource, Matrix, MfccConfig, MfccSink, Result, analyze,
};

/// Decodes a whole file to mono samples at `opts.sample_rate`, like `librosa.load(path,
/// sr=..., mono=True)`.
///
/// Holds the whole result in memory: for long files, stream a [`FileSource`] instead.
///
/// # Errors
/// As [`FileSource::open`] and [`AudioSource::next_chunk`].
///
/// # Examples
/// ```no_run
/// let y = sonority_mfcc::load("track.flac", &sonority_mfcc::DecodeOptions::default())?;
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub fn load(path: impl AsRef<Path>, opts: &DecodeOptions) -> Result<Vec<f32>> {
    let mut src = FileSource::open(path, opts)?;
    let mut y = Vec::new();
    while let Some(chunk) = src.next_chunk()? {
        y.extend_from_slice(chunk);
    }
    Ok(y)
}

/// Decodes a file and returns its MFCCs (`n_mfcc` × frames), streaming: memory does not grow
/// with the file's length except for the result.
///
/// # Errors
/// As [`FileSource::open`], plus [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a bad
/// `cfg`.
///
/// # Examples
/// ```no_run
/// use sonority_mfcc::{MfccConfig, mfcc_file};
/// let m = mfcc_file("track.mp3", &MfccConfig::default())?;
/// assert_eq!(m.rows(), 20);
/// # Ok::<(), sonority_mfcc::Error>(())
/// ```
pub fn mfcc_file(path: impl AsRef<Path>, cfg: &MfccConfig) -> Result<Matrix> {
    cfg.validate()?;
    let opts = DecodeOptions::default().with_sample_rate(cfg.sample_rate);
    let mut src = FileSource::open(path, &opts)?;
    let mut sink = MfccSink::new(cfg)?;
    analyze(&mut src, &cfg.stft_spec(), &mut [&mut sink])?;
    Ok(sink.into_matrix())
}

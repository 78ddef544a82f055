//! The bad-input corpus: about 45 broken, odd and non-audio files that a music folder in the
//! wild can hold, each with the outcome an indexer must give it, generated in pure Rust from
//! the committed [`crate::fixtures`] with no external tool.
//!
//! It mirrors the workspace's `shared/badinput/make.sh`: the same file names, the same expected
//! outcomes and the same `cases.tsv` format (a unit test checks this against a copy of make.sh's
//! `cases.tsv`). The differences:
//! - the compressed cases (FLAC, MP3, Ogg Vorbis, AAC) are 1 to 4 s long (the committed
//!   fixtures), where make.sh's are mostly 20 s; the cut and corrupted ones are cut and
//!   corrupted at the same places (50 % and 1 KB, mid-frame at 60 %, 2 KB at 40 %);
//! - the 20-minute MP3 (`ok_20min.mp3`) is one 5 s, 64 kbps MP3's frames repeated
//!   ([`Options::long_mp3_s`]; about 9.6 MB);
//! - make.sh's `--long` 3-hour WAV is not made.
//!
//! The expected outcomes (`expect`):
//! - [`Expect::Ok`]: valid audio, odd as it may be: analysed, with finite vectors;
//! - [`Expect::Error`]: broken: a clear per-file error naming the file and the reason;
//! - [`Expect::OkOrError`]: damaged but partly decodable: either, never a crash;
//! - [`Expect::Skip`]: not audio at all: skipped or reported, never a crash or a hang.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::signal::{self, WavEncoding};
use crate::{Rng, fixtures, mp3};

/// The outcome a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// Analysed and stored with finite values (`ok`).
    Ok,
    /// A clear per-file error naming the file (`error`).
    Error,
    /// Either analysed or a clear error (`ok_or_error`).
    OkOrError,
    /// Neither analysed nor an error: skipped, or reported as skipped (`skip`).
    Skip,
}

impl Expect {
    /// The word `cases.tsv` uses: `ok`, `error`, `ok_or_error` or `skip`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::OkOrError => "ok_or_error",
            Self::Skip => "skip",
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Expect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(Self::Ok),
            "error" => Ok(Self::Error),
            "ok_or_error" => Ok(Self::OkOrError),
            "skip" => Ok(Self::Skip),
            other => Err(format!("unknown expectation {other:?}")),
        }
    }
}

/// One file of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The name in `cases.tsv`: the file name, except for the file whose name is not UTF-8,
    /// written `ok_bad_utf8_(bytes ff fe).wav` there (as make.sh does).
    pub file: String,
    /// The path of the file (or link, directory, FIFO) on disk.
    pub path: PathBuf,
    /// What the case is, in a few words.
    pub kind: String,
    /// The outcome it must get.
    pub expect: Expect,
}

/// Settings of [`generate_with`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// The minimum length of the long MP3 in seconds; its file is named after its length in
    /// whole minutes (`ok_20min.mp3`, at least `ok_1min.mp3`). 64 kbps: 8 KB per second.
    /// Default: `1200.0` (make.sh's 20 minutes).
    pub long_mp3_s: f64,
    /// The length in seconds of the generated WAV cases that make.sh makes 20 s long (8 kHz
    /// mono, 32-bit float, 6 channels). Default: `20.0`.
    pub wav_s: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            long_mp3_s: 1200.0,
            wav_s: 20.0,
        }
    }
}

impl Options {
    /// Sets [`long_mp3_s`](Self::long_mp3_s).
    #[must_use]
    pub fn with_long_mp3_s(mut self, seconds: f64) -> Self {
        self.long_mp3_s = seconds;
        self
    }

    /// Sets [`wav_s`](Self::wav_s).
    #[must_use]
    pub fn with_wav_s(mut self, seconds: f64) -> Self {
        self.wav_s = seconds;
        self
    }
}

/// Generates the corpus into `dir` (created if needed; existing cases are replaced) with the
/// default [`Options`], and writes `dir/cases.tsv`. Returns the cases in `cases.tsv` order.
///
/// Platform-dependent cases are left out where they cannot be made: off Unix, the symlinks,
/// the FIFO, the non-UTF-8 name and the unreadable file; the FIFO also when `mkfifo` fails
/// (a message on stderr says so).
///
/// # Errors
/// A file cannot be written.
pub fn generate(dir: &Path) -> io::Result<Vec<Case>> {
    generate_with(dir, &Options::default())
}

/// [`generate`] with explicit [`Options`].
///
/// # Errors
/// A file cannot be written.
pub fn generate_with(dir: &Path, opts: &Options) -> io::Result<Vec<Case>> {
    fs::create_dir_all(dir)?;
    let mut c = Corpus {
        dir,
        cases: Vec::new(),
    };
    ok_cases(&mut c, opts)?;
    error_cases(&mut c)?;
    not_audio_cases(&mut c)?;
    let mut tsv = String::from("file\tkind\texpect\n");
    for case in &c.cases {
        tsv.push_str(&format!("{}\t{}\t{}\n", case.file, case.kind, case.expect));
    }
    fs::write(dir.join("cases.tsv"), tsv)?;
    Ok(c.cases)
}

struct Corpus<'a> {
    dir: &'a Path,
    cases: Vec<Case>,
}

impl Corpus<'_> {
    /// The path of `name` in the corpus, with anything already there removed.
    fn fresh(&self, name: impl AsRef<Path>) -> io::Result<PathBuf> {
        let path = self.dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&path)?,
            Ok(_) => fs::remove_file(&path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(path)
    }

    fn add(&mut self, file: &str, path: PathBuf, kind: &str, expect: Expect) {
        self.cases.push(Case {
            file: file.to_string(),
            path,
            kind: kind.to_string(),
            expect,
        });
    }

    /// Writes `bytes` as `name` and adds the case.
    fn bytes(&mut self, name: &str, bytes: &[u8], kind: &str, expect: Expect) -> io::Result<()> {
        let path = self.fresh(name)?;
        fs::write(&path, bytes)?;
        self.add(name, path, kind, expect);
        Ok(())
    }

    /// Writes the chord as a WAV named `name` and adds the case.
    #[allow(clippy::too_many_arguments)]
    fn tone(
        &mut self,
        name: &str,
        rate: u32,
        channels: u16,
        seconds: f64,
        encoding: WavEncoding,
        kind: &str,
        expect: Expect,
    ) -> io::Result<()> {
        let path = self.fresh(name)?;
        write_tone(&path, rate, channels, seconds, encoding)?;
        self.add(name, path, kind, expect);
        Ok(())
    }
}

/// make.sh's `tone`: 220, 330 and 440 Hz at -6 dB, the same in every channel.
fn write_tone(
    path: &Path,
    rate: u32,
    channels: u16,
    seconds: f64,
    encoding: WavEncoding,
) -> io::Result<()> {
    let mono = signal::tones(rate, seconds, &[220.0, 330.0, 440.0], 0.5);
    signal::write_wav(
        path,
        channels,
        rate,
        encoding,
        &signal::to_channels(&mono, channels),
    )
}

fn ok_cases(c: &mut Corpus<'_>, opts: &Options) -> io::Result<()> {
    use Expect::Ok;
    use WavEncoding::{Float32, Int16};
    c.tone("ok_1s.wav", 44_100, 2, 1.0, Int16, "1 s clip", Ok)?;
    c.tone(
        "ok_half_second.wav",
        44_100,
        2,
        0.5,
        Int16,
        "0.5 s, shorter than a tile",
        Ok,
    )?;
    c.tone(
        "ok_8k_mono.wav",
        8000,
        1,
        opts.wav_s,
        Int16,
        "8 kHz mono",
        Ok,
    )?;
    c.bytes(
        "ok_96k_24bit.flac",
        fixtures::FLAC_96K_24BIT_STEREO,
        "96 kHz 24-bit FLAC",
        Ok,
    )?;
    c.tone(
        "ok_float32.wav",
        44_100,
        2,
        opts.wav_s,
        Float32,
        "32-bit float WAV",
        Ok,
    )?;
    c.tone("ok_6ch.wav", 48_000, 6, opts.wav_s, Int16, "6 channels", Ok)?;
    c.bytes(
        "ok_cover_art.mp3",
        fixtures::MP3_COVER_ART,
        "MP3 with ID3v2 and cover image",
        Ok,
    )?;
    c.bytes("ok_vbr.mp3", fixtures::MP3_VBR, "VBR MP3", Ok)?;
    c.bytes("ok_aac.m4a", fixtures::M4A_AAC, "AAC-LC in MP4", Ok)?;
    c.bytes(
        "ok_11k_mono.ogg",
        fixtures::OGG_11K_MONO,
        "Ogg Vorbis mono 11025 Hz",
        Ok,
    )?;
    let wav = |name: &str, channels: u16, x: Vec<f32>| -> io::Result<PathBuf> {
        let path = c.fresh(name)?;
        signal::write_wav_i16(&path, channels, 44_100, &signal::to_channels(&x, channels))?;
        io::Result::Ok(path)
    };
    let silence = wav("ok_silence.wav", 2, signal::silence(44_100, 30.0))?;
    let dc = wav("ok_dc.wav", 1, signal::dc(44_100, 10.0, 0.5))?;
    let square = wav(
        "ok_clipped_square.wav",
        1,
        signal::clipped_square(44_100, 10.0, 100.0),
    )?;
    let noise = signal::interleave(&[
        signal::white_noise(44_100, 10.0, 1.0, 1),
        signal::white_noise(44_100, 10.0, 1.0, 2),
    ]);
    let noise_path = c.fresh("ok_white_noise.wav")?;
    signal::write_wav_i16(&noise_path, 2, 44_100, &noise)?;
    c.add("ok_silence.wav", silence, "30 s of digital silence", Ok);
    c.add("ok_dc.wav", dc, "DC offset only", Ok);
    c.add(
        "ok_clipped_square.wav",
        square,
        "full-scale clipped square",
        Ok,
    );
    c.add("ok_white_noise.wav", noise_path, "white noise", Ok);
    let tmp = c.fresh("tmp_long.mp3")?;
    let seconds = fixtures::long_mp3(&tmp, opts.long_mp3_s)?;
    let minutes = ((seconds / 60.0).round() as u64).max(1);
    let name = format!("ok_{minutes}min.mp3");
    let long = c.fresh(&name)?;
    fs::rename(&tmp, &long)?;
    c.add(&name, long, &format!("{minutes}-minute MP3"), Ok);
    c.tone(
        "ok name with spaces.wav",
        22_050,
        1,
        5.0,
        Int16,
        "spaces in name",
        Ok,
    )?;
    c.bytes(
        "ok_Grieg – Åse's Død.flac",
        fixtures::FLAC_22K_MONO,
        "unicode name",
        Ok,
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"ok_bad_utf8_\xff\xfe.wav");
        let path = c.fresh(name)?;
        write_tone(&path, 22_050, 1, 5.0, Int16)?;
        c.add(
            "ok_bad_utf8_(bytes ff fe).wav",
            path,
            "name that is not UTF-8",
            Ok,
        );
    }
    c.bytes(
        "OK_UPPER.MP3",
        fixtures::MP3_22K_MONO,
        "upper-case extension",
        Ok,
    )?;
    c.bytes(
        "ok_flac_named.mp3",
        fixtures::FLAC_22K_MONO,
        "FLAC content with .mp3 name",
        Ok,
    )?;
    io::Result::Ok(())
}

fn error_cases(c: &mut Corpus<'_>) -> io::Result<()> {
    use Expect::{Error, OkOrError};
    for e in ["mp3", "flac", "wav", "ogg"] {
        c.bytes(&format!("err_empty.{e}"), b"", "zero bytes", Error)?;
    }
    let mut rng = Rng::new(42);
    let silence = [0u8; 4000];
    let crafted: [(&str, Vec<u8>); 6] = [
        ("err_random.mp3", rng.bytes(100_000)),
        ("err_random.flac", rng.bytes(100_000)),
        (
            "err_zero_channels.wav",
            signal::wav_bytes_with_header(0, 44_100, 16, 4000, &silence),
        ),
        (
            "err_zero_rate.wav",
            signal::wav_bytes_with_header(2, 0, 16, 4000, &silence),
        ),
        (
            "err_header_only.wav",
            signal::wav_bytes_with_header(2, 44_100, 16, 0, &[]),
        ),
        (
            "err_claims_more.wav",
            signal::wav_bytes_with_header(2, 44_100, 16, 10_000_000, &silence),
        ),
    ];
    for (name, bytes) in crafted {
        let kind = format!("crafted: {}", name.trim_start_matches("err_"));
        c.bytes(name, &bytes, &kind, Error)?;
    }
    let flac = fixtures::FLAC_44K_STEREO;
    c.bytes(
        "err_truncated_half.flac",
        &flac[..flac.len() / 2],
        "FLAC cut at 50%",
        OkOrError,
    )?;
    c.bytes(
        "err_truncated_1k.flac",
        &flac[..1024],
        "FLAC cut at 1 KB",
        Error,
    )?;
    let mp3 = fixtures::MP3_SINE_128K;
    let frames = mp3::frames(mp3);
    let cut = frames
        .get(frames.len() * 3 / 5)
        .map_or(mp3.len() / 2, |f| f.start + (f.end - f.start) / 2);
    c.bytes(
        "err_truncated_midframe.mp3",
        &mp3[..cut],
        "MP3 cut mid-frame",
        OkOrError,
    )?;
    let mut ogg = fixtures::OGG_44K_STEREO.to_vec();
    let at = ogg.len() * 2 / 5;
    let end = (at + 2000).min(ogg.len());
    for b in &mut ogg[at..end] {
        *b ^= 0xA5;
    }
    c.bytes(
        "err_corrupt_middle.ogg",
        &ogg,
        "Ogg with 2 KB flipped at 40%",
        OkOrError,
    )?;
    c.bytes(
        "err_id3_only.mp3",
        &id3_only(),
        "ID3 tag and no audio",
        Error,
    )?;
    c.bytes(
        "err_text.wav",
        b"this is not audio\n",
        "text named .wav",
        Error,
    )?;
    c.bytes("err_png.flac", &tiny_png(), "PNG named .flac", Error)?;
    c.bytes(
        "err_gzip.ogg",
        &gzip(b"gzip me\n"),
        "gzip named .ogg",
        Error,
    )?;
    Ok(())
}

fn not_audio_cases(c: &mut Corpus<'_>) -> io::Result<()> {
    use Expect::Skip;
    c.bytes("README.txt", b"liner notes\n", "text file", Skip)?;
    const JPEG: [u8; 22] = [
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9,
    ];
    c.bytes("cover.jpg", &JPEG, "JPEG", Skip)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        let (a, b) = (c.fresh("loop_a.mp3")?, c.fresh("loop_b.mp3")?);
        symlink("loop_b.mp3", &a)?;
        symlink("loop_a.mp3", &b)?;
        c.add("loop_a.mp3", a, "symlink loop", Skip);
        let dangling = c.fresh("dangling.flac")?;
        symlink("does_not_exist.flac", &dangling)?;
        c.add("dangling.flac", dangling, "dangling symlink", Skip);
    }
    let album = c.fresh("album.mp3")?;
    fs::create_dir(&album)?;
    c.add("album.mp3", album, "directory named like audio", Skip);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let pipe = c.fresh("pipe.mp3")?;
        match std::process::Command::new("mkfifo").arg(&pipe).status() {
            Ok(s) if s.success() => {
                c.add("pipe.mp3", pipe, "FIFO: reading it blocks forever", Skip)
            }
            other => eprintln!("badinput: mkfifo failed ({other:?}): the FIFO case is left out"),
        }
        let unreadable = c.fresh("unreadable.wav")?;
        write_tone(&unreadable, 22_050, 1, 5.0, WavEncoding::Int16)?;
        fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000))?;
        c.add(
            "unreadable.wav",
            unreadable,
            "no read permission (root can still read it)",
            Expect::OkOrError,
        );
    }
    Ok(())
}

/// An ID3v2.3 tag with one `TIT2` frame ("Test!") and nothing after it.
fn id3_only() -> Vec<u8> {
    let mut body = b"TIT2".to_vec();
    body.extend_from_slice(&6u32.to_be_bytes());
    body.extend_from_slice(b"\x00\x00\x00Test!");
    let size = body.len();
    let mut out = b"ID3\x03\x00\x00".to_vec();
    out.extend([21, 14, 7, 0].map(|s| ((size >> s) & 0x7F) as u8));
    out.extend_from_slice(&body);
    out
}

/// CRC-32 (IEEE, as zlib, PNG and gzip use it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// One stored (uncompressed) deflate block holding `data` (at most 65535 bytes).
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let mut out = vec![0x01];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(&data[..usize::from(len)]);
    out
}

/// A gzip file of `data`.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    out.extend(deflate_stored(data));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A valid 1×1 RGB PNG.
fn tiny_png() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let raw = [0u8, 0xff, 0, 0]; // filter byte, then one red pixel
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(deflate_stored(&raw));
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// make.sh's `cases.tsv`.
    const MAKE_SH: &str = include_str!("../fixtures/make_sh_cases.tsv");

    #[test]
    fn crc32_and_containers_are_right() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let gz = gzip(b"gzip me\n");
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        let png = tiny_png();
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!(png.len(), 8 + 25 + 12 + 15 + 12);
        let id3 = id3_only();
        assert_eq!(mp3::id3v2_len(&id3), id3.len());
    }

    #[test]
    fn the_corpus_has_make_sh_cases_and_outcomes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("corpus");
        let cases = generate(&dir).unwrap();
        // cases.tsv says what the returned cases say, and every case is on disk.
        let tsv = fs::read_to_string(dir.join("cases.tsv")).unwrap();
        let mut lines = tsv.lines();
        assert_eq!(lines.next(), Some("file\tkind\texpect"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), cases.len());
        for (row, case) in rows.iter().zip(&cases) {
            assert_eq!(
                row,
                &[case.file.as_str(), case.kind.as_str(), case.expect.as_str()]
            );
            assert!(
                fs::symlink_metadata(&case.path).is_ok(),
                "{} was not made",
                case.path.display()
            );
        }
        // make.sh's cases, in its order, with its outcomes (the FIFO only where mkfifo works).
        let want: Vec<(&str, Expect)> = MAKE_SH
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[0], cols[2].parse().unwrap())
            })
            .filter(|(f, _)| *f != "pipe.mp3" || cases.iter().any(|c| c.file == *f))
            .collect();
        let got: Vec<(&str, Expect)> = cases.iter().map(|c| (c.file.as_str(), c.expect)).collect();
        assert_eq!(got, want);
        let long = &cases
            .iter()
            .find(|c| c.file == "ok_20min.mp3")
            .unwrap()
            .path;
        let len = fs::metadata(long).unwrap().len();
        assert!((9_000_000..10_500_000).contains(&len), "{len} bytes");
        // Regenerating over an existing corpus works (links, FIFO and directory included).
        assert_eq!(generate(&dir).unwrap(), cases);
    }

    #[test]
    fn a_short_long_mp3_is_named_after_its_minutes() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = Options::default().with_long_mp3_s(100.0).with_wav_s(1.0);
        let cases = generate_with(tmp.path(), &opts).unwrap();
        assert!(
            cases
                .iter()
                .any(|c| c.file == "ok_2min.mp3" && c.kind == "2-minute MP3")
        );
        assert!(!tmp.path().join("tmp_long.mp3").exists());
    }

    #[test]
    fn the_cuts_land_where_they_should() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = Options::default().with_long_mp3_s(1.0).with_wav_s(1.0);
        let cases = generate_with(tmp.path(), &opts).unwrap();
        let read = |name: &str| fs::read(&cases.iter().find(|c| c.file == name).unwrap().path);
        // The 1 KB FLAC holds no complete audio frame (the first one ends past 1 KB).
        let flac = read("err_truncated_1k.flac").unwrap();
        assert_eq!(flac.len(), 1024);
        // Metadata ends at byte 114, where the first frame's sync code is; the next one is
        // past the cut.
        assert_eq!(&fixtures::FLAC_44K_STEREO[114..116], &[0xff, 0xf8]);
        assert!(!flac[116..].windows(2).any(|w| w == [0xff, 0xf8]));
        // The MP3 ends inside a frame.
        let cut = read("err_truncated_midframe.mp3").unwrap();
        let frames = mp3::frames(fixtures::MP3_SINE_128K);
        assert!(
            frames
                .iter()
                .any(|f| f.start < cut.len() && cut.len() < f.end)
        );
        // The WAV headers lie as intended.
        let wav = read("err_claims_more.wav").unwrap();
        assert_eq!(wav.len(), 44 + 4000);
        assert_eq!(&wav[40..44], &10_000_000u32.to_le_bytes());
        assert_eq!(&read("err_zero_rate.wav").unwrap()[24..28], &[0; 4]);
        assert_eq!(&read("err_zero_channels.wav").unwrap()[22..24], &[0; 2]);
        assert_eq!(read("err_header_only.wav").unwrap().len(), 44);
    }
}

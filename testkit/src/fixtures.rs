//! Small compressed audio files made once with sox and ffmpeg (see `fixtures/PROVENANCE.md`
//! for the exact commands), compiled into the crate so that tests need no external tool and no
//! file outside the repository. Formats that pure Rust cannot encode come from here; WAV files
//! are generated ([`crate::signal`]).

use std::io::{self, Write};
use std::path::Path;

use crate::mp3;

macro_rules! fixture {
    ($(#[$doc:meta])* $name:ident, $file:literal) => {
        $(#[$doc])*
        pub const $name: &[u8] = include_bytes!(concat!("../fixtures/", $file));
    };
}

fixture!(
    /// FLAC, 96 kHz, 24-bit, stereo, 1 s of the 220/330/440 Hz chord.
    FLAC_96K_24BIT_STEREO, "tones_96k_24bit_stereo.flac"
);
fixture!(
    /// FLAC, 44.1 kHz, 16-bit, stereo, 3 s of the chord (its first frame starts at byte 114
    /// and ends past 5 KB, so a 1 KB cut holds no complete frame).
    FLAC_44K_STEREO, "tones_44k_stereo.flac"
);
fixture!(
    /// FLAC, 22.05 kHz, 16-bit, mono, 2 s of the chord.
    FLAC_22K_MONO, "tones_22k_mono.flac"
);
fixture!(
    /// Ogg Vorbis, 11025 Hz, mono, 3 s of the chord.
    OGG_11K_MONO, "tones_11k_mono.ogg"
);
fixture!(
    /// Ogg Vorbis, 44.1 kHz, stereo, 4 s of the chord.
    OGG_44K_STEREO, "tones_44k_stereo.ogg"
);
fixture!(
    /// MP3, 48 kHz, 96 kbps CBR, 3 s of 440 Hz, with an ID3v2.3 tag (title, artist) holding a
    /// 600×600 JPEG cover image.
    MP3_COVER_ART, "cover_art.mp3"
);
fixture!(
    /// MP3, 44.1 kHz stereo VBR (LAME `-q:a 4`), 3 s of pink noise.
    MP3_VBR, "vbr_pink_stereo.mp3"
);
fixture!(
    /// MP3, 44.1 kHz stereo, 64 kbps CBR, 5 s of brown noise: bare frames only, with no ID3
    /// tag and no Xing/LAME header frame, so copies of it concatenate into a valid longer
    /// stream ([`long_mp3`]).
    MP3_BARE_BROWN, "brown_64k_stereo_bare.mp3"
);
fixture!(
    /// MP3, 44.1 kHz mono, 128 kbps CBR, 3 s of 440 Hz, as ffmpeg writes it (ID3v2 tag and a
    /// LAME "Info" header frame).
    MP3_SINE_128K, "sine_128k.mp3"
);
fixture!(
    /// MP3, 22.05 kHz mono (MPEG-2 Layer III), 32 kbps, 2 s of the chord.
    MP3_22K_MONO, "tones_22k_mono.mp3"
);
fixture!(
    /// AAC-LC in MP4 (`.m4a`), 44.1 kHz stereo, 64 kbps, 3 s of 330 Hz.
    M4A_AAC, "aac_stereo.m4a"
);

/// Every fixture with its file name.
pub const ALL: &[(&str, &[u8])] = &[
    ("tones_96k_24bit_stereo.flac", FLAC_96K_24BIT_STEREO),
    ("tones_44k_stereo.flac", FLAC_44K_STEREO),
    ("tones_22k_mono.flac", FLAC_22K_MONO),
    ("tones_11k_mono.ogg", OGG_11K_MONO),
    ("tones_44k_stereo.ogg", OGG_44K_STEREO),
    ("cover_art.mp3", MP3_COVER_ART),
    ("vbr_pink_stereo.mp3", MP3_VBR),
    ("brown_64k_stereo_bare.mp3", MP3_BARE_BROWN),
    ("sine_128k.mp3", MP3_SINE_128K),
    ("tones_22k_mono.mp3", MP3_22K_MONO),
    ("aac_stereo.m4a", M4A_AAC),
];

/// Writes an MP3 of at least `min_seconds` to `out`: the frames of [`MP3_BARE_BROWN`] repeated
/// (MPEG audio frames are self-delimiting, so back-to-back copies are one valid stream).
/// Returns the duration written, in seconds.
///
/// # Errors
/// Writing fails.
pub fn write_long_mp3(out: &mut impl Write, min_seconds: f64) -> io::Result<f64> {
    let frames = mp3::frames(MP3_BARE_BROWN);
    let (Some(first), Some(last)) = (frames.first(), frames.last()) else {
        return Err(io::Error::other("the bare MP3 fixture holds no frame"));
    };
    let block = &MP3_BARE_BROWN[first.start..last.end];
    let rate = mp3::frame_rate(block).unwrap_or(44_100);
    let samples = mp3::frame_len(block).map_or(1152, |(_, s)| s);
    let block_s = frames.len() as f64 * f64::from(samples) / f64::from(rate);
    let copies = (min_seconds / block_s).ceil().max(1.0) as usize;
    for _ in 0..copies {
        out.write_all(block)?;
    }
    Ok(copies as f64 * block_s)
}

/// [`write_long_mp3`] into a new file at `path`.
///
/// # Errors
/// The file cannot be written.
pub fn long_mp3(path: &Path, min_seconds: f64) -> io::Result<f64> {
    let mut w = io::BufWriter::new(std::fs::File::create(path)?);
    let s = write_long_mp3(&mut w, min_seconds)?;
    w.flush()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mp3_fixtures_are_walkable_frame_streams() {
        for (name, bytes) in ALL.iter().filter(|(n, _)| n.ends_with(".mp3")) {
            let frames = mp3::frames(bytes);
            assert!(frames.len() > 50, "{name}: {} frames", frames.len());
            let end = frames.last().unwrap().end;
            assert!(
                bytes.len() - end < 256,
                "{name}: {} bytes after the frames",
                bytes.len() - end
            );
        }
        assert_eq!(mp3::id3v2_len(MP3_BARE_BROWN), 0);
        assert_eq!(
            mp3::frames(MP3_BARE_BROWN).last().unwrap().end,
            MP3_BARE_BROWN.len()
        );
    }

    #[test]
    fn a_long_mp3_is_the_bare_frames_repeated() {
        let mut v = Vec::new();
        let s = write_long_mp3(&mut v, 60.0).unwrap();
        assert!((60.0..66.0).contains(&s), "{s}");
        assert_eq!(v.len() % MP3_BARE_BROWN.len(), 0);
        let frames = mp3::frames(&v);
        assert_eq!(frames.last().unwrap().end, v.len());
    }
}

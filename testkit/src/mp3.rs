//! Just enough of the MPEG audio frame header to walk the frames of a Layer III stream: to cut
//! a file in the middle of a frame, or to repeat a short stream's frames into a long one.

use std::ops::Range;

/// The length in bytes and the samples per channel of the MPEG-1/2/2.5 Layer III frame whose
/// 4-byte header starts `bytes`, or `None` if `bytes` does not start with a valid Layer III
/// frame header (free-format bit rate included).
#[must_use]
pub fn frame_len(bytes: &[u8]) -> Option<(usize, u32)> {
    const BITRATES_V1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const BITRATES_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let h = bytes.get(..4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0: MPEG 2.5, 1: reserved, 2: MPEG 2, 3: MPEG 1
    let layer = (h[1] >> 1) & 3; // 1: Layer III
    if version == 1 || layer != 1 {
        return None;
    }
    let bitrate_kbps = match version {
        3 => BITRATES_V1.get(usize::from(h[2] >> 4))?,
        _ => BITRATES_V2.get(usize::from(h[2] >> 4))?,
    };
    let base_rate = [44_100, 48_000, 32_000].get(usize::from((h[2] >> 2) & 3))?;
    if *bitrate_kbps == 0 {
        return None;
    }
    let (rate, coeff, samples) = match version {
        3 => (*base_rate, 144, 1152),
        2 => (base_rate / 2, 72, 576),
        _ => (base_rate / 4, 72, 576),
    };
    let padding = u32::from((h[2] >> 1) & 1);
    let len = coeff * bitrate_kbps * 1000 / rate + padding;
    Some((len as usize, samples))
}

/// The sample rate in Hz of the Layer III frame header at the start of `bytes`.
#[must_use]
pub fn frame_rate(bytes: &[u8]) -> Option<u32> {
    frame_len(bytes)?;
    let base = [44_100, 48_000, 32_000][usize::from((bytes[2] >> 2) & 3)];
    Some(match (bytes[1] >> 3) & 3 {
        3 => base,
        2 => base / 2,
        _ => base / 4,
    })
}

/// The length of the ID3v2 tag at the start of `bytes` (0 if there is none).
#[must_use]
pub fn id3v2_len(bytes: &[u8]) -> usize {
    match bytes.get(..10) {
        Some(h) if &h[..3] == b"ID3" => {
            let size = h[6..10]
                .iter()
                .fold(0usize, |acc, &b| (acc << 7) | usize::from(b & 0x7F));
            let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
            10 + size + footer
        }
        _ => 0,
    }
}

/// The byte ranges of the consecutive Layer III frames after any ID3v2 tag, up to the first
/// thing that is not a complete frame (an ID3v1 tag, garbage, a cut frame).
#[must_use]
pub fn frames(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = id3v2_len(bytes);
    while let Some((len, _)) = bytes.get(at..).and_then(frame_len) {
        if len < 4 || at + len > bytes.len() {
            break;
        }
        out.push(at..at + len);
        at += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_headers() {
        // MPEG-1 Layer III, 128 kbps, 44.1 kHz, no padding: 417 bytes.
        assert_eq!(frame_len(&[0xFF, 0xFB, 0x90, 0x00]), Some((417, 1152)));
        // Same with padding.
        assert_eq!(frame_len(&[0xFF, 0xFB, 0x92, 0x00]), Some((418, 1152)));
        // MPEG-2 Layer III, 32 kbps, 22.05 kHz: 72 * 32000 / 22050 = 104.
        assert_eq!(frame_len(&[0xFF, 0xF3, 0x40, 0x00]), Some((104, 576)));
        assert_eq!(frame_rate(&[0xFF, 0xF3, 0x40, 0x00]), Some(22_050));
        assert_eq!(frame_len(b"ID3\x03"), None);
        assert_eq!(frame_len(&[0xFF, 0xFB]), None);
        assert_eq!(id3v2_len(b"ID3\x03\x00\x00\x00\x00\x01\x01rest"), 10 + 129);
    }
}

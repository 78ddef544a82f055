//! Decoded packets to mono `f32`: the mean of the channels, converted as libsndfile does.

use symphonia::core::audio::conv::FromSample;
use symphonia::core::audio::sample::Sample;
use symphonia::core::audio::{Audio, AudioBuffer, GenericAudioBufferRef};

/// Writes the mean of the channels of `buf` to `mono`, converting samples to f32 as
/// libsndfile does (integers divided by 2^(bits-1), unsigned centred first). Returns the
/// buffer's rate and channel count.
pub(super) fn downmix(buf: &GenericAudioBufferRef<'_>, mono: &mut Vec<f32>) -> (u32, usize) {
    match buf {
        GenericAudioBufferRef::U8(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::U16(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::U24(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::U32(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S8(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S16(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S24(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::S32(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::F32(b) => downmix_planes(b, mono),
        GenericAudioBufferRef::F64(b) => downmix_planes(b, mono),
    }
}

fn downmix_planes<S>(buf: &AudioBuffer<S>, mono: &mut Vec<f32>) -> (u32, usize)
where
    S: Sample,
    f32: FromSample<S>,
{
    let frames = buf.frames();
    let channels = buf.num_planes();
    mono.clear();
    // Sum in channel order in f32, then divide: numpy's `mean(axis=0)` on float32. The first
    // plane is written, not added to zeros (the same values: 0 + x is x), which spares a pass.
    let mut planes = buf.iter_planes();
    if channels == 2 {
        // Stereo, the common case, in one pass: the same sum and the same exact halving.
        if let (Some(a), Some(b)) = (planes.next(), planes.next()) {
            let (a, b) = (&a[..frames.min(a.len())], &b[..frames.min(b.len())]);
            mono.extend(
                a.iter()
                    .zip(b)
                    .map(|(&x, &y)| (f32::from_sample(x) + f32::from_sample(y)) * 0.5),
            );
            mono.resize(frames, 0.0);
        }
        return (buf.spec().rate(), channels);
    }
    if let Some(first) = planes.next() {
        mono.extend(first.iter().take(frames).map(|&s| f32::from_sample(s)));
    }
    mono.resize(frames, 0.0);
    for plane in planes {
        for (m, &s) in mono.iter_mut().zip(plane) {
            *m += f32::from_sample(s);
        }
    }
    if channels > 1 {
        let n = channels as f32;
        if channels.is_power_of_two() {
            // Exact: dividing by a power of two is multiplying by its reciprocal.
            let r = 1.0 / n;
            mono.iter_mut().for_each(|m| *m *= r);
        } else {
            mono.iter_mut().for_each(|m| *m /= n);
        }
    }
    (buf.spec().rate(), channels)
}

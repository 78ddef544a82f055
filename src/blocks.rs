//! The names of the blocks, in one place: what a fusion layout, the pipeline, training and
//! explanations call each part of a track's vector. The model-independent blocks are made by
//! sinks of the member crates, which name them too (`TimbreSink::name`,
//! `Descriptors::block_dims`); a test checks that the names agree.

/// The tile autoencoder's block: mean and std over the track of its latent.
pub const TILES: &str = "tiles";
/// Mean and std of 20 MFCCs.
pub const TIMBRE: &str = "timbre";
/// Key on the circle of fifths and mode.
pub const KEY: &str = "key";
/// Tempo on a log scale, folded and raw, with confidence.
pub const TEMPO: &str = "tempo";
/// Spectral roll-off on a log-frequency scale, mean and spread.
pub const ROLLOFF: &str = "rolloff";
/// The pretrained artist encoder's segment embeddings, pooled over the track.
pub const ARTIST: &str = "artist";

/// The names of the blocks a pipeline produces, in the order models lay them out, and what
/// each holds.
pub const BLOCKS: [(&str, &str); 6] = [
    (
        TILES,
        "mean and std over the track of the tile autoencoder's latent",
    ),
    (TIMBRE, "mean and std of 20 MFCCs"),
    (KEY, "key on the circle of fifths (sin, cos) and mode"),
    (
        TEMPO,
        "tempo on a log scale, folded and raw, with confidence",
    ),
    (
        ROLLOFF,
        "spectral roll-off on a log-frequency scale, mean and spread",
    ),
    (
        ARTIST,
        "the pretrained artist encoder's segment embeddings, pooled over the track",
    ),
];

/// The name of the published design's descriptor block: `[roll-off Hz, tempo BPM, key label
/// 0..=23]` ([`sonority_fusion::published_descriptors`]), made only for a layout that names it
/// (the published preset's ÷255 fusion, [`Fusion::published_design_named`](sonority_fusion::Fusion::published_design_named)).
pub const PUBLISHED_DESCRIPTORS: &str = "descriptors";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AnalysisSettings;

    /// The member crates' sinks name their blocks as these constants do, in `BLOCKS` order.
    #[test]
    fn the_sinks_name_their_blocks_as_the_constants_do() {
        let made: Vec<&str> = AnalysisSettings::default()
            .fixed_block_dims()
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(made, [TIMBRE, KEY, TEMPO, ROLLOFF, PUBLISHED_DESCRIPTORS]);
        let names: Vec<&str> = BLOCKS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, [TILES, TIMBRE, KEY, TEMPO, ROLLOFF, ARTIST]);
    }
}

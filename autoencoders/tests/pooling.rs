//! Track encoding.

use sonority_autoencoders::{
    ConvAeConfig, ConvAutoencoder, Encoder, LastTile, PoolConfig, TrackEncoder, TrackPooling,
};

#[test]
fn track_vector_is_mean_and_std_of_tile_vectors() -> anyhow::Result<()> {
    let cfg = ConvAeConfig::default()
        .with_rows(8)
        .with_cols(16)
        .with_channels(vec![8, 4]);
    let model = ConvAutoencoder::seeded(&cfg, 1)?;
    let frames = 40;
    let mel: Vec<f32> = (0..8 * frames)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 6.0)
        .collect();
    let enc = TrackEncoder::new(model.clone(), PoolConfig::default());
    let v = enc.encode(&mel, [8, frames])?;
    // Tiles at 0, 16 and 24 (aligned to the end).
    let tile = |s: usize| -> Vec<f32> {
        (0..8)
            .flat_map(|r| mel[r * frames + s..r * frames + s + 16].to_vec())
            .collect()
    };
    let t: Vec<Vec<f32>> = [0, 16, 24]
        .iter()
        .map(|&s| model.encode(&tile(s), [8, 16]))
        .collect::<Result<_, _>>()?;
    let d = model.output_dim();
    for j in 0..d {
        let m = (t[0][j] + t[1][j] + t[2][j]) / 3.0;
        let s = (t.iter().map(|x| (x[j] - m).powi(2)).sum::<f32>() / 3.0).sqrt();
        assert!((v[j] - m).abs() < 1e-5 && (v[d + j] - s).abs() < 1e-5);
    }
    // Short tracks are padded; a wrong band count is an error.
    let short = enc.encode(&mel[..8 * 5], [8, 5])?;
    assert!(short.iter().all(|x| x.is_finite()) && short[d..].iter().all(|&x| x == 0.0));
    assert!(enc.encode(&mel, [4, 2 * frames]).is_err());
    let mean_only = TrackEncoder::new(
        model,
        PoolConfig::default()
            .with_pooling(TrackPooling::Mean)
            .with_last_tile(LastTile::Drop),
    );
    assert_eq!(mean_only.output_dim(), d);
    Ok(())
}

//! Saving and loading.

use sonority_autoencoders::{
    ConvAeConfig, ConvAutoencoder, Encoder, Error, TrainConfig, train_tiles,
};

fn bits(m: &ConvAutoencoder) -> Vec<(String, Vec<u32>)> {
    m.named_params()
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .map(|x| x.to_bits())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn saving_twice_writes_the_same_bytes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut model = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 7)?;
    model
        .metadata_mut()
        .insert("note".into(), serde_json::json!({"b": 1, "a": 2}));
    // The safetensors metadata comes from a HashMap, whose order differs from map to map: with
    // two keys, eight saves would agree by chance once in 128 if the order leaked through.
    let mut files = Vec::new();
    for i in 0..8 {
        // Same file name in another folder: the JSON names its weights file.
        let sub = dir.path().join(format!("{i}"));
        std::fs::create_dir(&sub)?;
        let stem = sub.join("m");
        model.save(&stem)?;
        files.push((
            std::fs::read(stem.with_extension("safetensors"))?,
            std::fs::read(stem.with_extension("json"))?,
        ));
    }
    assert!(files.windows(2).all(|w| w[0] == w[1]));
    // Still a valid safetensors file that loads bit-exactly, header padded to 8 bytes.
    let (weights, _) = &files[0];
    let n = u64::from_le_bytes(weights[..8].try_into()?) as usize;
    assert_eq!(n % 8, 0);
    let header: serde_json::Value = serde_json::from_slice(&weights[8..8 + n])?;
    assert_eq!(header["__metadata__"]["format"], "sonority-autoencoder");
    let back = ConvAutoencoder::load(dir.path().join("0").join("m.json"))?;
    assert_eq!(bits(&back), bits(&model));
    Ok(())
}

#[test]
fn round_trip_is_bit_exact_with_provenance() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cfg = ConvAeConfig::default()
        .with_rows(8)
        .with_cols(16)
        .with_channels(vec![8, 4]);
    let (tracks, _) = crate::testutil::toy_tracks(2, 3, 8, 30, 1);
    let tcfg = TrainConfig::default()
        .with_max_epochs(2)
        .with_batch_size(4)
        .with_data_description("toy".into());
    let mut model = train_tiles(&cfg, &tcfg, &tracks, |_| true)?.model;
    model
        .metadata_mut()
        .insert("fusion_weights".into(), serde_json::json!([1.0, 0.5]));
    model.save(dir.path().join("m"))?;
    let back = ConvAutoencoder::load(dir.path().join("m.safetensors"))?;
    assert_eq!(bits(&model), bits(&back));
    assert_eq!(back.config(), &cfg);
    assert_eq!(back.provenance(), model.provenance());
    assert_eq!(back.provenance().map(|p| p.data.as_str()), Some("toy"));
    assert_eq!(back.metadata(), model.metadata());
    let x: Vec<f32> = (0..128).map(|i| (i as f32).cos()).collect();
    // The loaded model (plain tensors) encodes through the inference path, exactly as the
    // trained one does once frozen; the trained one itself (trainable variables) through the
    // tensor path, the same to rounding.
    let loaded = back.encode(&x, [8, 16])?;
    assert_eq!(model.frozen()?.encode(&x, [8, 16])?, loaded);
    for (a, b) in model.encode(&x, [8, 16])?.iter().zip(&loaded) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
    }
    // A loaded model can be trained further; the original is untouched.
    let tuned = sonority_autoencoders::fine_tune_tiles(&back, &tcfg, &tracks, |_| true)?.model;
    assert_ne!(bits(&tuned), bits(&back));
    assert_eq!(bits(&model), bits(&back));
    Ok(())
}

#[test]
fn bad_files_give_typed_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("m");
    let model = ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 0)?;
    model.save(&p)?;
    let json = std::fs::read_to_string(p.with_extension("json"))?;
    let weights = std::fs::read(p.with_extension("safetensors"))?;

    assert!(matches!(
        ConvAutoencoder::load(dir.path().join("nothing")),
        Err(Error::Io { .. })
    ));

    let newer = json.replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(p.with_extension("json"), newer)?;
    assert!(matches!(
        ConvAutoencoder::load(&p),
        Err(Error::UnsupportedVersion { found: 99, .. })
    ));

    for garbage in [
        "",
        "{",
        "[]",
        "{\"format\": \"other\"}",
        "{\"format\": \"sonority-autoencoder\", \"format_version\": 1}",
    ] {
        std::fs::write(p.with_extension("json"), garbage)?;
        assert!(
            matches!(ConvAutoencoder::load(&p), Err(Error::Format { .. })),
            "{garbage}"
        );
    }

    // A config that does not match the weights.
    let other = json.replacen("64,", "60,", 1);
    assert_ne!(other, json);
    std::fs::write(p.with_extension("json"), other)?;
    let r = ConvAutoencoder::load(&p);
    assert!(matches!(r, Err(Error::ShapeMismatch { .. })), "{r:?}");
    std::fs::write(p.with_extension("json"), &json)?;

    for cut in [0, 7, 100, weights.len() / 2, weights.len() - 1] {
        std::fs::write(p.with_extension("safetensors"), &weights[..cut])?;
        assert!(
            matches!(ConvAutoencoder::load(&p), Err(Error::Format { .. })),
            "cut at {cut}"
        );
    }
    let mut noise = weights.clone();
    for (i, b) in noise.iter_mut().enumerate().take(64) {
        *b = (i * 37 % 251) as u8;
    }
    std::fs::write(p.with_extension("safetensors"), &noise)?;
    assert!(ConvAutoencoder::load(&p).is_err());
    std::fs::write(p.with_extension("safetensors"), &weights)?;
    assert!(ConvAutoencoder::load(&p).is_ok());
    Ok(())
}

#[test]
fn random_corruption_never_panics() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let p = dir.path().join("m");
    ConvAutoencoder::seeded(&ConvAeConfig::published_1d(), 0)?.save(&p)?;
    let json = std::fs::read(p.with_extension("json"))?;
    let weights = std::fs::read(p.with_extension("safetensors"))?;
    let mut rng = crate::testutil::Lcg(77);
    for round in 0..200 {
        let (mut j, mut w) = (json.clone(), weights.clone());
        let target = if round % 2 == 0 { &mut j } else { &mut w };
        // Flip a few bytes, mostly in the headers where parsing happens.
        for _ in 0..1 + round % 4 {
            let span = if round % 3 == 0 {
                target.len()
            } else {
                target.len().min(200)
            };
            let i = ((rng.next_f32() + 1.0) * 0.5 * span as f32) as usize % span;
            target[i] = ((rng.next_f32() + 1.0) * 127.0) as u8;
        }
        std::fs::write(p.with_extension("json"), &j)?;
        std::fs::write(p.with_extension("safetensors"), &w)?;
        // Either a typed error or a model that still encodes to finite values.
        if let Ok(m) = ConvAutoencoder::load(&p)
            && let Ok(v) = m.encode(&[0.5; 67], [1, 67])
        {
            assert!(v.iter().all(|x| x.is_finite()));
        }
    }
    Ok(())
}

//! Fusion: layout, standardisation, weights, the published preset and its failure.

use sonority_fusion::{
    BlockScaling, BlockSpec, Error, Fusion, Key, Mode, Standardization, encode_key, encode_tempo,
    published_descriptors,
};

use crate::testutil::Rng;

const LATENT: usize = 16;

/// A synthetic set: 4 classes. The latent and the key carry the class; tempo is noise-like;
/// roll-off varies widely (500 Hz to 10 kHz) and independently of the class.
fn synthetic(n: usize) -> Vec<(usize, Vec<f32>, Key, f32, f32)> {
    let mut rng = Rng::new(2024);
    (0..n)
        .map(|i| {
            let class = i % 4;
            let latent: Vec<f32> = (0..LATENT)
                .map(|d| if d % 4 == class { 1.0 } else { 0.0 } + 0.2 * rng.uniform(-1.0, 1.0))
                .collect();
            let key = Key::new([0u8, 7, 2, 9][class], Mode::Major);
            let tempo = 120.0 * 2f32.powf(0.4 * rng.uniform(-1.0, 1.0));
            let rolloff = 500.0 * 20f32.powf(0.5 + 0.5 * rng.uniform(-1.0, 1.0));
            (class, latent, key, tempo, rolloff)
        })
        .collect()
}

#[test]
fn published_preset_is_dominated_by_rolloff_and_standardised_fusion_is_not() -> anyhow::Result<()> {
    let set = synthetic(200);
    // The published design: latent + [roll-off Hz, tempo BPM, key label], all / 255.
    let published = Fusion::published_design(LATENT)?;
    let pub_vecs: Vec<Vec<f32>> = set
        .iter()
        .map(|(_, l, k, t, r)| published.fuse(&[l, &published_descriptors(*r, *t, *k)]))
        .collect::<Result<_, _>>()?;
    // Split the published descriptor block to see roll-off alone: share of the whole variance.
    let d = published.dim();
    let var = |j: usize| {
        let m = pub_vecs.iter().map(|v| v[j]).sum::<f32>() / pub_vecs.len() as f32;
        pub_vecs.iter().map(|v| (v[j] - m).powi(2)).sum::<f32>()
    };
    let total: f32 = (0..d).map(var).sum();
    let rolloff_share = var(LATENT) / total;
    assert!(
        rolloff_share > 0.99,
        "roll-off share in the published preset: {rolloff_share}"
    );

    // The standardised fusion with meaningful encodings.
    let mut fusion = Fusion::new(
        vec![
            BlockSpec::new("latent", LATENT),
            BlockSpec::new("key", 3).with_scaling(BlockScaling::Pooled),
            BlockSpec::new("tempo", 4),
            BlockSpec::new("rolloff", 1),
        ],
        Standardization::MeanStd,
    )?;
    let raws: Vec<Vec<f32>> = set
        .iter()
        .map(|(_, l, k, t, r)| {
            fusion.concat(&[
                l,
                &encode_key(*k, 1.0),
                &encode_tempo(*t, 0.8),
                &[(r / 1000.0).log2()],
            ])
        })
        .collect::<Result<_, _>>()?;
    fusion.fit(&raws)?;
    let vecs: Vec<Vec<f32>> = raws
        .iter()
        .map(|r| fusion.fuse_raw(r))
        .collect::<Result<_, _>>()?;
    let shares = fusion.layout().variance_shares(&vecs)?;
    for (name, share) in &shares {
        // Four blocks with weight 1 each get about a quarter of the variance.
        assert!(
            (0.15..0.35).contains(share),
            "{name}: {share} in {shares:?}"
        );
    }

    // And the class is recoverable by cosine nearest neighbour in the fused vectors, not in the
    // published ones.
    let nn_accuracy = |v: &[Vec<f32>]| {
        let cos = |a: &[f32], b: &[f32]| {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
                * b.iter().map(|x| x * x).sum::<f32>().sqrt())
        };
        let mut hits = 0;
        for i in 0..v.len() {
            let best = (0..v.len())
                .filter(|&j| j != i)
                .max_by(|&a, &b| cos(&v[i], &v[a]).total_cmp(&cos(&v[i], &v[b])));
            hits += usize::from(best.is_some_and(|j| set[j].0 == set[i].0));
        }
        hits as f32 / v.len() as f32
    };
    let (ours, theirs) = (nn_accuracy(&vecs), nn_accuracy(&pub_vecs));
    assert!(
        ours >= 0.95 && theirs < ours - 0.2,
        "nn accuracy: standardised {ours}, published {theirs}"
    );
    Ok(())
}

#[test]
fn weights_scale_a_blocks_share() -> anyhow::Result<()> {
    let mut rng = Rng::new(5);
    let mut f = Fusion::new(
        vec![BlockSpec::new("a", 8), BlockSpec::new("b", 2)],
        Standardization::MedianIqr,
    )?;
    let raws: Vec<Vec<f32>> = (0..300)
        .map(|_| {
            (0..10)
                .map(|j| rng.uniform(-1.0, 1.0) * (1 + j) as f32 * 100.0)
                .collect()
        })
        .collect();
    f.fit(&raws)?;
    let share_a = |f: &Fusion| -> anyhow::Result<f32> {
        let v: Vec<Vec<f32>> = raws
            .iter()
            .map(|r| f.fuse_raw(r))
            .collect::<Result<_, _>>()?;
        Ok(f.layout().variance_shares(&v)?[0].1)
    };
    let equal = share_a(&f)?;
    assert!((equal - 0.5).abs() < 0.08, "{equal}");
    f.set_weight("b", 2.0)?;
    let weighted = share_a(&f)?;
    // w² = 4 for b: a's share about 1/5.
    assert!((weighted - 0.2).abs() < 0.05, "{weighted}");
    assert_eq!(f.layout().block("b").map(|b| b.weight), Some(2.0));
    assert!(matches!(
        f.set_weight("c", 1.0),
        Err(Error::UnknownBlock { .. })
    ));
    assert!(f.set_weight("a", f32::NAN).is_err());
    Ok(())
}

#[test]
fn published_design_is_exact() -> anyhow::Result<()> {
    let f = Fusion::published_design(2)?;
    let key = Key::new(9, Mode::Minor);
    let v = f.fuse(&[&[51.0, 255.0], &published_descriptors(5100.0, 127.5, key)])?;
    assert_eq!(v, [51.0 / 255.0, 1.0, 5100.0 / 255.0, 0.5, 21.0 / 255.0]);
    assert_eq!(key.label(), 21);
    Ok(())
}

#[test]
fn errors_for_bad_blocks_and_values() -> anyhow::Result<()> {
    let mut f = Fusion::new(
        vec![BlockSpec::new("a", 2), BlockSpec::new("b", 1)],
        Standardization::MeanStd,
    )?;
    assert!(matches!(
        f.fuse(&[&[1.0, 2.0], &[3.0]]),
        Err(Error::NotFitted { .. })
    ));
    f.fit(&[vec![0.0, 0.0, 0.0], vec![1.0, 2.0, 3.0]])?;
    assert!(matches!(
        f.fuse(&[&[1.0], &[3.0]]),
        Err(Error::BlockSize {
            expected: 2,
            actual: 1,
            ..
        })
    ));
    assert!(matches!(
        f.fuse(&[&[1.0, 2.0]]),
        Err(Error::BlockSize { .. })
    ));
    assert!(matches!(
        f.fuse(&[&[1.0, f32::NAN], &[3.0]]),
        Err(Error::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        f.fuse_raw(&[1.0, 2.0, f32::INFINITY]),
        Err(Error::NonFinite { .. })
    ));
    assert!(f.fit(&[vec![f32::NAN, 0.0, 0.0]]).is_err());
    assert!(f.fit::<Vec<f32>>(&[]).is_err());
    assert!(
        Fusion::new(
            vec![BlockSpec::new("a", 1), BlockSpec::new("a", 2)],
            Standardization::None
        )
        .is_err()
    );
    assert!(Fusion::new(vec![BlockSpec::new("a", 0)], Standardization::None).is_err());
    // A constant dimension is centred, not divided by zero.
    let v = f.fuse_raw(&[0.5, 1.0, 1.5])?;
    assert!(v.iter().all(|x| x.is_finite()));
    Ok(())
}

#[test]
fn json_round_trip_and_validation() -> anyhow::Result<()> {
    let mut f = Fusion::new(
        vec![
            BlockSpec::new("latent", 3),
            BlockSpec::new("key", 3).with_scaling(BlockScaling::Pooled),
        ],
        Standardization::MeanStd,
    )?;
    f.fit(&[
        vec![0.0, 1.0, 2.0, 0.1, 0.2, 0.3],
        vec![1.0, 3.0, 2.5, -0.1, 0.0, 0.9],
    ])?;
    f.set_weight("key", 0.5)?;
    let dir = tempfile_dir()?;
    let path = dir.join("fusion.json");
    f.save(&path)?;
    let g = Fusion::load(&path)?;
    assert_eq!(f, g);
    let raw = [0.5, 2.0, 2.2, 0.0, 0.1, 0.5];
    assert_eq!(f.fuse_raw(&raw)?, g.fuse_raw(&raw)?);
    // Tampered statistics are refused.
    let bad = f
        .to_json()?
        .replacen("\"center\": [", "\"center\": [1.0, ", 1);
    assert!(Fusion::from_json(&bad).is_err());
    assert!(Fusion::from_json("{").is_err());
    assert!(matches!(
        Fusion::load(dir.join("missing.json")),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("sonority-fusion-test-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

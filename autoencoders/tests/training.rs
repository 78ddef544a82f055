//! Training: loss falls below the mean predictor, contrastive term, determinism, stopping.

use crate::testutil::toy_tracks;
use sonority_autoencoders::{
    Autoencoder, ContrastiveConfig, ConvAeConfig, Encoder, OptimizerConfig, Progress, ProgressKind,
    StopReason, Tensor, TrainConfig, train_tiles, train_vectors,
};

fn small_cfg() -> ConvAeConfig {
    ConvAeConfig::default()
        .with_rows(16)
        .with_cols(32)
        .with_channels(vec![16, 8])
}

/// Mean squared error of predicting every value by its per-position mean over the batch.
fn mean_predictor_mse(x: &[f32], n: usize) -> f64 {
    let len = x.len() / n;
    let mut mse = 0.0;
    for j in 0..len {
        let m: f64 = (0..n).map(|i| f64::from(x[i * len + j])).sum::<f64>() / n as f64;
        mse += (0..n)
            .map(|i| (f64::from(x[i * len + j]) - m).powi(2))
            .sum::<f64>();
    }
    mse / x.len() as f64
}

#[test]
fn training_beats_the_mean_predictor_by_far() -> anyhow::Result<()> {
    let cfg = small_cfg();
    let (tracks, _) = toy_tracks(4, 6, 16, 96, 1);
    let tcfg = TrainConfig::default()
        .with_seed(3)
        .with_max_epochs(60)
        .with_batch_size(8)
        .with_samples_per_track(2)
        .with_optimizer(OptimizerConfig::adamw(3e-3))
        .with_contrastive(ContrastiveConfig::default().with_weight(0.0))
        .with_validation_fraction(0.0);
    let trained = train_tiles(&cfg, &tcfg, &tracks, |_| true)?;
    // Fresh tiles from every track.
    let mut x = Vec::new();
    for t in &tracks {
        for start in [5usize, 40] {
            for r in 0..16 {
                x.extend_from_slice(&t.as_slice()[r * 96 + start..r * 96 + start + 32]);
            }
        }
    }
    let n = 2 * tracks.len();
    let baseline = mean_predictor_mse(&x, n);
    let xt = Tensor::from_vec(x, (n, 16, 32), &sonority_autoencoders::Device::Cpu)?;
    let loss = trained.model.loss(&xt)?.to_scalar::<f32>()? as f64;
    assert!(
        loss < 0.25 * baseline,
        "loss {loss} vs mean predictor {baseline}"
    );
    Ok(())
}

#[test]
fn contrastive_loss_falls_and_groups_tracks_by_source() -> anyhow::Result<()> {
    let cfg = small_cfg();
    let (tracks, labels) = toy_tracks(4, 6, 16, 96, 2);
    let tcfg = TrainConfig::default()
        .with_seed(5)
        .with_max_epochs(40)
        .with_batch_size(16)
        .with_optimizer(OptimizerConfig::adamw(3e-3))
        .with_contrastive(ContrastiveConfig::default().with_weight(1.0))
        .with_validation_fraction(0.0);
    let mut nce = Vec::new();
    let trained = train_tiles(&cfg, &tcfg, &tracks, |p: &Progress| {
        if p.kind == ProgressKind::Step {
            nce.push(p.contrastive_loss);
        }
        true
    })?;
    let head: f64 = nce[..5].iter().sum::<f64>() / 5.0;
    let tail: f64 = nce[nce.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(tail < 0.7 * head, "contrastive loss {head} -> {tail}");
    // Nearest neighbour by track vector (cosine) is from the same source for most tracks.
    // Track vector: the mean over the track's whole tiles of their vectors.
    let model = &trained.model;
    let [rows, width] = model.input_shape();
    let vecs: Vec<Vec<f32>> = tracks
        .iter()
        .map(|t| {
            let n = t.cols() / width;
            let x = t.as_slice();
            let tiles: Vec<f32> = (0..n)
                .flat_map(|k| {
                    (0..rows).flat_map(move |r| {
                        x[r * t.cols() + k * width..r * t.cols() + (k + 1) * width]
                            .iter()
                            .copied()
                    })
                })
                .collect();
            let v = model.encode_batch(&tiles, n, [rows, width])?;
            let d = model.output_dim();
            Ok((0..d)
                .map(|j| v.chunks_exact(d).map(|row| row[j]).sum::<f32>() / n as f32)
                .collect())
        })
        .collect::<anyhow::Result<_>>()?;
    let cos = |a: &[f32], b: &[f32]| {
        let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        d / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
            * b.iter().map(|x| x * x).sum::<f32>().sqrt())
    };
    let mut hits = 0;
    for i in 0..vecs.len() {
        let nn = (0..vecs.len())
            .filter(|&j| j != i)
            .max_by(|&a, &b| cos(&vecs[i], &vecs[a]).total_cmp(&cos(&vecs[i], &vecs[b])));
        hits += usize::from(nn.map(|j| labels[j]) == Some(labels[i]));
    }
    assert!(
        hits * 10 >= vecs.len() * 8,
        "{hits}/{} nearest neighbours share the source",
        vecs.len()
    );
    Ok(())
}

#[test]
fn same_seed_gives_identical_weights_and_another_seed_does_not() -> anyhow::Result<()> {
    let cfg = small_cfg();
    let (tracks, _) = toy_tracks(3, 4, 16, 70, 3);
    let tcfg = TrainConfig::default()
        .with_seed(11)
        .with_max_epochs(3)
        .with_batch_size(8)
        .with_augment(
            sonority_autoencoders::Augment::default()
                .with_gain(0.1)
                .with_noise(0.05)
                .with_time_shift(2),
        );
    let weights = |tcfg: &TrainConfig| -> anyhow::Result<Vec<Vec<f32>>> {
        let m = train_tiles(&cfg, tcfg, &tracks, |_| true)?.model;
        Ok(m.named_params()
            .iter()
            .map(|(_, t)| t.flatten_all()?.to_vec1::<f32>())
            .collect::<Result<_, _>>()?)
    };
    let a = weights(&tcfg)?;
    let b = weights(&tcfg)?;
    assert!(
        a.iter()
            .zip(&b)
            .all(|(x, y)| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()))
    );
    let c = weights(&tcfg.clone().with_seed(12))?;
    assert_ne!(a, c);
    Ok(())
}

#[test]
fn time_budget_callback_and_early_stopping_stop_training() -> anyhow::Result<()> {
    let cfg = small_cfg();
    let (tracks, _) = toy_tracks(2, 5, 16, 40, 4);
    let base = TrainConfig::default()
        .with_batch_size(4)
        .with_max_epochs(50);
    let t = train_tiles(
        &cfg,
        &base.clone().with_time_budget_s(Some(0.0)),
        &tracks,
        |_| true,
    )?;
    assert_eq!(
        (t.provenance.stop_reason, t.provenance.steps),
        (StopReason::TimeBudget, 1)
    );
    let t = train_tiles(&cfg, &base, &tracks, |p: &Progress| p.step < 3)?;
    assert_eq!(
        (t.provenance.stop_reason, t.provenance.steps),
        (StopReason::Callback, 3)
    );
    // A learning rate of 0 never improves on the first epoch's validation loss.
    let frozen = base
        .clone()
        .with_optimizer(OptimizerConfig::adamw(0.0))
        .with_patience(Some(2));
    let t = train_tiles(&cfg, &frozen, &tracks, |_| true)?;
    assert_eq!(
        (t.provenance.stop_reason, t.provenance.epochs),
        (StopReason::EarlyStopping, 3)
    );
    assert_eq!(t.provenance.best_epoch, 0);
    Ok(())
}

#[test]
fn fused_vector_training_reduces_the_loss() -> anyhow::Result<()> {
    // Rows of a rank-2 matrix: the published 1-D preset can learn them.
    let (n, d) = (256, 67);
    let mut rng = crate::testutil::Lcg(9);
    let mut data = Vec::with_capacity(n * d);
    for _ in 0..n {
        let (a, b) = (rng.next_f32(), rng.next_f32());
        data.extend((0..d).map(|j| a * (j as f32 * 0.2).sin() + b * (j as f32 * 0.05).cos()));
    }
    let cfg = ConvAeConfig::published_1d();
    let tcfg = TrainConfig::default()
        .with_max_epochs(20)
        .with_batch_size(16)
        .with_optimizer(OptimizerConfig::adamw(3e-3))
        .with_seed(2);
    let t = train_vectors(&cfg, &tcfg, &data, n, |_| true)?;
    let h = &t.provenance.history;
    let (first, best) = (
        h[0].val_loss.unwrap_or(f64::NAN),
        h.iter()
            .filter_map(|e| e.val_loss)
            .fold(f64::INFINITY, f64::min),
    );
    assert!(best < 0.8 * first, "{first} -> {best}");
    assert_eq!(t.model.output_dim(), 8);
    Ok(())
}

#[test]
fn adadelta_reduces_the_loss() -> anyhow::Result<()> {
    let (tracks, _) = toy_tracks(4, 4, 16, 96, 1);
    let tcfg = TrainConfig::default()
        .with_seed(3)
        .with_max_epochs(30)
        .with_batch_size(8)
        .with_samples_per_track(2)
        .with_optimizer(OptimizerConfig::adadelta())
        .with_contrastive(ContrastiveConfig::default().with_weight(0.0))
        .with_validation_fraction(0.0);
    let t = train_tiles(&small_cfg(), &tcfg, &tracks, |_| true)?;
    let h = &t.provenance.history;
    let (first, last) = (h[0].train_loss, h[h.len() - 1].train_loss);
    assert!(last < 0.7 * first, "{first} -> {last}");
    Ok(())
}

#[test]
fn invalid_training_input_is_rejected() {
    let cfg = small_cfg();
    let (tracks, _) = toy_tracks(1, 1, 16, 40, 4);
    assert!(train_tiles(&cfg, &TrainConfig::default(), &tracks, |_| true).is_err());
    let (tracks, _) = toy_tracks(2, 2, 16, 40, 4);
    assert!(
        train_tiles(
            &cfg.clone().with_rows(8),
            &TrainConfig::default(),
            &tracks,
            |_| true
        )
        .is_err()
    );
    let bad = TrainConfig::default().with_batch_size(1);
    assert!(train_tiles(&cfg, &bad, &tracks, |_| true).is_err());
    assert!(
        train_vectors(
            &ConvAeConfig::published_1d(),
            &TrainConfig::default(),
            &[0.0; 66],
            1,
            |_| true
        )
        .is_err()
    );
}

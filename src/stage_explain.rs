//! "Why is this close" when the final vector is a learned latent: the cosine lost when each
//! block is neutralised before the final stage.
//!
//! With the fused vector as the final vector, a cosine splits exactly into per-block parts
//! (`sonority_similarity::explain`). After a second autoencoder it does not: the latent mixes
//! the blocks. What stays meaningful is an ablation: set one block of **both** tracks' fused
//! vectors to zero, which for the standardised fusion is the training set's average (the block
//! then says nothing about either track), run both through the final stage again and see how
//! much of their cosine is lost. A block with a large loss is one the stage relied on to find
//! the pair close; a negative loss means that block pushed them apart. The losses do not sum
//! to the cosine (the stage is not linear), and they cost one extra pass through the stage per
//! block and track (microseconds for the fused-vector autoencoders).

use crate::model::{Model, StageContribution};
use crate::pipeline::final_stage;
use crate::{Error, Result};

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x) * f64::from(x);
        bb += f64::from(y) * f64::from(y);
    }
    if aa > 0.0 && bb > 0.0 {
        (ab / (aa.sqrt() * bb.sqrt())) as f32
    } else {
        0.0
    }
}

impl Model {
    /// The cosine of two tracks' final vectors, and for each block of the fusion layout the
    /// cosine lost when that block is neutralised (set to zero in the fused vector: the
    /// training average, for standardised blocks) in both tracks before the final stage.
    /// Works for every final stage; for [`FinalStage::Fused`](crate::model::FinalStage::Fused) a
    /// block's loss is its exact share when the other blocks do not change the norms much.
    ///
    /// `query` and `row` are the tracks' raw blocks by name, as
    /// [`TrackAnalysis::blocks`](crate::TrackAnalysis::blocks) gives them.
    ///
    /// # Errors
    /// A layout block missing or of the wrong length (naming it), non-finite values, model
    /// errors.
    pub fn explain_stage(
        &self,
        query: &[(&str, &[f32])],
        row: &[(&str, &[f32])],
    ) -> Result<(f32, Vec<StageContribution>)> {
        self.explain_fused(&self.fused_vector(query)?, &self.fused_vector(row)?)
    }

    /// As [`explain_stage`](Self::explain_stage), from the two tracks' fused vectors (before
    /// the final stage, as [`fused_vector`](Self::fused_vector) makes them): what a
    /// [`Library`](crate::Library) stores beside the final vector of a model with a learned
    /// stage, so that recommendations explain themselves without analysing the tracks again.
    ///
    /// # Errors
    /// A vector whose length is not the fusion's, non-finite values, model errors.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let model = sonority::Model::load_default()?;
    /// let n = model.fusion.dim();
    /// let a: Vec<f32> = (0..n).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
    /// let b: Vec<f32> = (0..n).map(|i| ((i * 3) % 4) as f32 - 1.5).collect();
    /// let (cosine, parts) = model.explain_fused(&a, &b)?;
    /// assert!(cosine.abs() <= 1.0 + 1e-6);
    /// for p in &parts {
    ///     println!("{}: {:+.3} of the cosine lost without it", p.block, p.cosine_lost);
    /// }
    /// // A vector of another length is an error, not a panic.
    /// assert!(model.explain_fused(&a[1..], &b).is_err());
    /// # Ok(()) }
    /// ```
    pub fn explain_fused(
        &self,
        query: &[f32],
        row: &[f32],
    ) -> Result<(f32, Vec<StageContribution>)> {
        let dim = self.fusion.dim();
        for (what, v) in [("query", query), ("row", row)] {
            if v.len() != dim {
                return Err(Error::Model {
                    reason: format!(
                        "the {what}'s fused vector has {} values, the model's fusion {dim}",
                        v.len()
                    ),
                });
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::Model {
                    reason: format!("the {what}'s fused vector is not finite"),
                });
            }
        }
        let base = cosine(
            &final_stage(self, query.to_vec())?,
            &final_stage(self, row.to_vec())?,
        );
        let mut out = Vec::new();
        for b in &self.fusion.layout().blocks {
            let (mut q, mut r) = (query.to_vec(), row.to_vec());
            q[b.range.clone()].fill(0.0);
            r[b.range.clone()].fill(0.0);
            let c = cosine(&final_stage(self, q)?, &final_stage(self, r)?);
            out.push(StageContribution {
                block: b.name.clone(),
                cosine_lost: base - c,
            });
        }
        if !base.is_finite() || out.iter().any(|c| !c.cosine_lost.is_finite()) {
            return Err(Error::Model {
                reason: "an explanation is not finite".into(),
            });
        }
        Ok((base, out))
    }

    /// The fused vector of named blocks (standardised and weighted, before the final stage;
    /// blocks the layout does not name are left out). For a model without a learned stage it
    /// is the final vector.
    ///
    /// # Errors
    /// A layout block of weight above 0 missing or of the wrong length (naming it), non-finite
    /// values.
    pub fn fused_vector(&self, blocks: &[(&str, &[f32])]) -> Result<Vec<f32>> {
        let layout = self.fusion.layout();
        let named: Vec<(&str, &[f32])> = blocks
            .iter()
            .filter(|(n, _)| layout.block(n).is_some())
            .copied()
            .collect();
        Ok(self.fusion.fuse_named(&named)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::BandStats;
    use crate::model::{FinalStage, MODEL_FORMAT, MODEL_FORMAT_VERSION, ModelHeader};
    use sonority_autoencoders::{ConvAeConfig, ConvAutoencoder};
    use sonority_fusion::{BlockSpec, Fusion, Standardization};

    /// A model over two toy blocks `a` (3 values) and `b` (2 values), without statistics, with
    /// or without a dense second stage.
    fn toy(stage: bool) -> Model {
        let mut fusion = Fusion::new(
            vec![BlockSpec::new("tiles", 3), BlockSpec::new("key", 2)],
            Standardization::None,
        )
        .unwrap();
        fusion.fit(&[vec![0.0; 5]]).unwrap();
        let tile = ConvAutoencoder::seeded(
            &ConvAeConfig::default()
                .with_rows(4)
                .with_cols(4)
                .with_channels(vec![1]),
            0,
        )
        .unwrap();
        let header = ModelHeader {
            format: MODEL_FORMAT.into(),
            format_version: MODEL_FORMAT_VERSION,
            name: "toy".into(),
            sample_rate: 22_050,
            n_fft: 2048,
            hop_length: 512,
            n_mels: 4,
            tile_frames: 4,
            band_stats: BandStats {
                mean: vec![0.0; 4],
                std: vec![1.0; 4],
            },
            rolloff_percent: 0.85,
            final_stage: if stage {
                FinalStage::VectorAutoencoder
            } else {
                FinalStage::Fused
            },
            artist: None,
            artist_segment_stride: 1,
            provenance: serde_json::Value::Null,
        };
        let vector =
            stage.then(|| ConvAutoencoder::seeded(&ConvAeConfig::fused_dense(5, 4), 3).unwrap());
        Model {
            header,
            tile,
            fusion,
            vector,
            artist: None,
        }
    }

    #[test]
    fn neutral_blocks_lose_nothing_and_the_only_shared_block_loses_everything() {
        let m = toy(false);
        let q = [("tiles", &[1.0, 2.0, 0.5][..]), ("key", &[0.0, 0.0][..])];
        let (base, parts) = m.explain_stage(&q, &q).unwrap();
        assert!((base - 1.0).abs() < 1e-6);
        let lost: Vec<f32> = parts.iter().map(|p| p.cosine_lost).collect();
        assert!((lost[0] - 1.0).abs() < 1e-6, "{lost:?}");
        assert!(lost[1].abs() < 1e-6, "{lost:?}");
    }

    #[test]
    fn learned_stage_explanations_are_finite_and_bad_blocks_are_typed_errors() {
        let m = toy(true);
        let q = [("tiles", &[1.0, -2.0, 0.5][..]), ("key", &[0.3, 0.1][..])];
        let r = [("key", &[0.2, 0.4][..]), ("tiles", &[0.7, -1.0, 0.2][..])];
        let (base, parts) = m.explain_stage(&q, &r).unwrap();
        assert!(base.is_finite() && (-1.0..=1.0).contains(&base));
        assert_eq!(parts.len(), 2);
        // A block missing, a block of the wrong length, a NaN: typed errors naming the block.
        let missing = [("tiles", &[1.0, -2.0, 0.5][..])];
        let err = m.explain_stage(&missing, &r).unwrap_err().to_string();
        assert!(err.contains("key"), "{err}");
        let short = [("tiles", &[1.0, -2.0][..]), ("key", &[0.3, 0.1][..])];
        let err = m.explain_stage(&short, &r).unwrap_err().to_string();
        assert!(err.contains("tiles"), "{err}");
        let nan = [
            ("tiles", &[f32::NAN, -2.0, 0.5][..]),
            ("key", &[0.3, 0.1][..]),
        ];
        assert!(m.explain_stage(&nan, &r).is_err());
    }
}

//! Recommendations for anchor files, the same for a library file and a shared PostgreSQL
//! catalogue: anchors resolved (a catalogue track by its id, any other file analysed on the
//! spot), ranked by [`CatalogueIndex::rank_excluding`], and each result explained: from the
//! final vectors for a model whose final vector is the fused one, from the fused vectors the
//! indexers store beside the final ones (`NAME+fused`) for a model with a learned final stage
//! ([`Model::explain_fused`](crate::Model::explain_fused)).

use std::path::{Path, PathBuf};

use sonority_store::{Catalogue, TrackId};

use super::index::{Anchor, CatalogueIndex, Recommendation};
use crate::indexer::fused_name;
use crate::{Analyzer, Result};

/// The `k` tracks of `index` most like `anchors` (files, looked up in the catalogue under
/// `key_of(file)`, its spelling of their paths), never those of `exclude`, each explained block
/// by block. `store` is the catalogue `index` was loaded from: for a model with a learned final
/// stage it holds the fused vectors the explanations are made from (a track or stored anchor
/// without one, indexed before they were stored, goes unexplained: its explanation is empty).
///
/// # Errors
/// As [`CatalogueIndex::rank`]; analysis errors for an anchor that is not in the catalogue and
/// cannot be analysed; store and model errors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn recommend<S: Catalogue + ?Sized>(
    index: &CatalogueIndex,
    store: &S,
    analyzer: &Analyzer<'_>,
    anchors: &[PathBuf],
    key_of: &dyn Fn(&Path) -> Option<PathBuf>,
    k: usize,
    exclude_album: bool,
    exclude: Vec<TrackId>,
) -> Result<Vec<Recommendation>> {
    let model = analyzer.model();
    let fused = fused_name(model);
    let stored_fused = |id| -> Result<Option<Vec<f32>>> {
        Ok(match &fused {
            Some(name) => store.get(name, id)?,
            None => None,
        })
    };
    let with_fused: Option<&dyn Fn(TrackId) -> Result<Option<Vec<f32>>>> =
        fused.is_some().then_some(&stored_fused);
    let (resolved, anchor_fused) = resolve(analyzer, index, anchors, key_of, with_fused)?;
    let layout = model.layout();
    let mut recs = index.rank_excluding(&resolved, k, exclude_album, layout.as_deref(), exclude)?;
    let Some(fused) = fused else {
        return Ok(recs);
    };
    // A learned final stage: explained from the stored fused vectors (the anchors' mean for
    // several anchors, as the query is their final vectors' mean).
    let Some(query) = anchor_fused
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .and_then(|vs| mean_vector(&vs))
    else {
        return Ok(recs);
    };
    for r in &mut recs {
        if let Some(row) = store.get(&fused, r.track.id)? {
            let (_, parts) = model.explain_fused(&query, &row)?;
            let mut c: Vec<(String, f32)> = parts
                .into_iter()
                .map(|p| (p.block, p.cosine_lost))
                .collect();
            c.sort_by(|a, b| b.1.total_cmp(&a.1));
            r.explanation = c;
        }
    }
    Ok(recs)
}

/// Anchors resolved for ranking, and (for a learned final stage) each one's fused vector.
type Resolved = (Vec<Anchor>, Vec<Option<Vec<f32>>>);

/// Resolves anchor files: a file the index holds (under `key_of(file)`) by its id, any other
/// file analysed on the spot, with its content hash (so that copies of it are not recommended).
/// With `stored_fused` (a model with a learned final stage), also each anchor's fused vector:
/// `stored_fused(id)` for a stored one, made from its analysis for another.
fn resolve(
    analyzer: &Analyzer<'_>,
    index: &CatalogueIndex,
    anchors: &[PathBuf],
    key_of: &dyn Fn(&Path) -> Option<PathBuf>,
    stored_fused: Option<&dyn Fn(TrackId) -> Result<Option<Vec<f32>>>>,
) -> Result<Resolved> {
    let model = analyzer.model();
    let mut resolved = Vec::with_capacity(anchors.len());
    let mut fused = Vec::with_capacity(anchors.len());
    for a in anchors {
        match key_of(a).and_then(|key| index.id_of_path(&key)) {
            Some(id) => {
                fused.push(match stored_fused {
                    Some(f) => f(id)?,
                    None => None,
                });
                resolved.push(Anchor::Stored(id));
            }
            None => {
                let t = analyzer.analyze_file(a)?;
                fused.push(if stored_fused.is_some() {
                    let blocks: Vec<(&str, &[f32])> =
                        t.blocks.iter().map(|(n, b)| (*n, b.as_slice())).collect();
                    Some(model.fused_vector(&blocks)?)
                } else {
                    None
                });
                resolved.push(Anchor::Unstored {
                    vector: t.vector,
                    content: crate::sheets::content_hash(a).ok(),
                });
            }
        }
    }
    Ok((resolved, fused))
}

impl Analyzer<'_> {
    /// Resolves anchor files for [`CatalogueIndex::rank`]: a file the index holds (looked up
    /// under `key_of(file)`, the catalogue's spelling of its path) by its id, any other file
    /// analysed on the spot, with its content hash so that copies of it are not recommended.
    ///
    /// # Errors
    /// Analysis errors for an anchor that cannot be analysed.
    pub fn resolve_anchors(
        &self,
        index: &CatalogueIndex,
        anchors: &[PathBuf],
        key_of: &dyn Fn(&Path) -> Option<PathBuf>,
    ) -> Result<Vec<Anchor>> {
        resolve(self, index, anchors, key_of, None).map(|(a, _)| a)
    }
}

/// The mean of equally long vectors (`None` for none).
fn mean_vector(vs: &[Vec<f32>]) -> Option<Vec<f32>> {
    let first = vs.first()?;
    let mut m = vec![0.0_f32; first.len()];
    for v in vs {
        if v.len() != m.len() {
            return None;
        }
        for (a, &x) in m.iter_mut().zip(v) {
            *a += x / vs.len() as f32;
        }
    }
    Some(m)
}

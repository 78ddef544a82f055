//! Ranking from any catalogue: one model's vectors and the tracks, loaded once, queried many
//! times.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sonority_similarity::{
    AnchorMode, CosineRanker, Query, RankOptions, Ranker, VectorIndex, explain,
};
use sonority_store::{TrackId, TrackInfo, VectorMatrix, content_hash};

use crate::library::Recommendation;
use crate::model::Model;
use crate::{Analyzer, Error, Result};

/// `CatalogueIndex` is a catalogue loaded for ranking: one model's vectors in a
/// [`VectorIndex`] (with the content-hash and album groups), and the tracks by id and path.
///
/// Build it from any [`Catalogue`](sonority_store::Catalogue) (SQLite or PostgreSQL) with
/// `distributed::load_index` (feature `postgres`), or from a matrix and the track list with
/// [`from_parts`](Self::from_parts); it needs no store afterwards, so one load serves many
/// queries.
#[derive(Debug, Clone)]
pub struct CatalogueIndex {
    index: VectorIndex<TrackId>,
    tracks: HashMap<TrackId, TrackInfo>,
    by_path: HashMap<PathBuf, TrackId>,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl CatalogueIndex {
    /// Builds the index from one model's vectors and the track list (tracks without a
    /// vector are ignored).
    ///
    /// # Errors
    /// [`Error::Query`] when the matrix is empty; index errors (duplicate ids, non-finite
    /// values).
    pub fn from_parts(matrix: VectorMatrix, tracks: Vec<TrackInfo>) -> Result<Self> {
        if matrix.is_empty() {
            return Err(Error::Query {
                reason: "the library has no analysed tracks yet: index a folder first".into(),
            });
        }
        let (ids, data, dim) = matrix.into_parts();
        let tracks: HashMap<TrackId, TrackInfo> = tracks.into_iter().map(|t| (t.id, t)).collect();
        let content: Vec<Option<u64>> = ids
            .iter()
            .map(|id| {
                tracks
                    .get(id)
                    .and_then(|t| t.record.content_hash)
                    .map(|h| fnv(&h.0))
            })
            .collect();
        let albums: Vec<Option<u64>> = ids
            .iter()
            .map(|id| {
                tracks
                    .get(id)
                    .and_then(|t| t.record.tags.album.as_ref())
                    .map(|a| fnv(a.as_bytes()))
            })
            .collect();
        let by_path = tracks
            .values()
            .map(|t| (t.record.file.path.clone(), t.id))
            .collect();
        let index = VectorIndex::from_rows(ids, data, dim)?
            .with_group("content", content)?
            .with_group("album", albums)?;
        Ok(Self {
            index,
            tracks,
            by_path,
        })
    }

    /// A new index with the `deleted` tracks removed and `rows` added or replaced (their
    /// `tracks` records added or replaced), for incremental refreshes.
    ///
    /// # Errors
    /// As [`from_parts`](Self::from_parts).
    pub fn merged(
        &self,
        deleted: &[TrackId],
        rows: VectorMatrix,
        tracks: Vec<TrackInfo>,
    ) -> Result<Self> {
        let dim = self.index.dim();
        let mut replaced: HashMap<TrackId, usize> = rows
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let gone: std::collections::HashSet<TrackId> = deleted.iter().copied().collect();
        let mut m = VectorMatrix::with_capacity(dim, self.index.len() + rows.len());
        let mut merged: Vec<(TrackId, &[f32])> = Vec::with_capacity(m.ids.capacity());
        for (row, id) in self.index.ids().iter().enumerate() {
            if !replaced.contains_key(id) && !gone.contains(id) {
                merged.push((*id, self.index.row(row)));
            }
        }
        for (i, id) in rows.ids.iter().enumerate() {
            if replaced.remove(id).is_some()
                && let Some(v) = rows.row(i)
            {
                merged.push((*id, v));
            }
        }
        merged.sort_by_key(|(id, _)| *id);
        for (id, v) in merged {
            m.push(id, v);
        }
        let mut all: HashMap<TrackId, TrackInfo> = self.tracks.clone();
        for id in &gone {
            all.remove(id);
        }
        for t in tracks {
            all.insert(t.id, t);
        }
        Self::from_parts(m, all.into_values().collect())
    }

    /// Number of ranked tracks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no track is ranked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes held by the vectors (see [`VectorIndex::memory_bytes`]).
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes()
    }

    /// The id of the track stored under `path` (as the catalogue spells it), if ranked.
    #[must_use]
    pub fn id_of_path(&self, path: &Path) -> Option<TrackId> {
        self.by_path
            .get(path)
            .copied()
            .filter(|id| self.index.vector(id).is_some())
    }

    /// The track with this id.
    #[must_use]
    pub fn track(&self, id: TrackId) -> Option<&TrackInfo> {
        self.tracks.get(&id)
    }

    /// The tracks most similar to the anchors, as [`Library::recommend`](crate::Library::recommend)
    /// ranks them. Each anchor is looked up under `key_of(anchor)` (the catalogue's spelling
    /// of its path); one that is not in the catalogue is analysed with `model` on the fly.
    /// The anchors and exact duplicates of them (same content) are never recommended.
    ///
    /// # Errors
    /// [`Error::Query`] when no anchor is given; analysis errors for an anchor that cannot be
    /// analysed; ranking errors.
    pub fn recommend(
        &self,
        model: &Model,
        anchors: &[PathBuf],
        k: usize,
        exclude_album: bool,
        key_of: &dyn Fn(&Path) -> Option<PathBuf>,
    ) -> Result<Vec<Recommendation>> {
        let mut anchor_ids = Vec::new();
        let mut vectors: Vec<Vec<f32>> = Vec::new();
        let mut exclude = Vec::new();
        let analyzer = Analyzer::new(model);
        for a in anchors {
            let known = key_of(a).and_then(|key| self.id_of_path(&key));
            match known.and_then(|id| self.index.vector(&id).map(|v| (id, v.to_vec()))) {
                Some((id, v)) => {
                    anchor_ids.push(id);
                    vectors.push(v);
                }
                None => {
                    let analysed = analyzer.analyze_file(a)?;
                    if let Ok(h) = content_hash(a) {
                        exclude.extend(
                            self.tracks
                                .values()
                                .filter(|t| t.record.content_hash == Some(h))
                                .map(|t| t.id),
                        );
                    }
                    vectors.push(analysed.vector);
                }
            }
        }
        if vectors.is_empty() {
            return Err(Error::Query {
                reason: "no anchor given".into(),
            });
        }
        let query = Query::from_anchors(vectors.iter().map(Vec::as_slice), AnchorMode::Mean)?;
        let mut opts = RankOptions::default()
            .with_k(k)
            .with_anchors(anchor_ids)
            .with_exclude(exclude)
            .with_exclude_same_group("content");
        if exclude_album {
            opts = opts.with_exclude_same_group("album");
        }
        let hits = CosineRanker::new().rank(&query, &self.index, &opts)?;
        let layout = model.layout();
        let qvec = query.centroid().to_vec();
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let Some(track) = self.tracks.get(&h.id).cloned() else {
                continue;
            };
            let explanation = match &layout {
                Some(l) => {
                    let mut c: Vec<(String, f32)> = explain(&qvec, self.index.row(h.row), l)?
                        .into_iter()
                        .map(|b| (b.name, b.contribution))
                        .collect();
                    c.sort_by(|a, b| b.1.total_cmp(&a.1));
                    c
                }
                None => Vec::new(),
            };
            out.push(Recommendation {
                track,
                score: h.score,
                similarity_0_100: h.similarity_0_100,
                explanation,
            });
        }
        Ok(out)
    }
}

//! [`CatalogueIndex`]: one model's vectors and the tracks, loaded once from any catalogue,
//! ranked many times; a change merged in; [`Anchor`] and [`Recommendation`].

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sonority_similarity::{
    AnchorMode, CosineRanker, Query, RankOptions, Ranker, TrackMeta, VectorIndex, explain,
};
use sonority_store::{ContentHash, TrackId, TrackInfo, VectorMatrix};

use super::meta::{adopt_folder_albums, fnv, meta_of};
use crate::{Error, Result};

/// One recommendation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recommendation {
    /// The track.
    pub track: TrackInfo,
    /// Cosine similarity to the anchor(s).
    pub score: f32,
    /// The same on a 0-100 scale (`50·(1 + cosine)`).
    pub similarity_0_100: f32,
    /// Why this track is close, block by block, largest first. For a model whose final
    /// vector is the fused one: each block's share of the cosine (they add up to it). For a
    /// model with a learned final stage: the cosine lost when the block is neutralised in the
    /// anchor and in this track before the stage
    /// ([`Model::explain_stage`](crate::Model::explain_stage); the parts do not add up), from
    /// the fused vectors the library stores beside the final ones; empty for tracks indexed
    /// before those were stored.
    pub explanation: Vec<(String, f32)>,
}

/// `Anchor` is what a recommendation is made for, resolved to what ranking needs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Anchor {
    /// A track of the catalogue, by id: its stored vector is used, and it is never
    /// recommended.
    Stored(TrackId),
    /// A track outside the catalogue, analysed on the spot.
    Unstored {
        /// Its final vector.
        vector: Vec<f32>,
        /// Its content hash: catalogue tracks with the same content are never recommended.
        content: Option<ContentHash>,
    },
}

/// `CatalogueIndex` is a catalogue loaded for ranking: one model's vectors in a
/// [`VectorIndex`] (with the content-hash and album groups), and the tracks by id and path.
///
/// Build it from any [`Catalogue`](sonority_store::Catalogue) (SQLite or PostgreSQL) with
/// `distributed::load_index` (feature `postgres`), or from a matrix and the track list with
/// [`from_parts`](Self::from_parts); it needs no store afterwards, so one load serves many
/// queries.
#[derive(Debug, Clone)]
pub struct CatalogueIndex {
    pub(crate) index: VectorIndex<TrackId>,
    pub(crate) tracks: HashMap<TrackId, TrackInfo>,
    by_path: HashMap<PathBuf, TrackId>,
    /// The playlist metadata of each row, in row order.
    pub(crate) meta: Vec<TrackMeta>,
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
        let mut meta: Vec<TrackMeta> = ids
            .iter()
            .map(|id| tracks.get(id).map(meta_of).unwrap_or_default())
            .collect();
        adopt_folder_albums(&mut meta);
        let content: Vec<Option<u64>> = meta.iter().map(|m| m.content).collect();
        // The album as playlists count it: tag and album artist, else the folder, so that an
        // untagged anchor's album is excluded too.
        let albums: Vec<Option<u64>> = meta
            .iter()
            .map(|m| m.album_key().map(|k| fnv(k.as_bytes())))
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
            meta,
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

    /// The tracks most similar to the anchors (their mean direction), best first. Stored
    /// anchors, and any track with the same content as an anchor, are never recommended.
    /// `layout` (the model's block layout, [`Model::layout`](crate::Model::layout)) makes each recommendation say
    /// which blocks made it close.
    ///
    /// Ranking takes vectors: resolving anchor files (looking them up, or analysing a file
    /// that is not in the catalogue) is the library's job
    /// ([`Analyzer::resolve_anchors`](crate::Analyzer::resolve_anchors)).
    ///
    /// # Errors
    /// [`Error::Query`] when no anchor is given or a stored anchor is not in the index; ranking
    /// errors (wrong dimension, non-finite vector).
    pub fn rank(
        &self,
        anchors: &[Anchor],
        k: usize,
        exclude_album: bool,
        layout: Option<&[(String, Range<usize>)]>,
    ) -> Result<Vec<Recommendation>> {
        self.rank_excluding(anchors, k, exclude_album, layout, Vec::new())
    }

    /// [`rank`](Self::rank), never returning the tracks of `exclude` (those outside the
    /// folders a library answers from, say).
    pub(crate) fn rank_excluding(
        &self,
        anchors: &[Anchor],
        k: usize,
        exclude_album: bool,
        layout: Option<&[(String, Range<usize>)]>,
        mut exclude: Vec<TrackId>,
    ) -> Result<Vec<Recommendation>> {
        let mut anchor_ids = Vec::new();
        let mut vectors: Vec<&[f32]> = Vec::new();
        for a in anchors {
            match a {
                Anchor::Stored(id) => {
                    let v = self.index.vector(id).ok_or_else(|| Error::Query {
                        reason: format!("track {} has no vector in this index", id.0),
                    })?;
                    anchor_ids.push(*id);
                    vectors.push(v);
                }
                Anchor::Unstored { vector, content } => {
                    if let Some(h) = content {
                        exclude.extend(
                            self.tracks
                                .values()
                                .filter(|t| t.record.content_hash == Some(*h))
                                .map(|t| t.id),
                        );
                    }
                    vectors.push(vector);
                }
            }
        }
        if vectors.is_empty() {
            return Err(Error::Query {
                reason: "no anchor given".into(),
            });
        }
        let query = Query::from_anchors(vectors, AnchorMode::Mean)?;
        let mut opts = RankOptions::default()
            .with_k(k)
            .with_anchors(anchor_ids)
            .with_exclude(exclude)
            .with_exclude_same_group("content");
        if exclude_album {
            opts = opts.with_exclude_same_group("album");
        }
        let hits = CosineRanker::new().rank(&query, &self.index, &opts)?;
        let qvec = query.centroid().to_vec();
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let Some(track) = self.tracks.get(&h.id).cloned() else {
                continue;
            };
            let explanation = match layout {
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

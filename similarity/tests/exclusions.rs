//! Scenarios a music recommender meets: anchors, duplicates, albums, zero vectors.

use sonority_similarity::{
    AnchorMode, CosineRanker, Error, Query, RankOptions, Ranker, UNASSIGNED_BLOCK, VectorIndex,
    explain_hit,
};

/// Six tracks in 3-d; "a2" is a re-encode of "a" (same content hash), "b" shares its album.
fn library() -> VectorIndex<&'static str> {
    let ids = vec!["a", "a2", "b", "c", "d", "silent"];
    let data = vec![
        1.0, 0.0, 0.0, // a
        1.0, 0.0, 0.001, // a2
        0.9, 0.1, 0.0, // b
        0.5, 0.5, 0.0, // c
        0.0, 0.0, 1.0, // d
        0.0, 0.0, 0.0, // silent
    ];
    VectorIndex::from_rows(ids, data, 3)
        .unwrap()
        .with_group(
            "content_hash",
            vec![Some(1), Some(1), Some(2), Some(3), Some(4), Some(5)],
        )
        .unwrap()
        .with_group(
            "album",
            vec![Some(10), Some(10), Some(10), Some(11), None, None],
        )
        .unwrap()
}

fn ids(hits: &[sonority_similarity::Hit<&'static str>]) -> Vec<&'static str> {
    hits.iter().map(|h| h.id).collect()
}

#[test]
fn anchor_is_never_returned_and_duplicates_go_by_hash() {
    let index = library();
    let r = CosineRanker::new();
    let all = r
        .rank_ids(&["a"], AnchorMode::Mean, &index, &RankOptions::default())
        .unwrap();
    assert_eq!(ids(&all), vec!["a2", "b", "c", "d", "silent"]);
    let opts = RankOptions::default().with_exclude_same_group("content_hash");
    let hits = r.rank_ids(&["a"], AnchorMode::Mean, &index, &opts).unwrap();
    assert_eq!(ids(&hits), vec!["b", "c", "d", "silent"]);
    let opts = opts.with_exclude_same_group("album");
    let hits = r.rank_ids(&["a"], AnchorMode::Mean, &index, &opts).unwrap();
    assert_eq!(ids(&hits), vec!["c", "d", "silent"]);
    // Without labels, a score threshold catches the re-encode.
    let opts = RankOptions::default().with_duplicate_threshold(0.9999);
    let hits = r.rank_ids(&["a"], AnchorMode::Mean, &index, &opts).unwrap();
    assert_eq!(ids(&hits), vec!["b", "c", "d", "silent"]);
}

#[test]
fn caller_sets_and_predicates_exclude() {
    let index = library();
    let opts = RankOptions::default()
        .with_k(2)
        .with_exclude(["a2"])
        .with_exclude_if(|id: &&str| id.starts_with('b'));
    let hits = CosineRanker::new()
        .rank_ids(&["a"], AnchorMode::Mean, &index, &opts)
        .unwrap();
    assert_eq!(ids(&hits), vec!["c", "d"]);
}

#[test]
fn zero_vectors_score_zero_and_never_nan() {
    let index = library();
    let hits = CosineRanker::new()
        .rank_ids(
            &["silent"],
            AnchorMode::Mean,
            &index,
            &RankOptions::default(),
        )
        .unwrap();
    assert_eq!(hits.len(), 5);
    assert!(
        hits.iter()
            .all(|h| h.score == 0.0 && h.similarity_0_100 == 50.0)
    );
    // All tie at 0: row order decides.
    assert_eq!(ids(&hits), vec!["a", "a2", "b", "c", "d"]);
    let hits = CosineRanker::new()
        .rank_ids(&["d"], AnchorMode::Mean, &index, &RankOptions::default())
        .unwrap();
    let silent = hits.iter().find(|h| h.id == "silent").unwrap();
    assert_eq!(silent.score, 0.0);
}

#[test]
fn playlist_seed_mean_and_max() {
    let index = library();
    let r = CosineRanker::new();
    let opts = RankOptions::default().with_k(1);
    // Mean of a and d points between them: c (0.5, 0.5, 0) is at cos 0.5, a2 about 0.708.
    let mean = r
        .rank_ids(&["a", "d"], AnchorMode::Mean, &index, &opts)
        .unwrap();
    assert_eq!(ids(&mean), vec!["a2"]);
    let max = r
        .rank_ids(&["c", "d"], AnchorMode::Max, &index, &opts)
        .unwrap();
    // Max: b is very close to c.
    assert_eq!(ids(&max), vec!["b"]);
    let want = (0.9 * 0.5 + 0.1 * 0.5) / ((0.82_f32).sqrt() * 0.5_f32.sqrt());
    assert!((max[0].score - want).abs() < 1e-6);
}

#[test]
fn k_edge_cases() {
    let index = library();
    let q = Query::new(&[1.0, 1.0, 1.0]).unwrap();
    let r = CosineRanker::new();
    assert!(
        r.rank(&q, &index, &RankOptions::default().with_k(0))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.rank(&q, &index, &RankOptions::default().with_k(100))
            .unwrap()
            .len(),
        6
    );
    let empty = VectorIndex::<u8>::from_rows(vec![], vec![], 3).unwrap();
    assert!(
        r.rank(&q, &empty, &RankOptions::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_calls_are_typed_errors() {
    let index = library();
    let r = CosineRanker::new();
    let q = Query::new(&[1.0, 0.0]).unwrap();
    assert!(matches!(
        r.rank(&q, &index, &RankOptions::default()),
        Err(Error::DimensionMismatch {
            expected: 3,
            actual: 2,
            ..
        })
    ));
    let q = Query::new(&[1.0, 0.0, 0.0]).unwrap();
    assert!(matches!(
        r.rank(
            &q,
            &index,
            &RankOptions::default().with_exclude_same_group("artist")
        ),
        Err(Error::UnknownGroup { .. })
    ));
    assert!(matches!(
        r.rank(
            &q,
            &index,
            &RankOptions::default().with_duplicate_threshold(f32::NAN)
        ),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        r.rank_ids(&["zz"], AnchorMode::Mean, &index, &RankOptions::default()),
        Err(Error::UnknownId { position: 0 })
    ));
}

#[test]
fn explanations_sum_to_the_hit_score() {
    let index = library();
    let layout = [("timbre".to_string(), 0..2)];
    for mode in [AnchorMode::Mean, AnchorMode::Max] {
        let q = Query::from_ids(&index, &["a", "d"], mode).unwrap();
        let hits = CosineRanker::new()
            .rank(&q, &index, &RankOptions::default().with_anchors(["a", "d"]))
            .unwrap();
        for h in &hits {
            let parts = explain_hit(&q, &index, &h.id, &layout).unwrap();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[1].name, UNASSIGNED_BLOCK);
            let total: f32 = parts.iter().map(|p| p.contribution).sum();
            assert!((total - h.score).abs() < 1e-6, "{mode:?} {}", h.id);
        }
    }
}

//! The exact ranker equals a naive full sort, on random data with ties and duplicates.

use std::collections::HashSet;

use proptest::prelude::*;
use sonority_similarity::{AnchorMode, CosineRanker, Query, RankOptions, Ranker, VectorIndex};

use crate::testutil::{NaiveExclusions, naive_rank};

/// A small random problem: values from a tiny set, so ties and duplicate rows are common.
#[derive(Debug, Clone)]
struct Case {
    dim: usize,
    data: Vec<f32>,
    anchors: Vec<usize>,
    mode: AnchorMode,
    k: usize,
    exclude: Vec<u32>,
    labels: Vec<Option<u64>>,
    use_groups: bool,
    predicate_mod: Option<u32>,
    duplicate_threshold: Option<f32>,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..9, 1usize..120).prop_flat_map(|(dim, n)| {
        (
            proptest::collection::vec(-2i8..=2, n * dim),
            proptest::collection::vec(0..n, 1..4),
            prop_oneof![Just(AnchorMode::Mean), Just(AnchorMode::Max)],
            0usize..25,
            proptest::collection::vec(0..n as u32, 0..10),
            proptest::collection::vec(proptest::option::of(0u64..6), n),
            any::<bool>(),
            proptest::option::of(2u32..5),
            proptest::option::of(prop_oneof![Just(0.99_f32), Just(0.5)]),
        )
            .prop_map(
                move |(
                    vals,
                    anchors,
                    mode,
                    k,
                    exclude,
                    labels,
                    use_groups,
                    predicate_mod,
                    duplicate_threshold,
                )| Case {
                    dim,
                    data: vals.into_iter().map(|v| f32::from(v) * 0.5).collect(),
                    anchors,
                    mode,
                    k,
                    exclude,
                    labels,
                    use_groups,
                    predicate_mod,
                    duplicate_threshold,
                },
            )
    })
}

fn check(case: &Case, ranker: &CosineRanker, prefilter: bool) -> Result<(), TestCaseError> {
    let n = case.data.len() / case.dim;
    let ids: Vec<u32> = (0..n as u32).map(|i| i * 3 + 1).collect();
    let index = VectorIndex::from_rows(ids.clone(), case.data.clone(), case.dim)
        .unwrap()
        .with_group("album", case.labels.clone())
        .unwrap();
    let index = if prefilter {
        index.with_i8_prefilter()
    } else {
        index
    };
    let anchor_ids: Vec<u32> = case.anchors.iter().map(|&r| ids[r]).collect();
    let query = Query::from_ids(&index, &anchor_ids, case.mode).unwrap();
    let exclude: Vec<u32> = case.exclude.iter().map(|&r| ids[r as usize]).collect();
    let mut opts = RankOptions::default()
        .with_k(case.k)
        .with_anchors(anchor_ids.iter().copied())
        .with_exclude(exclude.iter().copied());
    if case.use_groups {
        opts = opts.with_exclude_same_group("album");
    }
    if let Some(m) = case.predicate_mod {
        opts = opts.with_exclude_if(move |id: &u32| id.is_multiple_of(m));
    }
    if let Some(t) = case.duplicate_threshold {
        opts = opts.with_duplicate_threshold(t);
    }
    let got: Vec<(u32, f32)> = ranker
        .rank(&query, &index, &opts)
        .unwrap()
        .iter()
        .map(|h| (h.id, h.score))
        .collect();

    let mut ex = NaiveExclusions {
        ids: exclude.into_iter().chain(anchor_ids).collect(),
        predicate_mod: case.predicate_mod,
        duplicate_threshold: case.duplicate_threshold,
        ..NaiveExclusions::default()
    };
    if case.use_groups {
        let set: HashSet<u64> = case
            .anchors
            .iter()
            .filter_map(|&r| case.labels[r])
            .collect();
        ex.labels = Some((case.labels.clone(), set));
    }
    let want = naive_rank(&query, &index, case.k, &ex);
    prop_assert_eq!(got, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sequential_scan_equals_naive_sort(case in case()) {
        check(&case, &CosineRanker::new(), false)?;
    }

    #[test]
    fn chunked_parallel_scan_equals_naive_sort(case in case(), chunk in 1usize..20) {
        let ranker = CosineRanker::new().with_parallel_min_rows(0).with_chunk_rows(chunk);
        check(&case, &ranker, false)?;
    }

    #[test]
    fn i8_prefiltered_scan_equals_naive_sort(case in case(), chunk in 1usize..20, par in any::<bool>()) {
        let ranker = if par {
            CosineRanker::new().with_parallel_min_rows(0).with_chunk_rows(chunk)
        } else {
            CosineRanker::new()
        };
        check(&case, &ranker, true)?;
    }

    #[test]
    fn i8_prefilter_is_exact_on_continuous_data(
        dim in 1usize..70,
        n in 1usize..300,
        seed in 1u64..1_000_000,
        k in 0usize..30,
        max_mode in any::<bool>(),
    ) {
        let data = crate::testutil::random_data(n, dim, seed);
        let index = VectorIndex::from_rows((0..n as u32).collect(), data, dim).unwrap();
        let mode = if max_mode { AnchorMode::Max } else { AnchorMode::Mean };
        let anchors: Vec<u32> = (0..n as u32).step_by(n.div_ceil(3)).collect();
        let query = Query::from_ids(&index, &anchors, mode).unwrap();
        let opts = RankOptions::default().with_k(k);
        let want = CosineRanker::new().rank(&query, &index, &opts).unwrap();
        let got = CosineRanker::new().rank(&query, &index.with_i8_prefilter(), &opts).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn scores_are_cosines_in_range(case in case()) {
        let n = case.data.len() / case.dim;
        let index = VectorIndex::from_rows((0..n as u32).collect(), case.data.clone(), case.dim).unwrap();
        let q = &case.data[..case.dim];
        let hits = CosineRanker::new()
            .rank(&Query::new(q).unwrap(), &index, &RankOptions::default().with_k(n))
            .unwrap();
        prop_assert_eq!(hits.len(), n);
        let nq = q.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        for h in hits {
            let r = &case.data[h.row * case.dim..(h.row + 1) * case.dim];
            let nr = r.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            let d: f64 = q.iter().zip(r).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            let want = if nq == 0.0 || nr == 0.0 { 0.0 } else { d / (nq * nr) };
            prop_assert!((f64::from(h.score) - want).abs() < 1e-5);
            prop_assert!(h.score.is_finite() && h.score.abs() <= 1.0 + 1e-5);
            prop_assert!((0.0..=100.0).contains(&h.similarity_0_100));
            prop_assert_eq!(h.rank_score, h.score);
        }
    }
}

#[test]
fn large_parallel_scan_equals_sequential_and_naive() {
    let (n, dim) = (70_000, 16);
    let mut data = crate::testutil::random_data(n, dim, 3);
    // Duplicate a block of rows so that equal scores straddle chunk borders.
    let block: Vec<f32> = data[..1000 * dim].to_vec();
    data[16_000 * dim..17_000 * dim].copy_from_slice(&block);
    let index = VectorIndex::from_rows((0..n as u32).collect(), data, dim).unwrap();
    let query = Query::new(index.row(5)).unwrap();
    let opts = RankOptions::default().with_k(50);
    let par = CosineRanker::new().rank(&query, &index, &opts).unwrap();
    let seq = CosineRanker::new()
        .with_parallel_min_rows(usize::MAX)
        .rank(&query, &index, &opts)
        .unwrap();
    assert_eq!(par, seq);
    let quantised = index.clone().with_i8_prefilter();
    assert_eq!(
        CosineRanker::new().rank(&query, &quantised, &opts).unwrap(),
        par
    );
    let want = naive_rank(&query, &index, 50, &NaiveExclusions::default());
    let got: Vec<(u32, f32)> = par.iter().map(|h| (h.id, h.score)).collect();
    assert_eq!(got, want);
    // Row 5 and its copy at row 16_005 score 1, in row order.
    assert_eq!((got[0].0, got[1].0), (5, 16_005));
}

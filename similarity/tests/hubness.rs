//! Hubness reduction lowers how often the most frequent neighbour appears in top-k lists.

use sonority_similarity::{
    CosineRanker, Error, HubnessConfig, HubnessMethod, HubnessModel, RankOptions, Ranker,
    VectorIndex,
};

use crate::testutil::random_data;

/// Positive-orthant data in 40 dimensions: rows near the mean direction become hubs.
fn hubby_index() -> VectorIndex<u32> {
    let (n, dim) = (400, 40);
    let data: Vec<f32> = random_data(n, dim, 11)
        .into_iter()
        .map(|x| (x + 1.0).powi(3))
        .collect();
    VectorIndex::from_rows((0..n as u32).collect(), data, dim).unwrap()
}

/// The largest k-occurrence: how many of the rows' top-k lists the commonest row is in.
fn max_k_occurrence(ranker: &CosineRanker, index: &VectorIndex<u32>, k: usize) -> usize {
    let mut counts = vec![0_usize; index.len()];
    for &id in index.ids() {
        let hits = ranker
            .rank_ids(
                &[id],
                sonority_similarity::AnchorMode::Mean,
                index,
                &RankOptions::default().with_k(k),
            )
            .unwrap();
        for h in hits {
            counts[h.row] += 1;
        }
    }
    counts.into_iter().max().unwrap_or(0)
}

#[test]
fn every_method_reduces_the_largest_hub() {
    let index = hubby_index();
    let plain = max_k_occurrence(&CosineRanker::new(), &index, 10);
    for method in [
        HubnessMethod::MutualProximityGaussian,
        HubnessMethod::MutualProximityEmpirical,
        HubnessMethod::Csls,
    ] {
        let cfg = HubnessConfig::default()
            .with_method(method)
            .with_candidates(50);
        let model = HubnessModel::fit(&index, &cfg).unwrap();
        let ranker = CosineRanker::new().with_hubness(model);
        let reduced = max_k_occurrence(&ranker, &index, 10);
        assert!(
            reduced * 10 < plain * 8,
            "{method:?}: max k-occurrence {reduced}, plain {plain}"
        );
    }
}

#[test]
fn reranked_hits_keep_cosine_scores_and_exclusions() {
    let index = hubby_index();
    let model = HubnessModel::fit(&index, &HubnessConfig::default()).unwrap();
    let ranker = CosineRanker::new().with_hubness(model);
    let opts = RankOptions::default().with_k(5).with_exclude([1, 2, 3]);
    let hits = ranker
        .rank_ids(&[0], sonority_similarity::AnchorMode::Mean, &index, &opts)
        .unwrap();
    assert_eq!(hits.len(), 5);
    let q = index.row(0);
    for h in &hits {
        assert!(![0, 1, 2, 3].contains(&h.id));
        let cos = sonority_similarity::dot(q, index.row(h.row));
        assert_eq!(h.score, cos);
        assert!((0.0..=1.0).contains(&h.rank_score));
    }
    assert!(hits.windows(2).all(|w| w[0].rank_score >= w[1].rank_score));
}

#[test]
fn a_model_fits_one_index() {
    let index = hubby_index();
    let model = HubnessModel::fit(&index, &HubnessConfig::default()).unwrap();
    let small = VectorIndex::from_rows(vec![0_u32], vec![1.0; 40], 40).unwrap();
    let err = CosineRanker::new()
        .with_hubness(model)
        .rank_ids(
            &[0],
            sonority_similarity::AnchorMode::Mean,
            &small,
            &RankOptions::default(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::IndexMismatch {
            expected: 400,
            actual: 1
        }
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Reranking only reorders the cosine top `candidates`: hits are a subset of them, in
    /// non-increasing rank score, and respect exclusions.
    #[test]
    fn reranking_stays_within_the_cosine_pool(
        n in 2usize..150,
        dim in 1usize..12,
        seed in 1u64..100_000,
        k in 0usize..20,
        candidates in 1usize..40,
        method in 0u8..3,
    ) {
        let data = random_data(n, dim, seed);
        let index = VectorIndex::from_rows((0..n as u32).collect(), data, dim).unwrap();
        let method = [
            HubnessMethod::MutualProximityGaussian,
            HubnessMethod::MutualProximityEmpirical,
            HubnessMethod::Csls,
        ][usize::from(method)];
        let cfg = HubnessConfig::default()
            .with_method(method)
            .with_candidates(candidates)
            .with_sample_size(32);
        let model = HubnessModel::fit(&index, &cfg).unwrap();
        let opts = RankOptions::default().with_k(k).with_exclude([1]);
        let mode = sonority_similarity::AnchorMode::Mean;
        let hits = CosineRanker::new().with_hubness(model).rank_ids(&[0], mode, &index, &opts).unwrap();
        let pool = CosineRanker::new()
            .rank_ids(&[0], mode, &index, &opts.clone().with_k(k.max(candidates)))
            .unwrap();
        proptest::prop_assert_eq!(hits.len(), k.min(pool.len()));
        let pool_ids: Vec<u32> = pool.iter().map(|h| h.id).collect();
        for h in &hits {
            proptest::prop_assert!(pool_ids.contains(&h.id));
            proptest::prop_assert!(h.id != 0 && h.id != 1);
            proptest::prop_assert!(h.rank_score.is_finite());
        }
        proptest::prop_assert!(hits.windows(2).all(|w| w[0].rank_score >= w[1].rank_score));
    }
}

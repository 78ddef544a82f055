//! The `VectorStore` contract, run against every backend, and bit-exactness properties.

use proptest::prelude::*;
use sonority_store::{Error, MemoryStore, SqliteStore, TrackId, VectorStore};

use crate::testutil::{make_tracks, vector_for};

/// The contract every backend must meet; `ids` are tracks the backend accepts.
fn contract<S: VectorStore<Error = Error>>(mut s: S, ids: &[TrackId]) {
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    assert_eq!(s.dim("m").unwrap(), None);
    assert_eq!(s.count("m").unwrap(), 0);
    assert!(s.load_matrix("m").unwrap().is_empty());

    // First put fixes the dimension.
    s.put("m", b, &[1.0, 2.0, 3.0]).unwrap();
    s.put("m", a, &[-1.0, -0.0, 0.5]).unwrap();
    assert_eq!(s.dim("m").unwrap(), Some(3));
    assert_eq!(s.count("m").unwrap(), 2);

    // Refusals change nothing.
    let e = s.put("m", c, &[1.0, 2.0]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DimensionMismatch {
                expected: 3,
                actual: 2,
                ..
            }
        ),
        "{e}"
    );
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let e = s.put("m", a, &[0.0, bad, 0.0]).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 1, .. }), "{e}");
    }
    assert!(matches!(
        s.put("n", a, &[]).unwrap_err(),
        Error::EmptyVector { .. }
    ));
    assert_eq!(s.dim("n").unwrap(), None);
    assert_eq!(s.get("m", a).unwrap(), Some(vec![-1.0, -0.0, 0.5]));
    assert_eq!(s.count("m").unwrap(), 2);

    // Replace, models are independent.
    s.put("m", a, &[4.0, 5.0, 6.0]).unwrap();
    s.put("other", a, &[9.0]).unwrap();
    assert_eq!(s.get("m", a).unwrap(), Some(vec![4.0, 5.0, 6.0]));
    assert_eq!(s.get("other", a).unwrap(), Some(vec![9.0]));
    assert_eq!(s.get("m", c).unwrap(), None);
    assert_eq!(s.get("nope", a).unwrap(), None);

    // Scan order, early stop, matrix.
    s.put("m", c, &[7.0, 8.0, 9.0]).unwrap();
    let mut seen = Vec::new();
    s.for_each("m", &mut |id, v| {
        seen.push((id, v.to_vec()));
        true
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![
            (a, vec![4.0, 5.0, 6.0]),
            (b, vec![1.0, 2.0, 3.0]),
            (c, vec![7.0, 8.0, 9.0])
        ]
    );
    let mut n = 0;
    s.for_each("m", &mut |_, _| {
        n += 1;
        false
    })
    .unwrap();
    assert_eq!(n, 1);
    let m = s.load_matrix("m").unwrap();
    assert_eq!(m.dim, 3);
    assert_eq!(m.ids, vec![a, b, c]);
    assert_eq!(m.data, [4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 7.0, 8.0, 9.0]);
    assert_eq!(m.row(1), Some(&[1.0, 2.0, 3.0][..]));
    assert_eq!(m.row(3), None);

    // Delete.
    assert!(s.delete("m", b).unwrap());
    assert!(!s.delete("m", b).unwrap());
    assert!(!s.delete("nope", b).unwrap());
    assert_eq!(s.count("m").unwrap(), 2);
    assert_eq!(s.get("m", b).unwrap(), None);
    assert_eq!(s.get("other", a).unwrap(), Some(vec![9.0]));

    // Through a Box<dyn>, as a facade would hold it.
    let boxed: Box<dyn VectorStore<Error = Error>> = Box::new(s);
    assert_eq!(boxed.load_matrix("m").unwrap().ids, vec![a, c]);
}

#[test]
fn memory_store_meets_contract() {
    contract(MemoryStore::new(), &[TrackId(1), TrackId(2), TrackId(3)]);
}

#[test]
fn sqlite_store_meets_contract() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let ids = make_tracks(&mut s, 3);
    contract(s, &ids);
}

#[cfg(feature = "postgres")]
#[test]
fn pg_store_meets_contract() {
    let mut s = crate::pgcluster::pg_store("contract");
    let ids = make_tracks(&mut s, 3);
    contract(s, &ids);
}

#[cfg(feature = "postgres")]
#[test]
fn pg_put_needs_known_track_and_is_all_or_nothing() {
    let mut s = crate::pgcluster::pg_store("known_track");
    let e = s.put("m", TrackId(42), &[1.0]).unwrap_err();
    assert!(matches!(e, Error::UnknownTrack { id: 42 }), "{e}");
    assert_eq!(s.dim("m").unwrap(), None);
    let ids = make_tracks(&mut s, 2);
    let good = vector_for(1, 4);
    let bad = [0.0, 0.0, f32::NAN, 0.0];
    let e = s
        .put_many("m", &[(ids[0], &good), (ids[1], &bad)])
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    let e = s
        .put_many("m", &[(ids[0], &good), (TrackId(999), &good)])
        .unwrap_err();
    assert!(matches!(e, Error::UnknownTrack { id: 999 }), "{e}");
    assert_eq!(s.count("m").unwrap(), 0);
    assert_eq!(s.dim("m").unwrap(), None);
}

#[cfg(feature = "postgres")]
#[test]
fn pg_put_get_is_bit_exact() {
    // One database for all cases: a fresh track per case.
    let s = std::cell::RefCell::new(crate::pgcluster::pg_store("bit_exact"));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(48));
    let n = std::cell::Cell::new(0i64);
    runner
        .run(&proptest::collection::vec(finite_f32(), 1..300), |v| {
            n.set(n.get() + 1);
            let n = n.get();
            let mut s = s.borrow_mut();
            let model = format!("m{}", v.len());
            let t = sonority_store::TrackRecord::new(sonority_store::FileFacts::new(
                format!("/p/{n}"),
                1,
                0,
            ));
            let id = sonority_store::Catalogue::put_track_analysis(
                &mut *s,
                &t,
                &sonority_store::Analysis::default(),
                &[sonority_store::ModelVector::new(&model, &v)],
            )
            .unwrap();
            let back = s.get(&model, id).unwrap().unwrap();
            let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&back), bits(&v));
            let m = s.load_matrix(&model).unwrap();
            let row = m.ids.iter().position(|&i| i == id).unwrap();
            prop_assert_eq!(bits(m.row(row).unwrap()), bits(&v));
            Ok(())
        })
        .unwrap();
}

#[test]
fn sqlite_put_needs_known_track() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let e = s.put("m", TrackId(42), &[1.0]).unwrap_err();
    assert!(matches!(e, Error::UnknownTrack { id: 42 }), "{e}");
    assert_eq!(
        s.dim("m").unwrap(),
        None,
        "failed put must not register the model"
    );
}

#[test]
fn put_many_is_all_or_nothing() {
    let mut s = SqliteStore::open_in_memory().unwrap();
    let ids = make_tracks(&mut s, 3);
    let good = vector_for(1, 4);
    let bad = [0.0, 0.0, f32::NAN, 0.0];
    let e = s
        .put_many("m", &[(ids[0], &good), (ids[1], &bad)])
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    assert_eq!(s.count("m").unwrap(), 0);
    let e = s
        .put_many("m", &[(ids[0], &good), (TrackId(999), &good)])
        .unwrap_err();
    assert!(matches!(e, Error::UnknownTrack { id: 999 }), "{e}");
    assert_eq!(s.count("m").unwrap(), 0);
    assert_eq!(s.dim("m").unwrap(), None);
}

#[test]
fn load_matrix_matches_default_implementation() {
    // The SQLite override must equal the trait's provided method built on for_each.
    struct ViaForEach<'a>(&'a SqliteStore);
    let mut s = SqliteStore::open_in_memory().unwrap();
    let ids = make_tracks(&mut s, 50);
    for id in &ids {
        s.put("m", *id, &vector_for(id.0, 8)).unwrap();
    }
    let fast = s.load_matrix("m").unwrap();
    let v = ViaForEach(&s);
    let mut slow = sonority_store::VectorMatrix::with_capacity(v.0.dim("m").unwrap().unwrap(), 0);
    v.0.for_each("m", &mut |id, x| slow.push(id, x)).unwrap();
    assert_eq!(fast, slow);
    assert_eq!(fast.len(), 50);
}

/// Any finite f32, with the awkward ones (subnormals, -0.0, extremes) well represented.
fn finite_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>().prop_filter("finite", |x| x.is_finite()),
        (1u32..0x0080_0000).prop_map(f32::from_bits), // positive subnormals
        (0x8000_0001u32..0x8080_0000).prop_map(f32::from_bits), // negative subnormals
        Just(-0.0f32),
        Just(f32::MAX),
        Just(f32::MIN),
        Just(f32::MIN_POSITIVE),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn put_get_is_bit_exact(v in proptest::collection::vec(finite_f32(), 1..300)) {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let ids = make_tracks(&mut s, 1);
        s.put("m", ids[0], &v).unwrap();
        let back = s.get("m", ids[0]).unwrap().unwrap();
        let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&back), bits(&v));
        let m = s.load_matrix("m").unwrap();
        prop_assert_eq!(bits(&m.data), bits(&v));
    }

    #[test]
    fn any_non_finite_is_rejected(
        mut v in proptest::collection::vec(finite_f32(), 1..64),
        pos in any::<prop::sample::Index>(),
        bad in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY),
                           (0x7F80_0001u32..=0x7FFF_FFFF).prop_map(f32::from_bits)],
    ) {
        let i = pos.index(v.len());
        v[i] = bad;
        let mut s = SqliteStore::open_in_memory().unwrap();
        let ids = make_tracks(&mut s, 1);
        let e = s.put("m", ids[0], &v).unwrap_err();
        let ok = matches!(e, Error::NonFinite { index, .. } if index == i);
        prop_assert!(ok, "{}", e);
        prop_assert_eq!(s.count("m").unwrap(), 0);
        let mut mem = MemoryStore::new();
        prop_assert!(mem.put("m", ids[0], &v).is_err());
        prop_assert_eq!(mem.count("m").unwrap(), 0);
    }
}

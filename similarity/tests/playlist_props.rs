//! Playlists, paths and albums on generated libraries: every rule holds, checked against an
//! independent re-statement of the rules, and each greedy choice is the best one allowed.

use std::collections::HashSet;

use proptest::prelude::*;
use sonority_similarity::{
    AlbumIndex, Filter, PathConfig, PlaylistConfig, PlaylistEntry, PlaylistMode, Rules, Seeds,
    TrackMeta, VectorIndex, dot, path, path_progress, playlist,
};
use sonority_testkit::Rng;

/// A generated library: clustered vectors and metadata with few artists and albums, some
/// tracks untagged, some copies of one recording.
struct Library {
    index: VectorIndex<u32>,
    meta: Vec<TrackMeta>,
}

fn library(seed: u64, n: usize, dim: usize) -> Library {
    let mut rng = Rng::new(seed);
    let centres: Vec<Vec<f32>> = (0..4)
        .map(|_| (0..dim).map(|_| rng.next_f32() * 2.0 - 1.0).collect())
        .collect();
    let mut data = Vec::with_capacity(n * dim);
    let mut meta = Vec::with_capacity(n);
    for i in 0..n {
        let c = &centres[rng.next_u32() as usize % centres.len()];
        data.extend(c.iter().map(|x| x + 0.6 * (rng.next_f32() - 0.5)));
        let mut m = TrackMeta::default();
        let pick = |rng: &mut Rng, k: u32| rng.next_u32() % k;
        if pick(&mut rng, 8) != 0 {
            m = m.with_artist(format!("Artist {}", pick(&mut rng, 5)));
        }
        match pick(&mut rng, 6) {
            0 => m = m.with_folder(format!("/music/loose{}", pick(&mut rng, 3))),
            1 => {}
            _ => m = m.with_album(format!("album {}", pick(&mut rng, 7))),
        }
        m = m.with_position(
            (pick(&mut rng, 3) == 0).then(|| 1 + pick(&mut rng, 2)),
            (pick(&mut rng, 5) != 0).then(|| 1 + pick(&mut rng, 12)),
        );
        if pick(&mut rng, 4) != 0 {
            m = m.with_genre(
                ["rock", "jazz; blues", "Rock/Pop", "ambient"][pick(&mut rng, 4) as usize],
            );
        }
        if pick(&mut rng, 4) != 0 {
            m = m.with_year(1960 + pick(&mut rng, 60) as i32);
        }
        if pick(&mut rng, 6) != 0 {
            m = m.with_duration_s(60.0 + f64::from(pick(&mut rng, 400)));
        }
        if pick(&mut rng, 3) == 0 {
            m = m.with_tag("mood", ["calm", "Dark"][pick(&mut rng, 2) as usize]);
        }
        // Every tenth track is a copy of an earlier recording (same content label).
        let label = if i >= 10 && i % 10 == 0 {
            u64::from(pick(&mut rng, i as u32))
        } else {
            i as u64
        };
        if pick(&mut rng, 10) != 0 {
            m = m.with_content(label);
        }
        meta.push(m);
    }
    let ids = (0..n as u32).map(|i| i * 3 + 1).collect();
    Library {
        index: VectorIndex::from_rows(ids, data, dim).unwrap(),
        meta,
    }
}

/// Whether `row` may follow `prefix`: the rules, re-stated independently of the crate.
fn allowed(
    lib: &Library,
    rules: &Rules<u32>,
    fixed: &[usize],
    prefix: &[usize],
    row: usize,
) -> bool {
    let m = &lib.meta[row];
    let id = lib.index.ids()[row];
    let mut contents: HashSet<u64> = rules.exclude_content.clone();
    contents.extend(
        fixed
            .iter()
            .chain(prefix)
            .filter_map(|&r| lib.meta[r].content),
    );
    if fixed.contains(&row) || prefix.contains(&row) || rules.exclude.contains(&id) {
        return false;
    }
    if m.content.is_some_and(|c| contents.contains(&c))
        || !rules.filters.iter().all(|f| f.accepts(m))
    {
        return false;
    }
    if let Some(a) = m.artist_key() {
        let same: Vec<usize> = (0..prefix.len())
            .filter(|&i| lib.meta[prefix[i]].artist_key().as_ref() == Some(&a))
            .collect();
        if rules.max_per_artist.is_some_and(|cap| same.len() >= cap) {
            return false;
        }
        if let Some(&last) = same.last()
            && prefix.len() - last - 1 < rules.min_artist_gap
        {
            return false;
        }
    }
    if let (Some(cap), Some(album)) = (rules.max_per_album, m.album_key()) {
        let count = prefix
            .iter()
            .filter(|&&r| lib.meta[r].album_key().as_ref() == Some(&album))
            .count();
        if count >= cap {
            return false;
        }
    }
    true
}

fn rules_strategy()
-> impl Strategy<Value = (Option<usize>, Option<usize>, usize, Vec<Filter>, Vec<u32>)> {
    let filter = prop_oneof![
        (
            proptest::option::of(60.0..200.0f64),
            proptest::option::of(200.0..460.0f64)
        )
            .prop_map(|(min, max)| Filter::DurationS { min, max }),
        (
            proptest::option::of(1960..1990i32),
            proptest::option::of(1990..2020i32)
        )
            .prop_map(|(min, max)| Filter::Year { min, max }),
        Just(Filter::Genre(vec!["ROCK".into(), "blues".into()])),
        Just(Filter::NotGenre(vec!["ambient".into()])),
        Just(Filter::Tag {
            name: "mood".into(),
            value: "dark".into()
        }),
    ];
    (
        proptest::option::of(1usize..4),
        proptest::option::of(1usize..4),
        0usize..4,
        proptest::collection::vec(filter, 0..2),
        proptest::collection::vec(0u32..300, 0..15),
    )
}

fn make_rules(r: (Option<usize>, Option<usize>, usize, Vec<Filter>, Vec<u32>)) -> Rules<u32> {
    let (artist, album, gap, filters, exclude) = r;
    let mut rules = Rules::default()
        .with_min_artist_gap(gap)
        .with_exclude(exclude)
        .with_exclude_content([3, 4]);
    rules.max_per_artist = artist;
    rules.max_per_album = album;
    rules.filters = filters;
    rules
}

fn rows(list: &[PlaylistEntry<u32>]) -> Vec<usize> {
    list.iter().map(|e| e.row).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Both modes: every track is allowed after the ones before it (no repeat, no seed, caps,
    /// gaps, filters, exclusions), each is the best allowed choice at its place, and a short
    /// list means nothing more was allowed.
    #[test]
    fn playlists_obey_the_rules_and_choose_greedily(
        seed in any::<u64>(),
        size in 20usize..160,
        n in 1usize..40,
        n_seeds in 1usize..4,
        walk in proptest::option::of(0.0f32..=1.0),
        r in rules_strategy(),
    ) {
        let lib = library(seed, size, 6);
        let rules = make_rules(r);
        let seed_rows: Vec<usize> = (0..n_seeds).map(|i| ((seed % 1000) as usize + i * 7) % size).collect();
        let seeds = Seeds::from_ids(seed_rows.iter().map(|&r| lib.index.ids()[r]));
        let mode = walk.map_or(PlaylistMode::Seeds, |w| PlaylistMode::Walk { seed_weight: w });
        let cfg = PlaylistConfig::new(n).with_mode(mode).with_rules(rules.clone());
        let list = playlist(&lib.index, &lib.meta, &seeds, &cfg).unwrap();
        prop_assert!(list.len() <= n);
        let picked = rows(&list);
        // The seeds' mean direction, computed here from scratch.
        let mut centre = vec![0.0f32; 6];
        for &r in &seed_rows {
            for (c, x) in centre.iter_mut().zip(lib.index.row(r)) { *c += x; }
        }
        let norm = dot(&centre, &centre).sqrt();
        centre.iter_mut().for_each(|c| *c /= norm);
        let objective = |prev: Option<usize>, r: usize| {
            let s = dot(&centre, lib.index.row(r));
            match (walk, prev) {
                (None, _) => s,
                (Some(w), p) => {
                    let step = p.map_or_else(|| dot(&centre, lib.index.row(r)), |p| dot(lib.index.row(p), lib.index.row(r)));
                    (1.0 - w) * step + w * s
                }
            }
        };
        for (i, e) in list.iter().enumerate() {
            prop_assert_eq!(e.id, lib.index.ids()[e.row]);
            prop_assert!(allowed(&lib, &rules, &seed_rows, &picked[..i], e.row), "track {} breaks a rule", i);
            prop_assert!((e.score - dot(&centre, lib.index.row(e.row))).abs() < 1e-4);
            let prev = i.checked_sub(1).map(|j| picked[j]);
            let best = objective(prev, e.row);
            for r in 0..size {
                if allowed(&lib, &rules, &seed_rows, &picked[..i], r) {
                    prop_assert!(objective(prev, r) <= best + 1e-4, "row {} was better at place {}", r, i);
                }
            }
        }
        if list.len() < n {
            prop_assert!((0..size).all(|r| !allowed(&lib, &rules, &seed_rows, &picked, r)));
        }
    }

    /// A path keeps its ends, has distinct tracks that obey the rules, moves steadily from
    /// one end to the other, and is shorter than asked only when nothing more lies between.
    #[test]
    fn paths_keep_their_ends_and_move_steadily(
        seed in any::<u64>(),
        size in 10usize..160,
        n in 2usize..30,
        r in rules_strategy(),
    ) {
        let lib = library(seed, size, 5);
        let mut rules = make_rules(r);
        rules.min_artist_gap = 0;
        let (ra, rb) = ((seed % size as u64) as usize, ((seed / 7) % size as u64) as usize);
        prop_assume!(ra != rb);
        let (from, to) = (lib.index.ids()[ra], lib.index.ids()[rb]);
        let p = path(&lib.index, &lib.meta, &from, &to, &PathConfig::new(n).with_rules(rules.clone())).unwrap();
        prop_assert!(p.len() >= 2 && p.len() <= n);
        prop_assert_eq!(p[0].id, from);
        prop_assert_eq!(p[p.len() - 1].id, to);
        let (a, b) = (lib.index.row(ra), lib.index.row(rb));
        let progress: Vec<f32> = p.iter().map(|e| path_progress(a, b, lib.index.row(e.row))).collect();
        for w in progress.windows(2) {
            prop_assert!(w[0] <= w[1] + 1e-6, "progress goes back: {:?}", progress);
        }
        let middle: Vec<usize> = p[1..p.len() - 1].iter().map(|e| e.row).collect();
        let ids: HashSet<u32> = p.iter().map(|e| e.id).collect();
        prop_assert_eq!(ids.len(), p.len());
        // Static rules per middle track; no content twice; caps over the whole path.
        let mut free = rules.clone();
        free.max_per_artist = None;
        free.max_per_album = None;
        for &row in &middle {
            prop_assert!(allowed(&lib, &free, &[ra, rb], &[], row));
            prop_assert!(path_progress(a, b, lib.index.row(row)) >= progress[0] - 1e-6);
            prop_assert!(path_progress(a, b, lib.index.row(row)) <= progress[p.len() - 1] + 1e-6);
        }
        // No content twice in the middle, nor an end's content (the ends may be copies).
        let contents: Vec<u64> = middle.iter().filter_map(|&r| lib.meta[r].content).collect();
        prop_assert_eq!(contents.iter().collect::<HashSet<_>>().len(), contents.len());
        prop_assert!(contents.iter().all(|c| lib.meta[ra].content != Some(*c) && lib.meta[rb].content != Some(*c)));
        let count = |key: &dyn Fn(&TrackMeta) -> Option<String>, cap: Option<usize>| {
            let keys: Vec<String> = p.iter().filter_map(|e| key(&lib.meta[e.row])).collect();
            cap.is_none_or(|cap| keys.iter().all(|k| keys.iter().filter(|x| *x == k).count() <= cap.max(
                // The ends are placed whatever the caps: they may exceed a cap of 1 together.
                usize::from(key(&lib.meta[ra]).as_ref() == Some(k)) + usize::from(key(&lib.meta[rb]).as_ref() == Some(k)))))
        };
        prop_assert!(count(&TrackMeta::artist_key, rules.max_per_artist));
        prop_assert!(count(&TrackMeta::album_key, rules.max_per_album));
        if p.len() < n && rules_cap_free(&rules) {
            let taken: Vec<usize> = p.iter().map(|e| e.row).collect();
            for r in 0..size {
                let x = path_progress(a, b, lib.index.row(r));
                let between = x >= progress[0] && x <= progress[p.len() - 1];
                prop_assert!(!between || taken.contains(&r) || !allowed(&lib, &free, &[ra, rb], &taken[1..taken.len() - 1], r),
                    "row {} was free and between the ends", r);
            }
        }
    }

    /// An album's vector is the normalised mean of its tracks; similar albums exclude the
    /// album itself and come best first; album playlists keep disc and track order.
    #[test]
    fn albums_average_their_tracks_and_keep_order(seed in any::<u64>(), size in 5usize..120, k in 1usize..6) {
        let lib = library(seed, size, 4);
        let Ok(albums) = AlbumIndex::build(&lib.index, &lib.meta) else { return Ok(()) };
        for (a, album) in albums.albums().iter().enumerate() {
            let mut mean = vec![0.0f32; 4];
            for &r in &album.rows {
                let key = lib.meta[r].album_key();
                prop_assert_eq!(key.as_ref(), Some(&album.key));
                for (m, x) in mean.iter_mut().zip(lib.index.row(r)) { *m += x; }
            }
            let norm = dot(&mean, &mean).sqrt();
            for (m, v) in mean.iter().zip(albums.vector(a)) {
                prop_assert!(norm == 0.0 || (m / norm - v).abs() < 1e-5);
            }
            for w in album.rows.windows(2) {
                prop_assert!(lib.meta[w[0]].album_position() <= lib.meta[w[1]].album_position());
            }
            let similar = albums.similar(a, k).unwrap();
            prop_assert!(similar.len() == k.min(albums.albums().len() - 1));
            prop_assert!(similar.iter().all(|&(b, _)| b != a));
            prop_assert!(similar.windows(2).all(|w| w[0].1 >= w[1].1));
            let tracks = albums.album_playlist(a, k, true).unwrap();
            let expected: Vec<usize> = std::iter::once(a).chain(similar.iter().map(|s| s.0))
                .flat_map(|b| albums.albums()[b].rows.clone()).collect();
            prop_assert_eq!(tracks, expected);
        }
        let with_album = (0..size).filter(|&r| lib.meta[r].album_key().is_some()).count();
        prop_assert_eq!(albums.albums().iter().map(|a| a.rows.len()).sum::<usize>(), with_album);
    }
}

fn rules_cap_free(rules: &Rules<u32>) -> bool {
    rules.max_per_artist.is_none() && rules.max_per_album.is_none()
}

#[test]
fn bad_calls_are_typed_errors() {
    let lib = library(1, 10, 3);
    let ids = lib.index.ids();
    let cfg = PlaylistConfig::new(3);
    assert!(playlist(&lib.index, &lib.meta[..9], &Seeds::from_ids([ids[0]]), &cfg).is_err());
    assert!(playlist(&lib.index, &lib.meta, &Seeds::from_ids([999]), &cfg).is_err());
    assert!(playlist(&lib.index, &lib.meta, &Seeds::default(), &cfg).is_err());
    let walk = PlaylistConfig::new(3).with_mode(PlaylistMode::Walk { seed_weight: 1.5 });
    assert!(playlist(&lib.index, &lib.meta, &Seeds::from_ids([ids[0]]), &walk).is_err());
    let zero_cap = PlaylistConfig::new(3).with_rules(Rules::default().with_max_per_album(0));
    assert!(playlist(&lib.index, &lib.meta, &Seeds::from_ids([ids[0]]), &zero_cap).is_err());
    assert!(path(&lib.index, &lib.meta, &ids[0], &ids[0], &PathConfig::new(4)).is_err());
    assert!(path(&lib.index, &lib.meta, &ids[0], &ids[1], &PathConfig::new(1)).is_err());
    let outside = Seeds::from_ids([ids[0]]).with_vector(vec![0.0; 2]);
    assert!(playlist(&lib.index, &lib.meta, &outside, &cfg).is_err());
}

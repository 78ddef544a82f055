//! The facade's root stays on one screen: the names `src/lib.rs` exports at the root are the ones
//! the README's crate table counts and lists (issue 35), no more.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

/// The names of `src/lib.rs`'s top-level `pub use` items (not the member crates re-exported as
/// modules) and its `pub mod`s.
fn root_items() -> (BTreeSet<String>, BTreeSet<String>) {
    let lib = include_str!("../src/lib.rs");
    let mut names = BTreeSet::new();
    let mut modules = BTreeSet::new();
    for line in lib.lines() {
        if let Some(rest) = line.strip_prefix("pub use ") {
            let rest = rest.trim_end_matches(';');
            if let Some((_, alias)) = rest.split_once(" as ") {
                modules.insert(alias.trim().to_owned());
                continue;
            }
            let list = match rest.split_once('{') {
                Some((_, inner)) => inner.trim_end_matches('}').to_owned(),
                None => rest.rsplit("::").next().unwrap().to_owned(),
            };
            names.extend(
                list.split(',')
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
            );
        } else if let Some(rest) = line.strip_prefix("pub mod ") {
            modules.insert(rest.trim_end_matches([';', '{', ' ']).to_owned());
        }
    }
    (names, modules)
}

/// The backticked words of the README's row for the facade, before and after "modules".
fn readme_row() -> (usize, BTreeSet<String>, BTreeSet<String>) {
    let readme = include_str!("../README.md");
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `sonority` (this folder) |"))
        .expect("the README's crate table has the facade's row");
    let count: usize = row
        .split("names at the root")
        .next()
        .and_then(|s| s.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .expect("the row says how many names the root has");
    let ticked = |s: &str| -> BTreeSet<String> {
        s.split('`').skip(1).step_by(2).map(str::to_owned).collect()
    };
    let (names, rest) = row.split_once("modules").unwrap();
    let names = ticked(names.split_once("names at the root").unwrap().1);
    (count, names, ticked(rest))
}

#[test]
fn the_root_exports_what_the_readme_lists() {
    let (names, modules) = root_items();
    let (count, listed, listed_modules) = readme_row();
    assert_eq!(names.len(), count, "root names: {names:?}");
    assert_eq!(names, listed);
    for m in [
        "model",
        "ranking",
        "train",
        "eval",
        "m3u",
        "prelude",
        "distributed",
    ] {
        assert!(
            modules.contains(m),
            "{m} is not a public module: {modules:?}"
        );
        assert!(listed_modules.contains(m), "the README does not list {m}");
    }
}

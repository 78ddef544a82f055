//! A bounded top-k heap with a total, deterministic order.
//!
//! Candidates are ordered by score, higher first, then by row, lower first. The heap keeps
//! the k best with the worst at its root, so a scan tests each row against one value and
//! pays `O(log k)` only for rows that enter. Merging the heaps of several chunks gives the
//! same set whatever the chunking, because the order is total.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A scored row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    /// The score (finite).
    pub score: f32,
    /// The row in the index.
    pub row: usize,
}

impl Candidate {
    /// Orders candidates best first: by score descending, then row ascending.
    pub(crate) fn cmp_best_first(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.row.cmp(&other.row))
    }
}

/// Heap wrapper in which "greater" means "worse", so the max-heap root is the worst kept.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Worst(Candidate);

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_best_first(&other.0)
    }
}

/// The k best candidates seen so far.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    /// An empty top-k.
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
        }
    }

    /// Whether `c` would enter: the heap is not full, or `c` beats the worst kept.
    #[inline]
    pub(crate) fn accepts(&self, c: Candidate) -> bool {
        if self.heap.len() < self.k {
            return true;
        }
        match self.heap.peek() {
            Some(w) => c.cmp_best_first(&w.0) == Ordering::Less,
            None => false,
        }
    }

    /// The score a candidate must at least reach to be considered (`-inf` until full).
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            return f32::NEG_INFINITY;
        }
        self.heap.peek().map_or(f32::INFINITY, |w| w.0.score)
    }

    /// Offers a candidate; it is kept if it is among the k best.
    #[inline]
    pub(crate) fn push(&mut self, c: Candidate) {
        if !self.accepts(c) {
            return;
        }
        if self.heap.len() == self.k {
            self.heap.pop();
        }
        self.heap.push(Worst(c));
    }

    /// Merges another top-k into this one.
    pub(crate) fn merge(mut self, other: Self) -> Self {
        for w in other.heap {
            self.push(w.0);
        }
        self
    }

    /// The kept candidates, best first.
    pub(crate) fn into_sorted(self) -> Vec<Candidate> {
        // `into_sorted_vec` is ascending in `Worst` order, which is best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_best_with_row_order_on_ties() {
        let scores = [0.5_f32, 0.9, 0.5, 0.1, 0.9, 0.5];
        let mut t = TopK::new(4);
        for (row, &score) in scores.iter().enumerate().rev() {
            t.push(Candidate { score, row });
        }
        let rows: Vec<usize> = t.into_sorted().iter().map(|c| c.row).collect();
        assert_eq!(rows, vec![1, 4, 0, 2]);
    }

    #[test]
    fn zero_k_keeps_nothing_and_merge_is_order_free() {
        let mut t = TopK::new(0);
        t.push(Candidate { score: 1.0, row: 0 });
        assert!(t.into_sorted().is_empty());
        let mut a = TopK::new(2);
        let mut b = TopK::new(2);
        a.push(Candidate { score: 0.3, row: 5 });
        a.push(Candidate { score: 0.2, row: 1 });
        b.push(Candidate { score: 0.3, row: 2 });
        b.push(Candidate { score: 0.1, row: 0 });
        let ab = a.clone().merge(b.clone()).into_sorted();
        let ba = b.merge(a).into_sorted();
        assert_eq!(ab, ba);
        assert_eq!(ab.iter().map(|c| c.row).collect::<Vec<_>>(), vec![2, 5]);
    }
}

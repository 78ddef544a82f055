//! Analysing many files on all cores, with panics isolated per file and a clean stop.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// A stop flag shared between the caller (for example a Ctrl-C handler) and the workers.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag that is not raised.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Raises the flag: workers finish the file they are on and take no more.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether the flag is raised.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs `work` on every item with `threads` worker threads, and hands each result to `done` on
/// the calling thread, in completion order, as soon as it is ready.
///
/// A panic inside `work` becomes `Err(message)` for that item only: it cannot take down the
/// run or another item. When `stop` is raised, workers take no new items; results already
/// computed are still delivered. Returns the number of items processed.
///
pub fn for_each_parallel<I, R, W, D>(
    items: Vec<I>,
    threads: usize,
    stop: &StopFlag,
    work: W,
    mut done: D,
) -> usize
where
    I: Send + Sync,
    R: Send,
    W: Fn(&I) -> R + Sync,
    D: FnMut(&I, Result<R, String>),
{
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Result<R, String>)>();
    let mut processed = 0;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, items, work) = (&next, &items, &work);
            scope.spawn(move || {
                loop {
                    if stop.is_stopped() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = catch_unwind(AssertUnwindSafe(|| work(item)))
                        .map_err(|p| panic_message(p.as_ref()));
                    if tx.send((i, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            processed += 1;
            done(&items[i], r);
        }
    });
    processed
}

/// The text of a panic payload.
#[must_use]
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".to_string()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_panic_fails_one_item_only() {
        let mut total = 0;
        let n = for_each_parallel(
            vec![1, 2, 3],
            2,
            &StopFlag::new(),
            |&x| {
                assert!(x != 2, "boom");
                x * 10
            },
            |_, r| {
                if let Ok(v) = r {
                    total += v;
                }
            },
        );
        assert_eq!((n, total), (3, 40));
    }
    use super::*;

    #[test]
    fn stop_flag_stops_taking_items() {
        let stop = StopFlag::new();
        let items: Vec<usize> = (0..1000).collect();
        let mut seen = 0;
        let n = for_each_parallel(
            items,
            2,
            &stop,
            |&x| {
                if x == 10 {
                    stop.stop();
                }
                x
            },
            |_, _| seen += 1,
        );
        assert_eq!(n, seen);
        assert!(n < 1000, "stopped early, processed {n}");
    }

    #[test]
    fn panics_are_isolated() {
        let items: Vec<u32> = (0..50).collect();
        let mut errors = 0;
        let mut oks = 0;
        for_each_parallel(
            items,
            3,
            &StopFlag::new(),
            |&x| {
                assert!(x % 7 != 0, "multiple of seven");
                x
            },
            |_, r| match r {
                Ok(_) => oks += 1,
                Err(m) => {
                    assert!(m.contains("multiple of seven"));
                    errors += 1;
                }
            },
        );
        assert_eq!((oks, errors), (42, 8));
    }
}

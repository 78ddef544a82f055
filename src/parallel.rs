//! The one worker pool: jobs analysed on worker threads, each under the one panic-isolation
//! policy ([`Panic`]), their results handed in completion order to the calling thread, and a
//! clean stop.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

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

/// A panic of one job's work, caught by the pool: that job fails, the others go on. Its text
/// is `panic: MESSAGE`; [`into_error`](Self::into_error) makes it the facade's
/// [`Error::Panicked`](crate::Error::Panicked) for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Panic {
    /// What the panic said (its `&str` or `String` payload), empty for another payload.
    pub(crate) message: String,
}

impl Panic {
    fn of(p: &(dyn std::any::Any + Send)) -> Self {
        let message = if let Some(s) = p.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = p.downcast_ref::<String>() {
            s.clone()
        } else {
            String::new()
        };
        Self { message }
    }

    /// The facade's error for a panic while analysing `path`.
    pub(crate) fn into_error(self, path: std::path::PathBuf) -> crate::Error {
        crate::Error::Panicked {
            path,
            message: self.message,
        }
    }
}

impl std::fmt::Display for Panic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            f.write_str("panic")
        } else {
            write!(f, "panic: {}", self.message)
        }
    }
}

/// What a worker thread tells the calling thread.
enum Event<J, R, E> {
    Done(J, Result<R, Panic>),
    Exit(Result<(), E>),
}

/// The pool: `threads` workers take jobs from `next` until it gives `Ok(None)` or `stop` is
/// raised, run `work` on each inside `catch_unwind` (a panic fails that job only, as
/// [`Panic`]), and send the job and its result to the calling thread, where `done` takes them
/// in completion order. `tick` runs on the calling thread after every result and, with
/// `every`, at least that often while jobs run.
///
/// The first error of `next`, `done` or `tick` raises `stop` (jobs in progress finish and are
/// still handed to `done`) and is returned. Returns the number of jobs handed to `done`.
///
/// # Errors
/// The first error of `next`, `done` or `tick`.
pub(crate) fn pool<J, R, E, N, W, D, T>(
    threads: usize,
    stop: &StopFlag,
    next: N,
    work: W,
    every: Option<Duration>,
    mut done: D,
    mut tick: T,
) -> Result<usize, E>
where
    J: Send,
    R: Send,
    E: Send + std::fmt::Display,
    N: Fn() -> Result<Option<J>, E> + Sync,
    W: Fn(&J) -> R + Sync,
    D: FnMut(J, Result<R, Panic>) -> Result<(), E>,
    T: FnMut() -> Result<(), E>,
{
    let threads = threads.max(1);
    let (tx, rx) = mpsc::channel::<Event<J, R, E>>();
    let mut first_err: Option<E> = None;
    let mut processed = 0;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                let exit = loop {
                    if stop.is_stopped() {
                        break Ok(());
                    }
                    let job = match next() {
                        Ok(Some(job)) => job,
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    };
                    let r = catch_unwind(AssertUnwindSafe(|| work(&job)))
                        .map_err(|p| Panic::of(p.as_ref()));
                    if tx.send(Event::Done(job, r)).is_err() {
                        break Ok(());
                    }
                };
                let _ = tx.send(Event::Exit(exit));
            });
        }
        drop(tx);
        let mut running = threads;
        while running > 0 {
            let event = match every {
                Some(t) => match rx.recv_timeout(t) {
                    Ok(e) => Some(e),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(e) => Some(e),
                    Err(mpsc::RecvError) => break,
                },
            };
            let r = match event {
                Some(Event::Done(job, r)) => {
                    processed += 1;
                    done(job, r)
                }
                Some(Event::Exit(r)) => {
                    running -= 1;
                    r
                }
                None => Ok(()),
            };
            if let Err(e) = r.and_then(|()| tick()) {
                log::error!("stopped: {e}");
                first_err.get_or_insert(e);
                stop.stop();
            }
        }
    });
    first_err.map_or(Ok(processed), Err)
}

/// Runs `work` on every item with `threads` worker threads (the [`pool`]), and hands each
/// result to `done` on the calling thread, in completion order, as soon as it is ready.
///
/// A panic inside `work` becomes `Err(Panic)` for that item only: it cannot take down the
/// run or another item. When `stop` is raised, workers take no new items; results already
/// computed are still delivered. Returns the number of items processed.
pub(crate) fn for_each_parallel<I, R, W, D>(
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
    D: FnMut(&I, Result<R, Panic>),
{
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let r = pool(
        threads,
        stop,
        || {
            Ok::<_, std::convert::Infallible>(
                Some(next.fetch_add(1, Ordering::SeqCst)).filter(|&i| i < items.len()),
            )
        },
        |&i| work(&items[i]),
        None,
        |i, r| {
            done(&items[i], r);
            Ok(())
        },
        || Ok(()),
    );
    match r {
        Ok(n) => n,
        Err(never) => match never {},
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
                    assert_eq!(m.to_string(), "panic: multiple of seven");
                    errors += 1;
                }
            },
        );
        assert_eq!((oks, errors), (42, 8));
    }

    #[test]
    fn the_first_error_stops_the_pool_and_is_returned() {
        let taken = AtomicUsize::new(0);
        let stop = StopFlag::new();
        let mut done = 0;
        let r = pool(
            2,
            &stop,
            || match taken.fetch_add(1, Ordering::SeqCst) {
                5 => Err("source lost".to_string()),
                i if i < 1000 => Ok(Some(i)),
                _ => Ok(None),
            },
            |&i| i,
            Some(Duration::from_millis(10)),
            |_, r| {
                assert!(r.is_ok());
                done += 1;
                Ok(())
            },
            || Ok(()),
        );
        assert_eq!(r, Err("source lost".to_string()));
        assert!(stop.is_stopped());
        assert!(done < 1000, "{done}");
    }

    #[test]
    fn a_panic_becomes_the_facade_error_for_its_file() {
        let p = Panic {
            message: "boom".into(),
        };
        assert_eq!(p.to_string(), "panic: boom");
        let e = p.into_error("a.flac".into());
        assert_eq!(e.to_string(), "a.flac: analysis panicked: boom");
        assert!(matches!(e, crate::Error::Panicked { .. }));
    }
}

//! Facts about the machine the process runs on.

/// The cores this process may use, asked once (the answer reads cgroup files each time).
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()).max(1))
}

/// `f` over every item on up to `threads` threads; see [`par_map_with`].
pub fn par_map<T: Sync, R: Send>(threads: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    par_map_with(threads, items, || (), |_, item| f(item))
}

/// `f` over every item on up to `threads` threads, each taking the next unclaimed item (the
/// items' costs may differ a lot, so a fixed split could leave a thread idle) and keeping its own
/// state (from `init`) across the items it takes. Results keep the items' order; a panic in `f`
/// is re-raised.
pub fn par_map_with<T: Sync, S, R: Send>(
    threads: usize,
    items: &[T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.min(items.len());
    if threads <= 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut state = init();
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else { return done };
            done.push((i, f(&mut state, item)));
        }
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        // The calling thread works too.
        let mut done = work();
        for h in handles {
            done.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        done
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_order_and_each_thread_its_state() {
        let items: Vec<u64> = (0..1000).collect();
        for threads in [1, 2, 3, 8] {
            let out = par_map_with(
                threads,
                &items,
                || 0u64,
                |seen, &x| {
                    *seen += 1;
                    (x * x, *seen)
                },
            );
            assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), items.iter().map(|x| x * x).collect::<Vec<_>>());
            // Every item was counted by exactly one thread's state.
            assert!(out.iter().all(|o| o.1 >= 1) && out.iter().filter(|o| o.1 == 1).count() <= threads);
        }
    }
}

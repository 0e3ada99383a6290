//! Facts about the machine the process runs on.

/// The cores this process may use, asked once (the answer reads cgroup files each time).
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()).max(1))
}

//! The process's memory, as admission control needs it: what it holds privately now, and what
//! the machine (or its cgroup) gives it.

/// Bytes of anonymous memory the process has resident now: its heap, the guest memory pages
/// sessions wrote, suspended images kept in memory. Pages mapped from files (the snapshot's
/// image, which every session shares through the page cache) are left out, because the kernel
/// can drop and re-read them. `None` where `/proc/self/statm` cannot be read.
pub fn resident_private_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut it = statm.split_whitespace().skip(1).map(|v| v.parse::<u64>().ok());
    let (resident, shared) = (it.next()??, it.next()??);
    Some(resident.saturating_sub(shared) * page_size() as u64)
}

/// Bytes of memory the process may use: the machine's memory, or its cgroup's limit when that
/// is lower. `None` where neither can be read.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let total = meminfo.as_deref().and_then(|m| {
        m.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    });
    let total = total.map(|kb| kb * 1024);
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().and_then(|v| v.trim().parse::<u64>().ok()));
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// The host's page size.
pub(crate) fn page_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *SIZE.get_or_init(|| usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_and_grow_with_an_allocation() {
        let before = resident_private_bytes().expect("statm");
        let v = vec![1u8; 64 << 20];
        let after = resident_private_bytes().expect("statm");
        assert!(after >= before + (32 << 20), "{before} -> {after}");
        assert!(std::hint::black_box(&v)[12345] == 1);
        assert!(available_memory().expect("meminfo") > 64 << 20);
    }
}

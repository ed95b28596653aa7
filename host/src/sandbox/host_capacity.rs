//! What the host's kernel lets one process hold, against what a number of
//! sandboxes needs of it.
//!
//! Each running instance holds about [`MAPPINGS_PER_INSTANCE`] memory
//! mappings (its linear memory's reservation, the copy-on-write heap image
//! and the part past it, its table, its stack and guard). Linux caps the
//! mappings of a process at `vm.max_map_count`, 65,530 by default: near
//! 9,000 sources the next instance fails to map its memory. Each also
//! holds [`DESCRIPTORS_PER_INSTANCE`] open files or more, under the
//! process's `RLIMIT_NOFILE`. A run that will need more is told so up
//! front, with the setting to raise, instead of sources failing one by one
//! later.

use std::path::Path;

/// Mappings one running instance holds, rounded up from what
/// `/proc/PID/maps` shows: 6 to 7 per idle source among 100.
pub const MAPPINGS_PER_INSTANCE: u64 = 8;

/// Mappings the process holds besides its instances (the binary, the
/// compiled guest, libraries, thread stacks), with room to spare.
const MAPPINGS_BASE: u64 = 2_000;

const MAX_MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

/// Open files one idle instance holds: its state directory, before any
/// socket, mount or file the script opens (the Python library is one
/// directory for all, see [`super::preopens`]).
pub const DESCRIPTORS_PER_INSTANCE: u64 = 1;

/// Open files the process holds besides its instances (logs, the
/// destinations, the runtime's own), with room to spare.
const DESCRIPTORS_BASE: u64 = 256;

/// Raises the soft limit on open files to the hard limit, as a server that
/// holds a descriptor or more per tenant should, and returns the limit in
/// force; None when it cannot be read.
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// The open files `sources` idle instances need, and the limit when it is
/// lower.
fn descriptor_shortfall(sources: usize, limit: u64) -> Option<(u64, u64)> {
    let needed = DESCRIPTORS_BASE + DESCRIPTORS_PER_INSTANCE * sources as u64;
    (needed > limit).then_some((needed, limit))
}

/// The mappings `sources` instances need, and the kernel's cap when it is
/// lower; None when it is enough or cannot be read (not Linux).
pub fn mapping_shortfall(sources: usize) -> Option<(u64, u64)> {
    let cap = read_cap(Path::new(MAX_MAP_COUNT))?;
    shortfall(sources, cap)
}

fn read_cap(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn shortfall(sources: usize, cap: u64) -> Option<(u64, u64)> {
    let needed = MAPPINGS_BASE + MAPPINGS_PER_INSTANCE * sources as u64;
    (needed > cap).then_some((needed, cap))
}

/// Logs a warning when `sources` instances may not fit under the kernel's
/// mapping cap or the process's limit on open files (raised to its hard
/// limit first).
pub fn warn_if_short(sources: usize) {
    if let Some((needed, limit)) =
        raise_open_files_limit().and_then(|limit| descriptor_shortfall(sources, limit))
    {
        tracing::warn!(
            sources,
            needed,
            open_files_limit = limit,
            "{sources} sources need at least {needed} open files (more with the sockets and files their scripts open), more than this process may hold (RLIMIT_NOFILE = {limit}): sources past the limit will fail to start; raise it, e.g. `ulimit -n {}` or LimitNOFILE= in a systemd unit",
            (needed * 2).next_power_of_two()
        );
    }
    if let Some((needed, cap)) = mapping_shortfall(sources) {
        tracing::warn!(
            sources,
            needed,
            vm_max_map_count = cap,
            "{sources} sources need about {needed} memory mappings, more than this kernel allows a process (vm.max_map_count = {cap}): sources past the limit will fail to start; raise it, e.g. `sysctl -w vm.max_map_count={}`",
            needed.next_power_of_two()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_holds_a_few_thousand_sources_but_not_ten_thousand() {
        assert_eq!(shortfall(1_000, 65_530), None);
        assert_eq!(shortfall(7_000, 65_530), None);
        assert_eq!(shortfall(10_000, 65_530), Some((82_000, 65_530)));
        assert_eq!(shortfall(10_000, 262_144), None);
    }

    #[test]
    fn twenty_thousand_sources_need_more_than_twenty_thousand_open_files() {
        assert_eq!(descriptor_shortfall(1_000, 20_000), None);
        assert_eq!(descriptor_shortfall(10_000, 20_000), None);
        assert_eq!(descriptor_shortfall(20_000, 20_000), Some((20_256, 20_000)));
        assert_eq!(descriptor_shortfall(20_000, 1 << 20), None);
    }

    #[test]
    fn the_open_files_limit_is_readable_and_not_lowered() {
        let limit = raise_open_files_limit().expect("RLIMIT_NOFILE");
        assert!(limit >= 64, "{limit}");
        assert_eq!(raise_open_files_limit(), Some(limit));
    }

    #[test]
    fn an_unreadable_cap_is_no_shortfall() {
        assert_eq!(read_cap(Path::new("/nonexistent/max_map_count")), None);
    }
}

//! What the host's kernel lets one process hold, against what a number of
//! sandboxes needs of it.
//!
//! Each running instance holds about [`MAPPINGS_PER_INSTANCE`] memory
//! mappings (its linear memory's reservation, the copy-on-write heap image
//! and the part past it, its table, its stack and guard). Linux caps the
//! mappings of a process at `vm.max_map_count`, 65,530 by default: near
//! 9,000 sources the next instance fails to map its memory. A run that
//! will need more is told so up front, with the setting to raise, instead
//! of sources failing one by one later.

use std::path::Path;

/// Mappings one running instance holds, rounded up from what
/// `/proc/PID/maps` shows: 6 to 7 per idle source among 100.
pub const MAPPINGS_PER_INSTANCE: u64 = 8;

/// Mappings the process holds besides its instances (the binary, the
/// compiled guest, libraries, thread stacks), with room to spare.
const MAPPINGS_BASE: u64 = 2_000;

const MAX_MAP_COUNT: &str = "/proc/sys/vm/max_map_count";

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
/// mapping cap.
pub fn warn_if_short(sources: usize) {
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
    fn an_unreadable_cap_is_no_shortfall() {
        assert_eq!(read_cap(Path::new("/nonexistent/max_map_count")), None);
    }
}

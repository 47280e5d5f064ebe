//! A counting global allocator, so the fuzz checks can state "no allocation proportional to an
//! untrusted length before the bytes are there" as a number: the largest single allocation
//! (or reallocation) since the last [`reset`] must stay within a bound the check computes from
//! the bytes it was given and the configured cap (`jute.maxbuffer`).
//!
//! Each binary that wants the figures installs it (`#[global_allocator] static A: CountingAlloc
//! = CountingAlloc;` — the fuzz targets and `tests/fuzz_corpora.rs` do); without it
//! [`installed`] is false and the allocation assertions are skipped. The counters are global:
//! the checks that read them run one input at a time on one thread.
//!
//! Owns: the counters. Must not: change how memory is allocated (it delegates to `System`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Delegates to the system allocator, remembering the largest request seen.
pub struct CountingAlloc;

fn note(size: usize) {
    LARGEST.fetch_max(size, Ordering::Relaxed);
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the only addition is an atomic counter update, which does not allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// True once a [`CountingAlloc`] is the global allocator of this process and has seen a call.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Starts a new measurement.
pub fn reset() {
    LARGEST.store(0, Ordering::Relaxed);
}

/// The largest single allocation since [`reset`].
pub fn largest() -> usize {
    LARGEST.load(Ordering::Relaxed)
}

/// Panics when an allocation since [`reset`] exceeded `bound` bytes (only when counting).
pub fn assert_within(what: &str, bound: usize) {
    if installed() {
        let largest = largest();
        assert!(
            largest <= bound,
            "{what}: allocated {largest} bytes at once, more than the {bound} the input justifies"
        );
    }
}

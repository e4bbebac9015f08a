//! The process heap's policy: freed tensor buffers stay in the heap for the next tensor.
//!
//! glibc's malloc maps every block over its mmap threshold (128 KiB, rising to at most 32 MiB
//! as blocks are freed) afresh from the kernel and unmaps it on free, so each layer's activations
//! (6–50 MB at the encoders' lengths) arrive as new pages: a page fault and a zeroed page per 4 KiB.
//! On NT-v2 250M at 2,048 tokens that was 2.6 million faults per three passes and ≈ 7 % of the wall
//! time (BENCHMARKS.md). Serving them from the heap instead keeps the pages of the largest
//! activations mapped (a full prediction's peak RSS: 4.22 GB, against 4.08 GB measured before on
//! another machine of the same kind).

/// Raises glibc's mmap and trim thresholds to 2 GiB (mallopt takes an int), past any activation.
/// Other C libraries (musl) keep their own policy.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = libc::c_int::MAX;
        // SAFETY: mallopt only sets the allocator's parameters; called first thing in main,
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
        }
    }
}

//! [`HugePages`]: the system allocator, with transparent huge pages for large blocks.
//!
//! A job's big state is a few hash maps read at random, one lookup per vote (the voters, in
//! [`crate::pipelines::election::verdicts`]): hundreds of MB per worker at national scale.
//! With 4 KiB pages nearly every lookup also misses the TLB and walks the page tables.
//! Where the kernel's transparent-huge-page mode is `madvise` (the usual default), memory is
//! backed by 2 MiB pages only where the program asks; this allocator asks for every block
//! of 8 MiB or more. An application opts in with one line:
//!
//! ```
//! #[global_allocator]
//! static ALLOCATOR: ballotflow::huge_pages::HugePages = ballotflow::huge_pages::HugePages;
//! # fn main() {}
//! ```
//!
//! Measured on the 1.4 M-voter data set from files (`-w 2`, 3 runs each, this crate's
//! example): vote phase 1.71–2.07 s with it, 2.10–2.18 s without; user CPU 5.2–5.8 s
//! against 5.8–5.9 s. Elsewhere than Linux it is the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, advising the kernel to back blocks of [`HugePages::LARGE`] bytes or
/// more with transparent huge pages (see the module docs).
pub struct HugePages;

impl HugePages {
    /// The smallest block advised.
    pub const LARGE: usize = 8 << 20;
    const HUGE_PAGE: usize = 2 << 20;

    fn advise(ptr: *mut u8, size: usize) {
        if ptr.is_null() || size < Self::LARGE {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            let start = (ptr as usize).next_multiple_of(Self::HUGE_PAGE);
            let end = (ptr as usize + size) / Self::HUGE_PAGE * Self::HUGE_PAGE;
            if end > start {
                // Advice only: if the kernel declines, the block keeps small pages.
                // SAFETY: the range lies within a block the system allocator just handed out.
                unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
            }
        }
    }
}

// SAFETY: every call is the system allocator's; `advise` only gives the kernel advice about
// memory inside the block returned.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        Self::advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        Self::advise(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let ptr = unsafe { System.realloc(ptr, layout, new_size) };
        Self::advise(ptr, new_size);
        ptr
    }
}

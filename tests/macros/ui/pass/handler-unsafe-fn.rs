#![deny(warnings)]

use monitor_core::monitored_handler;

/// # Safety
///
/// `p` must point to a readable `u32`.
#[monitored_handler]
unsafe fn read(p: *const u32) -> u32 {
    // SAFETY: the caller promises `p` is readable.
    unsafe { *p }
}

struct Buffer(Vec<u8>);

impl Buffer {
    /// # Safety
    ///
    /// `i` must be in bounds.
    #[monitored_handler]
    unsafe fn get(&self, i: usize) -> u8 {
        // SAFETY: the caller promises `i` is in bounds.
        unsafe { *self.0.get_unchecked(i) }
    }
}

fn main() {
    let x = 5u32;
    // SAFETY: `&x` is readable.
    assert_eq!(unsafe { read(&x) }, 5);
    let buffer = Buffer(vec![1, 2, 3]);
    // SAFETY: 2 < 3.
    assert_eq!(unsafe { buffer.get(2) }, 3);

    let site = monitor_core::sites().find(|s| s.name() == "read").unwrap();
    assert_eq!(site.stats().calls(), 1);
    let site = monitor_core::sites().find(|s| s.name() == "get").unwrap();
    assert_eq!(site.stats().calls(), 1);
}

use std::hint::black_box;
use std::time::Instant;
#[inline(never)]
fn pair(x: u64) -> u64 {
    let a = unsafe { core::arch::x86_64::_rdtsc() };
    let y = black_box(x).wrapping_mul(3);
    let b = unsafe { core::arch::x86_64::_rdtsc() };
    y ^ (b - a)
}
#[inline(never)]
fn quanta_pair(x: u64) -> u64 { monitor_benches::quanta_pair(x) }
fn main() {
    for _ in 0..3 {
        let n = 20_000_000u64;
        let t = Instant::now();
        for i in 0..n { black_box(pair(black_box(i))); }
        let a = t.elapsed().as_nanos() as f64 / n as f64;
        let t = Instant::now();
        for i in 0..n { black_box(quanta_pair(black_box(i))); }
        let b = t.elapsed().as_nanos() as f64 / n as f64;
        println!("rdtsc pair {a:.2} ns, quanta pair {b:.2} ns");
    }
}

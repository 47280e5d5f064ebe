//! Free TCP ports for the members of the test ensembles, never handed out twice by one test
//! process.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};

/// Ports not handed out twice by this process; bound once to check they are free.
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A free port below Linux's ephemeral range (32768+), so a client connection made by some
/// other process cannot take it between our check and the member's bind.
pub fn free_port() -> u16 {
    let _ = NEXT_PORT.compare_exchange(
        0,
        20000 + (std::process::id() % 1000) as u16 * 12,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let p = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        let p = if p >= 32700 {
            NEXT_PORT.store(20001, Ordering::SeqCst);
            20000
        } else {
            p
        };
        if TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

/// The first of `n` consecutive free ports (for tools that number ports from a base).
pub fn free_ports_in_a_row(n: u16) -> u16 {
    loop {
        let first = free_port();
        if (1..n).all(|k| free_port() == first + k) {
            return first;
        }
    }
}

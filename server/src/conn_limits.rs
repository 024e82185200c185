//! How many connections the server holds, in all and per peer address.
//!
//! A peer takes a [`Slot`] when it is accepted and gives it back when its connection ends
//! (the slot lives in the client and is dropped with it). A peer that gets none is refused
//! with an HTTP status before the WebSocket upgrade. Loopback peers are exempt from the
//! per-address limit unless configured otherwise: behind a local reverse proxy every player
//! would share one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::metrics::Refusal;

/// The limits and the connections counted against them.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    limit_loopback: bool,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One connection counted against the limits, given back on drop.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    /// At most `max_total` connections, and `max_per_ip` from any one address (loopback
    /// included only when `limit_loopback`).
    pub fn new(max_total: usize, max_per_ip: usize, limit_loopback: bool) -> Self {
        Self {
            max_total,
            max_per_ip,
            limit_loopback,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Counts one more connection from `ip`, or says which limit it is over.
    ///
    /// # Errors
    /// [`Refusal::Capacity`] at the total limit, [`Refusal::PerIp`] at the address's.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        // The lock is held for a few instructions and nothing in it can panic, so a
        // poisoned lock still holds consistent counts.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err(Refusal::Capacity);
        }
        let exempt = ip.is_loopback() && !self.limit_loopback;
        let from_ip = counts.per_ip.entry(ip).or_default();
        if !exempt && *from_ip >= self.max_per_ip {
            return Err(Refusal::PerIp);
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(Slot {
            limits: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .limits
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                // Forget the address, so the map holds only addresses connected now.
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_address_limit_and_release() {
        let limits = Arc::new(ConnectionLimits::new(100, 2, false));
        let a = limits.acquire(ip("10.0.0.1")).unwrap();
        let _b = limits.acquire(ip("10.0.0.1")).unwrap();
        assert_eq!(limits.acquire(ip("10.0.0.1")).unwrap_err(), Refusal::PerIp);
        // Another address is not affected.
        let _c = limits.acquire(ip("10.0.0.2")).unwrap();
        drop(a);
        let _d = limits.acquire(ip("10.0.0.1")).unwrap();
        assert_eq!(limits.counts.lock().unwrap().total, 3);
    }

    #[test]
    fn total_limit_comes_first() {
        let limits = Arc::new(ConnectionLimits::new(2, 10, true));
        let _a = limits.acquire(ip("10.0.0.1")).unwrap();
        let _b = limits.acquire(ip("10.0.0.2")).unwrap();
        assert_eq!(
            limits.acquire(ip("10.0.0.3")).unwrap_err(),
            Refusal::Capacity
        );
    }

    #[test]
    fn loopback_is_exempt_unless_asked() {
        let open = Arc::new(ConnectionLimits::new(100, 1, false));
        let held: Vec<Slot> = (0..5)
            .map(|_| open.acquire(ip("127.0.0.1")).unwrap())
            .collect();
        assert_eq!(held.len(), 5);
        let strict = Arc::new(ConnectionLimits::new(100, 1, true));
        let _a = strict.acquire(ip("::1")).unwrap();
        assert_eq!(strict.acquire(ip("::1")).unwrap_err(), Refusal::PerIp);
    }

    #[test]
    fn released_addresses_are_forgotten() {
        let limits = Arc::new(ConnectionLimits::new(100, 5, false));
        for i in 0..50u8 {
            drop(limits.acquire(IpAddr::from([10, 0, 1, i])).unwrap());
        }
        let counts = limits.counts.lock().unwrap();
        assert!(counts.per_ip.is_empty() && counts.total == 0);
    }
}

//! Connection caps: `maxClientCnxns` per client IP and `maxCnxns` in total (0 = no cap).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

pub struct ConnectionLimits {
    per_ip: u32,
    total: u32,
    counts: Mutex<(HashMap<IpAddr, u32>, u32)>,
}

/// Holds one connection's place; released on drop.
pub struct Permit {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    pub fn new(per_ip: u32, total: u32) -> Self {
        ConnectionLimits {
            per_ip,
            total,
            counts: Mutex::new((HashMap::new(), 0)),
        }
    }

    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut guard = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (per_ip, total) = &mut *guard;
        let n = per_ip.entry(ip).or_insert(0);
        if (self.per_ip > 0 && *n >= self.per_ip) || (self.total > 0 && *total >= self.total) {
            return None;
        }
        *n += 1;
        *total += 1;
        Some(Permit {
            limits: self.clone(),
            ip,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut guard = self.limits.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (per_ip, total) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_cap_and_release() {
        let limits = Arc::new(ConnectionLimits::new(2, 0));
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = limits.admit(ip);
        let b = limits.admit(ip);
        assert!(a.is_some() && b.is_some());
        assert!(limits.admit(ip).is_none());
        assert!(limits.admit([10, 0, 0, 1].into()).is_some());
        drop(a);
        assert!(limits.admit(ip).is_some());
    }
}

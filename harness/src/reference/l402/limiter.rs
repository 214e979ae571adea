//! A token bucket for invoice creation: each challenge costs a Lightning invoice, so a
//! server limits how fast unpaid requests can make it create them (l402-kit's "rate
//! limiter on invoice creation").

use std::sync::Mutex;
use std::time::Instant;

/// How fast invoices may be created.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// How many may be created at once.
    pub burst: u32,
    /// How many more each second.
    pub per_second: f64,
}

/// A token bucket.
#[derive(Debug)]
pub struct Bucket {
    limit: RateLimit,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    /// A full bucket.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            state: Mutex::new((f64::from(limit.burst), Instant::now())),
        }
    }

    /// Takes one token; false when the bucket is empty.
    pub fn take(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(s.1).as_secs_f64() * self.limit.per_second;
        s.0 = (s.0 + refill).min(f64::from(self.limit.burst));
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_empties_after_its_burst() {
        let b = Bucket::new(RateLimit {
            burst: 3,
            per_second: 0.0,
        });
        assert_eq!((0..5).filter(|_| b.take()).count(), 3);
    }
}

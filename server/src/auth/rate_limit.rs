//! Limits failed sign-ins per account and per network address.
//!
//! Each key keeps the times of its recent failures within a sliding window. Once a key
//! has as many failures as its limit allows, sign-ins for it are refused (`429` with
//! `Retry-After`) until the oldest failure leaves the window, even with the right
//! password: a guesser learns nothing. A successful sign-in clears the account's
//! failures (not the address's). Time is passed in, so tests need no sleeping.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures are allowed within which window.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub window: Duration,
    pub per_account: usize,
    pub per_address: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            per_account: 5,
            per_address: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// Keys are dropped once their failures have all expired and the table grows past this.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
pub struct SignInLimiter {
    policy: Policy,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl SignInLimiter {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            failures: Mutex::default(),
        }
    }

    fn keys(account: &str, address: IpAddr) -> [(Key, usize); 2] {
        [
            (Key::Account(account.to_lowercase()), 0),
            (Key::Address(address), 1),
        ]
    }

    /// `Err(wait)` when this account or address must wait before trying again.
    pub fn check(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let limits = [self.policy.per_account, self.policy.per_address];
        let mut table = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for (key, which) in Self::keys(account, address) {
            if let Some(times) = table.get_mut(&key) {
                expire(times, now, self.policy.window);
                if times.len() >= limits[which] {
                    let oldest = times[times.len() - limits[which]];
                    wait = wait.max(self.policy.window.saturating_sub(now - oldest));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_secs(1)))
        }
    }

    pub fn record_failure(&self, account: &str, address: IpAddr, now: Instant) {
        let mut table = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if table.len() > PRUNE_ABOVE {
            table.retain(|_, times| {
                expire(times, now, self.policy.window);
                !times.is_empty()
            });
        }
        for (key, _) in Self::keys(account, address) {
            table.entry(key).or_default().push_back(now);
        }
    }

    pub fn record_success(&self, account: &str) {
        let mut table = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        table.remove(&Key::Account(account.to_lowercase()));
    }
}

fn expire(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn limiter() -> SignInLimiter {
        SignInLimiter::new(Policy {
            window: Duration::from_secs(60),
            per_account: 3,
            per_address: 5,
        })
    }

    #[test]
    fn an_account_is_locked_after_its_limit_until_the_window_passes() {
        let limiter = limiter();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(limiter.check("wang", HOME, t0).is_ok(), "attempt {i}");
            limiter.record_failure("wang", HOME, t0 + Duration::from_secs(i));
        }
        let wait = limiter
            .check("WANG", AWAY, t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(limiter
            .check("wang", HOME, t0 + Duration::from_secs(60))
            .is_ok());
    }

    #[test]
    fn an_address_is_locked_across_accounts() {
        let limiter = limiter();
        let t0 = Instant::now();
        for i in 0..5 {
            limiter.record_failure(&format!("user{i}"), HOME, t0);
        }
        assert!(limiter.check("someone-else", HOME, t0).is_err());
        assert!(limiter.check("someone-else", AWAY, t0).is_ok());
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let limiter = limiter();
        let t0 = Instant::now();
        for _ in 0..2 {
            limiter.record_failure("li", HOME, t0);
        }
        limiter.record_success("li");
        limiter.record_failure("li", HOME, t0);
        limiter.record_failure("li", HOME, t0);
        assert!(
            limiter.check("li", AWAY, t0).is_ok(),
            "account count restarted"
        );
        limiter.record_failure("li", HOME, t0);
        assert!(
            limiter.check("other", HOME, t0).is_err(),
            "address kept all 5"
        );
    }
}

//! Limits on sign-in attempts: slow the guesser, not the owner.
//!
//! Three counts of recent failures, each in a sliding window:
//! - per account *and* address (the guesser at one account): past its limit, that
//!   address may not try that account until the oldest failure leaves the window
//!   (`429` with `Retry-After`, even with the right password: a guesser learns nothing);
//! - per address, over all accounts (the guesser spraying accounts): the same, for
//!   every account from that address;
//! - per account, from anywhere: past its limit the account is only *slowed*, one
//!   attempt every [`Policy::account_spacing`], so that failures from one address keep
//!   the owner, signing in from another, out for a few seconds at most.
//!
//! The failures are kept in the database (`Store::begin_sign_in`), so that a guesser
//! gets the same number of tries whichever of several servers answers, and a restart
//! forgets none. An attempt is counted *before* its password is checked (the store
//! records it as a failure, in a write transaction that first reads the counts):
//! concurrent guesses cannot slip past a limit while their hashes run. A success takes
//! its attempt back and forgives the account's failures and those of the account at
//! that address. IPv6 addresses count per /64, the block a single host usually holds.
//! What is decided here is pure: the store reads the recent failures, [`Policy::wait`]
//! says whether to wait, so tests need no clock.

use std::net::IpAddr;
use std::time::Duration;

/// How many failures are allowed within which window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub window: Duration,
    /// Failures of one account from one address.
    pub per_pair: usize,
    /// Failures from one address, any account.
    pub per_address: usize,
    /// Failures of one account from anywhere before it is slowed.
    pub per_account: usize,
    /// The time between attempts on a slowed account.
    pub account_spacing: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(15 * 60),
            per_pair: 5,
            per_address: 20,
            per_account: 5,
            account_spacing: Duration::from_secs(5),
        }
    }
}

/// One sign-in attempt as it is counted: the account in lower case, the address by
/// its /64 for IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub account: String,
    pub address: String,
}

impl Attempt {
    pub fn new(account: &str, address: IpAddr) -> Self {
        Self {
            account: account.to_lowercase(),
            address: counted(address).to_string(),
        }
    }
}

/// The recent failures that matter to an attempt, newest first, each list no longer
/// than its limit (times in milliseconds since the epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    /// Of the account at this address, not forgiven.
    pub pair: Vec<i64>,
    /// From this address, any account.
    pub address: Vec<i64>,
    /// Of the account from anywhere, not forgiven.
    pub account: Vec<i64>,
}

impl Policy {
    /// The oldest failure time that still counts at `now`.
    pub fn since(&self, now: i64) -> i64 {
        now - self.window.as_millis() as i64
    }

    /// How long an attempt at `now` must wait, given the failures before it; `None`
    /// if it may go on. In whole seconds, rounded up: `Retry-After` is whole seconds,
    /// and a client that waits that long must then get through.
    pub fn wait(&self, recent: &Recent, now: i64) -> Option<Duration> {
        let window = self.window.as_millis() as i64;
        let mut wait_ms = 0i64;
        for (failures, limit) in [
            (&recent.pair, self.per_pair),
            (&recent.address, self.per_address),
        ] {
            if let Some(oldest_counted) = failures.get(limit.saturating_sub(1)) {
                wait_ms = wait_ms.max(window - (now - oldest_counted));
            }
        }
        if recent.account.len() >= self.per_account {
            if let Some(last) = recent.account.first() {
                wait_ms = wait_ms.max(self.account_spacing.as_millis() as i64 - (now - last));
            }
        }
        (wait_ms > 0).then(|| Duration::from_secs((wait_ms as u64).div_ceil(1000)))
    }
}

/// The address a limit counts: IPv6 by its /64.
fn counted(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            window: Duration::from_secs(60),
            per_pair: 3,
            per_address: 5,
            per_account: 3,
            account_spacing: Duration::from_secs(4),
        }
    }

    #[test]
    fn past_a_limit_the_wait_lasts_until_the_oldest_counted_failure_leaves_the_window() {
        let policy = policy();
        let recent = Recent {
            pair: vec![2_000, 1_000, 0],
            address: vec![2_000, 1_000, 0],
            account: vec![],
        };
        assert_eq!(policy.wait(&recent, 10_000), Some(Duration::from_secs(50)));
        // One failure short of the limit: no wait.
        let recent = Recent {
            pair: vec![2_000, 1_000],
            ..recent
        };
        assert_eq!(policy.wait(&recent, 10_000), None);
        // The oldest left the window exactly now.
        let recent = Recent {
            pair: vec![2_000, 1_000, 0],
            ..Recent::default()
        };
        assert_eq!(policy.wait(&recent, 60_000), None);
        // A part of a second is a whole second.
        assert_eq!(policy.wait(&recent, 59_999), Some(Duration::from_secs(1)));
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_an_account_only_slowed() {
        let policy = policy();
        let address = Recent {
            address: vec![5, 4, 3, 2, 1],
            ..Recent::default()
        };
        assert!(policy.wait(&address, 10).is_some());
        let account = Recent {
            account: vec![3_000, 2_000, 1_000],
            ..Recent::default()
        };
        assert_eq!(policy.wait(&account, 3_000), Some(Duration::from_secs(4)));
        assert_eq!(policy.wait(&account, 6_000), Some(Duration::from_secs(1)));
        assert_eq!(policy.wait(&account, 7_000), None);
    }

    #[test]
    fn accounts_count_in_lower_case_and_ipv6_per_64() {
        let one = Attempt::new("WANG", "2001:db8:1:2:9:9:9:9".parse().unwrap());
        let two = Attempt::new("wang", "2001:db8:1:2::1".parse().unwrap());
        assert_eq!(one, two);
        let other = Attempt::new("wang", "2001:db8:1:3::1".parse().unwrap());
        assert_ne!(one.address, other.address);
        let mapped = Attempt::new("x", "::ffff:10.0.0.1".parse().unwrap());
        assert_eq!(mapped.address, "10.0.0.1");
    }
}

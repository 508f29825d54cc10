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
//! An attempt is counted *before* its password is checked ([`SignInLimiter::begin`]
//! reserves it as a failure): concurrent guesses cannot slip past a limit while their
//! hashes run. A success takes its reservation back and clears the account's failures
//! and those of the account at that address. IPv6 addresses count per /64, the block a
//! single host usually holds. Time is passed in, so tests need no sleeping.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures are allowed within which window.
#[derive(Debug, Clone, Copy)]
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

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Address(IpAddr),
    Account(String),
}

#[derive(Debug, Default)]
struct Entry {
    failures: VecDeque<Instant>,
    /// The last attempt (accounts only).
    last_attempt: Option<Instant>,
}

/// Keys are dropped once their failures have all expired and the table grows past this.
const PRUNE_ABOVE: usize = 10_000;

/// An attempt counted as a failure until [`SignInLimiter::succeeded`] or
/// [`SignInLimiter::withdraw`] says otherwise.
#[derive(Debug)]
#[must_use]
pub struct Reservation {
    account: String,
    address: IpAddr,
    at: Instant,
}

#[derive(Debug, Default)]
pub struct SignInLimiter {
    policy: Policy,
    entries: Mutex<Table>,
}

/// The entries, and the size at which expired ones are next swept out (twice what was
/// left after the last sweep, so a table kept large by an attacker is not swept on
/// every attempt).
#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Key, Entry>,
    sweep_above: usize,
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

impl SignInLimiter {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            entries: Mutex::default(),
        }
    }

    fn keys(account: &str, address: IpAddr) -> [Key; 3] {
        let (account, address) = (account.to_lowercase(), counted(address));
        [
            Key::Pair(account.clone(), address),
            Key::Address(address),
            Key::Account(account),
        ]
    }

    /// Counts an attempt as a failure before its password is checked, or says how
    /// long this account or address must wait.
    pub fn begin(
        &self,
        account: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<Reservation, Duration> {
        let policy = &self.policy;
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if guard.entries.len() > guard.sweep_above.max(PRUNE_ABOVE) {
            guard.entries.retain(|_, entry| {
                expire(&mut entry.failures, now, policy.window);
                !entry.failures.is_empty()
            });
            guard.sweep_above = guard.entries.len() * 2;
        }
        let table = &mut guard.entries;
        let [pair, by_address, by_account] = Self::keys(account, address);
        let mut wait = Duration::ZERO;
        for (key, limit) in [(&pair, policy.per_pair), (&by_address, policy.per_address)] {
            if let Some(entry) = table.get_mut(key) {
                expire(&mut entry.failures, now, policy.window);
                if entry.failures.len() >= limit {
                    let oldest = entry.failures[entry.failures.len() - limit];
                    wait = wait.max(policy.window.saturating_sub(now - oldest));
                }
            }
        }
        if let Some(entry) = table.get_mut(&by_account) {
            expire(&mut entry.failures, now, policy.window);
            if entry.failures.len() >= policy.per_account {
                if let Some(last) = entry.last_attempt {
                    wait = wait.max(policy.account_spacing.saturating_sub(now - last));
                }
            }
        }
        if !wait.is_zero() {
            // In whole seconds, rounded up: `Retry-After` is whole seconds, and a
            // client that waits that long must then get through.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(Duration::from_secs(seconds));
        }
        for key in [pair, by_address] {
            table.entry(key).or_default().failures.push_back(now);
        }
        let entry = table.entry(by_account).or_default();
        entry.failures.push_back(now);
        entry.last_attempt = Some(now);
        Ok(Reservation {
            account: account.to_lowercase(),
            address: counted(address),
            at: now,
        })
    }

    /// Takes back an attempt that was never checked (the server was too busy).
    pub fn withdraw(&self, attempt: Reservation) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let table = &mut guard.entries;
        for key in Self::keys(&attempt.account, attempt.address) {
            take_back(table, &key, attempt.at);
        }
    }

    /// The password was right: the attempt was no failure, and the account's failures
    /// (and the account's at this address) are forgotten. The address keeps its own.
    pub fn succeeded(&self, attempt: Reservation) {
        let [pair, by_address, by_account] = Self::keys(&attempt.account, attempt.address);
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let table = &mut guard.entries;
        table.remove(&pair);
        table.remove(&by_account);
        take_back(table, &by_address, attempt.at);
    }
}

/// Forgets the failure recorded for an attempt made `at`, under `key`.
fn take_back(table: &mut HashMap<Key, Entry>, key: &Key, at: Instant) {
    if let Some(entry) = table.get_mut(key) {
        if let Some(i) = entry.failures.iter().rposition(|t| *t == at) {
            entry.failures.remove(i);
        }
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
            per_pair: 3,
            per_address: 5,
            per_account: 3,
            account_spacing: Duration::from_secs(4),
        })
    }

    fn fail(limiter: &SignInLimiter, account: &str, address: IpAddr, at: Instant) {
        let _failed = limiter.begin(account, address, at).expect("may try");
    }

    #[test]
    fn an_account_is_locked_at_one_address_and_only_slowed_elsewhere() {
        let limiter = limiter();
        let t0 = Instant::now();
        for i in 0..3 {
            fail(&limiter, "wang", HOME, t0 + Duration::from_secs(i));
        }
        // From the guesser's address: locked until the first failure leaves the window.
        let wait = limiter
            .begin("WANG", HOME, t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        // From elsewhere: a few seconds after the last attempt at most.
        let wait = limiter
            .begin("wang", AWAY, t0 + Duration::from_secs(3))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(3));
        let owner = limiter
            .begin("wang", AWAY, t0 + Duration::from_secs(6))
            .expect("the owner gets through");
        limiter.succeeded(owner);
        assert!(limiter
            .begin("wang", HOME, t0 + Duration::from_secs(60))
            .is_ok());
    }

    #[test]
    fn an_address_is_locked_across_accounts() {
        let limiter = limiter();
        let t0 = Instant::now();
        for i in 0..5 {
            fail(&limiter, &format!("user{i}"), HOME, t0);
        }
        assert!(limiter.begin("someone-else", HOME, t0).is_err());
        assert!(limiter.begin("someone-else", AWAY, t0).is_ok());
    }

    #[test]
    fn concurrent_attempts_are_counted_before_their_check() {
        let limiter = limiter();
        let t0 = Instant::now();
        // Many at once, none finished: only the limit's worth may go on.
        let admitted: Vec<Reservation> = (0..60)
            .filter_map(|_| limiter.begin("li", HOME, t0).ok())
            .collect();
        assert_eq!(admitted.len(), 3);
    }

    #[test]
    fn success_takes_back_its_attempt_and_clears_the_account() {
        let limiter = limiter();
        let t0 = Instant::now();
        for _ in 0..2 {
            fail(&limiter, "li", HOME, t0);
        }
        let right = limiter.begin("li", HOME, t0).unwrap();
        limiter.succeeded(right);
        for _ in 0..2 {
            fail(&limiter, "li", HOME, t0);
        }
        assert!(limiter.begin("li", HOME, t0).is_ok(), "count restarted");
        // The address kept its failures: 2 + 2 + 1 now.
        assert!(limiter.begin("other", HOME, t0).is_err());
    }

    #[test]
    fn a_withdrawn_attempt_counts_for_nothing() {
        let limiter = limiter();
        let t0 = Instant::now();
        for _ in 0..10 {
            let busy = limiter.begin("li", HOME, t0).unwrap();
            limiter.withdraw(busy);
        }
        assert!(limiter.begin("li", HOME, t0).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let limiter = limiter();
        let t0 = Instant::now();
        for i in 0..5u16 {
            let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, i, i, i, i));
            fail(&limiter, &format!("user{i}"), address, t0);
        }
        let next = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        assert!(limiter.begin("x", next, t0).is_err());
        let other = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(limiter.begin("x", other, t0).is_ok());
    }
}

//! Argon2id password hashes (PHC strings with their own salt and parameters), and
//! [`Hashing`], which bounds how many run at once.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

/// Hashes a password with Argon2id and a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
}

/// Checks a password against a stored hash. A malformed hash never verifies.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the same time as [`verify`] for a user that does not exist, so that the
/// answer time does not tell which usernames exist.
pub fn verify_against_nobody(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("no such user").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// How many password hashes may run at once, and wait: each Argon2id check takes about
/// 19 MiB and a core for tens of milliseconds, so a flood of sign-ins must not start
/// them all. Past the slots a few wait briefly; beyond that the answer is "busy" at
/// once, instead of a queue that grows with the flood.
#[derive(Debug)]
pub struct Hashing {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
}

/// No hashing slot came free in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The longest a check waits for a slot.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Default for Hashing {
    /// As many slots as cores, at most 4 (76 MiB of hashing at most).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hashing::new(cores.clamp(1, 4), 16)
    }
}

impl Hashing {
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        Hashing {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `work` (a hash or a check) on a blocking thread once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        use std::sync::atomic::Ordering;
        /// Counts one waiter for as long as it lives, also when its caller is dropped
        /// (a client gone, a request past its time).
        struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let waiting = Waiting(&self.waiting);
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    return Err(Busy);
                }
                let waited =
                    tokio::time::timeout(HASH_WAIT, self.slots.clone().acquire_owned()).await;
                drop(waiting);
                match waited {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(Busy),
                }
            }
        };
        // The slot goes with the work: a caller dropped meanwhile does not free it
        // while the hash still runs.
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("demo").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("demo", &stored));
        assert!(!verify("Demo", &stored));
        assert!(!verify("demo", "not a hash"));
    }

    #[tokio::test]
    async fn hashing_runs_at_most_its_slots_and_turns_the_rest_away() {
        let hashing = std::sync::Arc::new(Hashing::new(2, 3));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            use std::sync::atomic::Ordering::SeqCst;
                            let now = running.fetch_add(1, SeqCst) + 1;
                            most.fetch_max(now, SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            running.fetch_sub(1, SeqCst);
                        })
                        .await
                })
            })
            .collect();
        let mut done = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                done += 1;
            }
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        // 2 at once and 3 waiting got through (more may, as slots free up early).
        assert!((5..20).contains(&done), "{done} ran");
    }

    #[test]
    fn the_same_password_gets_a_different_salt_each_time() {
        assert_ne!(hash("demo").unwrap(), hash("demo").unwrap());
    }
}

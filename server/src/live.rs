//! [`Live`]: the event log, as it grows, handed to every open stream.
//!
//! One task follows the `events` table (woken by the engine after each commit, and
//! every second anyway, so events written by any writer, even another process, are
//! seen) and passes the events maps care about to a broadcast channel, keeping the
//! latest ones in memory. A stream that starts or resumes after event `n` gets exactly
//! the events after `n`: from memory when they are still there, otherwise from the
//! store, and when too many were missed, one `resync` instead. A client too slow to
//! keep up falls behind on its own (its receiver lags and catches up the same way); it
//! never holds up the others.

use crate::store::DynStore;
use linli_domain::api::EventRecord;
use linli_domain::events::EventKind;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};

/// Events kept in memory for resuming streams.
const KEPT: usize = 8_192;
/// A stream that missed more than this many events gets a `resync` instead.
pub const CATCH_UP_MAX: u32 = 10_000;
/// Events read from the store per query.
const PAGE: u32 = 1_000;

/// One event as streams send it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    pub id: i64,
    pub kind: EventKind,
    /// The community it concerns, for streams limited to some communities.
    pub community: Option<String>,
    /// The JSON `data:` line.
    pub data: String,
}

impl LiveEvent {
    fn from_record(record: EventRecord) -> Option<Self> {
        if !record.kind.is_streamed() {
            return None;
        }
        Some(LiveEvent {
            id: record.id,
            community: record
                .data
                .get("community")
                .and_then(|c| c.as_str())
                .map(str::to_string),
            data: record.data.to_string(),
            kind: record.kind,
        })
    }
}

struct Kept {
    events: VecDeque<Arc<LiveEvent>>,
    /// Every streamed event with an id above this is in `events`.
    floor: i64,
    /// The id of the newest event-log row read.
    last_id: i64,
}

pub struct Live {
    store: DynStore,
    /// The id of the last notice published or withdrawn that the log showed (notices
    /// are not streamed, but the public page's cache must know of them).
    last_notice: AtomicI64,
    sender: broadcast::Sender<Arc<LiveEvent>>,
    kept: Mutex<Kept>,
    wake: Notify,
}

/// What a stream starts from: a receiver of new events, and the last event id before
/// them.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Arc<LiveEvent>>,
    pub last_id: i64,
}

/// The events a resuming stream missed, or that there were too many.
#[derive(Debug, PartialEq)]
pub enum CatchUp {
    Events(Vec<Arc<LiveEvent>>),
    TooOld,
}

impl Live {
    /// Starts following the event log from its current end.
    pub async fn start(store: DynStore) -> Result<Arc<Live>, crate::store::StoreError> {
        let last_id = store.last_event_id().await?;
        let (sender, _) = broadcast::channel(1_024);
        let live = Arc::new(Live {
            store,
            last_notice: AtomicI64::new(0),
            sender,
            kept: Mutex::new(Kept {
                events: VecDeque::new(),
                floor: last_id,
                last_id,
            }),
            wake: Notify::new(),
        });
        tokio::spawn(Arc::clone(&live).follow());
        Ok(live)
    }

    /// New events were committed: read them now rather than at the next second.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The id of the last notice change seen in the log (0 before any).
    pub fn last_notice_change(&self) -> i64 {
        self.last_notice.load(Ordering::SeqCst)
    }

    /// The id of the newest event handed out.
    pub fn last_id(&self) -> i64 {
        self.kept.lock().expect("live lock").last_id
    }

    pub fn subscribe(&self) -> Subscription {
        let kept = self.kept.lock().expect("live lock");
        Subscription {
            receiver: self.sender.subscribe(),
            last_id: kept.last_id,
        }
    }

    /// The streamed events with ids in `(after, upto]`.
    pub async fn missed(&self, after: i64, upto: i64) -> CatchUp {
        if after >= upto {
            return CatchUp::Events(Vec::new());
        }
        {
            let kept = self.kept.lock().expect("live lock");
            if after >= kept.floor {
                return CatchUp::Events(
                    kept.events
                        .iter()
                        .filter(|e| e.id > after && e.id <= upto)
                        .cloned()
                        .collect(),
                );
            }
        }
        let mut events = Vec::new();
        let mut from = after;
        let mut read = 0u32;
        while from < upto {
            let page = match self.store.events_after(from, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!("cannot read missed events: {e}");
                    return CatchUp::TooOld;
                }
            };
            let Some(last) = page.last().map(|r| r.id) else {
                break;
            };
            read += page.len() as u32;
            if read > CATCH_UP_MAX {
                return CatchUp::TooOld;
            }
            events.extend(
                page.into_iter()
                    .filter(|r| r.id <= upto)
                    .filter_map(LiveEvent::from_record)
                    .map(Arc::new),
            );
            from = last;
        }
        CatchUp::Events(events)
    }

    async fn follow(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            loop {
                let after = self.last_id();
                let page = match self.store.events_after(after, PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!("cannot follow the event log: {e}");
                        break;
                    }
                };
                let full = page.len() as u32 == PAGE;
                let mut kept = self.kept.lock().expect("live lock");
                for record in page {
                    kept.last_id = record.id;
                    if matches!(
                        record.kind,
                        EventKind::NoticePublished | EventKind::NoticeWithdrawn
                    ) {
                        self.last_notice.store(record.id, Ordering::SeqCst);
                    }
                    if let Some(event) = LiveEvent::from_record(record) {
                        let event = Arc::new(event);
                        if kept.events.len() == KEPT {
                            if let Some(old) = kept.events.pop_front() {
                                kept.floor = old.id;
                            }
                        }
                        kept.events.push_back(Arc::clone(&event));
                        // No receivers is not an error: nobody is watching.
                        let _ = self.sender.send(event);
                    }
                }
                if !full {
                    break;
                }
            }
        }
    }
}

//! One timer wheel for every connection's idle check.
//!
//! A tokio timer per connection costs an allocation of its own (and a slot
//! in the actor's context) on every idle client; the idle check needs no
//! more than a fraction of a second's precision. So sessions put a handle
//! to themselves on this wheel, keyed by the tick they are due at, and the
//! server's accept loop hands out whatever is due once a tick.
//!
//! Every live session is always on the wheel, or handling the check it was
//! just handed (which puts it back): so the wheel is also the list of
//! sessions that shutdown goes through. [`IdleWheel::close`] takes them all
//! and refuses later entries, so that a session scheduling its next check
//! after that learns the server is stopping.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix::{Actor, Context, Handler, Message, WeakAddr};

/// Time for a session's idle check: sent to each session whose tick is due.
#[derive(Message)]
#[rtype(result = "()")]
pub struct IdleCheck;

/// The server is shutting down: sent to every session on the wheel.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// Handles of type `T`, each due at some tick.
#[derive(Debug)]
pub struct IdleWheel<T> {
    origin: Instant,
    tick: Duration,
    due: Mutex<Slots<T>>,
}

#[derive(Debug)]
struct Slots<T> {
    by_tick: BTreeMap<u64, Vec<T>>,
    closed: bool,
}

impl<T> IdleWheel<T> {
    /// An empty wheel that turns every `tick` (at least a millisecond).
    pub fn new(tick: Duration) -> Self {
        IdleWheel {
            origin: Instant::now(),
            tick: tick.max(Duration::from_millis(1)),
            due: Mutex::new(Slots {
                by_tick: BTreeMap::new(),
                closed: false,
            }),
        }
    }

    /// How often [`IdleWheel::take_due`] should be called.
    pub fn tick(&self) -> Duration {
        self.tick
    }

    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        // Nothing here is left half-done by a panic.
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ticks since the origin at `at`, rounded down.
    fn ticks(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos / self.tick.as_nanos()).unwrap_or(u64::MAX)
    }

    /// Makes `item` due at `at`, or at the first tick after it: never
    /// early, at most one tick late. Once the wheel is closed the item is
    /// handed back.
    pub fn schedule(&self, at: Instant, item: T) -> Result<(), T> {
        let slot = self.ticks(at).saturating_add(1);
        let mut slots = self.lock();
        if slots.closed {
            return Err(item);
        }
        slots.by_tick.entry(slot).or_default().push(item);
        Ok(())
    }

    /// Takes every item due by `now`.
    pub fn take_due(&self, now: Instant) -> Vec<T> {
        let current = self.ticks(now);
        let mut slots = self.lock();
        let later = slots.by_tick.split_off(&current.saturating_add(1));
        let ready = std::mem::replace(&mut slots.by_tick, later);
        drop(slots);
        ready.into_values().flatten().collect()
    }

    /// Takes every item, due or not, and refuses new ones from now on.
    pub fn close(&self) -> Vec<T> {
        let mut slots = self.lock();
        slots.closed = true;
        let all = std::mem::take(&mut slots.by_tick);
        drop(slots);
        all.into_values().flatten().collect()
    }

    /// Whether [`IdleWheel::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Items waiting on the wheel.
    pub fn len(&self) -> usize {
        self.lock().by_tick.values().map(Vec::len).sum()
    }

    /// Nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.lock().by_tick.is_empty()
    }
}

impl<A> IdleWheel<WeakAddr<A>>
where
    A: Actor<Context = Context<A>> + Handler<IdleCheck> + Handler<Shutdown>,
{
    /// Sends [`IdleCheck`] to every live session whose check is due.
    pub fn check_due(&self, now: Instant) {
        for session in self.take_due(now) {
            if let Some(session) = session.upgrade() {
                session.do_send(IdleCheck);
            }
        }
    }

    /// Closes the wheel and sends [`Shutdown`] to every live session: all
    /// of them are on it, or handling their check, and will find it closed
    /// when they schedule the next one.
    pub fn shut_down_all(&self) {
        for session in self.close().iter().filter_map(WeakAddr::upgrade) {
            session.do_send(Shutdown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_due_no_earlier_than_asked_and_within_a_tick() {
        let wheel = IdleWheel::new(Duration::from_millis(100));
        let t0 = wheel.origin;
        wheel
            .schedule(t0 + Duration::from_millis(250), "a")
            .unwrap();
        wheel
            .schedule(t0 + Duration::from_millis(300), "b")
            .unwrap();
        wheel
            .schedule(t0 + Duration::from_millis(1000), "c")
            .unwrap();
        assert_eq!(wheel.len(), 3);
        assert!(wheel.take_due(t0 + Duration::from_millis(249)).is_empty());
        // "a" (250 ms) is due at the 300 ms tick; "b" (300 ms) at 400.
        assert_eq!(wheel.take_due(t0 + Duration::from_millis(300)), vec!["a"]);
        assert_eq!(wheel.take_due(t0 + Duration::from_millis(450)), vec!["b"]);
        assert_eq!(wheel.len(), 1);
        // A late turn hands out everything overdue at once.
        wheel
            .schedule(t0 + Duration::from_millis(500), "d")
            .unwrap();
        assert_eq!(
            wheel.take_due(t0 + Duration::from_secs(5)),
            vec!["d", "c"],
            "in order of their ticks"
        );
        assert!(wheel.is_empty());
    }

    #[test]
    fn times_before_the_origin_are_due_at_the_first_tick() {
        let wheel = IdleWheel::new(Duration::from_millis(100));
        let before = wheel.origin.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            wheel.schedule(before, 1).unwrap();
            assert!(wheel.take_due(wheel.origin).is_empty());
            assert_eq!(wheel.take_due(wheel.origin + wheel.tick()), vec![1]);
        }
    }

    #[test]
    fn closing_takes_everything_and_refuses_more() {
        let wheel = IdleWheel::new(Duration::from_millis(100));
        let t0 = wheel.origin;
        wheel.schedule(t0, 1).unwrap();
        wheel.schedule(t0 + Duration::from_secs(60), 2).unwrap();
        assert!(!wheel.is_closed());
        assert_eq!(wheel.close(), vec![1, 2]);
        assert!(wheel.is_closed() && wheel.is_empty());
        assert_eq!(wheel.schedule(t0, 3), Err(3));
        assert!(wheel.take_due(t0 + Duration::from_secs(120)).is_empty());
    }
}

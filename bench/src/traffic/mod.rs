//! The message scenarios, `fanout` and `rooms`: R rooms of K members, the
//! first S members of each room sending, every member receiving.
//!
//! Each sender has a writer task and a reader (its own member loop). In
//! window mode the writer keeps at most `window` messages unacknowledged
//! (native: `OK MSG` acknowledges one; IRC: the `PONG` to a `PING` sent
//! after them acknowledges all before it); at a fixed rate it sends on a
//! schedule, still within the window, and a message that goes out more
//! than 2 ms late carries its due time rather than its send time, so that
//! a server that falls behind shows up in the latency (no coordinated
//! omission). Receivers count every copy, check each sender's
//! sequence numbers, and record send-to-receive latency for messages sent
//! after the warm-up.
//!
//! In the `shared-window` and `open` rhythms a sender writes one line per
//! write call and waits for no acknowledgement: `shared-window` shares a
//! room-wide cap of messages in flight among the room's senders, counted
//! in copies the members have read ([`copy_window`]); `open` writes on a
//! fixed schedule whatever happens ([`one_line`]). There every message
//! written and not refused is expected at every other member.
//!
//! The run ends by itself: setup within a time limit, warm-up, the measured
//! window, then a drain in which each receiver waits, within `--drain`, for
//! every acknowledged message of its room.
//!
//! [`member`] is one connection's life, [`summary`] what the run reports.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod copy_window;
pub mod guessers;
mod member;
mod one_line;
mod summary;

use copy_window::CopyWindow;

use anyhow::anyhow;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::report::{self, Latencies, Probe};
use crate::sys;
use crate::Common;

/// How senders pace themselves.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// As fast as acknowledgements allow, `window` unacknowledged at most.
    Window(u64),
    /// `per_sec` messages a second in all, spread evenly over the senders,
    /// still with at most `window` unacknowledged per sender.
    Rate {
        /// Messages per second, all senders together.
        per_sec: f64,
        /// The bound on unacknowledged messages per sender.
        window: u64,
    },
    /// One line per write, as fast as a room-wide cap of `messages` in
    /// flight allows, counted in copies received ([`CopyWindow`]).
    SharedWindow {
        /// Messages in flight per room, all its senders together.
        messages: u64,
    },
    /// One line per write at `per_sec` messages a second in all, spread
    /// evenly over the senders, waiting for nothing.
    Open {
        /// Messages per second, all senders together.
        per_sec: f64,
    },
}

impl Pace {
    /// The per-sender bound on unacknowledged messages, for the rhythms
    /// paced by acknowledgements.
    fn window(self) -> Option<u64> {
        match self {
            Pace::Window(w) | Pace::Rate { window: w, .. } => Some(w.max(1)),
            Pace::SharedWindow { .. } | Pace::Open { .. } => None,
        }
    }

    /// Messages a second in all, for the rhythms paced by the clock.
    fn per_sec(self) -> Option<f64> {
        match self {
            Pace::Rate { per_sec, .. } | Pace::Open { per_sec } => Some(per_sec),
            Pace::Window(_) | Pace::SharedWindow { .. } => None,
        }
    }

    /// Its name in reports.
    fn rhythm(self) -> &'static str {
        match self {
            Pace::Window(_) | Pace::Rate { .. } => "window",
            Pace::SharedWindow { .. } => "shared-window",
            Pace::Open { .. } => "open",
        }
    }

    /// Whether a message counts as sent once written (its copies are
    /// expected whether or not it was acknowledged): the rhythms that do
    /// not wait for acknowledgements.
    fn expects_written(self) -> bool {
        self.window().is_none()
    }
}

/// What one `fanout` or `rooms` run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `fanout` or `rooms`.
    pub scenario: &'static str,
    /// Number of rooms.
    pub rooms: usize,
    /// Members per room.
    pub per_room: usize,
    /// Senders per room (the first members of each).
    pub senders_per_room: usize,
    /// How senders pace themselves.
    pub pace: Pace,
    /// Message text size in bytes.
    pub size: usize,
    /// Traffic before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// How long to wait, after sending stops, for the last copies.
    pub drain: Duration,
    /// Key guessers in the second half of the measured window.
    pub guessing: Option<guessers::Guessing>,
    /// Members that do not send read on a timer, this often, instead of
    /// as soon as something comes (`--read-every`).
    pub read_every: Option<Duration>,
}

/// Distinct error texts kept per connection.
const KEEP_ERRORS: usize = 3;

/// One sender's counters, shared between its writer and its reader.
#[derive(Default)]
struct Sender {
    /// Messages written so far (the next sequence number).
    written: AtomicU64,
    /// `OK MSG` received.
    ok: AtomicU64,
    /// `ERR MSG` received (rate-limited, ...).
    err: AtomicU64,
    /// Messages written inside the measured window.
    in_window: AtomicU64,
    /// The writer has stopped for good.
    writer_done: AtomicBool,
    /// Every written message has its final reply.
    settled: AtomicBool,
    /// Rung by the reader when acknowledgements arrive.
    acked: Notify,
}

struct Room {
    name: String,
    /// How many of its senders have settled.
    settled: AtomicUsize,
    /// The room-wide cap of the `shared-window` rhythm.
    window: Option<CopyWindow>,
}

/// Everything the connections of one run share.
struct Shared {
    plan: Plan,
    common: Common,
    run_id: String,
    start: Instant,
    /// ns since `start`; `u64::MAX` until the run is released.
    warm_end_ns: AtomicU64,
    measure_end_ns: AtomicU64,
    go: CancellationToken,
    stop: CancellationToken,
    abort: CancellationToken,
    senders: Vec<Sender>,
    rooms: Vec<Room>,
    latencies: Latencies,
    /// Over several nodes: latencies of copies delivered on their
    /// sender's node, and on another (`[same, cross]`).
    by_node: [Latencies; 2],
    /// With guessers: latencies of messages sent before they start, and
    /// after.
    split: [Latencies; 2],
    /// ns since `start` when the guessers start; `u64::MAX` without.
    guess_start_ns: AtomicU64,
    /// What the guessers sent and were answered.
    guesses: Arc<guessers::GuessCounts>,
    events: mpsc::UnboundedSender<Event>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Sleeps until `due_ns` after the start; `false` if the run is
    /// stopped or aborted first (the sender is done).
    async fn sleep_until_ns(&self, due_ns: f64) -> bool {
        let due = self.start + Duration::from_nanos(due_ns as u64);
        tokio::select! {
            biased;
            _ = self.abort.cancelled() => false,
            _ = self.stop.cancelled() => false,
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => true,
        }
    }

    fn sender_index(&self, room: usize, slot: usize) -> usize {
        room * self.plan.senders_per_room + slot
    }

    /// The messages of a sender whose copies every other member should
    /// get: those acknowledged, or (in a rhythm that waits for no
    /// acknowledgement) those written and not refused.
    fn counted(&self, s: &Sender) -> u64 {
        if self.plan.pace.expects_written() {
            s.written
                .load(Ordering::Acquire)
                .saturating_sub(s.err.load(Ordering::Acquire))
        } else {
            s.ok.load(Ordering::Acquire)
        }
    }

    /// The copies a member of `room` should get, once every sender of the
    /// room has settled: all counted messages but its own.
    fn expected(&self, room: usize, own_slot: Option<usize>) -> Option<u64> {
        let s = self.plan.senders_per_room;
        if self.rooms[room].settled.load(Ordering::Acquire) < s {
            return None;
        }
        Some(
            (0..s)
                .filter(|&slot| Some(slot) != own_slot)
                .map(|slot| self.counted(&self.senders[self.sender_index(room, slot)]))
                .sum(),
        )
    }
}

enum Event {
    Ready,
    Failed(usize, String),
}

/// What one member saw.
#[derive(Default)]
struct Outcome {
    received: u64,
    in_window: u64,
    gaps: u64,
    duplicates: u64,
    foreign: u64,
    errors: Vec<String>,
    /// Kept open until every member is done, then closed together.
    read_half: Option<OwnedReadHalf>,
    write_half: Option<OwnedWriteHalf>,
}

impl Outcome {
    fn error(&mut self, shared: &Shared, client: usize, text: String) {
        if self.errors.len() < KEEP_ERRORS && !self.errors.contains(&text) {
            let _ = shared.events.send(Event::Failed(client, text.clone()));
            self.errors.push(text);
        }
    }
}

/// Runs a `fanout` or `rooms` scenario; prints the summary and the JSON
/// line. `Ok(false)` when the run failed (errors or loss).
pub async fn run(plan: Plan, common: Common, run_id: String) -> anyhow::Result<bool> {
    let probe = Probe::new(&common.server_pids)?;
    let total = plan.rooms * plan.per_room;
    if plan.senders_per_room == 0 || plan.senders_per_room > plan.per_room {
        return Err(anyhow!(
            "senders per room must be between 1 and the room size ({})",
            plan.per_room
        ));
    }
    if plan.per_room < 2 {
        return Err(anyhow!("a room needs at least 2 members"));
    }
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        senders: (0..plan.rooms * plan.senders_per_room)
            .map(|_| Sender::default())
            .collect(),
        rooms: (0..plan.rooms)
            .map(|r| Room {
                name: format!("#bench{run_id}_{r}"),
                settled: AtomicUsize::new(0),
                window: match plan.pace {
                    Pace::SharedWindow { messages } => {
                        Some(CopyWindow::new(messages, plan.per_room as u64 - 1))
                    }
                    _ => None,
                },
            })
            .collect(),
        plan: plan.clone(),
        common: common.clone(),
        run_id: run_id.clone(),
        start: Instant::now(),
        warm_end_ns: AtomicU64::new(u64::MAX),
        measure_end_ns: AtomicU64::new(u64::MAX),
        go: CancellationToken::new(),
        stop: CancellationToken::new(),
        abort: CancellationToken::new(),
        latencies: Latencies::new(),
        by_node: [Latencies::new(), Latencies::new()],
        split: [Latencies::new(), Latencies::new()],
        guess_start_ns: AtomicU64::new(u64::MAX),
        guesses: Arc::default(),
        events: events_tx,
    });

    say!(
        "{} ({}): {} rooms x {} members, {} senders per room, {}, {}, {} B messages, run {}",
        plan.scenario,
        common.proto.name(),
        plan.rooms,
        plan.per_room,
        plan.senders_per_room,
        match plan.pace {
            Pace::Window(w) => format!("window {w}"),
            Pace::Rate { per_sec, window } => format!(
                "{per_sec} msg/s in all, {} per sender (window {window})",
                per_sec / (plan.rooms * plan.senders_per_room) as f64
            ),
            Pace::SharedWindow { messages } => {
                format!("one line per write, {messages} in flight per room")
            }
            Pace::Open { per_sec } => format!(
                "open loop, one line per write, {per_sec} msg/s in all, {} per sender",
                per_sec / (plan.rooms * plan.senders_per_room) as f64
            ),
        },
        match plan.read_every {
            Some(every) => format!("receivers read every {every:?}"),
            None => "receivers read at once".to_owned(),
        },
        plan.size,
        run_id
    );

    // Setup: connect, register and join, a bounded number at a time.
    let setup_started = Instant::now();
    let overflows_before = sys::listen_overflows();
    let gate = Arc::new(Semaphore::new(common.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for client in 0..total {
        tasks.spawn(member::member(
            Arc::clone(&shared),
            client,
            Arc::clone(&gate),
        ));
    }
    let mut ready = 0;
    let setup_deadline = tokio::time::Instant::now() + common.setup_timeout();
    while ready < total {
        match tokio::time::timeout_at(setup_deadline, events.recv()).await {
            Ok(Some(Event::Ready)) => ready += 1,
            Ok(Some(Event::Failed(client, e))) => {
                shared.abort.cancel();
                return Err(anyhow!("client {client} failed during setup: {e}"));
            }
            Ok(None) => return Err(anyhow!("every client task ended during setup")),
            Err(_) => {
                shared.abort.cancel();
                return Err(anyhow!(
                    "setup timed out: {ready} of {total} clients ready after {:?}",
                    common.setup_timeout()
                ));
            }
        }
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let overflows = sys::listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after.saturating_sub(before));
    say!("  setup           {total} clients connected, registered and joined in {setup_secs:.2} s");
    let guessing = match plan.guessing {
        Some(g) => {
            let conns = guessers::set_up(&shared, g).await.inspect_err(|_| {
                shared.abort.cancel();
            })?;
            say!(
                "  guessers        {} connected, guessing {} from the middle of the window",
                g.guessers,
                guessers::guessed(&shared, g.target)
            );
            Some((g, conns))
        }
        None => None,
    };

    // Release the senders; measure between the end of the warm-up and stop.
    let go_ns = shared.now_ns();
    let warm_end_ns = go_ns + plan.warmup.as_nanos() as u64;
    let measure_end_ns = warm_end_ns + plan.duration.as_nanos() as u64;
    shared.warm_end_ns.store(warm_end_ns, Ordering::Release);
    shared
        .measure_end_ns
        .store(measure_end_ns, Ordering::Release);
    let guessing = guessing.map(|(g, conns)| {
        let start_ns = warm_end_ns + plan.duration.as_nanos() as u64 / 2;
        shared.guess_start_ns.store(start_ns, Ordering::Release);
        let counts = Arc::clone(&shared.guesses);
        tokio::spawn(guessers::run(
            Arc::clone(&shared),
            g,
            conns,
            start_ns,
            counts,
        ))
    });
    shared.go.cancel();

    let mut failures: Vec<String> = Vec::new();
    let at = |ns: u64| tokio::time::Instant::from_std(shared.start + Duration::from_nanos(ns));
    let mut completed = wait_or_fail(at(warm_end_ns), &mut events, &mut failures).await;
    let before = probe.snapshot();
    if completed {
        completed = wait_or_fail(at(measure_end_ns), &mut events, &mut failures).await;
    }
    let after = probe.snapshot();
    // Deliveries are counted by arrival inside the planned window; a run
    // cut short by a failure is reported over the time it had.
    let window_secs = if completed {
        plan.duration.as_secs_f64()
    } else {
        after.at.duration_since(before.at).as_secs_f64()
    };
    shared.stop.cancel();

    // Drain: every member ends by itself within --drain; past a grace
    // period the stragglers are told to stop.
    let mut outcomes = Vec::with_capacity(total);
    let grace =
        tokio::time::Instant::now() + plan.drain + common.timeout() + Duration::from_secs(2);
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok(o)) => outcomes.push(o),
                Some(Err(e)) => failures.push(format!("a client task panicked: {e}")),
                None => break,
            },
            _ = tokio::time::sleep_until(grace), if !shared.abort.is_cancelled() => {
                failures.push("some clients did not finish in time".into());
                shared.abort.cancel();
            }
        }
    }
    while let Ok(ev) = events.try_recv() {
        if let Event::Failed(client, e) = ev {
            failures.push(format!("client {client}: {e}"));
        }
    }
    if let Some(task) = guessing {
        if task.await.is_err() {
            failures.push("a guesser task panicked".into());
        }
    }
    let failures = report::group_failures(&failures);
    let drain_secs = after.at.elapsed().as_secs_f64();

    let run = summary::Run {
        setup_secs,
        window_secs,
        drain_secs,
        overflows,
        before,
        after,
        failures,
    };
    Ok(summary::report(&shared, outcomes, run))
}

/// Sleeps until `until`, or returns `false` at the first failure reported.
async fn wait_or_fail(
    until: tokio::time::Instant,
    events: &mut mpsc::UnboundedReceiver<Event>,
    failures: &mut Vec<String>,
) -> bool {
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            ev = events.recv() => match ev {
                Some(Event::Failed(client, e)) => {
                    failures.push(format!("client {client}: {e}"));
                    return false;
                }
                Some(Event::Ready) => {}
                None => return false,
            }
        }
    }
}

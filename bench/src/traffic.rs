//! The message scenarios, `fanout` and `rooms`: R rooms of K members, the
//! first S members of each room sending, every member receiving.
//!
//! Each sender has a writer task and a reader (its own member loop). In
//! window mode the writer keeps at most `window` messages unacknowledged
//! (`OK MSG` is the acknowledgement); at a fixed rate it sends on a
//! schedule, still within the window, and a message that goes out more
//! than 2 ms late carries its due time rather than its send time, so that
//! a server that falls behind shows up in the latency (no coordinated
//! omission). Receivers count every copy, check each sender's
//! sequence numbers, and record send-to-receive latency for messages sent
//! after the warm-up.
//!
//! The run ends by itself: setup within a time limit, warm-up, the measured
//! window, then a drain in which each receiver waits, within `--drain`, for
//! every acknowledged message of its room.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::json;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::net::{self, classify, parse_msg, push_msg, Conn, Kind, LineReader, Stamp};
use crate::report::{self, human, Latencies, Probe, LOCAL_BATCH};
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
}

impl Pace {
    fn window(self) -> u64 {
        match self {
            Pace::Window(w) | Pace::Rate { window: w, .. } => w.max(1),
        }
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
}

/// The most messages one write carries.
const MAX_BATCH: u64 = 256;
/// How often a draining receiver checks whether its room is complete.
const DRAIN_TICK: Duration = Duration::from_millis(10);
/// How late a scheduled send may be and still count as on time: tokio's
/// timer wakes on whole milliseconds.
const TIMER_SLACK_NS: u64 = 2_000_000;
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
    events: mpsc::UnboundedSender<Event>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn sender_index(&self, room: usize, slot: usize) -> usize {
        room * self.plan.senders_per_room + slot
    }

    /// The copies a member of `room` should get, once every sender of the
    /// room has settled: all acknowledged messages but its own.
    fn expected(&self, room: usize, own_slot: Option<usize>) -> Option<u64> {
        let s = self.plan.senders_per_room;
        if self.rooms[room].settled.load(Ordering::Acquire) < s {
            return None;
        }
        Some(
            (0..s)
                .filter(|&slot| Some(slot) != own_slot)
                .map(|slot| {
                    self.senders[self.sender_index(room, slot)]
                        .ok
                        .load(Ordering::Acquire)
                })
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
    let probe = Probe::new(common.server_pid)?;
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
        events: events_tx,
    });

    say!(
        "{}: {} rooms x {} members, {} senders per room, {}, {} B messages, run {}",
        plan.scenario,
        plan.rooms,
        plan.per_room,
        plan.senders_per_room,
        match plan.pace {
            Pace::Window(w) => format!("window {w}"),
            Pace::Rate { per_sec, window } => format!("{per_sec} msg/s (window {window})"),
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
        tasks.spawn(member(Arc::clone(&shared), client, Arc::clone(&gate)));
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

    // Release the senders; measure between the end of the warm-up and stop.
    let go_ns = shared.now_ns();
    let warm_end_ns = go_ns + plan.warmup.as_nanos() as u64;
    let measure_end_ns = warm_end_ns + plan.duration.as_nanos() as u64;
    shared.warm_end_ns.store(warm_end_ns, Ordering::Release);
    shared
        .measure_end_ns
        .store(measure_end_ns, Ordering::Release);
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
    let failures = report::group_failures(&failures);
    let drain_secs = after.at.elapsed().as_secs_f64();

    // Figures.
    let sum = |f: fn(&Sender) -> &AtomicU64| -> u64 {
        shared
            .senders
            .iter()
            .map(|s| f(s).load(Ordering::Acquire))
            .sum()
    };
    let sent = sum(|s| &s.written);
    let acked = sum(|s| &s.ok);
    let refused = sum(|s| &s.err);
    let sent_in_window = sum(|s| &s.in_window);
    let expected = acked * (plan.per_room as u64 - 1);
    let received: u64 = outcomes.iter().map(|o| o.received).sum();
    let delivered_in_window: u64 = outcomes.iter().map(|o| o.in_window).sum();
    let gaps: u64 = outcomes.iter().map(|o| o.gaps).sum();
    let duplicates: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    let foreign: u64 = outcomes.iter().map(|o| o.foreign).sum();
    let lost = expected.saturating_sub(received);
    let extra = received.saturating_sub(expected);
    let lat = shared.latencies.summary();
    let (server, tool) = report::usage(&before, &after);
    let deliveries_per_sec = delivered_in_window as f64 / window_secs.max(1e-9);
    let messages_per_sec = sent_in_window as f64 / window_secs.max(1e-9);
    let per_server_cpu = server
        .as_ref()
        .filter(|s| s.cpu_secs > 0.0)
        .map(|s| delivered_in_window as f64 / s.cpu_secs);
    drop(outcomes); // closes every connection

    let ok = failures.is_empty() && lost == 0 && extra == 0 && refused == 0 && sent > 0;
    say!(
        "  measured        {window_secs:.2} s after {:.1} s warm-up; drain {drain_secs:.2} s",
        plan.warmup.as_secs_f64()
    );
    say!(
        "  messages        {} sent, {} acknowledged, {} refused; {}/s in the window",
        human(sent as f64),
        human(acked as f64),
        human(refused as f64),
        human(messages_per_sec)
    );
    say!(
        "  deliveries      {}/s  (copies received by members in the window)",
        human(deliveries_per_sec)
    );
    say!(
        "  copies          expected {}, received {}, lost {}, extra {}; out of order {}, gaps {}",
        human(expected as f64),
        human(received as f64),
        human(lost as f64),
        human(extra as f64),
        human(duplicates as f64),
        human(gaps as f64)
    );
    say!(
        "  latency         p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us ({} samples)",
        lat.p50_us,
        lat.p90_us,
        lat.p99_us,
        lat.p999_us,
        lat.max_us,
        human(lat.count as f64)
    );
    report::print_usage(server.as_ref(), tool.as_ref());
    report::warn_overflows(overflows);
    if let Some(d) = per_server_cpu {
        say!(
            "  efficiency      {} deliveries per second of server CPU",
            human(d)
        );
    }
    for f in failures.iter().take(10) {
        say!("  FAILURE         {f}");
    }
    say!("  result          {}", if ok { "ok" } else { "FAILED" });

    let line = json!({
        "scenario": plan.scenario,
        "ok": ok,
        "run_id": run_id,
        "addr": common.addr.to_string(),
        "rooms": plan.rooms,
        "members_per_room": plan.per_room,
        "clients": total,
        "senders": plan.rooms * plan.senders_per_room,
        "window": plan.pace.window(),
        "rate": match plan.pace { Pace::Rate { per_sec, .. } => Some(per_sec), Pace::Window(_) => None },
        "size": plan.size,
        "warmup_secs": plan.warmup.as_secs_f64(),
        "measured_secs": window_secs,
        "setup_secs": setup_secs,
        "listen_overflows": overflows,
        "drain_secs": drain_secs,
        "messages_sent": sent,
        "messages_acked": acked,
        "messages_refused": refused,
        "messages_per_sec": messages_per_sec,
        "deliveries_in_window": delivered_in_window,
        "deliveries_per_sec": deliveries_per_sec,
        "expected_copies": expected,
        "received_copies": received,
        "lost_copies": lost,
        "extra_copies": extra,
        "out_of_order": duplicates,
        "sequence_gaps": gaps,
        "foreign_messages": foreign,
        "latency_us": lat,
        "server": server,
        "deliveries_per_server_cpu_sec": per_server_cpu,
        "tool": tool,
        "failures": failures,
    });
    say!("{line}");
    Ok(ok)
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

/// One member: set up, then read (and, for a sender, write) until done.
async fn member(shared: Arc<Shared>, client: usize, gate: Arc<Semaphore>) -> Outcome {
    let plan = &shared.plan;
    let room = client / plan.per_room;
    let position = client % plan.per_room;
    let slot = (position < plan.senders_per_room).then_some(position);
    let mut out = Outcome::default();

    let nick = format!("b{}_{client}", shared.run_id);
    let timeout = shared.common.timeout();
    let setup = async {
        let _permit = gate.acquire().await?;
        let mut conn =
            net::connect_and_register(shared.common.addr, &nick, timeout, 64 * 1024).await?;
        net::join(&mut conn, &shared.rooms[room].name, timeout).await?;
        anyhow::Ok(conn)
    };
    let conn = tokio::select! {
        res = setup => match res {
            Ok(conn) => conn,
            Err(e) => {
                out.error(&shared, client, format!("{e:#}"));
                return out;
            }
        },
        _ = shared.abort.cancelled() => return out,
    };
    let _ = shared.events.send(Event::Ready);

    let Conn { rd, wr } = conn;
    let (writer, pongs) = match slot {
        Some(slot) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(writer(Arc::clone(&shared), client, room, slot, wr, rx));
            (Some(task), Pong::Via(tx))
        }
        None => (None, Pong::Direct(wr)),
    };
    let pongs = read_loop(&shared, client, room, slot, rd, pongs, &mut out).await;
    if let Pong::Direct(wr) = pongs {
        out.write_half = Some(wr);
    }
    if let Some(task) = writer {
        match task.await {
            Ok((wr, err)) => {
                out.write_half = Some(wr);
                if let Some(e) = err {
                    out.error(&shared, client, e);
                }
            }
            Err(e) => out.error(&shared, client, format!("writer task failed: {e}")),
        }
    }
    out
}

/// Where a `PONG` goes: written directly by a receiver, handed to the
/// writer task by a sender.
enum Pong {
    Direct(OwnedWriteHalf),
    Via(mpsc::UnboundedSender<Vec<u8>>),
}

/// Reads until the room is complete, the drain time is up, or the run is
/// aborted; records what arrived into `out`.
async fn read_loop(
    shared: &Shared,
    client: usize,
    room: usize,
    own_slot: Option<usize>,
    mut rd: LineReader<OwnedReadHalf>,
    mut pong: Pong,
    out: &mut Outcome,
) -> Pong {
    let plan = &shared.plan;
    let io_timeout = shared.common.timeout();
    let first_client = (room * plan.per_room) as u64;
    let senders = plan.senders_per_room;
    let own_sender = own_slot.map(|s| &shared.senders[shared.sender_index(room, s)]);
    let mut next_seq = vec![0u64; senders];
    let mut samples: Vec<u64> = Vec::with_capacity(LOCAL_BATCH);
    let mut last_rx = Instant::now();
    let mut drain_until: Option<Instant> = None;
    let idle_check = Duration::from_millis(200).min(io_timeout);
    let tick = tokio::time::sleep(idle_check);
    tokio::pin!(tick);

    'run: loop {
        if drain_until.is_none() && shared.stop.is_cancelled() {
            drain_until = Some(Instant::now() + plan.drain);
            tick.as_mut()
                .reset(tokio::time::Instant::now() + DRAIN_TICK);
        }
        if let Some(until) = drain_until {
            if let Some(s) = own_sender {
                if !s.settled.load(Ordering::Relaxed)
                    && s.writer_done.load(Ordering::Acquire)
                    && s.ok.load(Ordering::Acquire) + s.err.load(Ordering::Acquire)
                        >= s.written.load(Ordering::Acquire)
                {
                    s.settled.store(true, Ordering::Release);
                    shared.rooms[room].settled.fetch_add(1, Ordering::AcqRel);
                }
            }
            if let Some(expected) = shared.expected(room, own_slot) {
                if out.received >= expected {
                    break 'run;
                }
            }
            if Instant::now() >= until {
                break 'run;
            }
        }
        tokio::select! {
            biased;
            _ = shared.abort.cancelled() => break 'run,
            _ = shared.stop.cancelled(), if drain_until.is_none() => continue 'run,
            res = rd.fill() => match res {
                Ok(0) => {
                    out.error(shared, client, "the server closed the connection".into());
                    break 'run;
                }
                Err(e) => {
                    out.error(shared, client, format!("read failed: {e}"));
                    break 'run;
                }
                Ok(_) => {}
            },
            _ = &mut tick => {
                let now = Instant::now();
                let running = shared.go.is_cancelled() && drain_until.is_none();
                if running && now.duration_since(last_rx) >= io_timeout {
                    out.error(shared, client, format!("nothing received for {io_timeout:?}"));
                    break 'run;
                }
                let next = if drain_until.is_some() { DRAIN_TICK } else { idle_check };
                tick.as_mut().reset(tokio::time::Instant::now() + next);
                continue 'run;
            }
        }

        // One read's worth of lines, all stamped with one arrival time.
        last_rx = Instant::now();
        let now_ns = shared.now_ns();
        let warm_end = shared.warm_end_ns.load(Ordering::Relaxed);
        let in_window =
            now_ns >= warm_end && now_ns < shared.measure_end_ns.load(Ordering::Relaxed);
        let (mut oks, mut errs) = (0u64, 0u64);
        let mut answer: Option<Vec<u8>> = None;
        let mut problems: Vec<String> = Vec::new();
        while let Some(line) = rd.next_line() {
            match classify(line) {
                Kind::Msg => {
                    let Some(Stamp { sender, seq, nanos }) = parse_msg(line) else {
                        out.foreign += 1;
                        continue;
                    };
                    let slot = sender.wrapping_sub(first_client) as usize;
                    if slot >= senders {
                        out.foreign += 1;
                        continue;
                    }
                    out.received += 1;
                    if in_window {
                        out.in_window += 1;
                    }
                    let next = &mut next_seq[slot];
                    if seq == *next {
                        *next += 1;
                    } else if seq > *next {
                        out.gaps += seq - *next;
                        *next = seq + 1;
                    } else {
                        out.duplicates += 1;
                    }
                    if nanos >= warm_end {
                        samples.push(now_ns.saturating_sub(nanos));
                        if samples.len() >= LOCAL_BATCH {
                            shared.latencies.merge(&mut samples);
                        }
                    }
                }
                Kind::OkMsg => oks += 1,
                Kind::Err => {
                    if line.starts_with(b"ERR MSG ") {
                        errs += 1;
                    }
                    if problems.len() < KEEP_ERRORS {
                        problems.push(String::from_utf8_lossy(line).into_owned());
                    }
                }
                Kind::Server | Kind::Left => {
                    if problems.len() < KEEP_ERRORS {
                        problems.push(String::from_utf8_lossy(line).into_owned());
                    }
                }
                Kind::Ping => answer = Some(net::pong_for(line)),
                Kind::Ok | Kind::Other => {}
            }
        }
        if oks + errs > 0 {
            if let Some(s) = own_sender {
                s.ok.fetch_add(oks, Ordering::AcqRel);
                s.err.fetch_add(errs, Ordering::AcqRel);
                s.acked.notify_one();
            }
        }
        for p in problems {
            out.error(shared, client, format!("server said: {p}"));
        }
        if let Some(line) = answer {
            match &mut pong {
                Pong::Direct(wr) => {
                    if let Err(e) = net::write_within(wr, &line, io_timeout).await {
                        out.error(shared, client, format!("{e:#}"));
                        break 'run;
                    }
                }
                Pong::Via(tx) => {
                    let _ = tx.send(line);
                }
            }
        }
    }
    shared.latencies.merge(&mut samples);
    if let Some(s) = own_sender {
        // Let the room complete even if this member gave up early.
        if !s.settled.swap(true, Ordering::AcqRel) {
            shared.rooms[room].settled.fetch_add(1, Ordering::AcqRel);
        }
    }
    out.read_half = Some(rd.into_inner());
    pong
}

/// A sender's writer: waits for the start, then sends until stop, paced by
/// acknowledgements (and the clock at a fixed rate).
async fn writer(
    shared: Arc<Shared>,
    client: usize,
    room: usize,
    slot: usize,
    mut wr: OwnedWriteHalf,
    mut pongs: mpsc::UnboundedReceiver<Vec<u8>>,
) -> (OwnedWriteHalf, Option<String>) {
    let plan = &shared.plan;
    let me = &shared.senders[shared.sender_index(room, slot)];
    let room_name = shared.rooms[room].name.as_str();
    let io_timeout = shared.common.timeout();
    let window = plan.pace.window();
    let mut error = None;

    tokio::select! {
        _ = shared.go.cancelled() => {}
        _ = shared.abort.cancelled() => {
            me.writer_done.store(true, Ordering::Release);
            return (wr, None);
        }
    }

    // At a fixed rate: this sender's interval, and a phase so that the
    // senders do not all fire at once.
    let total_senders = shared.senders.len() as f64;
    let (interval_ns, mut next_due) = match plan.pace {
        Pace::Rate { per_sec, .. } => {
            let interval = (total_senders / per_sec.max(1e-6) * 1e9).max(1.0);
            let index = shared.sender_index(room, slot) as f64;
            let phase = interval * index / total_senders;
            (interval, shared.now_ns() as f64 + phase)
        }
        Pace::Window(_) => (0.0, 0.0),
    };

    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut seq: u64 = 0;
    loop {
        if shared.stop.is_cancelled() || shared.abort.is_cancelled() {
            break;
        }
        while let Ok(p) = pongs.try_recv() {
            buf.extend_from_slice(&p);
        }
        let settled = me.ok.load(Ordering::Acquire) + me.err.load(Ordering::Acquire);
        let room_for = window.saturating_sub(seq.saturating_sub(settled));
        if room_for == 0 {
            tokio::select! {
                biased;
                _ = shared.abort.cancelled() => break,
                _ = shared.stop.cancelled() => break,
                _ = me.acked.notified() => continue,
                _ = tokio::time::sleep(io_timeout) => {
                    error = Some(format!("no acknowledgement for {io_timeout:?}"));
                    break;
                }
            }
        }
        let now_ns = shared.now_ns();
        let (n, first_stamp, step) = match plan.pace {
            Pace::Window(_) => (room_for.min(MAX_BATCH), now_ns as f64, 0.0),
            Pace::Rate { .. } => {
                if next_due > now_ns as f64 {
                    let due = shared.start + Duration::from_nanos(next_due as u64);
                    tokio::select! {
                        biased;
                        _ = shared.abort.cancelled() => break,
                        _ = shared.stop.cancelled() => break,
                        _ = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => {}
                    }
                    continue;
                }
                let due = ((now_ns as f64 - next_due) / interval_ns) as u64 + 1;
                (due.min(room_for).min(MAX_BATCH), next_due, interval_ns)
            }
        };
        for i in 0..n {
            let due = (first_stamp + step * i as f64) as u64;
            // A message late only by the timer's granularity carries its
            // real send time; one held back longer (by the window, or a
            // busy tool) carries its due time, so the delay counts.
            let nanos = if now_ns.saturating_sub(due) <= TIMER_SLACK_NS {
                now_ns
            } else {
                due
            };
            let stamp = Stamp {
                sender: client as u64,
                seq,
                nanos,
            };
            push_msg(&mut buf, room_name, stamp, plan.size);
            seq += 1;
        }
        next_due += step * n as f64;
        // Counted before the write, so that an acknowledgement never
        // arrives for a message not yet counted.
        me.written.store(seq, Ordering::Release);
        if now_ns >= shared.warm_end_ns.load(Ordering::Relaxed)
            && now_ns < shared.measure_end_ns.load(Ordering::Relaxed)
        {
            me.in_window.fetch_add(n, Ordering::Relaxed);
        }
        if let Err(e) = net::write_within(&mut wr, &buf, io_timeout).await {
            error = Some(format!("{e:#}"));
            break;
        }
        buf.clear();
    }
    me.writer_done.store(true, Ordering::Release);
    (wr, error)
}

//! One member of a `fanout` or `rooms` run: it connects, registers and
//! joins, then reads until its room is complete; a sender also runs a
//! writer task that sends stamped messages, paced by acknowledgements.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, Semaphore};

use super::{one_line, Event, Outcome, Pace, Shared, KEEP_ERRORS};
use crate::net::{self, Conn, LineReader};
use crate::nodes::ByNode;
use crate::proto::Kind;
use crate::report::LOCAL_BATCH;
use crate::stamp::Stamp;

/// The most messages one write carries.
const MAX_BATCH: u64 = 256;
/// How often a draining receiver checks whether its room is complete.
const DRAIN_TICK: Duration = Duration::from_millis(10);
/// How late a scheduled send may be and still count as on time: tokio's
/// timer wakes on whole milliseconds.
pub(super) const TIMER_SLACK_NS: u64 = 2_000_000;

/// One member: set up, then read (and, for a sender, write) until done.
pub(super) async fn member(shared: Arc<Shared>, client: usize, gate: Arc<Semaphore>) -> Outcome {
    let plan = &shared.plan;
    let room = client / plan.per_room;
    let position = client % plan.per_room;
    let slot = (position < plan.senders_per_room).then_some(position);
    let mut out = Outcome::default();

    let nick = format!("b{}_{client}", shared.run_id);
    let timeout = shared.common.timeout();
    let setup = async {
        let _permit = gate.acquire().await?;
        let proto = shared.common.proto;
        let mut conn = proto
            .connect_and_register(shared.common.spread.addr(client), &nick, timeout, 64 * 1024)
            .await?;
        proto
            .join(&mut conn, &shared.rooms[room].name, timeout)
            .await?;
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

    let Conn { rd, wr, .. } = conn;
    let (writer, pongs) = match slot {
        Some(slot) => {
            let (tx, rx) = mpsc::unbounded_channel();
            let shared = Arc::clone(&shared);
            let task = match shared.plan.pace {
                Pace::Window(_) | Pace::Rate { .. } => {
                    tokio::spawn(writer(shared, client, room, slot, wr, rx))
                }
                Pace::SharedWindow { .. } | Pace::Open { .. } => {
                    tokio::spawn(one_line::writer(shared, client, room, slot, wr, rx))
                }
            };
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
    let proto = shared.common.proto;
    let io_timeout = shared.common.timeout();
    let first_client = (room * plan.per_room) as u64;
    let senders = plan.senders_per_room;
    let own_sender = own_slot.map(|s| &shared.senders[shared.sender_index(room, s)]);
    let mut next_seq = vec![0u64; senders];
    let mut samples: Vec<u64> = Vec::with_capacity(LOCAL_BATCH);
    // With guessers: the same samples, apart by when the message was sent.
    let guessing = plan.guessing.is_some();
    let mut split: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    // Over several nodes: the same samples, apart by the sender's node.
    let spread = &shared.common.spread;
    let by_node_wanted = spread.is_spread();
    let mut by_node = ByNode::default();
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
                // Where acknowledgements count, a sender has settled once
                // every message it wrote has its answer.
                let answered = plan.pace.expects_written()
                    || s.ok.load(Ordering::Acquire) + s.err.load(Ordering::Acquire)
                        >= s.written.load(Ordering::Acquire);
                if !s.settled.load(Ordering::Relaxed)
                    && s.writer_done.load(Ordering::Acquire)
                    && answered
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
        let mut acked_to: Option<u64> = None;
        let mut answer: Option<Vec<u8>> = None;
        let mut problems: Vec<String> = Vec::new();
        let received_before = out.received;
        while let Some(line) = rd.next_line() {
            match proto.classify(line) {
                Kind::Msg => {
                    let Some(Stamp { sender, seq, nanos }) = proto.parse_msg(line) else {
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
                        let latency = now_ns.saturating_sub(nanos);
                        samples.push(latency);
                        if samples.len() >= LOCAL_BATCH {
                            shared.latencies.merge(&mut samples);
                        }
                        if by_node_wanted
                            && by_node.push(spread.crosses(sender as usize, client), latency)
                        {
                            by_node.merge(&shared.by_node);
                        }
                        if guessing {
                            let during = nanos >= shared.guess_start_ns.load(Ordering::Relaxed);
                            let half = &mut split[usize::from(during)];
                            half.push(latency);
                            if half.len() >= LOCAL_BATCH {
                                shared.split[usize::from(during)].merge(half);
                            }
                        }
                    }
                }
                Kind::Ack => oks += 1,
                Kind::AckTo => {
                    if let Some(n) = proto.ack_token(line) {
                        acked_to = Some(acked_to.unwrap_or(0).max(n));
                    }
                }
                kind @ (Kind::Refused | Kind::Err | Kind::Server | Kind::Left) => {
                    if kind == Kind::Refused {
                        errs += 1;
                    }
                    if problems.len() < KEEP_ERRORS {
                        let text = String::from_utf8_lossy(line);
                        problems.push(text.trim_end().to_owned());
                    }
                }
                Kind::Ping => answer = Some(proto.pong_for(line)),
                Kind::Other => {}
            }
        }
        if let Some(window) = &shared.rooms[room].window {
            // Copies read, and those of our refused messages, which no
            // member will ever read, leave the room's cap.
            let copies = out.received - received_before;
            let refused = if own_sender.is_some() { errs } else { 0 };
            window.give_back(copies + refused * window.per_msg());
        }
        if let Some(s) = own_sender {
            if errs > 0 {
                s.err.fetch_add(errs, Ordering::AcqRel);
            }
            if oks > 0 {
                s.ok.fetch_add(oks, Ordering::AcqRel);
            }
            if let Some(n) = acked_to {
                // The PONG settles every message sent before its PING:
                // those not refused (before it, in order) were accepted.
                let refused = s.err.load(Ordering::Acquire);
                s.ok.fetch_max(n.saturating_sub(refused), Ordering::AcqRel);
            }
            if oks + errs > 0 || acked_to.is_some() {
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
        // A receiver on a timer (`--read-every`) reads everything that has
        // come, then waits for its next turn: it reads on at once while a
        // read fills its buffer (more is waiting), never while draining.
        if let (Some(every), None, None) = (plan.read_every, own_slot, drain_until) {
            if !rd.is_full() {
                tokio::select! {
                    biased;
                    _ = shared.abort.cancelled() => break 'run,
                    _ = shared.stop.cancelled() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            }
        }
    }
    shared.latencies.merge(&mut samples);
    by_node.merge(&shared.by_node);
    for (half, samples) in shared.split.iter().zip(split.iter_mut()) {
        half.merge(samples);
    }
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
/// acknowledgements (and the clock at a fixed rate). Where the protocol
/// does not acknowledge messages by itself, every `ack_every`-th message
/// is followed by a request for one: unacknowledged messages past the
/// last request stay below a window's eighth, so the window never fills
/// with messages nothing will acknowledge.
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
    let window = plan.pace.window().unwrap_or(1);
    let proto = shared.common.proto;
    let ack_every = proto.ack_every(window);
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
        _ => (0.0, 0.0),
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
            Pace::Window(_) | Pace::SharedWindow { .. } | Pace::Open { .. } => {
                (room_for.min(MAX_BATCH), now_ns as f64, 0.0)
            }
            Pace::Rate { .. } => {
                if next_due > now_ns as f64 {
                    if !shared.sleep_until_ns(next_due).await {
                        break;
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
            proto.push_msg(&mut buf, room_name, stamp, plan.size);
            seq += 1;
            if ack_every.is_some_and(|k| seq.is_multiple_of(k)) {
                proto.push_ack_request(&mut buf, seq);
            }
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
    // Where acknowledgements are asked for, the last messages get their
    // request too, so that every message sent is settled.
    let unasked = ack_every.is_some_and(|k| !seq.is_multiple_of(k));
    if error.is_none() && unasked && !shared.abort.is_cancelled() {
        proto.push_ack_request(&mut buf, seq);
        if let Err(e) = net::write_within(&mut wr, &buf, io_timeout).await {
            error = Some(format!("{e:#}"));
        }
    }
    me.writer_done.store(true, Ordering::Release);
    (wr, error)
}

//! The writers of the rhythms that write one line per write call and wait
//! for no acknowledgement: `shared-window` (as fast as the room's
//! [`CopyWindow`](super::CopyWindow) allows) and `open` (on a fixed
//! schedule per sender, whatever happens).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::member::TIMER_SLACK_NS;
use super::{Pace, Shared};
use crate::net;
use crate::stamp::Stamp;

/// A sender's writer for the one-line rhythms: waits for the start, then
/// writes one message per write call until stop. `PONG`s its reader hands
/// over go out in writes of their own.
pub(super) async fn writer(
    shared: Arc<Shared>,
    client: usize,
    room: usize,
    slot: usize,
    mut wr: OwnedWriteHalf,
    mut pongs: mpsc::UnboundedReceiver<Vec<u8>>,
) -> (OwnedWriteHalf, Option<String>) {
    let plan = &shared.plan;
    let index = shared.sender_index(room, slot);
    let me = &shared.senders[index];
    let room_name = shared.rooms[room].name.as_str();
    let io_timeout = shared.common.timeout();
    let proto = shared.common.proto;

    tokio::select! {
        _ = shared.go.cancelled() => {}
        _ = shared.abort.cancelled() => {
            me.writer_done.store(true, Ordering::Release);
            return (wr, None);
        }
    }

    // Open loop: this sender's interval, and a phase so that the senders
    // do not all fire at once.
    let (interval_ns, mut next_due) = match plan.pace {
        Pace::Open { per_sec } => {
            let senders = shared.senders.len() as f64;
            let interval = (senders / per_sec.max(1e-6) * 1e9).max(1.0);
            let phase = interval * index as f64 / senders;
            (interval, shared.now_ns() as f64 + phase)
        }
        _ => (0.0, 0.0),
    };
    let window = shared.rooms[room].window.as_ref();

    let mut line: Vec<u8> = Vec::with_capacity(plan.size + 64);
    let mut seq: u64 = 0;
    let mut error = None;
    loop {
        if shared.stop.is_cancelled() || shared.abort.is_cancelled() {
            break;
        }
        while let Ok(p) = pongs.try_recv() {
            if let Err(e) = net::write_within(&mut wr, &p, io_timeout).await {
                error = Some(format!("{e:#}"));
                break;
            }
        }
        if error.is_some() {
            break;
        }
        // The stamp: the send time, or at a fixed rate the due time of a
        // message held back longer than the timer's granularity.
        let nanos = if let Some(w) = window {
            if !w.try_take() {
                tokio::select! {
                    biased;
                    _ = shared.abort.cancelled() => break,
                    _ = shared.stop.cancelled() => break,
                    _ = w.take() => {}
                    _ = tokio::time::sleep(io_timeout) => {
                        error = Some(format!(
                            "the room's messages in flight ({} copies) were not read for {io_timeout:?}", w.owed()
                        ));
                        break;
                    }
                }
            }
            shared.now_ns()
        } else {
            let now_ns = shared.now_ns();
            if next_due > now_ns as f64 {
                if !shared.sleep_until_ns(next_due).await {
                    break;
                }
                continue;
            }
            let due = next_due as u64;
            next_due += interval_ns;
            if now_ns.saturating_sub(due) <= TIMER_SLACK_NS {
                now_ns
            } else {
                due
            }
        };
        line.clear();
        let stamp = Stamp {
            sender: client as u64,
            seq,
            nanos,
        };
        proto.push_msg(&mut line, room_name, stamp, plan.size);
        seq += 1;
        // Counted before the write, so that no copy arrives for a message
        // not yet counted.
        me.written.store(seq, Ordering::Release);
        let now_ns = shared.now_ns();
        if now_ns >= shared.warm_end_ns.load(Ordering::Relaxed)
            && now_ns < shared.measure_end_ns.load(Ordering::Relaxed)
        {
            me.in_window.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(e) = net::write_within(&mut wr, &line, io_timeout).await {
            error = Some(format!("{e:#}"));
            break;
        }
    }
    me.writer_done.store(true, Ordering::Release);
    (wr, error)
}

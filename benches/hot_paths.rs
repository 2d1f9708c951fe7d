//! Micro-benchmarks of the server's hot paths (`cargo bench`):
//!
//! - `parse_line`: one client line to a `Command`;
//! - `event_to_line`: rendering an event once, for every recipient;
//! - `fanout_push/N`: what a room does for each message: append the line
//!   to its log once and queue its span for N members, waking each
//!   member's writer (only the pushes are timed; the writers then drain
//!   the queues untimed, so the queues are in their steady state);
//! - `fanout_push_line/N`: the same with one shared `Bytes` handle pushed
//!   per member (how rooms fanned out before the log): the baseline for
//!   `fanout_push` in the same run;
//! - `fanout_push_drain/N`: `fanout_push` plus every member's writer task
//!   copying the line out and writing it (to `tokio::io::sink`), on one
//!   current-thread runtime: what one message costs the server apart from
//!   the socket's system calls.
//!
//! The end-to-end load generator is `chatroom-bench` (bench/).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use chatroom::core::names::{NameLimits, Nick, RoomName};
use chatroom::core::{no_realname, Event, MsgKind, MsgMeta, UserHost};
use chatroom::proto::native::parser::parse_line;
use chatroom::transport::broadcast_log::BroadcastLog;
use chatroom::transport::send_queue::{run_writer, SendQueue};

/// Fan-out sizes: a busy room and a big one.
const MEMBERS: [usize; 3] = [10, 200, 1000];

fn parse(c: &mut Criterion) {
    let limits = NameLimits::default();
    let lines = [
        (
            "msg_room",
            "MSG #lobby hello everyone, how is it going today?",
        ),
        ("msg_current", "MSG hello everyone, how is it going today?"),
        ("join", "JOIN #lobby"),
        ("nick", "NICK alice_42"),
        ("privmsg", "PRIVMSG bob see you at 6"),
        ("unknown", "FLY away"),
    ];
    let mut group = c.benchmark_group("parse_line");
    group.throughput(Throughput::Elements(1));
    for (name, line) in lines {
        group.bench_function(name, |b| {
            b.iter(|| {
                let _ = black_box(parse_line(black_box(line), &limits));
            })
        });
    }
    group.finish();
}

fn render(c: &mut Criterion) {
    let room = RoomName::parse("#lobby", 32).expect("valid room");
    let nick = Nick::parse("alice_42", 24).expect("valid nick");
    let msg = Event::Msg {
        room: room.clone(),
        from: nick.clone(),
        userhost: UserHost::native(),
        text: "hello everyone, how is it going today? ".repeat(2),
        kind: MsgKind::Privmsg,
        meta: MsgMeta::default(),
    };
    let join = Event::Join {
        room,
        nick,
        userhost: UserHost::native(),
        realname: no_realname(),
        account: None,
    };
    let mut group = c.benchmark_group("event_to_line");
    group.throughput(Throughput::Elements(1));
    group.bench_function("msg", |b| b.iter(|| black_box(black_box(&msg).to_line())));
    group.bench_function("join", |b| b.iter(|| black_box(black_box(&join).to_line())));
    group.finish();
}

fn a_message_line() -> Bytes {
    Event::Msg {
        room: RoomName::parse("#lobby", 32).expect("valid room"),
        from: Nick::parse("alice_42", 24).expect("valid nick"),
        userhost: UserHost::native(),
        text: "x".repeat(64),
        kind: MsgKind::Privmsg,
        meta: MsgMeta::default(),
    }
    .to_line()
}

/// N member queues, each drained by its writer task on `runtime`.
struct Members {
    log: BroadcastLog,
    queues: Vec<SendQueue>,
    writers: Vec<tokio::task::JoinHandle<chatroom::transport::send_queue::WriterEnd>>,
}

impl Members {
    fn new(runtime: &tokio::runtime::Runtime, n: usize) -> Members {
        let queues: Vec<SendQueue> = (0..n).map(|_| SendQueue::new(256 * 1024)).collect();
        let writers = queues
            .iter()
            .map(|q| runtime.spawn(run_writer(q.clone(), tokio::io::sink())))
            .collect();
        Members {
            log: BroadcastLog::new(256 * 1024),
            queues,
            writers,
        }
    }

    /// Logs one line and queues it for every member, as a room does.
    fn push(&self, line: &Bytes) {
        let span = self.log.append(line);
        for q in &self.queues {
            let _ = q.push_log(&self.log, span);
        }
    }

    /// Pushes one shared line handle to every member.
    fn push_line(&self, line: &Bytes) {
        for q in &self.queues {
            let _ = q.push(line.clone());
        }
    }

    /// Lets the woken writers run until all is written: they run in the
    /// order they were woken, so the last queue empties last.
    async fn drained(&self) {
        let last = self.queues.last().expect("at least one member");
        while last.queued_bytes() > 0 {
            tokio::task::yield_now().await;
        }
    }

    fn close(self, runtime: &tokio::runtime::Runtime) {
        for q in &self.queues {
            q.close();
        }
        runtime.block_on(async {
            for w in self.writers {
                let _ = w.await;
            }
        });
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn fanout_push(c: &mut Criterion) {
    pushes(c, "fanout_push", Members::push);
    pushes(c, "fanout_push_line", Members::push_line);
}

/// Times `push` alone for each fan-out size, draining untimed.
fn pushes(c: &mut Criterion, name: &str, push: fn(&Members, &Bytes)) {
    let line = a_message_line();
    let runtime = runtime();
    let mut group = c.benchmark_group(name);
    for n in MEMBERS {
        let members = Members::new(&runtime, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut pushing = Duration::ZERO;
                    for _ in 0..iters {
                        let started = Instant::now();
                        push(&members, &line);
                        pushing += started.elapsed();
                        members.drained().await;
                    }
                    pushing
                })
            })
        });
        members.close(&runtime);
    }
    group.finish();
}

fn fanout_push_drain(c: &mut Criterion) {
    let line = a_message_line();
    let runtime = runtime();
    let mut group = c.benchmark_group("fanout_push_drain");
    for n in MEMBERS {
        let members = Members::new(&runtime, n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                runtime.block_on(async {
                    members.push(&line);
                    members.drained().await;
                })
            })
        });
        members.close(&runtime);
    }
    group.finish();
}

criterion_group!(benches, parse, render, fanout_push, fanout_push_drain);
criterion_main!(benches);

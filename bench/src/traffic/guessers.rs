//! Guessers beside a message run (`--guessers N`): what brute-forcing a
//! room's key (`--guess key`) or an account's password (`--guess login`)
//! costs everyone else. A keeper connection makes a private room
//! (`#guess<run>`, key `k<run>`) or an account (`guess<run>`); N more
//! connections each send `JOIN <room> <wrong key>` or `LOGIN <account>
//! <wrong password>` at `--guess-rate` a second (the server's default flood
//! rate: they are not flood-refused), open loop, from the middle of the
//! measured window until the run stops. The first half of the window is
//! the baseline, the second the same traffic with guessers: their
//! latencies are reported apart, with what the guessers were answered
//! (native `BAD_KEY`/`BAD_LOGIN` and `TRY_LATER`, IRC 475 and 263; LOGIN is
//! native only).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use tokio::task::JoinSet;

use super::Shared;
use crate::net::{self, Conn};
use crate::proto::{Kind, Proto};

/// What is guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A private room's key, with JOIN.
    Key,
    /// An account's password, with LOGIN (native).
    Login,
}

/// How many guessers, how fast, guessing what.
#[derive(Debug, Clone, Copy)]
pub struct Guessing {
    /// Connections guessing.
    pub guessers: usize,
    /// Guesses per second each.
    pub per_sec: f64,
    /// What they guess.
    pub target: Target,
}

/// What the guessers sent and were answered.
#[derive(Debug, Default)]
pub struct GuessCounts {
    sent: AtomicU64,
    bad_key: AtomicU64,
    try_later: AtomicU64,
    other: AtomicU64,
}

/// [`GuessCounts`] read at the end.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GuessReport {
    /// Guessers.
    pub guessers: usize,
    /// Guesses a second, each.
    pub per_sec: f64,
    /// What they guessed.
    pub target: Target,
    /// Guesses sent.
    pub sent: u64,
    /// Checked and wrong (native `BAD_KEY` or `BAD_LOGIN`, IRC 475).
    pub bad_key: u64,
    /// Refused unchecked (native `TRY_LATER`, IRC 263).
    pub try_later: u64,
    /// Any other answer that is an error (flood control, ...).
    pub other: u64,
}

impl GuessCounts {
    /// The counts now.
    pub fn report(&self, g: Guessing) -> GuessReport {
        GuessReport {
            guessers: g.guessers,
            per_sec: g.per_sec,
            target: g.target,
            sent: self.sent.load(Ordering::Acquire),
            bad_key: self.bad_key.load(Ordering::Acquire),
            try_later: self.try_later.load(Ordering::Acquire),
            other: self.other.load(Ordering::Acquire),
        }
    }
}

/// The guessed room's name.
fn room(shared: &Shared) -> String {
    format!("#guess{}", shared.run_id)
}

/// The guessed account's name.
fn account(shared: &Shared) -> String {
    format!("guess{}", shared.run_id)
}

/// What is guessed, as the summary names it.
pub(super) fn guessed(shared: &Shared, target: Target) -> String {
    match target {
        Target::Key => format!("{}'s key", room(shared)),
        Target::Login => format!("account {}'s password", account(shared)),
    }
}

fn line(proto: Proto, text: &str) -> Vec<u8> {
    match proto {
        Proto::Native => format!("{text}\n").into_bytes(),
        Proto::Irc => format!("{text}\r\n").into_bytes(),
    }
}

/// Sets up the keeper and the guessers (connected, registered, idle):
/// returns their connections, the keeper's first.
pub(super) async fn set_up(shared: &Arc<Shared>, g: Guessing) -> anyhow::Result<Vec<Conn>> {
    let proto = shared.common.proto;
    let limit = shared.common.timeout();
    let addr = shared.common.spread.addr(0);
    let room = room(shared);
    let mut keeper = proto
        .connect_and_register(addr, &format!("g{}_keeper", shared.run_id), limit, 4096)
        .await
        .context("the guessed room's or account's keeper")?;
    match g.target {
        Target::Key => {
            keeper
                .send(
                    &line(proto, &format!("JOIN {room} k{}", shared.run_id)),
                    limit,
                )
                .await?;
            keeper
                .wait_for("the keeper's JOIN", limit, |l| proto.is_joined(l))
                .await?;
        }
        Target::Login => {
            anyhow::ensure!(proto == Proto::Native, "--guess login is native only");
            let account = account(shared);
            keeper
                .send(
                    &line(
                        proto,
                        &format!("REGISTER {account} pw-{}-right", shared.run_id),
                    ),
                    limit,
                )
                .await?;
            keeper
                .wait_for("the keeper's REGISTER", limit, |l| {
                    l.starts_with(b"OK REGISTER ")
                })
                .await?;
        }
    }
    let mut conns = vec![keeper];
    for i in 0..g.guessers {
        let conn = proto
            .connect_and_register(addr, &format!("g{}_{i}", shared.run_id), limit, 4096)
            .await
            .with_context(|| format!("guesser {i}"))?;
        conns.push(conn);
    }
    Ok(conns)
}

/// Runs the guessers from `start_ns` (after the run's start) until the run
/// stops; the keeper stays in its room meanwhile.
pub(super) async fn run(
    shared: Arc<Shared>,
    g: Guessing,
    conns: Vec<Conn>,
    start_ns: u64,
    counts: Arc<GuessCounts>,
) {
    let mut tasks = JoinSet::new();
    let mut conns = conns.into_iter();
    let keeper = conns.next();
    for (i, conn) in conns.enumerate() {
        tasks.spawn(guess(
            Arc::clone(&shared),
            g,
            i,
            conn,
            start_ns,
            Arc::clone(&counts),
        ));
    }
    while tasks.join_next().await.is_some() {}
    drop(keeper);
}

/// One guesser: a wrong key or password every 1/rate seconds, answers counted as they
/// come (a PING answered).
async fn guess(
    shared: Arc<Shared>,
    g: Guessing,
    index: usize,
    conn: Conn,
    start_ns: u64,
    counts: Arc<GuessCounts>,
) {
    let proto = conn.proto;
    let limit = shared.common.timeout();
    let Conn { mut rd, mut wr, .. } = conn;
    let room = room(&shared);
    let account = account(&shared);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let reader_counts = Arc::clone(&counts);
    let mut reader = tokio::spawn(async move {
        while let Ok(n) = rd.fill().await {
            if n == 0 {
                break;
            }
            while let Some(l) = rd.next_line() {
                let c = &reader_counts;
                let counter = match proto {
                    Proto::Native if l.starts_with(b"ERR JOIN BAD_KEY ") => &c.bad_key,
                    Proto::Native if l.starts_with(b"ERR LOGIN BAD_LOGIN ") => &c.bad_key,
                    Proto::Native if l.starts_with(b"ERR JOIN TRY_LATER ") => &c.try_later,
                    Proto::Native if l.starts_with(b"ERR LOGIN TRY_LATER ") => &c.try_later,
                    Proto::Irc if contains(l, b" 475 ") => &c.bad_key,
                    Proto::Irc if contains(l, b" 263 ") => &c.try_later,
                    _ => match proto.classify(l) {
                        Kind::Ping => {
                            let _ = pong_tx.send(proto.pong_for(l));
                            continue;
                        }
                        Kind::Err | Kind::Refused | Kind::Server => &c.other,
                        _ => continue,
                    },
                };
                counter.fetch_add(1, Ordering::AcqRel);
            }
        }
    });
    // Spread the guessers over one period.
    let period_ns = 1e9 / g.per_sec;
    let mut due = start_ns as f64 + period_ns * index as f64 / g.guessers.max(1) as f64;
    let mut n = 0u64;
    while shared.sleep_until_ns(due).await {
        let mut out = Vec::new();
        while let Ok(pong) = pong_rx.try_recv() {
            out.extend_from_slice(&pong);
        }
        let guess = match g.target {
            Target::Key => format!("JOIN {room} wrong{index}x{n}"),
            Target::Login => format!("LOGIN {account} wrong-{index}x{n}"),
        };
        out.extend_from_slice(&line(proto, &guess));
        if net::write_within(&mut wr, &out, limit).await.is_err() {
            break;
        }
        counts.sent.fetch_add(1, Ordering::AcqRel);
        n += 1;
        due += period_ns;
    }
    // The last answers, briefly; then the connection closes.
    let _ = tokio::time::timeout(Duration::from_millis(500), &mut reader).await;
    reader.abort();
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

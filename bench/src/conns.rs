//! The `conns` scenario: N idle clients, registered and each in a room.
//!
//! Two timed phases: connect and register every client (native `HELLO` +
//! `NICK`, IRC `NICK`/`USER` until 001; a bounded number in flight), then
//! every client sends `JOIN` at once, to rooms of `--room-size` members or,
//! with `--join-one-room`, all to one room (done at native `OK JOIN`, IRC
//! 366). A probe connection then checks the server's own counts (native
//! `INFO`, `INFO <room>`; IRC `LUSERS`, `LIST <room>`), the clients idle for
//! `--hold`, and the server's memory is read before (once it holds still)
//! and after. Clients keep
//! reading all along (the JOIN events of a big room are many) and answer
//! `PING`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::net::Conn;
use crate::proto::Kind;
use crate::report::{self, human, kib, Probe};
use crate::sys;
use crate::Common;

/// What one `conns` run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of clients.
    pub clients: usize,
    /// Members per room (ignored with `one_room`).
    pub room_size: usize,
    /// Everyone joins the same room.
    pub one_room: bool,
    /// How long the clients stay, idle, after joining.
    pub hold: Duration,
}

enum Event {
    Registered(Instant),
    Joined(Instant),
    Failed(usize, String),
}

struct Shared {
    plan: Plan,
    common: Common,
    run_id: String,
    join: CancellationToken,
    end: CancellationToken,
    events: mpsc::UnboundedSender<Event>,
    /// Bytes the clients read after registering (JOIN events, NAMES, ...).
    received: AtomicU64,
}

impl Shared {
    fn room_of(&self, client: usize) -> String {
        let r = if self.plan.one_room {
            0
        } else {
            client / self.plan.room_size.max(1)
        };
        format!("#bench{}_{r}", self.run_id)
    }
}

/// Runs the scenario; prints the summary and the JSON line.
pub async fn run(plan: Plan, common: Common, run_id: String) -> anyhow::Result<bool> {
    let probe = Probe::new(&common.server_pids)?;
    let n = plan.clients;
    if n == 0 {
        bail!("--clients must be at least 1");
    }
    let (tx, mut events) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        common: common.clone(),
        run_id: run_id.clone(),
        join: CancellationToken::new(),
        end: CancellationToken::new(),
        received: AtomicU64::new(0),
        events: tx,
    });
    let rooms = if plan.one_room {
        1
    } else {
        n.div_ceil(plan.room_size.max(1))
    };
    say!(
        "conns ({}): {n} clients in {rooms} room{}{}, {} connecting at a time, run {run_id}",
        common.proto.name(),
        if rooms == 1 { "" } else { "s" },
        if plan.one_room {
            " (join-one-room)"
        } else {
            ""
        },
        common.concurrency
    );

    // Read before connecting: a full accept backlog drops SYNs, which
    // the clients retry a second later.
    let overflows_before = sys::listen_overflows();
    settle(&probe).await;
    let start = probe.snapshot();
    let gate = Arc::new(Semaphore::new(common.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for client in 0..n {
        tasks.spawn(client_task(Arc::clone(&shared), client, Arc::clone(&gate)));
    }
    let outcome = phases(&shared, &probe, &start, &mut events, rooms).await;
    // Whatever happened, every client ends now and closes its connection.
    shared.end.cancel();
    let mut conns = Vec::with_capacity(n);
    let grace = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(joined)) = tokio::time::timeout_at(grace, tasks.join_next()).await {
        if let Ok(Some(conn)) = joined {
            conns.push(conn);
        }
    }
    tasks.abort_all();
    drop(conns);

    let figures = match outcome {
        Ok(f) => f,
        Err(e) => {
            say!("  FAILURE         {e:#}");
            say!("  result          FAILED");
            let line = json!({
                "scenario": "conns",
                "ok": false,
                "proto": common.proto,
                "run_id": run_id,
                "clients": n,
                "join_one_room": plan.one_room,
                "failures": [format!("{e:#}")],
            });
            say!("{line}");
            return Ok(false);
        }
    };
    let f = figures;
    let received = shared.received.load(Ordering::Relaxed);
    let overflows = sys::listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after.saturating_sub(before));
    say!(
        "  register        {n} {} in {:.2} s: {}/s",
        common.proto.registration(),
        f.register_secs,
        human(n as f64 / f.register_secs)
    );
    say!(
        "  join            {n} JOIN at once in {:.2} s: {}/s ({} JOIN copies, {}/s)",
        f.join_secs,
        human(n as f64 / f.join_secs),
        human(f.join_copies as f64),
        human(f.join_copies as f64 / f.join_secs)
    );
    say!(
        "  received        {} after registering (JOIN events, NAMES lines)",
        kib(received as f64 / 1024.0)
    );
    say!(
        "  server says     users {}, room {} members {}",
        f.users,
        f.probe_room,
        f.probe_members
    );
    if let Some(s) = &f.server_register {
        say!(
            "  server CPU      register {:.2} s ({:.0}%), join {:.2} s ({:.0}%)",
            s.cpu_secs,
            s.cpu_utilisation * 100.0,
            f.server_join.as_ref().map_or(0.0, |j| j.cpu_secs),
            f.server_join.as_ref().map_or(0.0, |j| j.cpu_utilisation) * 100.0
        );
    }
    if let Some(rss) = &f.rss {
        say!(
            "  server RSS      {} before, {} registered, {} after joins and hold: {} ({:.0} bytes) per connection",
            kib(rss.before_kib as f64),
            kib(rss.registered_kib as f64),
            kib(rss.after_kib as f64),
            kib(rss.per_conn_kib),
            rss.per_conn_kib * 1024.0,
        );
    } else {
        say!("  server RSS      not measured (give --server-pid PID)");
    }
    if let Some(t) = &f.tool {
        say!(
            "  tool CPU        {:.2} s over register + join ({:.0}% of one core)",
            t.cpu_secs,
            t.cpu_utilisation * 100.0
        );
    }
    if let Some(t) = &f.tool_register {
        say!(
            "  tool CPU        register {:.2} s ({:.0}% of one core)",
            t.cpu_secs,
            t.cpu_utilisation * 100.0
        );
    }
    report::warn_overflows(overflows);
    let ok = f.users >= n as u64 && f.probe_members == f.expected_members;
    if !ok {
        say!(
            "  FAILURE         the server counts {} users and {} members, expected {n} and {}",
            f.users,
            f.probe_members,
            f.expected_members
        );
    }
    say!("  result          {}", if ok { "ok" } else { "FAILED" });
    let per_cpu = |count: f64, u: &Option<report::Usage>| {
        u.as_ref()
            .filter(|u| u.cpu_secs > 0.0)
            .map(|u| count / u.cpu_secs)
    };
    let line = json!({
        "scenario": if plan.one_room { "join-one-room" } else { "conns" },
        "ok": ok,
        "proto": common.proto,
        "run_id": run_id,
        "addr": common.spread.joined(),
        "nodes": common.spread.len(),
        "clients": n,
        "rooms": rooms,
        "room_size": if plan.one_room { n } else { plan.room_size },
        "join_one_room": plan.one_room,
        "concurrency": common.concurrency,
        "register_secs": f.register_secs,
        "registered_per_sec": n as f64 / f.register_secs,
        "join_secs": f.join_secs,
        "joined_per_sec": n as f64 / f.join_secs,
        "join_copies": f.join_copies,
        "received_bytes": received,
        "join_copies_per_sec": f.join_copies as f64 / f.join_secs,
        "server_users": f.users,
        "probe_room_members": f.probe_members,
        "server_register": f.server_register,
        "server_join": f.server_join,
        "registered_per_server_cpu_sec": per_cpu(n as f64, &f.server_register),
        "deliveries_per_server_cpu_sec": per_cpu(f.join_copies as f64, &f.server_join),
        "rss": f.rss,
        "listen_overflows": overflows,
        "tool": f.tool,
        "tool_register": f.tool_register,
        "failures": if ok { Vec::<String>::new() } else { vec!["server counts differ".to_string()] },
    });
    say!("{line}");
    Ok(ok)
}

#[derive(Debug, serde::Serialize)]
struct Rss {
    before_kib: u64,
    registered_kib: u64,
    after_kib: u64,
    per_conn_kib: f64,
}

struct Figures {
    register_secs: f64,
    join_secs: f64,
    join_copies: u64,
    users: u64,
    probe_room: String,
    probe_members: u64,
    expected_members: u64,
    server_register: Option<report::Usage>,
    server_join: Option<report::Usage>,
    rss: Option<Rss>,
    tool: Option<report::Usage>,
    /// The tool's own CPU while registering: whether it, not the server,
    /// set the pace.
    tool_register: Option<report::Usage>,
}

/// Waits for `count` events of one kind, failing at the first failure or
/// after the setup time limit; returns the time of the last one.
async fn wait_all(
    what: &str,
    count: usize,
    events: &mut mpsc::UnboundedReceiver<Event>,
    limit: Duration,
    registered: bool,
) -> anyhow::Result<Instant> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = 0;
    let mut last = Instant::now();
    while seen < count {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Registered(t))) if registered => {
                seen += 1;
                last = last.max(t);
            }
            Ok(Some(Event::Joined(t))) if !registered => {
                seen += 1;
                last = last.max(t);
            }
            Ok(Some(Event::Failed(client, e))) => bail!("client {client} failed: {e}"),
            Ok(Some(_)) => {}
            Ok(None) => bail!("every client ended before {what}"),
            Err(_) => bail!("{what}: only {seen} of {count} within {limit:?}"),
        }
    }
    Ok(last)
}

/// Waits until the server's RSS holds still: at least 4 s, then until it
/// has not moved for a second (up to 20 s in all). What a server allocated
/// and freed at start-up must not count as "before", or the connections
/// that reuse those pages look cheaper than they are: chatroom makes an
/// argon2 hash there, 19 MiB its allocator keeps for a second or two after
/// the hash is done (RSS holds still at the high mark meanwhile, hence the
/// 4 s).
async fn settle(probe: &Probe) {
    const STEP: Duration = Duration::from_millis(250);
    const STILL_KIB: u64 = 32;
    let start = tokio::time::Instant::now();
    let (at_least, at_most) = (Duration::from_secs(4), Duration::from_secs(20));
    let rss = || probe.snapshot().server.map(|s| s.rss_kib);
    let Some(mut last) = rss() else { return };
    let mut still = 0;
    while start.elapsed() < at_most && (still < 4 || start.elapsed() < at_least) {
        tokio::time::sleep(STEP).await;
        let Some(now) = rss() else { return };
        still = if now.abs_diff(last) <= STILL_KIB {
            still + 1
        } else {
            0
        };
        last = now;
    }
}

async fn phases(
    shared: &Shared,
    probe: &Probe,
    start: &report::Snapshot,
    events: &mut mpsc::UnboundedReceiver<Event>,
    rooms: usize,
) -> anyhow::Result<Figures> {
    let n = shared.plan.clients;
    let limit = shared.common.setup_timeout();
    let last = wait_all("registration", n, events, limit, true).await?;
    let register_secs = last.duration_since(start.at).as_secs_f64();
    let registered = probe.snapshot();

    shared.join.cancel();
    let last = wait_all("joins", n, events, limit, false).await?;
    let join_secs = last.duration_since(registered.at).as_secs_f64();
    let joined = probe.snapshot();

    // Each joiner gets its own JOIN and one per member already there.
    let sizes: Vec<u64> = if shared.plan.one_room {
        vec![n as u64]
    } else {
        let k = shared.plan.room_size.max(1);
        (0..rooms).map(|r| (n - r * k).min(k) as u64).collect()
    };
    let join_copies = sizes.iter().map(|k| k * (k + 1) / 2).sum();

    let (users, probe_room, probe_members) = ask_server(shared).await?;
    tokio::time::sleep(shared.plan.hold).await;
    let end = probe.snapshot();

    let (server_register, tool_register) = report::usage(start, &registered);
    let (server_join, _) = report::usage(&registered, &joined);
    let (_, tool) = report::usage(start, &joined);
    let rss = match (start.server, registered.server, end.server) {
        (Some(b), Some(r), Some(a)) => Some(Rss {
            before_kib: b.rss_kib,
            registered_kib: r.rss_kib,
            after_kib: a.rss_kib,
            per_conn_kib: (a.rss_kib as f64 - b.rss_kib as f64) / n as f64,
        }),
        _ => None,
    };
    Ok(Figures {
        register_secs,
        join_secs,
        join_copies,
        users,
        probe_room,
        probe_members,
        expected_members: sizes[0],
        server_register,
        server_join,
        rss,
        tool,
        tool_register,
    })
}

/// A separate connection asks the server's user count and the first
/// room's member count.
async fn ask_server(shared: &Shared) -> anyhow::Result<(u64, String, u64)> {
    let timeout = shared.common.timeout();
    let proto = shared.common.proto;
    let nick = format!("b{}_probe", shared.run_id);
    let mut conn = proto
        .connect_and_register(shared.common.spread.addr(0), &nick, timeout, 16 * 1024)
        .await?;
    let room = shared.room_of(0);
    let (users, members) = proto.server_counts(&mut conn, &room, timeout).await?;
    Ok((users, room, members))
}

/// One client: register (within the gate), wait, join, stay until the end.
/// Returns the connection, to be closed with all the others.
async fn client_task(shared: Arc<Shared>, client: usize, gate: Arc<Semaphore>) -> Option<Conn> {
    let fail = |e: anyhow::Error| {
        let _ = shared.events.send(Event::Failed(client, format!("{e:#}")));
        None
    };
    let timeout = shared.common.timeout();
    let nick = format!("b{}_{client}", shared.run_id);
    let capacity = if shared.plan.one_room {
        16 * 1024
    } else {
        4096
    };
    let registered = async {
        let _permit = gate.acquire().await?;
        shared
            .common
            .proto
            .connect_and_register(shared.common.spread.addr(client), &nick, timeout, capacity)
            .await
    };
    let mut conn = tokio::select! {
        res = registered => match res {
            Ok(conn) => conn,
            Err(e) => return fail(e),
        },
        _ = shared.end.cancelled() => return None,
    };
    let _ = shared.events.send(Event::Registered(Instant::now()));

    if let Err(e) = idle(
        &shared.received,
        &mut conn,
        &shared.join,
        &shared.end,
        timeout,
        false,
    )
    .await
    {
        return fail(e);
    }
    if shared.end.is_cancelled() {
        return Some(conn);
    }
    let room = shared.room_of(client);
    let join = conn.proto.join_line(&room);
    if let Err(e) = conn.send(&join, timeout).await {
        return fail(e);
    }
    // Until OK JOIN (the end token stands in for "never").
    let never = CancellationToken::new();
    match idle(
        &shared.received,
        &mut conn,
        &never,
        &shared.end,
        timeout,
        true,
    )
    .await
    {
        Ok(true) => {
            let _ = shared.events.send(Event::Joined(Instant::now()));
        }
        Ok(false) => return Some(conn),
        Err(e) => return fail(e),
    }
    match idle(
        &shared.received,
        &mut conn,
        &shared.end,
        &shared.end,
        timeout,
        false,
    )
    .await
    {
        Ok(_) => Some(conn),
        Err(e) => fail(e),
    }
}

/// Reads and discards lines until `until` is cancelled (`Ok(false)`) or,
/// if `want_join`, until the end of the JOIN answer (`Ok(true)`); answers
/// PING. Fails on errors, the server's farewell and a closed connection.
/// Also returns when `end` is cancelled.
async fn idle(
    received: &AtomicU64,
    conn: &mut Conn,
    until: &CancellationToken,
    end: &CancellationToken,
    timeout: Duration,
    want_join: bool,
) -> anyhow::Result<bool> {
    loop {
        let mut pong = None;
        let proto = conn.proto;
        while let Some(line) = conn.rd.next_line() {
            if want_join && proto.is_joined(line) {
                return Ok(true);
            }
            match proto.classify(line) {
                Kind::Err | Kind::Refused | Kind::Server => {
                    let text = String::from_utf8_lossy(line);
                    bail!("the server said: {}", text.trim_end())
                }
                Kind::Ping => pong = Some(proto.pong_for(line)),
                _ => {}
            }
        }
        if let Some(p) = pong {
            conn.send(&p, timeout).await?;
        }
        tokio::select! {
            biased;
            _ = until.cancelled() => return Ok(false),
            _ = end.cancelled() => return Ok(false),
            res = conn.rd.fill() => match res {
                Ok(0) => bail!("the server closed the connection"),
                Ok(n) => {
                    received.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) => bail!("read failed: {e}"),
            },
        }
    }
}

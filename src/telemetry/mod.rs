//! Metrics: every metric the server keeps, through the `metrics` facade,
//! and the Prometheus recorder that renders them (for the admin listener,
//! `proto::admin`).
//!
//! Hot paths (a message's fan-out, a line's flood check) touch a cached
//! handle: one atomic add, no lookup of a key, and once per message or
//! line, never once per member. Until [`install`] runs (unit tests, or an
//! embedding program with a recorder of its own) every call is a no-op.
//! Names are `chatroom_` + snake case, counters end in `_total`;
//! docs/OPERATING.md has the table.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::warn;

pub mod process;

/// `chatroom_connections{protocol, transport}`: open client connections.
pub const CONNECTIONS: &str = "chatroom_connections";
/// `chatroom_users`: clients with a nickname (sampled at scrape).
pub const USERS: &str = "chatroom_users";
/// `chatroom_rooms`: rooms that exist, with members or not (sampled at scrape).
pub const ROOMS: &str = "chatroom_rooms";
/// `chatroom_messages_total`: room messages said.
pub const MESSAGES: &str = "chatroom_messages_total";
/// `chatroom_deliveries_total`: room messages handed to members' queues.
pub const DELIVERIES: &str = "chatroom_deliveries_total";
/// `chatroom_sendq_drops_total`: connections dropped for a full send queue.
pub const SENDQ_DROPS: &str = "chatroom_sendq_drops_total";
/// `chatroom_flood_refusals_total{protocol}`: lines over the flood rate.
pub const FLOOD_REFUSALS: &str = "chatroom_flood_refusals_total";
/// `chatroom_history_commit_seconds`: time of one history commit.
pub const COMMIT_SECONDS: &str = "chatroom_history_commit_seconds";
/// `chatroom_database_bytes`: the history database's size on disk.
pub const DATABASE_BYTES: &str = "chatroom_database_bytes";
/// `chatroom_uploads_in_flight`: FILE bodies being received.
pub const UPLOADS_IN_FLIGHT: &str = "chatroom_uploads_in_flight";
/// `chatroom_config_reloads_total{result}`: configuration reloads.
pub const CONFIG_RELOADS: &str = "chatroom_config_reloads_total";
/// `chatroom_process_resident_memory_bytes`: the process's RSS.
pub const RESIDENT_MEMORY: &str = "chatroom_process_resident_memory_bytes";
/// `chatroom_process_open_fds`: the process's open file descriptors.
pub const OPEN_FDS: &str = "chatroom_process_open_fds";

/// Bucket bounds of [`COMMIT_SECONDS`]: a commit takes a fraction of a
/// millisecond on a good disk, and anything past a second is an alarm.
const COMMIT_BUCKETS: &[f64] = &[
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// How often histograms are drained when nobody scrapes (so that their
/// samples never pile up).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// A client protocol, as the `protocol` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The native line protocol.
    Native,
    /// IRC.
    Irc,
}

impl Protocol {
    fn label(self) -> &'static str {
        match self {
            Protocol::Native => "native",
            Protocol::Irc => "irc",
        }
    }
}

/// What carries a connection's bytes, as the `transport` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// A WebSocket (over HTTP or HTTPS).
    Ws,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
        }
    }
}

const PROTOCOLS: [Protocol; 2] = [Protocol::Native, Protocol::Irc];
const TRANSPORTS: [Transport; 3] = [Transport::Tcp, Transport::Tls, Transport::Ws];

/// The handles of every metric, looked up once.
struct Handles {
    connections: [Gauge; 6],
    users: Gauge,
    rooms: Gauge,
    messages: Counter,
    deliveries: Counter,
    sendq_drops: Counter,
    flood: [Counter; 2],
    commit: Histogram,
    database: Gauge,
    uploads: Gauge,
    reloads_ok: Counter,
    reloads_failed: Counter,
    resident: Gauge,
    fds: Gauge,
}

impl Handles {
    fn register() -> Handles {
        let connections = std::array::from_fn(|i| {
            let (p, t) = (PROTOCOLS[i / 3], TRANSPORTS[i % 3]);
            metrics::gauge!(CONNECTIONS, "protocol" => p.label(), "transport" => t.label())
        });
        let flood = PROTOCOLS.map(|p| metrics::counter!(FLOOD_REFUSALS, "protocol" => p.label()));
        Handles {
            connections,
            users: metrics::gauge!(USERS),
            rooms: metrics::gauge!(ROOMS),
            messages: metrics::counter!(MESSAGES),
            deliveries: metrics::counter!(DELIVERIES),
            sendq_drops: metrics::counter!(SENDQ_DROPS),
            flood,
            commit: metrics::histogram!(COMMIT_SECONDS),
            database: metrics::gauge!(DATABASE_BYTES),
            uploads: metrics::gauge!(UPLOADS_IN_FLIGHT),
            reloads_ok: metrics::counter!(CONFIG_RELOADS, "result" => "ok"),
            reloads_failed: metrics::counter!(CONFIG_RELOADS, "result" => "refused"),
            resident: metrics::gauge!(RESIDENT_MEMORY),
            fds: metrics::gauge!(OPEN_FDS),
        }
    }
}

static HANDLES: OnceLock<Handles> = OnceLock::new();
static EXPORTER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

fn handles() -> &'static Handles {
    HANDLES.get_or_init(Handles::register)
}

/// Installs the Prometheus recorder as the process's metrics recorder
/// (once: later calls return the same handle), and starts the thread that
/// drains its histograms. `None` when another recorder was installed
/// first: metrics then go to that one, and `/metrics` has nothing.
pub fn install() -> Option<PrometheusHandle> {
    EXPORTER
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(COMMIT_SECONDS.into()), COMMIT_BUCKETS)
                .map(PrometheusBuilder::build_recorder);
            let recorder = match recorder {
                Ok(r) => r,
                Err(e) => {
                    warn!(%e, "metrics: cannot build the Prometheus recorder");
                    return None;
                }
            };
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                warn!(%e, "metrics: another recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            // Handles taken before the recorder was set would be no-ops.
            let _ = handles();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                });
            if let Err(e) = spawned {
                warn!(%e, "metrics: no upkeep thread; histograms drain only when scraped");
            }
            Some(handle)
        })
        .clone()
}

/// The recorder's handle, if [`install`] installed it.
pub fn exporter() -> Option<PrometheusHandle> {
    EXPORTER.get().cloned().flatten()
}

/// The help text and unit of each metric (`# HELP` lines).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(
        CONNECTIONS,
        "Open client connections, by protocol and transport"
    );
    describe_gauge!(USERS, "Clients with a nickname");
    describe_gauge!(ROOMS, "Rooms with at least one member");
    describe_counter!(MESSAGES, "Room messages said");
    describe_counter!(
        DELIVERIES,
        "Room messages handed to members' send queues (one per member reached)"
    );
    describe_counter!(
        SENDQ_DROPS,
        "Connections dropped because their send queue was full"
    );
    describe_counter!(
        FLOOD_REFUSALS,
        "Lines over the flood rate: refused (native) or delayed (IRC)"
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time of one history group commit"
    );
    describe_gauge!(
        DATABASE_BYTES,
        Unit::Bytes,
        "History database size on disk, WAL included"
    );
    describe_gauge!(UPLOADS_IN_FLIGHT, "FILE uploads being received");
    describe_counter!(
        CONFIG_RELOADS,
        "Configuration reloads, by result (ok, refused)"
    );
    describe_gauge!(
        RESIDENT_MEMORY,
        Unit::Bytes,
        "Resident set size of the process"
    );
    describe_gauge!(OPEN_FDS, "Open file descriptors of the process");
}

/// Counts one open connection of `protocol` over `transport` until the
/// guard is dropped.
pub fn connection(protocol: Protocol, transport: Transport) -> ConnectionGuard {
    let i = PROTOCOLS.iter().position(|p| *p == protocol).unwrap_or(0) * 3
        + TRANSPORTS.iter().position(|t| *t == transport).unwrap_or(0);
    handles().connections[i].increment(1.0);
    // At most 6 (see PROTOCOLS and TRANSPORTS).
    ConnectionGuard(i as u8)
}

/// Keeps one connection counted in [`CONNECTIONS`]: the index of its
/// gauge, one byte that fits in the padding of a session.
pub struct ConnectionGuard(u8);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        handles().connections[usize::from(self.0)].decrement(1.0);
    }
}

/// A room message was said and handed to `deliveries` members: once per
/// message, whatever the room's size.
#[inline]
pub fn message_said(deliveries: usize) {
    let h = handles();
    h.messages.increment(1);
    h.deliveries.increment(deliveries as u64);
}

/// A connection's send queue overflowed: it is being dropped.
pub fn sendq_dropped() {
    handles().sendq_drops.increment(1);
}

/// A line came over the flood rate.
pub fn flood_refused(protocol: Protocol) {
    let i = usize::from(protocol == Protocol::Irc);
    handles().flood[i].increment(1);
}

/// One history commit took `took`.
pub fn history_committed(took: Duration) {
    handles().commit.record(took.as_secs_f64());
}

/// Counts one upload in [`UPLOADS_IN_FLIGHT`] until the guard is dropped
/// (the upload stored, refused or cut short).
pub fn upload() -> UploadGuard {
    let gauge = &handles().uploads;
    gauge.increment(1.0);
    UploadGuard(gauge)
}

/// Keeps one upload counted in [`UPLOADS_IN_FLIGHT`].
pub struct UploadGuard(&'static Gauge);

impl Drop for UploadGuard {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A configuration reload was put in force (`true`) or refused.
pub fn reloaded(ok: bool) {
    let h = handles();
    if ok {
        h.reloads_ok.increment(1);
    } else {
        h.reloads_failed.increment(1);
    }
}

/// What is sampled when scraped rather than counted as it happens.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sampled {
    /// Clients with a nickname.
    pub users: usize,
    /// Rooms with at least one member.
    pub rooms: usize,
    /// The database's size on disk, if there is one.
    pub database_bytes: Option<u64>,
}

/// Sets the sampled gauges (and the process's), just before a render.
pub fn sample(s: Sampled) {
    let h = handles();
    h.users.set(s.users as f64);
    h.rooms.set(s.rooms as f64);
    if let Some(bytes) = s.database_bytes {
        h.database.set(bytes as f64);
    }
    let p = process::sample();
    if let Some(rss) = p.resident_bytes {
        h.resident.set(rss as f64);
    }
    if let Some(fds) = p.open_fds {
        h.fds.set(fds as f64);
    }
}

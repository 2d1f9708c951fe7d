//! `chatroom-bench`: a load generator for the chatroom server, speaking
//! its native line protocol or (`--proto irc`) IRC over real TCP, so that
//! the same scenarios also drive chatroom's IRC listener and other IRC
//! servers.
//!
//! Scenarios (subcommands):
//! - `fanout`: C clients in one room, S of them sending; deliveries per
//!   second, loss (must be zero) and send-to-receive latency.
//!
//! Both message scenarios take one of three client rhythms (`--rhythm`):
//! `window` (each sender keeps up to `--window` messages unacknowledged,
//! and writes them in batches), `shared-window` (one line per write, one
//! room-wide cap of `--window-total` messages in flight counted in copies
//! received) and `open` (one line per write on a schedule, waiting for
//! nothing). A rate is messages a second in all (`--rate`, spread evenly
//! over the senders) or per sender (`--rate-per-sender`), in every rhythm
//! that takes one. Receivers read as soon as something comes, or on a
//! timer (`--read-every MS`: everything that has come, then nothing until
//! the next turn), whatever the senders' rhythm.
//! - `rooms`: R rooms of K members, every member talking.
//!
//! Both also take `--guessers N`: N more connections guessing a private
//! room's key or, with `--guess login`, an account's password (wrong
//! ones, at `--guess-rate` a second each) during the
//! second half of the measured window, the latency of each half reported
//! apart: what brute-forcing a key costs everyone else.
//! - `conns`: N idle registered clients in rooms; the connect + register
//!   rate, the join rate, and the server's memory per connection.
//!   `--join-one-room` puts all N in one room.
//!
//! With `--server-pid` every scenario also reads the server's CPU time and
//! memory from `/proc`, giving deliveries per second of server CPU; given
//! several pids (a cluster's nodes and its Redis) it sums them. Given
//! several `--addr`, the clients are spread over them round robin
//! ([`nodes`]) and latency is reported for copies delivered on the
//! sender's node and on another apart. Every
//! run prints a summary for people, then one JSON line with every figure.
//! It always ends by itself: setup, warm-up, measurement and drain are each
//! bounded, every read has a time limit, and a connection failure makes
//! the tool exit non-zero.

// serde_json's json! of a whole run's report nests past the default 128.
#![recursion_limit = "256"]

/// `println!` that ignores a closed stdout (`chatroom-bench ... | head`):
/// the run still ends normally, with its exit status.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod conns;
mod net;
mod nodes;
mod proto;
mod report;
mod stamp;
mod sys;
mod traffic;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::{Args, Parser, Subcommand};

use crate::nodes::Spread;
use crate::proto::Proto;

/// A load generator for the chatroom server (its native protocol or IRC,
/// over TCP).
///
/// Start the server with flood control lifted, for example:
/// CHATROOM_LIMITS__FLOOD_BURST=1000000 CHATROOM_LIMITS__FLOOD_RATE_PER_SEC=1000000
/// CHATROOM_LOG__LEVEL=warn CHATROOM_LOG__DIR= taskset -c 0 target/release/chatroom
/// --listen 127.0.0.1:5555, then run this tool on the other core with
/// `taskset -c 1`. scripts/irc_suite.py starts IRC daemons configured so
/// (bench/daemons/) and runs every scenario against each with --proto irc.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    scenario: Scenario,
}

/// Options every scenario takes.
#[derive(Debug, Args)]
struct CommonArgs {
    /// The server's address; several (repeated, or comma-separated) for
    /// the nodes of a cluster: client `i` connects to the `i mod n`-th,
    /// senders and receivers alike, and latency is also reported apart
    /// for copies delivered on the sender's node and on another.
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = "127.0.0.1:5555"
    )]
    addr: Vec<String>,
    /// The protocol to speak: chatroom's native one, or IRC (NICK/USER,
    /// JOIN, PRIVMSG; a PING after every window/8 messages stands in for
    /// the acknowledgement IRC does not send).
    #[arg(long, global = true, value_enum, default_value_t = Proto::Native)]
    proto: Proto,
    /// The server's process id: measure its CPU time and memory (/proc).
    /// Several (repeated, or comma-separated: every node of a cluster and
    /// its Redis) are measured together, their CPU times and memory
    /// summed.
    #[arg(long, global = true, value_name = "PID", value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Time limit for each read and write, and for silence while messages
    /// should be flowing, in seconds.
    #[arg(long, global = true, default_value_t = 10.0)]
    timeout: f64,
    /// Time limit for connecting and setting up every client, in seconds.
    #[arg(long, global = true, default_value_t = 120.0)]
    setup_timeout: f64,
    /// Clients connecting and registering at the same time. Above the
    /// server's listen backlog (128 for a std/tokio listener) SYNs get
    /// dropped and retried a second later.
    #[arg(long, global = true, default_value_t = 100)]
    concurrency: usize,
    /// Runtime threads (default: the CPUs this process may use, so
    /// `taskset -c 1` gives a single-threaded tool).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// A tag for nicknames and rooms (default: made up from the pid and
    /// the clock). Nicknames are `b<run-id>_<n>`, rooms `#bench<run-id>_<r>`.
    #[arg(long, global = true)]
    run_id: Option<String>,
}

/// How senders pace their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Rhythm {
    /// Each sender keeps up to --window messages unacknowledged and writes
    /// as many as it may in one write (or, with a rate, on a schedule).
    Window,
    /// One line per write; the senders of a room share one cap of
    /// --window-total messages in flight, a message being in flight until
    /// every other member has read its copy. Acknowledgements are not
    /// waited for.
    SharedWindow,
    /// Open loop: the senders write at a fixed rate (--rate in all, or
    /// --rate-per-sender), one line per write, and never wait for anything.
    Open,
}

/// Message traffic options shared by `fanout` and `rooms`.
#[derive(Debug, Args)]
struct TrafficArgs {
    /// How senders pace their messages.
    #[arg(long, value_enum, default_value_t = Rhythm::Window)]
    rhythm: Rhythm,
    /// Unacknowledged messages allowed per sender (native: OK MSG
    /// acknowledges one; IRC: the PONG to a PING sent after them).
    /// `window` rhythm only.
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// Messages in flight in each room, all its senders together, counted
    /// in copies received by the members. `shared-window` rhythm only.
    #[arg(long, default_value_t = 64)]
    window_total: u64,
    /// Send at this many messages per second in all, every room's senders
    /// together, spread evenly over them. `window` rhythm: instead of as
    /// fast as the window allows (still bounded by --window). `open`
    /// rhythm: this or --rate-per-sender is required.
    #[arg(long, value_name = "MSGS_PER_SEC")]
    rate: Option<f64>,
    /// The same rate given per sender: this many messages per second from
    /// each sender (--rate is this times the number of senders).
    #[arg(long, value_name = "MSGS_PER_SEC", conflicts_with = "rate")]
    rate_per_sender: Option<f64>,
    /// Bytes of message text (the stamp, padded).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Seconds of traffic before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait, after sending stops, for the last copies.
    #[arg(long, default_value_t = 10.0)]
    drain: f64,
    /// Members that do not send read on a timer: every this many
    /// milliseconds they read everything that has come, and nothing in
    /// between (a client polling its socket from a UI loop). Default: they
    /// read as soon as something comes.
    #[arg(long, value_name = "MS")]
    read_every: Option<f64>,
    /// Extra connections guessing a private room's key (JOIN with wrong
    /// keys) during the second half of the measured window; latency is
    /// then also reported for each half (without and with guessers).
    #[arg(long, default_value_t = 0)]
    guessers: usize,
    /// Guesses per second of each guesser (the server's default flood
    /// rate: not refused by flood control).
    #[arg(long, default_value_t = 10.0)]
    guess_rate: f64,
    /// What the guessers guess: a private room's key (JOIN) or an
    /// account's password (LOGIN; native only).
    #[arg(long, value_enum, default_value = "key")]
    guess: GuessArg,
}

/// `--guess`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GuessArg {
    /// A private room's key, with JOIN.
    Key,
    /// An account's password, with LOGIN.
    Login,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// C clients in one room, S of them sending: deliveries/s, loss, latency.
    Fanout {
        /// Members of the room.
        #[arg(short, long, default_value_t = 200)]
        clients: usize,
        /// How many of them send.
        #[arg(short, long, default_value_t = 10)]
        senders: usize,
        #[command(flatten)]
        traffic: TrafficArgs,
    },
    /// R rooms of K members, every member talking (a busy community).
    Rooms {
        /// Number of rooms.
        #[arg(short, long, default_value_t = 100)]
        rooms: usize,
        /// Members per room.
        #[arg(short = 'k', long, default_value_t = 10)]
        per_room: usize,
        /// Senders per room (default: every member).
        #[arg(long)]
        senders_per_room: Option<usize>,
        #[command(flatten)]
        traffic: TrafficArgs,
    },
    /// N idle registered clients in rooms: connect+register rate, join rate,
    /// server memory per connection.
    Conns {
        /// Number of clients (keep within the open-files limit of both
        /// processes, and the server's limits.max_clients).
        #[arg(short = 'n', long, default_value_t = 10_000)]
        clients: usize,
        /// Members per room.
        #[arg(long, default_value_t = 10)]
        room_size: usize,
        /// Put every client in one room, timing N joins to one room.
        #[arg(long)]
        join_one_room: bool,
        /// Seconds the clients stay, idle, after joining; the server's
        /// memory is read at the end. Idle memory is what this measures: by
        /// then the allocator has returned what the join burst used (the
        /// server's jemalloc purges within about a second).
        #[arg(long, default_value_t = 3.0)]
        hold: f64,
    },
}

/// The resolved common options.
#[derive(Debug, Clone)]
pub struct Common {
    /// The server's addresses, and which client connects to which.
    pub spread: Spread,
    /// The protocol spoken.
    pub proto: Proto,
    /// The server processes measured (none: not measured).
    pub server_pids: Vec<u32>,
    timeout: Duration,
    setup_timeout: Duration,
    /// Clients setting up at once.
    pub concurrency: usize,
}

impl Common {
    /// The time limit for one read, write or expected reply.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The time limit for a whole setup phase.
    pub fn setup_timeout(&self) -> Duration {
        self.setup_timeout
    }
}

/// `--read-every`, in milliseconds.
fn read_every(ms: f64) -> anyhow::Result<Duration> {
    match Duration::try_from_secs_f64(ms / 1000.0) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => bail!("--read-every must be a number of milliseconds above 0"),
    }
}

fn secs(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| anyhow!("--{name} must be a number of seconds"))
}

fn resolve(args: &CommonArgs) -> anyhow::Result<Common> {
    let spread = Spread::new(nodes::parse_addrs(&args.addr)?)?;
    let timeout = secs("timeout", args.timeout)?;
    if timeout.is_zero() {
        bail!("--timeout must be above 0");
    }
    Ok(Common {
        spread,
        proto: args.proto,
        server_pids: args.server_pid.clone(),
        timeout,
        setup_timeout: secs("setup-timeout", args.setup_timeout)?,
        concurrency: args.concurrency.max(1),
    })
}

/// A short tag unique enough for one server's lifetime: base-36 of the
/// pid and the clock.
fn make_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (u64::from(std::process::id()) << 40);
    let mut out = String::new();
    for _ in 0..5 {
        let d = (x % 36) as u8;
        out.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
        x /= 36;
    }
    out
}

fn traffic_plan(
    scenario: &'static str,
    rooms: usize,
    per_room: usize,
    senders_per_room: usize,
    t: &TrafficArgs,
) -> anyhow::Result<traffic::Plan> {
    let senders = (rooms * senders_per_room) as f64;
    let rate = match (t.rate, t.rate_per_sender) {
        (Some(r), _) if r > 0.0 && r.is_finite() => Some(r),
        (_, Some(r)) if r > 0.0 && r.is_finite() => Some(r * senders),
        (None, None) => None,
        _ => bail!("--rate and --rate-per-sender must be above 0"),
    };
    let pace = match (t.rhythm, rate) {
        (Rhythm::Window, Some(per_sec)) => traffic::Pace::Rate {
            per_sec,
            window: t.window,
        },
        (Rhythm::Window, None) => traffic::Pace::Window(t.window),
        (Rhythm::SharedWindow, None) => traffic::Pace::SharedWindow {
            messages: t.window_total.max(1),
        },
        (Rhythm::SharedWindow, Some(_)) => {
            bail!("a rate does not go with --rhythm shared-window")
        }
        (Rhythm::Open, Some(per_sec)) => traffic::Pace::Open { per_sec },
        (Rhythm::Open, None) => {
            bail!("--rhythm open needs --rate (in all) or --rate-per-sender")
        }
    };
    if !(t.guess_rate > 0.0 && t.guess_rate.is_finite()) {
        bail!("--guess-rate must be above 0");
    }
    Ok(traffic::Plan {
        guessing: (t.guessers > 0).then_some(traffic::guessers::Guessing {
            guessers: t.guessers,
            per_sec: t.guess_rate,
            target: match t.guess {
                GuessArg::Key => traffic::guessers::Target::Key,
                GuessArg::Login => traffic::guessers::Target::Login,
            },
        }),
        scenario,
        rooms,
        per_room,
        senders_per_room,
        pace,
        size: t.size,
        warmup: secs("warmup", t.warmup)?,
        duration: secs("duration", t.duration)?,
        drain: secs("drain", t.drain)?,
        read_every: t.read_every.map(read_every).transpose()?,
    })
}

async fn run(cli: Cli, common: Common, run_id: String) -> anyhow::Result<bool> {
    match cli.scenario {
        Scenario::Fanout {
            clients,
            senders,
            traffic,
        } => {
            let plan = traffic_plan("fanout", 1, clients, senders, &traffic)?;
            traffic::run(plan, common, run_id).await
        }
        Scenario::Rooms {
            rooms,
            per_room,
            senders_per_room,
            traffic,
        } => {
            let senders = senders_per_room.unwrap_or(per_room);
            let plan = traffic_plan("rooms", rooms, per_room, senders, &traffic)?;
            traffic::run(plan, common, run_id).await
        }
        Scenario::Conns {
            clients,
            room_size,
            join_one_room,
            hold,
        } => {
            let plan = conns::Plan {
                clients,
                room_size: room_size.max(1),
                one_room: join_one_room,
                hold: secs("hold", hold)?,
            };
            conns::run(plan, common, run_id).await
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let common = match resolve(&cli.common) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chatroom-bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    match sys::raise_nofile_limit() {
        Ok(Some(n)) if n < 1024 => {
            eprintln!("chatroom-bench: warning: only {n} open files allowed")
        }
        Ok(_) => {}
        Err(e) => eprintln!("chatroom-bench: warning: cannot raise the open-files limit: {e}"),
    }
    let run_id = cli.common.run_id.clone().unwrap_or_else(make_run_id);
    if run_id.is_empty() || run_id.len() > 8 || !run_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        eprintln!("chatroom-bench: --run-id must be 1 to 8 letters or digits");
        return ExitCode::from(2);
    }
    let threads = cli
        .common
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chatroom-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli, common, run_id));
    // Connections are closed already; do not wait for stray tasks.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("chatroom-bench: {e:#}");
            let line = serde_json::json!({ "ok": false, "error": format!("{e:#}") });
            say!("{line}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(args: &[&str]) -> Common {
        let cli = Cli::try_parse_from(["chatroom-bench"].iter().chain(args)).unwrap();
        resolve(&cli.common).unwrap()
    }

    #[test]
    fn one_address_by_default_or_given() {
        let c = common(&["fanout"]);
        assert_eq!(c.spread.joined(), "127.0.0.1:5555");
        assert!(c.server_pids.is_empty());
        let c = common(&["--addr", "127.0.0.1:7000", "--server-pid", "42", "fanout"]);
        assert_eq!(c.spread.joined(), "127.0.0.1:7000");
        assert_eq!(c.server_pids, [42]);
    }

    #[test]
    fn several_addresses_and_pids_repeated_or_comma_separated() {
        let c = common(&[
            "fanout",
            "--addr",
            "127.0.0.1:1,127.0.0.1:2",
            "--addr",
            "127.0.0.1:3",
            "--server-pid",
            "10,11",
            "--server-pid",
            "12",
        ]);
        assert_eq!(c.spread.joined(), "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3");
        assert_eq!(c.server_pids, [10, 11, 12]);
    }

    fn plan(args: &[&str]) -> anyhow::Result<traffic::Plan> {
        let cli = Cli::try_parse_from(["chatroom-bench", "fanout"].iter().chain(args)).unwrap();
        let Scenario::Fanout { traffic, .. } = cli.scenario else {
            unreachable!("parsed as fanout");
        };
        traffic_plan("fanout", 1, 200, 10, &traffic)
    }

    #[test]
    fn receivers_read_at_once_unless_given_a_timer_in_milliseconds() {
        assert_eq!(plan(&[]).unwrap().read_every, None);
        let every = plan(&["--read-every", "10"]).unwrap().read_every;
        assert_eq!(every, Some(Duration::from_millis(10)));
        let every = plan(&["--read-every", "0.5"]).unwrap().read_every;
        assert_eq!(every, Some(Duration::from_micros(500)));
        for bad in ["0", "-1", "NaN", "inf"] {
            let e = plan(&[&format!("--read-every={bad}")]).unwrap_err();
            assert_eq!(
                e.to_string(),
                "--read-every must be a number of milliseconds above 0"
            );
        }
    }
}

//! A second load generator, written apart from `chatroom-bench` on purpose
//! so that a server is not measured only by the rhythm of its own tool:
//! blocking sockets and an operating-system thread per connection, the
//! way a quick independent tool is usually written.
//!
//! Every room has `--members` members, `--senders` of whom send. A sender
//! writes one line per `write()` call; the room allows `--in-flight`
//! messages in flight in all, counted in copies received by the members
//! (a message is in flight until every other member has read its copy).
//! Each member's reader thread reads whatever the socket holds into an
//! 8 KiB buffer (`--read-buf`), as fast as it can, and gives the copies back. After the
//! warm-up it counts the copies received and the server's CPU time
//! (`/proc/PID/stat`) over the measured window, then stops the senders and
//! waits for every copy still owed: a missing one fails the run.
//!
//! ```sh
//! taskset -c 1 target/release/chatroom-threads --addr 127.0.0.1:5555 --server-pid $PID \
//!     --members 200 --senders 10 --in-flight 256
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Parser, ValueEnum};

/// `println!` that does not panic when stdout is gone (piped into `head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Command line.
#[derive(Parser, Debug)]
#[command(about = "Thread-per-connection load: one line per write, a room-wide cap in copies")]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:5555")]
    addr: SocketAddr,
    /// The server's process id, to divide deliveries by its CPU time.
    #[arg(long)]
    server_pid: u32,
    /// The protocol spoken.
    #[arg(long, value_enum, default_value_t = Proto::Native)]
    proto: Proto,
    /// Rooms, each with its own members, senders and cap.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Members per room.
    #[arg(long, default_value_t = 200)]
    members: usize,
    /// Senders per room (the first members).
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages in flight per room, counted in copies received.
    #[arg(long, default_value_t = 256)]
    in_flight: u64,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Bytes a member's reader asks for per `read()`.
    #[arg(long, default_value_t = 8192)]
    read_buf: usize,
    /// Seconds of load before the measured window.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
}

/// The two protocols: chatroom's native lines, or IRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Proto {
    Native,
    Irc,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Native => "native",
            Proto::Irc => "irc",
        }
    }
}

/// One room's cap: copies written and not yet read by their members.
struct Cap {
    owed: Mutex<u64>,
    freed: Condvar,
    limit: u64,
    per_msg: u64,
}

impl Cap {
    /// Waits for room for one message's copies and takes them; false once
    /// the run is stopping.
    fn take(&self, stop: &AtomicBool) -> bool {
        let mut owed = lock(&self.owed);
        while *owed + self.per_msg > self.limit {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            owed = match self.freed.wait_timeout(owed, Duration::from_millis(100)) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        *owed += self.per_msg;
        true
    }

    /// Gives back copies read.
    fn give_back(&self, copies: u64) {
        let mut owed = lock(&self.owed);
        let full = *owed + self.per_msg > self.limit;
        *owed = owed.saturating_sub(copies);
        if full && *owed + self.per_msg <= self.limit {
            self.freed.notify_all();
        }
    }

    fn owed(&self) -> u64 {
        *lock(&self.owed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What every thread shares.
struct Run {
    caps: Vec<Cap>,
    copies: AtomicU64,
    sent: AtomicU64,
    stop: AtomicBool,
    failed: Mutex<Option<String>>,
}

impl Run {
    fn fail(&self, what: String) {
        lock(&self.failed).get_or_insert(what);
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatroom-threads: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.members < 2 || args.senders == 0 || args.senders > args.members {
        bail!("a room needs at least 2 members and between 1 and --members senders");
    }
    let tag = std::process::id();
    let per_msg = args.members as u64 - 1;
    let run = Arc::new(Run {
        caps: (0..args.rooms)
            .map(|_| Cap {
                owed: Mutex::new(0),
                freed: Condvar::new(),
                limit: args.in_flight.max(1) * per_msg,
                per_msg,
            })
            .collect(),
        copies: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        failed: Mutex::new(None),
    });

    // Connect, register and join in stages, every client's step sent
    // before any answer is awaited: daemons that register clients on a
    // timer (InspIRCd, once a second) then take them all in one tick.
    let mut joining = Vec::new();
    for room in 0..args.rooms {
        for member in 0..args.members {
            let nick = format!("t{tag}_{room}_{member}");
            let client = Joining::connect(args.addr, nick, format!("#thr{tag}_{room}"))?;
            joining.push((room, member, client));
        }
    }
    for stage in Stage::ALL {
        for (_, _, client) in &mut joining {
            client
                .send(stage, args.proto)
                .with_context(|| format!("setting up {}", client.nick))?;
        }
        for (_, _, client) in &mut joining {
            client
                .await_answer(stage, args.proto)
                .with_context(|| format!("setting up {}", client.nick))?;
        }
    }
    let mut senders = Vec::new();
    let mut readers = Vec::new();
    for (room, member, client) in joining {
        client.stream.set_read_timeout(None)?;
        if member < args.senders {
            senders.push((room, client.stream.try_clone()?, client.channel));
        }
        readers.push((room, client.stream, client.reader));
    }
    let clients = args.rooms * args.members;
    say!(
        "chatroom-threads ({}): {} rooms x {} members, {} senders each, one line per write, {} in flight per room, {} B",
        args.proto.name(),
        args.rooms,
        args.members,
        args.senders,
        args.in_flight,
        args.size
    );

    // Detached: the readers stay blocked in read() until the process ends.
    let read_buf = args.read_buf.max(1);
    for (room, stream, reader) in readers {
        let run = Arc::clone(&run);
        let proto = args.proto;
        spawn(move || read_copies(&run, room, stream, reader, proto, read_buf))?;
    }
    let text: String = "x".repeat(args.size);
    for (room, stream, channel) in senders {
        let run = Arc::clone(&run);
        let line = match args.proto {
            Proto::Native => format!("MSG {channel} {text}\n"),
            Proto::Irc => format!("PRIVMSG {channel} :{text}\r\n"),
        };
        spawn(move || send_lines(&run, room, stream, line.as_bytes()))?;
    }

    thread::sleep(Duration::from_secs_f64(args.warmup));
    let (c0, s0, t0) = (
        run.copies.load(Ordering::Relaxed),
        cpu_secs(args.server_pid)?,
        Instant::now(),
    );
    let tool0 = cpu_secs(std::process::id())?;
    thread::sleep(Duration::from_secs_f64(args.duration));
    let (c1, s1, wall) = (
        run.copies.load(Ordering::Relaxed),
        cpu_secs(args.server_pid)?,
        t0.elapsed().as_secs_f64(),
    );
    let tool1 = cpu_secs(std::process::id())?;

    // Stop sending, then wait for every copy still owed.
    run.stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while run.caps.iter().any(|c| c.owed() > 0) && Instant::now() < deadline {
        if lock(&run.failed).is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let lost: u64 = run.caps.iter().map(Cap::owed).sum();
    let copies = c1 - c0;
    let server_cpu = s1 - s0;
    let per_cpu = if server_cpu > 0.0 {
        copies as f64 / server_cpu
    } else {
        0.0
    };
    say!(
        "copies {copies} in {wall:.2} s: {:.0}/s; server CPU {:.2} s ({:.0}% of a core), {:.3} M copies per server CPU-second; tool CPU {:.0}%; {} messages sent; {lost} copies lost",
        copies as f64 / wall,
        server_cpu,
        100.0 * server_cpu / wall,
        per_cpu / 1e6,
        100.0 * (tool1 - tool0) / wall,
        run.sent.load(Ordering::Relaxed),
    );
    let failure = lock(&run.failed)
        .take()
        .or_else(|| (lost > 0).then(|| format!("{lost} copies never arrived")))
        .or_else(|| {
            // Copies came and the process named spent nothing on them: it
            // is not the server (a shell's pid, say), and every figure
            // divided by its CPU would be nonsense.
            (copies > 0 && server_cpu <= 0.0).then(|| {
                format!(
                    "process {} used no CPU while {copies} copies came: is --server-pid the server's?",
                    args.server_pid
                )
            })
        });
    say!(
        "{{\"tool\":\"chatroom-threads\",\"ok\":{},\"proto\":\"{}\",\"rooms\":{},\"members\":{},\"senders\":{},\"in_flight\":{},\"clients\":{clients},\"copies\":{copies},\"wall_secs\":{wall:.3},\"server_cpu_secs\":{server_cpu:.3},\"deliveries_per_server_cpu_sec\":{per_cpu:.0},\"tool_cpu\":{:.3},\"lost\":{lost},\"received_copies\":{},\"messages_sent\":{}}}",
        failure.is_none(),
        args.proto.name(),
        args.rooms,
        args.members,
        args.senders,
        args.in_flight,
        (tool1 - tool0) / wall,
        run.copies.load(Ordering::Relaxed),
        run.sent.load(Ordering::Relaxed),
    );
    if let Some(what) = failure {
        bail!("{what}");
    }
    // The readers are blocked in read(); the process ends with them.
    Ok(())
}

fn spawn(f: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
    thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(f)
        .context("cannot start a thread")?;
    Ok(())
}

/// The steps of setting a client up, each a line sent and an answer awaited.
#[derive(Clone, Copy)]
enum Stage {
    /// Native: the server's `HELLO` (nothing sent). IRC: nothing.
    Greeting,
    /// `NICK` (IRC: and `USER`), answered by `OK NICK` or `001`.
    Register,
    /// `JOIN`, answered by `OK JOIN` or the end of `NAMES` (366).
    Join,
}

impl Stage {
    const ALL: [Stage; 3] = [Stage::Greeting, Stage::Register, Stage::Join];
}

/// A client on its way into its room.
struct Joining {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    nick: String,
    channel: String,
}

impl Joining {
    fn connect(addr: SocketAddr, nick: String, channel: String) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting {nick}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let reader = BufReader::with_capacity(8192, stream.try_clone()?);
        Ok(Joining {
            stream,
            reader,
            nick,
            channel,
        })
    }

    fn send(&mut self, stage: Stage, proto: Proto) -> anyhow::Result<()> {
        let (nick, channel) = (&self.nick, &self.channel);
        let line = match (stage, proto) {
            (Stage::Greeting, _) => return Ok(()),
            (Stage::Register, Proto::Native) => format!("NICK {nick}\n"),
            (Stage::Register, Proto::Irc) => format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n"),
            (Stage::Join, Proto::Native) => format!("JOIN {channel}\n"),
            (Stage::Join, Proto::Irc) => format!("JOIN {channel}\r\n"),
        };
        Ok(self.stream.write_all(line.as_bytes())?)
    }

    fn await_answer(&mut self, stage: Stage, proto: Proto) -> anyhow::Result<()> {
        let numeric = |n: &'static str| move |l: &str| l.split(' ').nth(1) == Some(n);
        let (reader, stream) = (&mut self.reader, &mut self.stream);
        match (stage, proto) {
            (Stage::Greeting, Proto::Native) => {
                wait_for(reader, stream, |l| l.starts_with("HELLO "))
            }
            (Stage::Greeting, Proto::Irc) => Ok(()),
            (Stage::Register, Proto::Native) => {
                wait_for(reader, stream, |l| l.starts_with("OK NICK"))
            }
            (Stage::Register, Proto::Irc) => wait_for(reader, stream, numeric("001")),
            (Stage::Join, Proto::Native) => wait_for(reader, stream, |l| l.starts_with("OK JOIN")),
            (Stage::Join, Proto::Irc) => wait_for(reader, stream, numeric("366")),
        }
    }
}

/// Reads lines until one passes `done`, answering pings; an error line
/// fails the setup.
fn wait_for(
    reader: &mut BufReader<TcpStream>,
    stream: &mut TcpStream,
    done: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the server closed the connection");
        }
        let l = line.trim_end();
        if done(l) {
            return Ok(());
        }
        if l.starts_with("ERR ") || l.starts_with("ERROR") {
            bail!("the server answered {l:?}");
        }
        if let Some(token) = l.strip_prefix("PING") {
            stream.write_all(format!("PONG{token}\r\n").as_bytes())?;
        }
    }
}

/// A sender: waits for room under the cap, then writes one line.
fn send_lines(run: &Run, room: usize, mut stream: TcpStream, line: &[u8]) {
    let cap = &run.caps[room];
    while cap.take(&run.stop) {
        if let Err(e) = stream.write_all(line) {
            run.fail(format!("a sender's write failed: {e}"));
            return;
        }
        run.sent.fetch_add(1, Ordering::Relaxed);
    }
}

/// A member: reads whatever arrives, counts the copies and gives them back.
fn read_copies(
    run: &Run,
    room: usize,
    mut stream: TcpStream,
    reader: BufReader<TcpStream>,
    proto: Proto,
    read_buf: usize,
) {
    let cap = &run.caps[room];
    // What the setup's reader had already buffered comes first.
    let mut pending: Vec<u8> = reader.buffer().to_vec();
    let mut socket = reader.into_inner();
    let mut buf = vec![0u8; read_buf];
    loop {
        let mut copies = 0;
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            let line = &pending[start..start + end];
            start += end + 1;
            match line_kind(line, proto) {
                Kind::Copy => copies += 1,
                Kind::Ping => {
                    let mut pong = b"PONG".to_vec();
                    pong.extend_from_slice(line.get(4..).unwrap_or_default());
                    pong.extend_from_slice(b"\r\n");
                    if let Err(e) = stream.write_all(&pong) {
                        run.fail(format!("a pong failed: {e}"));
                        return;
                    }
                }
                Kind::Error => {
                    run.fail(format!(
                        "the server answered {:?}",
                        String::from_utf8_lossy(line)
                    ));
                    return;
                }
                Kind::Other => {}
            }
        }
        pending.drain(..start);
        if copies > 0 {
            run.copies.fetch_add(copies, Ordering::Relaxed);
            cap.give_back(copies);
        }
        match socket.read(&mut buf) {
            Ok(0) => {
                if !run.stop.load(Ordering::Relaxed) {
                    run.fail("the server closed a connection".to_owned());
                }
                return;
            }
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e) => {
                run.fail(format!("a read failed: {e}"));
                return;
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Copy,
    Ping,
    Error,
    Other,
}

fn line_kind(line: &[u8], proto: Proto) -> Kind {
    match proto {
        Proto::Native => {
            if line.starts_with(b"MSG ") {
                Kind::Copy
            } else if line.starts_with(b"PING") {
                Kind::Ping
            } else if line.starts_with(b"ERR ") {
                Kind::Error
            } else {
                Kind::Other
            }
        }
        Proto::Irc => {
            if line.starts_with(b"PING") {
                Kind::Ping
            } else if line.starts_with(b"ERROR") {
                Kind::Error
            } else if line.split(|&b| b == b' ').nth(1) == Some(b"PRIVMSG") {
                Kind::Copy
            } else {
                Kind::Other
            }
        }
    }
}

/// A process's CPU time so far (`utime + stime`), in seconds.
fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    let ticks = stat_ticks(&stat).ok_or_else(|| anyhow!("cannot read /proc/{pid}/stat"))?;
    Ok(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line, counted
/// after the command name's closing parenthesis (the name may hold spaces).
fn stat_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_adds_user_and_system_time_after_the_name() {
        let stat = "3086 (base line) S 1 3082 9602 0 -1 4194304 3008 0 1 0 106 152 0 0 20 0 1";
        assert_eq!(stat_ticks(stat), Some(258));
        assert_eq!(stat_ticks("3086 (x) S 1"), None);
    }

    #[test]
    fn copies_pings_and_errors_are_told_apart_in_both_protocols() {
        let cases: [(&[u8], Proto, Kind); 8] = [
            (b"MSG #r alice hi", Proto::Native, Kind::Copy),
            (b"OK MSG #r 12", Proto::Native, Kind::Other),
            (b"PING 5", Proto::Native, Kind::Ping),
            (b"ERR FLOOD slow down", Proto::Native, Kind::Error),
            (b":a!a@h PRIVMSG #r :hi\r", Proto::Irc, Kind::Copy),
            (b":srv NOTICE #r :PRIVMSG", Proto::Irc, Kind::Other),
            (b"PING :srv", Proto::Irc, Kind::Ping),
            (b"ERROR :Closing link", Proto::Irc, Kind::Error),
        ];
        for (line, proto, kind) in cases {
            assert_eq!(
                line_kind(line, proto),
                kind,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn the_cap_holds_whole_messages_and_opens_as_copies_come_back() {
        let stop = AtomicBool::new(false);
        let cap = Cap {
            owed: Mutex::new(0),
            freed: Condvar::new(),
            limit: 2 * 9,
            per_msg: 9,
        };
        assert!(cap.take(&stop));
        assert!(cap.take(&stop));
        assert_eq!(cap.owed(), 18);
        // Full: a third message waits until a whole message's copies are
        // back; a stopping run ends the wait instead.
        cap.give_back(8);
        stop.store(true, Ordering::Relaxed);
        assert!(!cap.take(&stop));
        assert_eq!(cap.owed(), 10);
        stop.store(false, Ordering::Relaxed);
        cap.give_back(1);
        assert!(cap.take(&stop));
        assert_eq!(cap.owed(), 18);
    }
}

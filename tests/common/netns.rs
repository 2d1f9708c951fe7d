//! A network of the test's own for cluster fault tests: a Linux network
//! namespace holding a real `redis-server`, reached from the test's
//! nodes (in the host namespace) over veth pairs with private addresses,
//! one pair per node, so that one node's link can be cut or slowed
//! (`tc`) while the others' are not. Everything is named after the test
//! process's PID and a counter, and removed when dropped, pass or fail
//! (the namespace, the veth pairs, the Redis in it).
//!
//! Needs root (CAP_NET_ADMIN), `ip`, `tc` and `redis-server`; without
//! them [`Net::setup`] says why and the test skips (or fails, with
//! `CHATROOM_TEST_REQUIRE_PROGRAMS`), as [`require`] does.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::programs::{require, say_skipped, unavailable};
use super::redis::command_at;

/// The port Redis listens on inside the namespace (it has the namespace
/// to itself).
const REDIS_PORT: u16 = 6379;
/// How long redis-server gets to answer PING after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Networks made by this process so far (each test its own).
static MADE: AtomicU32 = AtomicU32::new(0);

/// What slows or cuts a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every packet dropped, both ways (`netem loss 100%`).
    Cut,
    /// Every packet held `ms` milliseconds, both ways (`netem delay`).
    Delay(u32),
}

/// One veth pair: the host's end and the namespace's, and their
/// addresses.
struct Link {
    host_if: String,
    ns_if: String,
    host_addr: Ipv4Addr,
    ns_addr: Ipv4Addr,
}

/// The namespace, its links and its Redis.
pub struct Net {
    name: String,
    links: Vec<Link>,
    redis: Option<Child>,
    dir: tempfile::TempDir,
    /// Whether this kernel has `sch_netem` (else [`Fault::Cut`] uses the
    /// `blackhole` qdisc, which drops every packet too).
    netem: bool,
}

impl Net {
    /// A namespace with `links` veth pairs and a Redis listening on every
    /// pair's namespace end; `None` (after saying why) when the test
    /// cannot make one here.
    pub fn setup(test: &str, links: usize) -> Option<Net> {
        if !require(test, &["ip", "tc", "redis-server"]) {
            return None;
        }
        if !is_root() {
            unavailable(
                test,
                "needs root (CAP_NET_ADMIN) to make a network namespace",
            );
            return None;
        }
        let pid = std::process::id();
        let k = MADE.fetch_add(1, Ordering::Relaxed);
        let name = format!("chatroom-nf-{pid}-{k}");
        if let Err(e) = run("ip", &["netns", "add", &name]) {
            // Root without CAP_NET_ADMIN (a container): a capability of the
            // machine, which no script of ours can install, so skipped
            // even where programs are required (as a kernel without netem).
            say_skipped(test, &format!("cannot make a network namespace: {e}"));
            return None;
        }
        let mut net = Net {
            name,
            links: Vec::new(),
            redis: None,
            dir: tempfile::tempdir().expect("tempdir"),
            netem: false,
        };
        // From here on, dropping `net` removes what was made.
        net.ns(&["link", "set", "lo", "up"]);
        for j in 0..links {
            net.add_link(pid, k, j);
        }
        net.netem = net.has_netem();
        net.start_redis();
        Some(net)
    }

    /// A /30 of 10.231.0.0/16 per link, chosen by PID and counters so
    /// that tests running at once do not share one.
    fn add_link(&mut self, pid: u32, k: u32, j: usize) {
        let block = ((pid % 1024) * 16 + (k % 4) * 4 + j as u32) % 16384;
        let base = u32::from(Ipv4Addr::new(10, 231, 0, 0)) + block * 4;
        let link = Link {
            host_if: format!("nf{pid}x{k}h{j}"),
            ns_if: format!("nf{pid}x{k}n{j}"),
            host_addr: Ipv4Addr::from(base + 1),
            ns_addr: Ipv4Addr::from(base + 2),
        };
        let (h, n) = (link.host_if.clone(), link.ns_if.clone());
        let name = self.name.clone();
        let (host_cidr, ns_cidr) = (
            format!("{}/30", link.host_addr),
            format!("{}/30", link.ns_addr),
        );
        self.links.push(link);
        must(
            "ip",
            &[
                "link", "add", &h, "type", "veth", "peer", "name", &n, "netns", &name,
            ],
        );
        must("ip", &["addr", "add", &host_cidr, "dev", &h]);
        must("ip", &["link", "set", &h, "up"]);
        self.ns(&["addr", "add", &ns_cidr, "dev", &n]);
        self.ns(&["link", "set", &n, "up"]);
    }

    fn ns(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        must("ip", &all);
    }

    fn has_netem(&self) -> bool {
        let probe = ["qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"];
        let found = run("tc", &[&["-n", &self.name][..], &probe].concat()).is_ok();
        if found {
            let _ = run(
                "tc",
                &["-n", &self.name, "qdisc", "del", "dev", "lo", "root"],
            );
        }
        found
    }

    fn start_redis(&mut self) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, "redis-server"])
            .args(["--port", &REDIS_PORT.to_string()])
            .arg("--bind");
        for link in &self.links {
            cmd.arg(link.ns_addr.to_string());
        }
        // Protected mode refuses every address but loopback to a Redis
        // without a password; these addresses exist only in this test.
        cmd.args(["--protected-mode", "no"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // `ip netns exec` execs redis-server: the child's PID is Redis's.
        self.redis = Some(cmd.spawn().expect("spawn redis-server in the namespace"));
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if command_at(self.redis_addr(self.links.len() - 1), &["PING"]).as_deref()
                == Some("PONG")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server in {} did not answer PING", self.name);
    }

    /// Where Redis listens, reached over link `j`.
    pub fn redis_addr(&self, j: usize) -> SocketAddr {
        SocketAddr::from((self.links[j].ns_addr, REDIS_PORT))
    }

    /// `redis://<address over link j>:6379/`.
    pub fn redis_url(&self, j: usize) -> String {
        format!("redis://{}/", self.redis_addr(j))
    }

    /// Runs one command on Redis over the last link (the tests never
    /// fault it); its reply as text, as [`Redis::command`](super::redis::Redis::command).
    pub fn command(&self, args: &[&str]) -> String {
        let j = self.links.len() - 1;
        command_at(self.redis_addr(j), args)
            .unwrap_or_else(|| panic!("redis {args:?}: no answer over link {j}"))
    }

    /// Whether the kernel has `netem` (else cuts use `blackhole`, and
    /// delays cannot be made).
    pub fn has_delay(&self) -> bool {
        self.netem
    }

    /// Puts `fault` on link `j`, both ways (on each end's egress).
    pub fn fault(&self, j: usize, fault: Fault) {
        let qdisc: Vec<String> = match fault {
            Fault::Cut if self.netem => vec!["netem".into(), "loss".into(), "100%".into()],
            Fault::Cut => vec!["blackhole".into()],
            Fault::Delay(ms) => {
                assert!(self.netem, "no netem in this kernel: cannot delay");
                vec!["netem".into(), "delay".into(), format!("{ms}ms")]
            }
        };
        let qdisc: Vec<&str> = qdisc.iter().map(String::as_str).collect();
        let link = &self.links[j];
        let host = [&["qdisc", "add", "dev", &link.host_if, "root"][..], &qdisc].concat();
        must("tc", &host);
        let ns = [
            &["-n", &self.name, "qdisc", "add", "dev", &link.ns_if, "root"][..],
            &qdisc,
        ]
        .concat();
        must("tc", &ns);
    }

    /// Takes the fault off link `j`.
    pub fn heal(&self, j: usize) {
        let link = &self.links[j];
        must("tc", &["qdisc", "del", "dev", &link.host_if, "root"]);
        must(
            "tc",
            &["-n", &self.name, "qdisc", "del", "dev", &link.ns_if, "root"],
        );
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(mut child) = self.redis.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for link in &self.links {
            // Gone with the namespace already, should the order differ.
            let _ = run("ip", &["link", "del", &link.host_if]);
        }
        if let Err(e) = run("ip", &["netns", "del", &self.name]) {
            eprintln!("could not delete network namespace {}: {e}", self.name);
        }
    }
}

/// Runs `program args`; its stderr as the error when it fails.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(program: &str, args: &[&str]) {
    if let Err(e) = run(program, args) {
        panic!("{e}");
    }
}

/// Whether this process runs as root (effective uid 0).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

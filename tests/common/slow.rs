//! A slow link where the kernel cannot make one (no `sch_netem`): a TCP
//! relay on 127.0.0.1 that holds every chunk it reads for the delay set
//! at that moment before passing it on, each way, in order. It adds
//! latency, not a limit on throughput: what arrives meanwhile is held and
//! sent on in turn.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// A listening relay to one address; stops accepting when dropped.
pub struct SlowRelay {
    addr: SocketAddr,
    delay_ms: Arc<AtomicU64>,
}

impl SlowRelay {
    /// Listens on 127.0.0.1, a free port, relaying to `to`, with no delay
    /// until [`SlowRelay::set_delay`].
    pub fn start(to: SocketAddr) -> SlowRelay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay binds");
        let addr = listener.local_addr().expect("relay address");
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = Arc::clone(&delay_ms);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(to) else {
                    continue;
                };
                for (from, into) in [(&client, &server), (&server, &client)] {
                    let (Ok(from), Ok(into)) = (from.try_clone(), into.try_clone()) else {
                        continue;
                    };
                    let _ = into.set_nodelay(true);
                    let delay = Arc::clone(&delay);
                    let (tx, rx) = mpsc::channel();
                    thread::spawn(move || read_stamped(from, &delay, &tx));
                    thread::spawn(move || write_when_due(into, &rx));
                }
            }
        });
        SlowRelay { addr, delay_ms }
    }

    /// Where to connect instead of the relayed address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Holds what is read from now on for `delay` before passing it on.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.delay_ms.store(ms, Ordering::Relaxed);
    }
}

/// Reads chunks, each with the moment it is due; an empty chunk says the
/// side closed.
fn read_stamped(mut from: TcpStream, delay: &AtomicU64, to: &mpsc::Sender<(Instant, Vec<u8>)>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).unwrap_or(0);
        let due = Instant::now() + Duration::from_millis(delay.load(Ordering::Relaxed));
        if to.send((due, buf[..n].to_vec())).is_err() || n == 0 {
            return;
        }
    }
}

/// Writes each chunk once it is due; passes a close on.
fn write_when_due(mut into: TcpStream, chunks: &mpsc::Receiver<(Instant, Vec<u8>)>) {
    while let Ok((due, chunk)) = chunks.recv() {
        // The delay is what this relay is for: nothing to wait on but time.
        thread::sleep(due.saturating_duration_since(Instant::now()));
        if chunk.is_empty() || into.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = into.shutdown(Shutdown::Both);
}

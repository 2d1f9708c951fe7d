//! A TCP front for cluster tests: what HAProxy does in contrib/cluster, in
//! miniature. Each new connection goes to the first backend that accepts
//! it, so once a node is killed its clients' reconnections land on the
//! next one; bytes are copied both ways until either side closes.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How long the front tries one backend before the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A listening front; stops accepting when dropped (connections already
/// made run until either side closes).
pub struct Front {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Front {
    /// Listens on 127.0.0.1, a free port, in front of `backends`, tried in
    /// this order for each connection.
    pub fn start(backends: Vec<SocketAddr>) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").expect("front binds");
        let addr = listener.local_addr().expect("front address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let server = backends
                    .iter()
                    .find_map(|b| TcpStream::connect_timeout(b, CONNECT_TIMEOUT).ok());
                match server {
                    Some(server) => relay(client, server),
                    // Nothing up: the client sees the connection closed.
                    None => drop(client),
                }
            }
        });
        Front { addr, stop }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies bytes both ways on two threads; when one side ends, the other
/// is told (its write half shut), as a proxy passes a close on.
fn relay(client: TcpStream, server: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    thread::spawn(move || copy_then_close(client, server));
    thread::spawn(move || copy_then_close(server2, client2));
}

fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

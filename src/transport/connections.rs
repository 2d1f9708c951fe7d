//! The open sockets of every listener, counted for `limits.max_clients`
//! and for the shutdown's wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// The open sockets. (The sessions themselves are listed by each front
/// end's idle wheel.)
#[derive(Default)]
pub struct Connections {
    open: AtomicUsize,
    all_closed: Notify,
}

impl Connections {
    /// Sockets open now, including ones still flushing before close.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Counts one more open socket, until the guard is dropped.
    pub fn open_socket(self: &Arc<Self>) -> SocketGuard {
        self.open.fetch_add(1, Ordering::AcqRel);
        SocketGuard(Arc::clone(self))
    }

    /// Resolves once no socket is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.all_closed.notified();
            if self.open() == 0 {
                break;
            }
            notified.await;
        }
    }
}

/// Counts one open socket until dropped (by the connection's writer,
/// the last thing to finish with it).
pub struct SocketGuard(Arc<Connections>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.all_closed.notify_waiters();
        }
    }
}

//! A TCP proxy between `sigap` and `sigap-server` that can lose the
//! server's answer to a push after the server has committed it: the
//! connection is cut as soon as the first byte of the answer arrives (the
//! server answers a push only after its commit), and the client never hears
//! back. It can also hold a push back until a later one has been answered,
//! so that the server receives a device's pages out of order.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

/// A proxy on 127.0.0.1 to a target port.
pub struct FaultProxy {
    pub port: u16,
    drop_push_answers: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    reorder: Arc<AtomicUsize>,
}

/// `reorder` states: off; the next push is to be held; one is held until
/// another push has been answered.
const REORDER_OFF: usize = 0;
const REORDER_ARMED: usize = 1;
const REORDER_HOLDING: usize = 2;

impl FaultProxy {
    pub fn start(target_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let budget = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let reorder = Arc::new(AtomicUsize::new(REORDER_OFF));
        let faults = Faults {
            budget: budget.clone(),
            dropped: dropped.clone(),
            reorder: reorder.clone(),
        };
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                connect_pair(client, server, faults.clone());
            }
        });
        FaultProxy {
            port,
            drop_push_answers: budget,
            dropped,
            reorder,
        }
    }

    /// Holds the next push back until another push has been answered: the
    /// server gets the later page first.
    pub fn reorder_next_push(&self) {
        self.reorder.store(REORDER_ARMED, Ordering::SeqCst);
    }

    /// Whether a held push has been let through after a later one.
    pub fn reordered(&self) -> bool {
        self.reorder.load(Ordering::SeqCst) == REORDER_OFF
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Loses the answers to the next `n` pushes (of changes or visits).
    pub fn drop_next_push_answers(&self, n: usize) {
        self.drop_push_answers.store(n, Ordering::SeqCst);
    }

    /// How many push answers were lost so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// The faults shared by every connection of a proxy.
#[derive(Clone)]
struct Faults {
    budget: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    reorder: Arc<AtomicUsize>,
}

fn connect_pair(client: TcpStream, server: TcpStream, faults: Faults) {
    let Faults {
        budget,
        dropped,
        reorder,
    } = faults;
    // Set when a push request went up and its answer must be lost.
    let doom = Arc::new(AtomicBool::new(false));
    // Set when this connection carried a push (not the held one).
    let pushed = Arc::new(AtomicBool::new(false));
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up_doom = doom.clone();
    let up_pushed = pushed.clone();
    let up_reorder = reorder.clone();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Visits are sent like changes, and lost like them.
            let is_push = buf[..n].starts_with(b"POST /api/v1/sync/push")
                || buf[..n].starts_with(b"POST /api/v1/visits");
            if is_push
                && budget
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
                    .is_ok()
            {
                up_doom.store(true, Ordering::SeqCst);
            }
            if is_push
                && up_reorder
                    .compare_exchange(
                        REORDER_ARMED,
                        REORDER_HOLDING,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    )
                    .is_ok()
            {
                // Held until another push is answered (at most 30 s).
                for _ in 0..3000 {
                    if up_reorder.load(Ordering::SeqCst) != REORDER_HOLDING {
                        break;
                    }
                    thread::sleep(std::time::Duration::from_millis(10));
                }
            } else if is_push {
                up_pushed.store(true, Ordering::SeqCst);
            }
            if s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match s_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if doom.load(Ordering::SeqCst) {
                dropped.fetch_add(1, Ordering::SeqCst);
                break;
            }
            if c_write.write_all(&buf[..n]).is_err() {
                break;
            }
            if pushed.load(Ordering::SeqCst) {
                let _ = reorder.compare_exchange(
                    REORDER_HOLDING,
                    REORDER_OFF,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
        }
        let _ = c_write.shutdown(Shutdown::Both);
        let _ = s_read.shutdown(Shutdown::Both);
    });
}

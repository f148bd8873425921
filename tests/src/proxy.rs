//! A TCP proxy between `sigap` and `sigap-server` that can lose the
//! server's answer to a push after the server has committed it: the
//! connection is cut as soon as the first byte of the answer arrives (the
//! server answers a push only after its commit), and the client never hears
//! back.

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
}

impl FaultProxy {
    pub fn start(target_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let budget = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (b, d) = (budget.clone(), dropped.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                connect_pair(client, server, b.clone(), d.clone());
            }
        });
        FaultProxy {
            port,
            drop_push_answers: budget,
            dropped,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Loses the answers to the next `n` pushes.
    pub fn drop_next_push_answers(&self, n: usize) {
        self.drop_push_answers.store(n, Ordering::SeqCst);
    }

    /// How many push answers were lost so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

fn connect_pair(
    client: TcpStream,
    server: TcpStream,
    budget: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
) {
    // Set when a push request went up and its answer must be lost.
    let doom = Arc::new(AtomicBool::new(false));
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up_doom = doom.clone();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if buf[..n].starts_with(b"POST /api/v1/sync/push")
                && budget
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
                    .is_ok()
            {
                up_doom.store(true, Ordering::SeqCst);
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
        }
        let _ = c_write.shutdown(Shutdown::Both);
        let _ = s_read.shutdown(Shutdown::Both);
    });
}

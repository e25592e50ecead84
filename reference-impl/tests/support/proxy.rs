//! A TCP proxy in front of one etcd member that can hold a request in
//! flight: once the bytes a client sends contain a marker (a consumer's full
//! key: only the reaper's delete transaction carries it), the proxy stops
//! forwarding that connection's traffic to etcd and keeps what it read. The
//! request has left the client and has not reached etcd; the test then kills
//! whoever it likes and releases the bytes (a late delivery) or drops them
//! (lost with the connection).
//!
//! A connection whose client went away keeps its upstream side open until
//! the proxy is closed, so released bytes of a dead client are still
//! delivered and processed (as a request already on the network would be).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What the proxy does with client bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Gate {
    /// Forward everything.
    Open,
    /// Forward until the marker shows up, then hold.
    HoldOn(Vec<u8>),
    /// A connection is holding bytes that contain the marker.
    Holding,
    /// Forward what is held, then everything.
    Release,
    /// Throw what is held away and close the connection that held it.
    Drop,
}

pub struct Proxy {
    pub addr: SocketAddr,
    gate: watch::Sender<Gate>,
    tasks: Mutex<JoinSet<()>>,
}

impl Proxy {
    /// A proxy on a free loopback port in front of `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let (gate, _) = watch::channel(Gate::Open);
        let proxy = Proxy {
            addr,
            gate,
            tasks: Mutex::new(JoinSet::new()),
        };
        let gate = proxy.gate.clone();
        proxy.tasks().spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                connections.spawn(serve(client, upstream.clone(), gate.clone()));
            }
        });
        proxy
    }

    fn tasks(&self) -> MutexGuard<'_, JoinSet<()>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, hold the first request that carries `marker`.
    pub fn hold_on(&self, marker: &str) {
        self.gate
            .send_replace(Gate::HoldOn(marker.as_bytes().to_vec()));
    }

    pub fn is_holding(&self) -> bool {
        *self.gate.borrow() == Gate::Holding
    }

    /// Delivers the held bytes (late) and forwards everything from now on.
    pub fn release(&self) {
        self.gate.send_replace(Gate::Release);
    }

    /// Throws the held bytes away with their connection.
    pub fn drop_held(&self) {
        self.gate.send_replace(Gate::Drop);
    }

    /// Closes every connection.
    pub fn close(&self) {
        self.tasks().abort_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

async fn serve(client: TcpStream, upstream: String, gate: watch::Sender<Gate>) {
    let Ok(server) = TcpStream::connect(upstream.as_str()).await else {
        return; // the member is down: the client sees its connection close
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, server_write) = server.into_split();
    let answers = async move {
        let mut buffer = vec![0; 64 * 1024];
        let mut client_gone = false;
        // Keep reading etcd's answers even once the client is gone.
        while let Ok(n) = server_read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            if !client_gone && client_write.write_all(&buffer[..n]).await.is_err() {
                client_gone = true;
            }
        }
    };
    tokio::pin!(answers);
    let forward = forward(&mut client_read, server_write, &gate);
    let server_write = tokio::select! {
        () = &mut answers => return,
        kept = forward => kept,
    };
    // The client is gone: keep the upstream side open (not even a FIN, on
    // which etcd would cancel what it has not answered yet) until etcd
    // closes it or the proxy is closed.
    let Some(server_write) = server_write else {
        return; // dropped: the held bytes are lost with the connection
    };
    answers.await;
    drop(server_write);
}

/// Forwards the client's bytes, holding them once they carry the marker.
/// Returns the upstream writer when the client has gone (`None`: the held
/// bytes were dropped with the connection).
async fn forward(
    client_read: &mut tokio::net::tcp::OwnedReadHalf,
    mut server_write: tokio::net::tcp::OwnedWriteHalf,
    gate: &watch::Sender<Gate>,
) -> Option<tokio::net::tcp::OwnedWriteHalf> {
    let mut buffer = vec![0; 64 * 1024];
    // The end of the previous read, for a marker split across reads.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => return Some(server_write),
            Ok(n) => n,
        };
        let chunk = &buffer[..n];
        let marker = match &*gate.borrow() {
            Gate::HoldOn(marker) => Some(marker.clone()),
            _ => None,
        };
        if let Some(marker) = marker {
            let mut seen = std::mem::take(&mut tail);
            seen.extend_from_slice(chunk);
            if seen.windows(marker.len()).any(|w| w == marker.as_slice()) {
                let mut decision = gate.subscribe();
                gate.send_replace(Gate::Holding);
                let released = loop {
                    if decision.changed().await.is_err() {
                        break false;
                    }
                    match &*decision.borrow_and_update() {
                        Gate::Release => break true,
                        Gate::Drop => break false,
                        _ => {}
                    }
                };
                gate.send_replace(Gate::Open);
                if !released {
                    return None;
                }
            } else {
                let keep = seen.len().saturating_sub(marker.len());
                tail = seen.split_off(keep);
            }
        }
        if server_write.write_all(chunk).await.is_err() {
            return Some(server_write);
        }
    }
}

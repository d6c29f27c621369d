//! Real DNS on a socket: UDP and TCP (RFC 1035 §4.2.2 length-prefixed) on the same port,
//! each message answered by [`crate::wire::handle_message_at`].
//!
//! This is a plain tokio `UdpSocket`/`TcpListener` loop rather than hickory-server: the
//! whole protocol logic already lives in `wire.rs` (which the orchestrator's in-process DNS
//! transport calls with the same bytes), so the server only has to move bytes, and a small
//! loop keeps that obviously bounded:
//! * UDP: datagrams up to 4096 bytes are read; a response larger than the client's limit
//!   (512, or its EDNS payload size) is sent truncated with TC=1 so it retries over TCP.
//! * TCP: at most [`MAX_TCP_CONNECTIONS`] at once (more are closed on accept), an idle/read
//!   timeout of [`TCP_IDLE_TIMEOUT`] per message, the same for writes, and messages are at
//!   most 65535 bytes by construction (u16 length prefix).
//!
//! It is the only part of the crate that reads a clock: the system time, for the TSIG
//! fudge-window check, as a real server must.
//!
//! [`DnsServerHandle::shutdown`] (or dropping the handle) stops every task.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::dns::{Dns, SmartConnectAnswerer};
use crate::wire::{handle_message_at, TsigKey};

/// Most TCP connections served at once.
pub const MAX_TCP_CONNECTIONS: usize = 64;
/// How long a TCP connection may sit idle, or take to send or receive one message.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest UDP datagram read.
const MAX_UDP_MESSAGE: usize = 4096;

/// A running server. Dropping it stops the server too.
#[derive(Debug)]
pub struct DnsServerHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServerHandle {
    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting and answering, and wait for the listener tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for DnsServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Shared state of the server tasks.
struct Ctx {
    state: Arc<Mutex<Dns>>,
    sc: Arc<dyn SmartConnectAnswerer + Send + Sync>,
    tsig: Option<TsigKey>,
}

impl Ctx {
    fn answer(&self, bytes: &[u8]) -> Vec<u8> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // A panic elsewhere while holding the lock must not take DNS down with it: the data
        // is plain records, still consistent (updates apply atomically).
        let mut dns = self.state.lock().unwrap_or_else(|p| p.into_inner());
        handle_message_at(
            bytes,
            &mut dns,
            self.sc.as_ref(),
            self.tsig.as_ref(),
            Some(now),
        )
    }
}

/// Bind UDP and TCP on `addr` (port 0 picks a free port, the same for both) and serve.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<Mutex<Dns>>,
    sc: Arc<dyn SmartConnectAnswerer + Send + Sync>,
    tsig: Option<TsigKey>,
) -> std::io::Result<DnsServerHandle> {
    let (udp, tcp) = bind_pair(addr).await?;
    let local_addr = udp.local_addr()?;
    let ctx = Arc::new(Ctx { state, sc, tsig });
    let (stop, rx) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(udp_loop(udp, ctx.clone(), rx.clone())),
        tokio::spawn(tcp_loop(tcp, ctx, rx)),
    ];
    Ok(DnsServerHandle {
        local_addr,
        stop,
        tasks,
    })
}

/// With port 0 the UDP port the OS picks may be taken for TCP; try a few times.
async fn bind_pair(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut last_err = None;
    for _ in 0..16 {
        let udp = UdpSocket::bind(addr).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if addr.port() == 0 => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| std::io::Error::other("could not bind UDP and TCP")))
}

/// The size a UDP response may have: the client's EDNS payload size, or 512 without EDNS.
fn udp_limit(request: &[u8]) -> usize {
    match Message::from_vec(request) {
        Ok(m) => m
            .edns
            .as_ref()
            .map_or(512, |e| usize::from(e.max_payload().max(512))),
        Err(_) => 512,
    }
}

/// Replace an oversized response by its truncated form (header, question, OPT, TC=1).
fn truncate(response: Vec<u8>, limit: usize) -> Vec<u8> {
    if response.len() <= limit {
        return response;
    }
    match Message::from_vec(&response).map(|m| m.truncate().to_vec()) {
        Ok(Ok(t)) if t.len() <= limit => t,
        // Cannot even fit the question: send the bare header with TC set.
        _ => {
            let mut h = response[..12].to_vec();
            h[2] |= 0x02;
            h[4..12].fill(0);
            h
        }
    }
}

async fn udp_loop(sock: UdpSocket, ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut buf = vec![0u8; MAX_UDP_MESSAGE];
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = sock.recv_from(&mut buf) => {
                let Ok((n, peer)) = r else { continue };
                let req = &buf[..n];
                let resp = ctx.answer(req);
                if !resp.is_empty() {
                    let resp = truncate(resp, udp_limit(req));
                    let _ = sock.send_to(&resp, peer).await;
                }
            }
        }
    }
}

async fn tcp_loop(listener: TcpListener, ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => {
                let Ok((stream, _)) = r else { continue };
                // Over the cap: close at once rather than queue, so a flood cannot pile up
                // sockets.
                let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
                let ctx = ctx.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = tcp_conn(stream, ctx) => {}
                    }
                    drop(permit);
                });
            }
        }
    }
}

/// Serve length-prefixed messages on one connection until EOF, error or timeout.
async fn tcp_conn(mut stream: TcpStream, ctx: Arc<Ctx>) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE_TIMEOUT, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match tokio::time::timeout(TCP_IDLE_TIMEOUT, stream.read_exact(&mut msg)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let resp = ctx.answer(&msg);
        if resp.is_empty() {
            continue;
        }
        let Ok(rlen) = u16::try_from(resp.len()) else {
            return;
        };
        let mut out = Vec::with_capacity(resp.len() + 2);
        out.extend_from_slice(&rlen.to_be_bytes());
        out.extend_from_slice(&resp);
        match tokio::time::timeout(TCP_IDLE_TIMEOUT, stream.write_all(&out)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::SmartConnectTable;
    use crate::wire::{build_ns_update, build_query, check_update_response, parse_a_answer};
    use std::net::Ipv4Addr;

    const STEP: Duration = Duration::from_secs(5);

    fn world() -> (Arc<Mutex<Dns>>, Arc<SmartConnectTable>) {
        let mut dns = Dns::new();
        dns.add_zone("corp.example")
            .unwrap()
            .delegate("finance.corp.example", &["10.1.0.10", "10.2.0.10"])
            .unwrap();
        let mut sc = SmartConnectTable::new();
        sc.serve(
            "10.2.0.10",
            "finance.corp.example",
            vec![Ipv4Addr::new(10, 2, 0, 21)],
        );
        (Arc::new(Mutex::new(dns)), Arc::new(sc))
    }

    async fn tcp_exchange(addr: SocketAddr, msg: &[u8]) -> Vec<u8> {
        let mut s = tokio::time::timeout(STEP, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        let mut out = (msg.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        s.write_all(&out).await.unwrap();
        let mut len = [0u8; 2];
        tokio::time::timeout(STEP, s.read_exact(&mut len))
            .await
            .unwrap()
            .unwrap();
        let mut resp = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tokio::time::timeout(STEP, s.read_exact(&mut resp))
            .await
            .unwrap()
            .unwrap();
        resp
    }

    #[tokio::test]
    async fn udp_and_tcp_queries_and_signed_update_on_loopback() {
        let (state, sc) = world();
        let key = TsigKey::new("dr-update", b"loopback-secret".to_vec());
        let server = serve(
            "127.0.0.1:0".parse().unwrap(),
            state.clone(),
            sc,
            Some(key.clone()),
        )
        .await
        .unwrap();
        let addr = server.local_addr();

        // UDP: the dual-delegated name is answered by the second SSIP's cluster.
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client
            .send_to(&build_query(0x1234, "finance.corp.example").unwrap(), addr)
            .await
            .unwrap();
        let mut buf = vec![0u8; 1500];
        let (n, _) = tokio::time::timeout(STEP, client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let m = Message::from_vec(&buf[..n]).unwrap();
        assert_eq!(m.id, 0x1234);
        assert_eq!(
            parse_a_answer(&buf[..n]).unwrap(),
            vec![Ipv4Addr::new(10, 2, 0, 21)]
        );

        // TCP: same question, same answer.
        let resp = tcp_exchange(addr, &build_query(7, "finance.corp.example").unwrap()).await;
        assert_eq!(
            parse_a_answer(&resp).unwrap(),
            vec![Ipv4Addr::new(10, 2, 0, 21)]
        );

        // TCP: a TSIG-signed update, verified with the real clock on both sides.
        let upd = build_ns_update(
            9,
            "corp.example",
            "finance.corp.example",
            &["10.2.0.10".to_string()],
            Some(&key),
        )
        .unwrap();
        let resp = tcp_exchange(addr, &upd).await;
        check_update_response(&resp, &upd, Some(&key)).unwrap();
        assert_eq!(
            state.lock().unwrap().ns("finance.corp.example"),
            vec!["10.2.0.10"]
        );

        // Garbage over UDP gets FORMERR, and the server keeps serving.
        client.send_to(&[1, 2, 3, 4, 5], addr).await.unwrap();
        let (n, _) = tokio::time::timeout(STEP, client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n >= 12);
        assert_eq!(buf[3] & 0x0F, 1, "FORMERR");

        tokio::time::timeout(STEP, server.shutdown()).await.unwrap();
        // After shutdown nothing answers any more.
        let _ = client
            .send_to(&build_query(1, "x.corp.example").unwrap(), addr)
            .await;
        assert!(
            tokio::time::timeout(Duration::from_millis(200), client.recv_from(&mut buf))
                .await
                .is_err()
        );
    }

    #[test]
    fn oversized_udp_responses_are_truncated() {
        let mut m = Message::new(
            1,
            hickory_proto::op::MessageType::Response,
            hickory_proto::op::OpCode::Query,
        );
        m.add_query(hickory_proto::op::Query::query(
            hickory_proto::rr::Name::from_ascii("a.example.").unwrap(),
            hickory_proto::rr::RecordType::A,
        ));
        for i in 0..100u8 {
            m.add_answer(hickory_proto::rr::Record::from_rdata(
                hickory_proto::rr::Name::from_ascii("a.example.").unwrap(),
                0,
                hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A(Ipv4Addr::new(
                    10, 0, 0, i,
                ))),
            ));
        }
        let big = m.to_vec().unwrap();
        assert!(big.len() > 512);
        let t = truncate(big, 512);
        let tm = Message::from_vec(&t).unwrap();
        assert!(tm.truncation);
        assert!(tm.answers.is_empty());
        assert_eq!(tm.queries.len(), 1);
    }
}

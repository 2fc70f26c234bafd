//! Raw connections: requests sent as bytes, and what came back on them.

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use super::checks::lossy;
use crate::server::{Reply, parse_reply};

/// What came back on a raw connection, and whether the server closed it.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) bytes: Vec<u8>,
    pub(super) closed: bool,
}

impl Answer {
    pub(super) fn gone() -> Self {
        Self {
            bytes: Vec::new(),
            closed: true,
        }
    }

    /// The status of the response, if one began.
    pub(super) fn status(&self) -> Option<u16> {
        let line = self.bytes.strip_prefix(b"HTTP/1.1 ")?;
        std::str::from_utf8(line.get(..3)?).ok()?.parse().ok()
    }

    pub(super) fn is_success(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    pub(super) fn reply(&self) -> Reply {
        assert!(self.status().is_some(), "no response: {self:?}");
        parse_reply(&self.bytes, false)
    }
}

pub(super) fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Sends `raw` on a new connection, then reads until the server closes it or `wait` passes.
pub(super) fn exchange(addr: SocketAddr, raw: &[u8], wait: Duration) -> Answer {
    let mut stream = connect(addr);
    // The server may refuse and close before it has read everything.
    let _ = stream.write_all(raw);
    read_until_closed(&mut stream, wait)
}

/// Reads until the server closes the connection (or resets it), or `wait` passes.
pub(super) fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Answer {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut buf = [0; 16 << 10];

    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Answer {
                bytes,
                closed: false,
            };
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }

    Answer {
        bytes,
        closed: true,
    }
}

/// Reads one response with a `Content-Length` from a kept-alive connection.
pub(super) fn read_response(stream: &mut TcpStream) -> Reply {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0; 4096];

    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let reply = parse_reply(&bytes[..end + 4], true);
            let length: usize = reply
                .header("content-length")
                .expect("a Content-Length")
                .parse()
                .unwrap();
            if bytes.len() >= end + 4 + length {
                return parse_reply(&bytes, false);
            }
        }
        let n = stream.read(&mut buf).expect("the response");
        assert!(n > 0, "closed mid-response: {}", lossy(&bytes));
        bytes.extend_from_slice(&buf[..n]);
    }
}

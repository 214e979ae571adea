//! A lean HTTP/1.1 client connection, for the load executors and for requests whose path
//! must reach the server byte for byte (dot segments, encoded separators): one request at a time on one
//! TCP connection, responses parsed with `httparse`, bodies framed by Content-Length,
//! chunked transfer coding or the end of the connection (RFC 9112 §6).
//!
//! Written by hand, though hyper's client connection does the same, for memory: hyper
//! gives every connection an 8 KB read buffer, an 8 KB write buffer, a 9 KB request channel
//! and a task of its own, about 25 KB before a byte is sent (measured with heaptrack:
//! 250 MB of the 360 MB that 10k users took). Here a connection is its socket and a read
//! buffer that grows only as answers need (about 4 KB), and a request is one write.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;
/// A response body larger than this is refused (a load answer is small).
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;
/// Headers a response may have.
const MAX_HEADERS: usize = 100;
/// Interim (1xx) answers read before the final one, at most.
const MAX_INTERIM: usize = 16;
/// Each read asks for at least this much room.
const READ_CHUNK: usize = 4096;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, de-chunked.
    pub body: Bytes,
}

/// An open HTTP/1.1 connection.
#[derive(Debug)]
pub struct Http1 {
    stream: TcpStream,
    buf: BytesMut,
    /// Answers read on it so far.
    answered: u64,
    /// Bytes read from it so far.
    received: u64,
    /// A body larger than this is refused ([`MAX_BODY`] unless set).
    max_body: usize,
}

/// What went wrong on a connection; after any, the connection is not reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What happened.
    pub message: String,
    /// The connection had served before and the server closed it before answering this
    /// request (a keep-alive race): the request may be sent again on a new connection.
    pub stale: bool,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self {
            message,
            stale: false,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        message.to_string().into()
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Http1 {
    /// Connects to the first of `addrs` that answers.
    pub async fn connect(addrs: &[std::net::SocketAddr]) -> Result<Self, Failure> {
        let stream = TcpStream::connect(addrs)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            buf: BytesMut::new(),
            answered: 0,
            received: 0,
            max_body: MAX_BODY,
        })
    }

    /// The same connection refusing bodies over `max_body` bytes instead of [`MAX_BODY`].
    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    /// True when the server has closed the idle connection or sent something unasked: it
    /// must not carry another request. Peeks at the socket itself (`MSG_PEEK`), so a FIN
    /// the runtime has not yet reported is seen, and nothing is consumed.
    pub fn is_stale(&self) -> bool {
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit()];
        match socket2::SockRef::from(&self.stream).peek(&mut probe) {
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            Ok(_) => true, // 0: closed; more: bytes nobody asked for
        }
    }

    /// Sends one request and reads its answer. The bool says whether the connection may
    /// carry another request.
    pub async fn exchange(
        &mut self,
        method: &Method,
        path: &str,
        host: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(Answer, bool), Failure> {
        let request = encode(method, path, host, headers, body);
        let served_before = self.answered > 0;
        let received_before = self.received;
        self.stream.write_all(&request).await.map_err(|e| Failure {
            message: format!("send: {e}"),
            stale: served_before,
        })?;
        let (status, headers, keep_alive) = self.read_head().await.map_err(|mut e| {
            // Not one byte of an answer came (not even a 1xx): on a connection that served
            // before, the server closed it while idle, before this request reached it.
            e.stale = e.stale && served_before && self.received == received_before;
            e
        })?;
        self.answered += 1;
        let framing = framing(method, status, &headers)?;
        let body = match framing {
            Framing::Empty => Bytes::new(),
            Framing::Length(n) => self.read_exact(n).await?,
            Framing::Chunked => self.read_chunked().await?,
            Framing::UntilClose => self.read_to_close().await?,
        };
        // Bytes past the answer's end belong to no request: the connection is spoilt.
        let keep_alive = keep_alive && framing != Framing::UntilClose && self.buf.is_empty();
        Ok((
            Answer {
                status,
                headers,
                body,
            },
            keep_alive,
        ))
    }

    /// Reads more into the buffer; 0 at the end of the connection.
    async fn fill(&mut self) -> Result<usize, Failure> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| format!("receive: {e}"))?;
        self.received += n as u64;
        Ok(n)
    }

    /// Reads a final (non-1xx) response head: status, headers, keep-alive.
    async fn read_head(&mut self) -> Result<(u16, HeaderMap, bool), Failure> {
        let mut interim = 0;
        loop {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut response = httparse::Response::new(&mut slots);
            match response.parse(&self.buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let status = response.code.unwrap_or_default();
                    let version = response.version.unwrap_or(1);
                    let mut headers = HeaderMap::with_capacity(response.headers.len());
                    for h in response.headers.iter() {
                        let name = HeaderName::from_bytes(h.name.as_bytes())
                            .map_err(|_| format!("a malformed header name: {:?}", h.name))?;
                        let value = HeaderValue::from_bytes(h.value)
                            .map_err(|_| format!("a malformed value for {}", h.name))?;
                        headers.append(name, value);
                    }
                    self.buf.advance(len);
                    if status == 101 {
                        return Err("101 Switching Protocols, though no upgrade was asked".into());
                    }
                    // 1xx answers are interim: the final one follows.
                    if (100..200).contains(&status) {
                        interim += 1;
                        if interim > MAX_INTERIM {
                            return Err(format!("over {MAX_INTERIM} interim (1xx) answers").into());
                        }
                        continue;
                    }
                    let close = has_token(&headers, "connection", "close")
                        // RFC 9112 §6.3: both framings, or chunked in HTTP/1.0, may be a
                        // smuggling attempt: read it, then close.
                        || (headers.contains_key("transfer-encoding")
                            && (version == 0 || headers.contains_key("content-length")));
                    let keep_alive = if version == 0 {
                        has_token(&headers, "connection", "keep-alive")
                    } else {
                        !close
                    };
                    return Ok((status, headers, keep_alive));
                }
                Ok(httparse::Status::Partial) if self.buf.len() >= MAX_HEAD => {
                    return Err(format!("a response head over {MAX_HEAD} bytes").into());
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(format!("a malformed response: {e}").into()),
            }
            let closed = match self.fill().await {
                Ok(0) => "the server closed the connection".to_string(),
                Ok(_) => continue,
                Err(e) => e.message,
            };
            return Err(if self.buf.is_empty() {
                Failure {
                    message: format!("{closed} without answering"),
                    stale: true,
                }
            } else {
                format!("{closed} mid-answer").into()
            });
        }
    }

    /// Reads `n` body bytes.
    async fn read_exact(&mut self, n: usize) -> Result<Bytes, Failure> {
        if n > self.max_body {
            return Err(format!("a body of {n} bytes (over {})", self.max_body).into());
        }
        // Room for what is announced, up to a read's worth: the rest as it arrives.
        if self.buf.len() < n {
            self.buf.reserve((n - self.buf.len()).min(16 * READ_CHUNK));
        }
        while self.buf.len() < n {
            if self.fill().await? == 0 {
                return Err(format!(
                    "the server closed the connection after {} of {n} body bytes",
                    self.buf.len()
                )
                .into());
            }
        }
        Ok(self.buf.split_to(n).freeze())
    }

    /// Reads a line ending in CRLF (without it).
    async fn read_line(&mut self) -> Result<BytesMut, Failure> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(at);
                self.buf.advance(2);
                return Ok(line);
            }
            if self.buf.len() >= MAX_HEAD {
                return Err("a chunk line too long".into());
            }
            if self.fill().await? == 0 {
                return Err("the server closed the connection mid-chunk".into());
            }
        }
    }

    /// Reads a chunked body and its trailers.
    async fn read_chunked(&mut self) -> Result<Bytes, Failure> {
        let mut body = BytesMut::new();
        loop {
            let mut line = self.read_line().await?;
            line.extend_from_slice(b"\r\n");
            let size = match httparse::parse_chunk_size(&line) {
                Ok(httparse::Status::Complete((_, size))) => size,
                _ => {
                    return Err(format!(
                        "a malformed chunk size: {:?}",
                        String::from_utf8_lossy(&line)
                    )
                    .into());
                }
            };
            if size == 0 {
                // Trailers, until an empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body.freeze());
            }
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= self.max_body.saturating_sub(body.len()))
                .ok_or_else(|| {
                    format!("a body over {} bytes (a chunk of {size})", self.max_body)
                })?;
            let chunk = self.read_exact(size + 2).await?;
            if &chunk[size..] != b"\r\n" {
                return Err("a chunk not followed by CRLF".into());
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }

    /// Reads a body that ends with the connection.
    async fn read_to_close(&mut self) -> Result<Bytes, Failure> {
        while self.fill().await? > 0 {
            if self.buf.len() > self.max_body {
                return Err(format!("a body over {} bytes", self.max_body).into());
            }
        }
        Ok(self.buf.split().freeze())
    }
}

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

fn framing(method: &Method, status: u16, headers: &HeaderMap) -> Result<Framing, Failure> {
    if method == Method::HEAD || status == 204 || status == 304 || status < 200 {
        return Ok(Framing::Empty);
    }
    // The last coding of the last Transfer-Encoding line decides.
    if let Some(te) = headers.get_all("transfer-encoding").iter().next_back() {
        let last = te
            .to_str()
            .unwrap_or_default()
            .rsplit(',')
            .next()
            .unwrap_or_default()
            .trim();
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    let mut lengths = headers.get_all("content-length").iter();
    match lengths.next() {
        None => Ok(Framing::UntilClose),
        Some(v) => {
            let n: usize = v
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("a malformed Content-Length: {v:?}"))?;
            if lengths.any(|other| other != v) {
                return Err("conflicting Content-Length headers".into());
            }
            Ok(Framing::Length(n))
        }
    }
}

/// True when a comma-separated header holds `token` (any case).
fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .unwrap_or_default()
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

/// A request, as bytes on the wire.
fn encode(method: &Method, path: &str, host: &str, headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + path.len() + body.len() + 64 * headers.len());
    let line = |out: &mut Vec<u8>, name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    line(&mut out, b"host", host.as_bytes());
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            line(&mut out, name.as_str().as_bytes(), value.as_bytes());
        }
    }
    let sends_body =
        !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if sends_body {
        line(
            &mut out,
            b"content-length",
            body.len().to_string().as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request it reads on one connection with the next of
    /// `answers`, written a few bytes at a time, and returns the requests it read.
    async fn server(answers: Vec<&'static [u8]>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for answer in answers {
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap() == 0 {
                        return seen;
                    }
                    request.push(byte[0]);
                }
                seen.push(String::from_utf8(request).unwrap());
                for piece in answer.chunks(7) {
                    socket.write_all(piece).await.unwrap();
                    socket.flush().await.unwrap();
                }
            }
            seen
        });
        (authority, task)
    }

    async fn connect(at: &str) -> Http1 {
        Http1::connect(&[at.parse().unwrap()]).await.unwrap()
    }

    async fn get(c: &mut Http1) -> Result<(Answer, bool), Failure> {
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("application/json"));
        c.exchange(&Method::GET, "/premium", "h", &headers, b"")
            .await
    }

    #[tokio::test]
    async fn content_length_and_chunked_answers_share_one_connection() {
        let (at, server) = server(vec![
            b"HTTP/1.1 402 Payment Required\r\nPAYMENT-REQUIRED: e30=\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nt: v\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let mut c = connect(&at).await;
        let (a, keep) = get(&mut c).await.unwrap();
        assert_eq!((a.status, &a.body[..], keep), (402, &b"hello"[..], true));
        assert_eq!(a.headers["payment-required"], "e30=");
        let (b, keep) = get(&mut c).await.unwrap();
        assert_eq!((b.status, &b.body[..], keep), (200, &b"abcde"[..], true));
        let (n, _) = get(&mut c).await.unwrap();
        assert_eq!((n.status, n.body.len()), (204, 0));
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 3);
        assert!(
            seen[0].starts_with("GET /premium HTTP/1.1\r\nhost: h\r\naccept: application/json\r\n")
        );
        assert!(!seen[0].contains("content-length"), "a GET sends no length");
    }

    #[tokio::test]
    async fn a_body_until_close_or_connection_close_ends_the_connection() {
        let (at, _server) = server(vec![b"HTTP/1.1 200 OK\r\n\r\nall of it"]).await;
        let mut c = connect(&at).await;
        let (a, keep) = get(&mut c).await.unwrap();
        assert_eq!((&a.body[..], keep), (&b"all of it"[..], false));
        let (at, _server) = server(vec![
            b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok",
        ])
        .await;
        let mut c = connect(&at).await;
        assert!(!get(&mut c).await.unwrap().1);
        let (at, _server) = server(vec![b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"]).await;
        let mut c = connect(&at).await;
        assert!(!get(&mut c).await.unwrap().1, "HTTP/1.0 closes by default");
    }

    #[tokio::test]
    async fn a_post_sends_its_body_with_its_length() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = vec![0u8; 4096];
            let mut n = 0;
            while !String::from_utf8_lossy(&got[..n]).ends_with("{\"a\":1}") {
                n += s.read(&mut got[n..]).await.unwrap();
            }
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&got[..n]).into_owned()
        });
        let mut c = connect(&at).await;
        let (a, _) = c
            .exchange(&Method::POST, "/x", "h", &HeaderMap::new(), b"{\"a\":1}")
            .await
            .unwrap();
        assert_eq!(a.status, 200);
        assert!(
            server
                .await
                .unwrap()
                .contains("content-length: 7\r\n\r\n{\"a\":1}")
        );
    }

    #[tokio::test]
    async fn broken_answers_are_failures_not_panics() {
        for (answer, want) in [
            (
                &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"[..],
                "after 5 of 10",
            ),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
                "Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
                "chunk size",
            ),
            (b"NOT HTTP\r\n\r\n", "malformed response"),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\nfffffffffffffffe\r\n",
                "over 16777216 bytes",
            ),
            (b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nhello", "Content-Length"),
            (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "no upgrade was asked"),
            (b"", "without answering"),
        ] {
            let (at, _server) = server(vec![answer]).await;
            let mut c = connect(&at).await;
            let e = get(&mut c).await.unwrap_err();
            assert!(e.message.contains(want), "{want}: {e}");
            assert!(!e.stale, "the first request on a connection is never stale");
        }
    }

    #[tokio::test]
    async fn extra_bytes_or_both_framings_end_the_connection() {
        for answer in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ] {
            let (at, _server) = server(vec![answer]).await;
            let mut c = connect(&at).await;
            let (a, keep) = get(&mut c).await.unwrap();
            assert_eq!((&a.body[..], keep), (&b"ok"[..], false));
        }
    }

    #[tokio::test]
    async fn an_interim_answer_then_a_close_is_not_a_stale_connection() {
        let (at, _server) = server(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
        ])
        .await;
        let mut c = connect(&at).await;
        get(&mut c).await.unwrap();
        let e = get(&mut c).await.unwrap_err();
        assert!(!e.stale, "the server saw the request: {e}");
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_stale() {
        let (at, server) = server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]).await;
        let mut c = connect(&at).await;
        assert!(!c.is_stale(), "open and quiet");
        get(&mut c).await.unwrap();
        server.await.unwrap(); // the server closes the connection
        // The FIN is seen at once, or at the latest when the next request finds no answer.
        if !c.is_stale() {
            let e = get(&mut c).await.unwrap_err();
            assert!(e.stale, "{e}");
        }
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(*k, HeaderValue::from_static(v));
            }
            m
        };
        let get = Method::GET;
        assert_eq!(
            framing(&Method::HEAD, 200, &h(&[("content-length", "9")])),
            Ok(Framing::Empty)
        );
        assert_eq!(framing(&get, 304, &h(&[])), Ok(Framing::Empty));
        assert_eq!(
            framing(
                &get,
                200,
                &h(&[
                    ("transfer-encoding", "gzip, chunked"),
                    ("content-length", "3")
                ])
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing(
                &get,
                200,
                &h(&[("content-length", "3"), ("content-length", "3")])
            ),
            Ok(Framing::Length(3))
        );
        assert!(
            framing(
                &get,
                200,
                &h(&[("content-length", "3"), ("content-length", "4")])
            )
            .is_err()
        );
        assert_eq!(framing(&get, 200, &h(&[])), Ok(Framing::UntilClose));
        assert_eq!(
            framing(
                &get,
                200,
                &h(&[
                    ("transfer-encoding", "gzip"),
                    ("transfer-encoding", "chunked")
                ])
            ),
            Ok(Framing::Chunked),
            "the last line decides"
        );
    }
}

//! A hostile HTTP server for paycheck's robustness tests: raw TCP on a free loopback port,
//! doing one thing wrong (or one thing right, forever) to every connection. Dropping the
//! server stops it and closes every connection it holds.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::io;
use std::iter;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

/// Base Sepolia, the test network of every valid offer.
const BASE_SEPOLIA: &str = "eip155:84532";
/// USDC on Base Sepolia.
const SEPOLIA_USDC: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
/// Base mainnet, which paycheck must refuse to pay on.
const BASE_MAINNET: &str = "eip155:8453";
/// USDC on Base mainnet.
const MAINNET_USDC: &str = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
/// The merchant of every offer (the spec example's).
const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
/// The host `RedirectOffsite` points to: off loopback, never to be contacted.
pub const OFFSITE_HOST: &str = "10.0.0.1";
/// The size of each chunk the fast streaming behaviours write.
const CHUNK: usize = 64 * 1024;
/// One gibibyte, the announced length of `Body1GiB`.
const GIB: usize = 1 << 30;
/// One mebibyte.
const MIB: usize = 1 << 20;
/// How often `SlowDrip` sends its next byte.
const DRIP_EVERY: Duration = Duration::from_millis(200);
/// The Content-Length `SlowDrip` announces: days of body at its pace.
const DRIP_LENGTH: usize = 1_000_000;
/// The longest request head (or body) the server reads before it gives up on a connection.
const MAX_REQUEST: usize = 64 * MIB;
/// How deep `JsonBomb` nests arrays in its body.
const BOMB_DEPTH: usize = 100_000;
/// How deep `JsonBomb` nests arrays in its PAYMENT-REQUIRED header (kept under header limits).
const HEADER_BOMB_DEPTH: usize = 10_000;
/// How many offers `TenThousandOffers` lists, and headers `TenThousandHeaders` sends.
const TEN_THOUSAND: usize = 10_000;

/// What the server does to every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts, then reads nothing, answers nothing and keeps the socket open.
    HangAfterAccept,
    /// Reads the request, sends a 402 status line and headers announcing Content-Length
    /// 100, then nothing, keeping the socket open until the client goes away.
    HangAfterHeaders,
    /// Sends a valid 402 one byte every 200 ms: its head, then a body of JSON whitespace
    /// whose Content-Length lasts for days, until the client goes away.
    SlowDrip,
    /// Accepts, then closes with SO_LINGER 0, so that the client sees a reset.
    Reset,
    /// Sends 4 KiB of random bytes, none of them ASCII, then closes.
    Garbage,
    /// Answers as HTTP/0.9 would: a bare JSON body with no status line, then closes.
    Http09,
    /// A 402 with one header of 1 MiB besides a valid PAYMENT-REQUIRED.
    HugeHeader1MiB,
    /// A 402 with one header of 8 MiB besides a valid PAYMENT-REQUIRED.
    HugeHeader8MiB,
    /// A 402 with ten thousand headers besides a valid PAYMENT-REQUIRED.
    TenThousandHeaders,
    /// A 402 with a valid PAYMENT-REQUIRED and Content-Length 1 GiB, whose body is streamed
    /// as fast as the client reads, in 64 KiB chunks of one long JSON string.
    Body1GiB,
    /// A 402 with a valid PAYMENT-REQUIRED and Transfer-Encoding chunked, with 64 KiB
    /// chunks of a JSON-ish pattern, as fast as the client reads, forever.
    EndlessChunked,
    /// An otherwise valid 402 with invalid UTF-8 in a header value and in its JSON body.
    BadUtf8,
    /// A 402 announcing Content-Length 1000 that sends 10 body bytes, then closes.
    ContentLengthTooLarge,
    /// A 402 announcing Content-Length 10 that sends a whole x402 v1 JSON body, then closes.
    ContentLengthTooSmall,
    /// A 302 to the path that was asked for.
    RedirectLoop,
    /// A 302 to http://10.0.0.1/ (only the header: nothing here ever contacts it).
    RedirectOffsite,
    /// Sends the first half of a 402 status line, then closes.
    EarlyClose,
    /// Answers with the bytes of a TLS ServerHello (0x16 0x03 0x01 …), then closes.
    TlsOnPlain,
    /// A 402 whose x402 v1 JSON body nests arrays 100,000 deep in `accepts` (and whose
    /// PAYMENT-REQUIRED nests them 10,000 deep).
    JsonBomb,
    /// A valid x402 v2 402 whose PAYMENT-REQUIRED, and whose x402 v1 JSON body, list ten
    /// thousand offers.
    TenThousandOffers,
    /// A valid 402 whose only offer is on Base mainnet (eip155:8453 in PAYMENT-REQUIRED,
    /// `base` in the x402 v1 JSON body), for mainnet USDC.
    MainnetOnly,
    /// A 200 with a small JSON body to every request, paid or not.
    Ok200Everything,
    /// A valid x402 v2 402 to every request, the free route included; serves nothing.
    Always402,
    /// Answers the first N requests with a valid x402 v2 402, then closes its listener and
    /// every connection for good.
    ExitMidRun(u64),
}

/// A hostile server on a free loopback port, running until dropped.
pub struct HostileServer {
    /// Where it listens.
    addr: SocketAddr,
    /// How many requests it has seen (connections, for the behaviours that read nothing).
    seen: watch::Receiver<u64>,
    /// The accept loop, which owns every connection's task.
    accept: JoinHandle<()>,
}

impl HostileServer {
    /// Binds 127.0.0.1:0 and serves `behaviour` to every connection.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port binds");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (seen_sender, seen) = watch::channel(0);
        let shared = Arc::new(Shared {
            behaviour,
            canned: canned_bytes(behaviour, &base_url(addr)),
            seen: seen_sender,
            answered: AtomicU64::new(0),
            closing: Notify::new(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared));
        Self { addr, seen, accept }
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        base_url(self.addr)
    }

    /// Returns once the server has seen its first request.
    pub async fn first_request(&self) {
        let mut seen = self.seen.clone();
        seen.wait_for(|count| *count > 0)
            .await
            .expect("the server saw a request before it stopped");
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A loopback port that nothing listens on: bound to find it free, then let go.
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a loopback port binds")
        .port()
}

/// What every connection of one server shares.
struct Shared {
    /// What the server does.
    behaviour: Behaviour,
    /// The bytes the behaviour sends to each request (for the streaming ones, the head).
    canned: Vec<u8>,
    /// The count of requests seen.
    seen: watch::Sender<u64>,
    /// `ExitMidRun`: how many requests have been answered (or refused) so far.
    answered: AtomicU64,
    /// `ExitMidRun`: tells the accept loop to close everything.
    closing: Notify,
}

impl Shared {
    /// Counts one more request seen.
    fn saw_request(&self) {
        self.seen.send_modify(|count| *count += 1);
    }
}

/// What a connection does after answering a request.
enum After {
    /// Reads the next request on the same connection.
    KeepOpen,
    /// Closes the connection.
    Close,
}

/// `http://ADDR`.
fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Accepts connections until `ExitMidRun` says to close; dropping the set of connection
/// tasks on return (or on abort) closes every connection.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve_connection(stream, shared.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = shared.closing.notified() => return,
        }
    }
}

/// Serves one connection its behaviour.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    match shared.behaviour {
        Behaviour::HangAfterAccept => {
            shared.saw_request();
            hold_open(stream).await;
        }
        Behaviour::Reset => {
            shared.saw_request();
            reset(stream);
        }
        _ => answer_requests(stream, &shared).await,
    }
}

/// Keeps the socket open without reading from it, until the server is dropped.
async fn hold_open(_stream: TcpStream) {
    std::future::pending::<()>().await;
}

/// Closes the socket with SO_LINGER 0: the peer sees a reset instead of a clean close.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Reads request after request on one connection and answers each, until the behaviour
/// closes the connection or the client goes away.
async fn answer_requests(mut stream: TcpStream, shared: &Shared) {
    let mut buffer = Vec::new();
    while let Ok(Some(path)) = read_request(&mut stream, &mut buffer).await {
        shared.saw_request();
        match answer(&mut stream, shared, &path).await {
            Ok(After::KeepOpen) => continue,
            Ok(After::Close) => {
                let _ = stream.shutdown().await;
                return;
            }
            Err(_) => return,
        }
    }
}

/// Answers one request (whose path is `path`) as the behaviour says.
async fn answer(stream: &mut TcpStream, shared: &Shared, path: &str) -> io::Result<After> {
    let canned = &shared.canned;
    match shared.behaviour {
        Behaviour::HangAfterHeaders => {
            stream.write_all(canned).await?;
            wait_until_closed(stream).await;
            Ok(After::Close)
        }
        Behaviour::SlowDrip => drip(stream, canned).await,
        Behaviour::Body1GiB => {
            stream.write_all(canned).await?;
            stream_gibibyte(stream).await?;
            Ok(After::KeepOpen)
        }
        Behaviour::EndlessChunked => {
            stream.write_all(canned).await?;
            stream_chunks_forever(stream).await
        }
        Behaviour::RedirectLoop => {
            stream.write_all(&redirect_to(path)).await?;
            Ok(After::KeepOpen)
        }
        Behaviour::ExitMidRun(limit) => answer_until(stream, shared, limit).await,
        Behaviour::Garbage
        | Behaviour::Http09
        | Behaviour::EarlyClose
        | Behaviour::TlsOnPlain
        | Behaviour::ContentLengthTooLarge
        | Behaviour::ContentLengthTooSmall => {
            stream.write_all(canned).await?;
            Ok(After::Close)
        }
        Behaviour::HugeHeader1MiB
        | Behaviour::HugeHeader8MiB
        | Behaviour::TenThousandHeaders
        | Behaviour::BadUtf8
        | Behaviour::RedirectOffsite
        | Behaviour::JsonBomb
        | Behaviour::TenThousandOffers
        | Behaviour::MainnetOnly
        | Behaviour::Ok200Everything
        | Behaviour::Always402 => {
            stream.write_all(canned).await?;
            Ok(After::KeepOpen)
        }
        // Served without reading a request, in `serve_connection`.
        Behaviour::HangAfterAccept | Behaviour::Reset => Ok(After::Close),
    }
}

/// Reads (and throws away) whatever the client sends until it closes the connection.
async fn wait_until_closed(stream: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// Sends `head` and then JSON whitespace, one byte every [`DRIP_EVERY`], until a write
/// fails because the client went away.
async fn drip(stream: &mut TcpStream, head: &[u8]) -> io::Result<After> {
    let mut ticks = tokio::time::interval(DRIP_EVERY);
    for byte in head.iter().copied().chain(iter::repeat(b' ')) {
        ticks.tick().await;
        stream.write_all(&[byte]).await?;
    }
    Ok(After::Close)
}

/// Writes a body of exactly [`GIB`] bytes in [`CHUNK`]s: one JSON string that never ends,
/// from one reused buffer.
async fn stream_gibibyte(stream: &mut TcpStream) -> io::Result<()> {
    let mut chunk = vec![b'x'; CHUNK];
    let opening = br#"{"x402Version":1,"error":""#;
    chunk[..opening.len()].copy_from_slice(opening);
    stream.write_all(&chunk).await?;
    chunk[..opening.len()].fill(b'x');
    for _ in 1..GIB / CHUNK {
        stream.write_all(&chunk).await?;
    }
    Ok(())
}

/// Writes 64 KiB chunks of a chunked body, one reused frame, until a write fails.
async fn stream_chunks_forever(stream: &mut TcpStream) -> io::Result<After> {
    let frame = chunk_frame();
    loop {
        stream.write_all(&frame).await?;
    }
}

/// One frame of a chunked body: its size line, [`CHUNK`] bytes of a JSON-ish pattern, CRLF.
fn chunk_frame() -> Vec<u8> {
    let pattern = br#"{"x402Version":2,"accepts":[]},"#;
    let mut frame = format!("{CHUNK:x}\r\n").into_bytes();
    frame.extend(pattern.iter().copied().cycle().take(CHUNK));
    frame.extend_from_slice(b"\r\n");
    frame
}

/// `ExitMidRun`: answers the first `limit` requests with the canned 402; after the last,
/// tells the accept loop to close the listener and every connection.
async fn answer_until(stream: &mut TcpStream, shared: &Shared, limit: u64) -> io::Result<After> {
    let index = shared.answered.fetch_add(1, Ordering::SeqCst);
    if index >= limit {
        return Ok(After::Close);
    }
    stream.write_all(&shared.canned).await?;
    if index + 1 == limit {
        shared.closing.notify_one();
        return Ok(After::Close);
    }
    Ok(After::KeepOpen)
}

/// Reads one request (its head, and its body if it says how long that is); its path, or
/// `None` when the client closed the connection or sent more than [`MAX_REQUEST`].
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<Option<String>> {
    let Some(head_length) = read_until(stream, buffer, b"\r\n\r\n", 0).await? else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buffer[..head_length]).into_owned();
    let request_length = if is_chunked(&head) {
        match read_until(stream, buffer, b"0\r\n\r\n", head_length).await? {
            Some(end) => end,
            None => return Ok(None),
        }
    } else {
        let length = head_length + content_length(&head);
        if length > MAX_REQUEST || !read_at_least(stream, buffer, length).await? {
            return Ok(None);
        }
        length
    };
    buffer.drain(..request_length);
    Ok(Some(request_path(&head)))
}

/// Reads until `buffer` holds `marker` at or after `from`; the index just past it, or
/// `None` at end of stream or past [`MAX_REQUEST`].
async fn read_until(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    marker: &[u8],
    from: usize,
) -> io::Result<Option<usize>> {
    let mut searched = from;
    loop {
        if let Some(at) = find(&buffer[searched..], marker) {
            return Ok(Some(searched + at + marker.len()));
        }
        searched = buffer.len().saturating_sub(marker.len()).max(from);
        if buffer.len() > MAX_REQUEST || !read_more(stream, buffer).await? {
            return Ok(None);
        }
    }
}

/// Reads until `buffer` holds at least `length` bytes; false at end of stream.
async fn read_at_least(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    length: usize,
) -> io::Result<bool> {
    while buffer.len() < length {
        if !read_more(stream, buffer).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Appends what the socket has to `buffer`; false at end of stream.
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> io::Result<bool> {
    buffer.reserve(16 * 1024);
    Ok(stream.read_buf(buffer).await? > 0)
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The value of a header of a request head, by case-insensitive name.
fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The Content-Length of a request head (0 when absent or unreadable).
fn content_length(head: &str) -> usize {
    header_value(head, "content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Whether a request head says its body is chunked.
fn is_chunked(head: &str) -> bool {
    header_value(head, "transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"))
}

/// The path of a request line (`/` when the line is malformed).
fn request_path(head: &str) -> String {
    head.split_whitespace()
        .nth(1)
        .filter(|path| path.starts_with('/'))
        .unwrap_or("/")
        .to_string()
}

/// A response head under construction: status line and headers, values as raw bytes.
struct Head(Vec<u8>);

impl Head {
    /// `HTTP/1.1 STATUS`.
    fn new(status: &str) -> Self {
        Self(format!("HTTP/1.1 {status}\r\n").into_bytes())
    }

    /// A 402 carrying `required` in PAYMENT-REQUIRED.
    fn challenge(required: &Value) -> Self {
        Self::new("402 Payment Required").header("PAYMENT-REQUIRED", encode_header(required))
    }

    /// Adds `name: value`.
    fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b": ");
        self.0.extend_from_slice(value.as_ref());
        self.0.extend_from_slice(b"\r\n");
        self
    }

    /// Ends the head without saying anything of a body.
    fn end(mut self) -> Vec<u8> {
        self.0.extend_from_slice(b"\r\n");
        self.0
    }

    /// Ends the head with a JSON Content-Type and `announced` as Content-Length, then
    /// appends `body` (whatever its real length).
    fn json_body_announced(self, announced: usize, body: &[u8]) -> Vec<u8> {
        let mut bytes = self
            .header("Content-Type", "application/json")
            .header("Content-Length", announced.to_string())
            .end();
        bytes.extend_from_slice(body);
        bytes
    }

    /// Ends the head with a JSON body and its true Content-Length.
    fn json_body(self, body: &[u8]) -> Vec<u8> {
        self.json_body_announced(body.len(), body)
    }
}

/// Base64 of compact JSON, as x402 headers carry it.
fn encode_header(value: &Value) -> String {
    STANDARD.encode(value.to_string())
}

/// The EIP-712 domain of USDC on Base Sepolia.
fn sepolia_usdc_domain() -> Value {
    json!({"name": "USDC", "version": "2"})
}

/// The EIP-712 domain of USDC on Base mainnet.
fn mainnet_usdc_domain() -> Value {
    json!({"name": "USD Coin", "version": "2"})
}

/// An x402 v2 `exact` offer of `amount` atomic units of `asset` on `network`.
fn offer_v2(network: &str, asset: &str, amount: u64, extra: Value) -> Value {
    json!({
        "scheme": "exact",
        "network": network,
        "amount": amount.to_string(),
        "asset": asset,
        "payTo": PAY_TO,
        "maxTimeoutSeconds": 60,
        "extra": extra,
    })
}

/// An x402 v1 `exact` offer of `amount` atomic units of `asset` on `network` for `resource`.
fn offer_v1(network: &str, asset: &str, amount: u64, resource: &str, extra: Value) -> Value {
    json!({
        "scheme": "exact",
        "network": network,
        "maxAmountRequired": amount.to_string(),
        "asset": asset,
        "payTo": PAY_TO,
        "resource": resource,
        "description": "premium",
        "mimeType": "application/json",
        "outputSchema": null,
        "maxTimeoutSeconds": 60,
        "extra": extra,
    })
}

/// An x402 v2 PaymentRequired for `resource` listing `accepts`.
fn payment_required_v2(resource: &str, accepts: Value) -> Value {
    json!({
        "x402Version": 2,
        "error": "PAYMENT-SIGNATURE header is required",
        "resource": {
            "url": resource,
            "description": "premium",
            "mimeType": "application/json",
        },
        "accepts": accepts,
    })
}

/// An x402 v1 402 body listing `accepts`.
fn payment_required_v1(accepts: Value) -> Value {
    json!({
        "x402Version": 1,
        "error": "X-PAYMENT header is required",
        "accepts": accepts,
    })
}

/// The one good offer: 10000 units of USDC on Base Sepolia, as in the spec example.
fn sepolia_offer_v2() -> Value {
    offer_v2(BASE_SEPOLIA, SEPOLIA_USDC, 10_000, sepolia_usdc_domain())
}

/// The good x402 v2 PaymentRequired for the paid route of the server at `base`.
fn valid_required(base: &str) -> Value {
    payment_required_v2(&format!("{base}/premium"), json!([sepolia_offer_v2()]))
}

/// The head of a valid x402 v2 402 for the server at `base`, before its body headers.
fn valid_head(base: &str) -> Head {
    Head::challenge(&valid_required(base))
}

/// A valid x402 v2 402: the challenge in PAYMENT-REQUIRED and `{}` as the body.
fn valid_402(base: &str) -> Vec<u8> {
    valid_head(base).json_body(b"{}")
}

/// The good x402 v1 402 body for the server at `base`, as bytes.
fn valid_v1_body(base: &str) -> Vec<u8> {
    let resource = format!("{base}/premium");
    let offer = offer_v1(
        "base-sepolia",
        SEPOLIA_USDC,
        10_000,
        &resource,
        sepolia_usdc_domain(),
    );
    payment_required_v1(json!([offer])).to_string().into_bytes()
}

/// The bytes each request gets (for the streaming behaviours, the head before the body).
fn canned_bytes(behaviour: Behaviour, base: &str) -> Vec<u8> {
    match behaviour {
        Behaviour::HangAfterAccept | Behaviour::Reset | Behaviour::RedirectLoop => Vec::new(),
        Behaviour::HangAfterHeaders => valid_head(base).json_body_announced(100, b""),
        Behaviour::SlowDrip => valid_head(base).json_body_announced(DRIP_LENGTH, b""),
        Behaviour::Body1GiB => valid_head(base).json_body_announced(GIB, b""),
        Behaviour::EndlessChunked => endless_chunked_head(base),
        Behaviour::Garbage => garbage(4096),
        Behaviour::Http09 => valid_required(base).to_string().into_bytes(),
        Behaviour::EarlyClose => early_close(),
        Behaviour::TlsOnPlain => tls_server_hello(),
        Behaviour::HugeHeader1MiB => huge_header(base, MIB),
        Behaviour::HugeHeader8MiB => huge_header(base, 8 * MIB),
        Behaviour::TenThousandHeaders => ten_thousand_headers(base),
        Behaviour::BadUtf8 => bad_utf8(base),
        Behaviour::ContentLengthTooLarge => {
            valid_head(base).json_body_announced(1000, &valid_v1_body(base)[..10])
        }
        Behaviour::ContentLengthTooSmall => {
            valid_head(base).json_body_announced(10, &valid_v1_body(base))
        }
        Behaviour::RedirectOffsite => redirect_to(&format!("http://{OFFSITE_HOST}/")),
        Behaviour::JsonBomb => json_bomb(),
        Behaviour::TenThousandOffers => ten_thousand_offers(base),
        Behaviour::MainnetOnly => mainnet_only(base),
        Behaviour::Ok200Everything => Head::new("200 OK").json_body(br#"{"ok":true}"#),
        Behaviour::Always402 | Behaviour::ExitMidRun(_) => valid_402(base),
    }
}

/// A 402 head with a valid challenge and a chunked body to follow.
fn endless_chunked_head(base: &str) -> Vec<u8> {
    valid_head(base)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .end()
}

/// `count` pseudo-random bytes (xorshift, fixed seed), each with its high bit set, so
/// none is ASCII and nothing in them looks like HTTP.
fn garbage(count: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    iter::repeat_with(|| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state as u8) | 0x80
    })
    .take(count)
    .collect()
}

/// The first half of a 402 status line.
fn early_close() -> Vec<u8> {
    let line = b"HTTP/1.1 402 Payment Required\r\n";
    line[..line.len() / 2].to_vec()
}

/// A TLS 1.2 record holding a ServerHello: what a TLS server says first.
fn tls_server_hello() -> Vec<u8> {
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x03,
    ];
    hello.extend((0u8..32).map(|i| i.wrapping_mul(37)));
    hello.push(0x20);
    hello.extend((0u8..32).map(|i| i.wrapping_mul(91)));
    hello.extend_from_slice(&[0x13, 0x01, 0x00]);
    hello
}

/// A valid 402 with one extra header of `size` bytes.
fn huge_header(base: &str, size: usize) -> Vec<u8> {
    valid_head(base)
        .header("X-Huge", vec![b'a'; size])
        .json_body(b"{}")
}

/// A valid 402 with ten thousand extra headers.
fn ten_thousand_headers(base: &str) -> Vec<u8> {
    (0..TEN_THOUSAND)
        .fold(valid_head(base), |head, i| {
            head.header(&format!("X-Filler-{i}"), i.to_string())
        })
        .json_body(b"{}")
}

/// A valid 402 with invalid UTF-8 in a header value and inside a string of its v1 body.
fn bad_utf8(base: &str) -> Vec<u8> {
    let body = valid_v1_body(base);
    let text = String::from_utf8(body).expect("the body is built as UTF-8");
    let (before, after) = text
        .split_once("X-PAYMENT header")
        .expect("the body has its error message");
    let mut body = before.as_bytes().to_vec();
    body.extend_from_slice(b"X-PAYMENT \xff\xfe\xc3\x28 header");
    body.extend_from_slice(after.as_bytes());
    valid_head(base)
        .header("X-Note", b"caf\xe9 \xff\xfe \xc3\x28")
        .json_body(&body)
}

/// A 302 to `location`, with an empty body.
fn redirect_to(location: &str) -> Vec<u8> {
    Head::new("302 Found")
        .header("Location", location)
        .header("Content-Length", "0")
        .end()
}

/// `depth` nested arrays: `[[[…]]]`.
fn nested_arrays(depth: usize) -> String {
    let mut nested = "[".repeat(depth);
    nested.push_str(&"]".repeat(depth));
    nested
}

/// A 402 whose v1 body nests `accepts` [`BOMB_DEPTH`] arrays deep, and whose
/// PAYMENT-REQUIRED nests it [`HEADER_BOMB_DEPTH`] deep.
fn json_bomb() -> Vec<u8> {
    let body = format!(
        r#"{{"x402Version":1,"error":"X-PAYMENT header is required","accepts":{}}}"#,
        nested_arrays(BOMB_DEPTH)
    );
    let header = format!(
        r#"{{"x402Version":2,"error":"PAYMENT-SIGNATURE header is required","accepts":{}}}"#,
        nested_arrays(HEADER_BOMB_DEPTH)
    );
    Head::new("402 Payment Required")
        .header("PAYMENT-REQUIRED", STANDARD.encode(header))
        .json_body(body.as_bytes())
}

/// A valid 402 listing ten thousand Base Sepolia offers, each of a different amount, in
/// PAYMENT-REQUIRED and in the v1 body.
fn ten_thousand_offers(base: &str) -> Vec<u8> {
    let resource = format!("{base}/premium");
    let amounts = (0..TEN_THOUSAND as u64).map(|i| 10_000 + i);
    let v2: Vec<Value> = amounts
        .clone()
        .map(|amount| offer_v2(BASE_SEPOLIA, SEPOLIA_USDC, amount, sepolia_usdc_domain()))
        .collect();
    let v1: Vec<Value> = amounts
        .map(|amount| {
            offer_v1(
                "base-sepolia",
                SEPOLIA_USDC,
                amount,
                &resource,
                sepolia_usdc_domain(),
            )
        })
        .collect();
    Head::challenge(&payment_required_v2(&resource, Value::from(v2)))
        .json_body(payment_required_v1(Value::from(v1)).to_string().as_bytes())
}

/// A valid 402 whose only offer is mainnet USDC on Base, in PAYMENT-REQUIRED and in the
/// v1 body.
fn mainnet_only(base: &str) -> Vec<u8> {
    let resource = format!("{base}/premium");
    let v2 = offer_v2(BASE_MAINNET, MAINNET_USDC, 10_000, mainnet_usdc_domain());
    let v1 = offer_v1(
        "base",
        MAINNET_USDC,
        10_000,
        &resource,
        mainnet_usdc_domain(),
    );
    Head::challenge(&payment_required_v2(&resource, json!([v2])))
        .json_body(payment_required_v1(json!([v1])).to_string().as_bytes())
}

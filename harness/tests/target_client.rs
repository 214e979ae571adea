//! The client checks use: an idempotent request that meets a kept-alive connection the
//! server is closing is sent again on a new one; a server that really drops connections
//! is still seen to drop them; an answer is whole or an error with its cause, and bodies
//! are read within bounds.

use paycheck::protocol::{Dialect, Mode};
use paycheck::target::{BodyLimits, RouteSpec, Target};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Reads one request's head (enough for a GET without a body).
async fn read_head(socket: &mut tokio::net::TcpStream) {
    let mut buf = vec![0u8; 4096];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

fn route() -> RouteSpec {
    "GET /premium".parse().unwrap()
}

#[tokio::test]
async fn a_server_that_drops_every_connection_is_still_seen_to_drop_them() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_head(&mut socket).await;
            drop(socket);
        }
    });
    let target = Target::new(&url, Dialect::X402V2, Duration::from_secs(5));
    let ex = target.send(&route(), None, &[]).await;
    assert_eq!(ex.status, 0);
    assert!(ex.error.is_some() && ex.retried, "{ex:?}");
}

#[tokio::test]
async fn a_connection_closed_after_an_answer_does_not_fail_the_next_request() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // The first connection: a 500 that looks kept-alive, then the server closes it,
        // as uvicorn does after an error. Later connections: 200.
        let mut first = true;
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            read_head(&mut socket).await;
            let (status, body) = if first {
                ("500 Internal Server Error", "{}")
            } else {
                ("200 OK", "{\"ok\":1}")
            };
            first = false;
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            drop(socket);
        }
    });
    let target = Target::new(&url, Dialect::X402V2, Duration::from_secs(5));
    assert_eq!(target.send(&route(), None, &[]).await.status, 500);
    let second = target.send(&route(), None, &[]).await;
    assert_eq!(second.status, 200, "{second:?}");
}

#[tokio::test]
async fn a_post_is_never_sent_twice() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            read_head(&mut socket).await;
            drop(socket);
        }
    });
    let target = Target::new(&url, Dialect::X402V2, Duration::from_secs(5));
    let post: RouteSpec = "POST /compute {}".parse().unwrap();
    let ex = target.send(&post, None, &[]).await;
    assert!(ex.error.is_some() && !ex.retried, "{ex:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// What a one-answer server does after writing its bytes.
#[derive(Clone, Copy)]
enum Then {
    /// Closes the connection.
    Close,
    /// Keeps it open, sending nothing more.
    Stall,
    /// Sends chunks of a chunked body forever.
    EndlessChunks,
    /// Resets the connection (SO_LINGER 0) without answering.
    Reset,
}

/// A server that answers every request with `head_and_body`, then does `then`.
async fn serve(head_and_body: Vec<u8>, then: Then) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let bytes = head_and_body.clone();
            tokio::spawn(async move {
                read_head(&mut socket).await;
                if let Then::Reset = then {
                    let _ = socket.set_zero_linger();
                    return;
                }
                if socket.write_all(&bytes).await.is_err() {
                    return;
                }
                match then {
                    Then::Close | Then::Reset => {}
                    Then::Stall => std::future::pending::<()>().await,
                    Then::EndlessChunks => {
                        let chunk = format!("{:x}\r\n{}\r\n", 65536, "a".repeat(65536));
                        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                    }
                }
            });
        }
    });
    url
}

fn answer(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\n{headers}\r\n{body}").into_bytes()
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_broken_answer() {
    let url = serve(
        answer(
            "402 Payment Required",
            "content-length: 1000\r\n",
            "0123456789",
        ),
        Then::Close,
    )
    .await;
    let ex = Target::new(&url, Dialect::X402V2, Duration::from_secs(5))
        .send(&route(), None, &[])
        .await;
    assert!(!ex.answered() && ex.status == 0, "{ex:?}");
    assert_eq!(ex.head_status, Some(402));
    let error = ex.error.as_deref().unwrap();
    assert!(error.contains("10 of 1000 body bytes"), "{error}");
    assert!(
        ex.describe().starts_with("a broken answer (HTTP 402"),
        "{}",
        ex.describe()
    );
}

#[tokio::test]
async fn json_cut_by_a_short_content_length_is_a_broken_answer() {
    let url = serve(
        answer(
            "402 Payment Required",
            "content-type: application/json\r\ncontent-length: 10\r\n",
            r#"{"x402Version":1,"accepts":[]}"#,
        ),
        Then::Close,
    )
    .await;
    let ex = Target::new(&url, Dialect::X402V1, Duration::from_secs(5))
        .send(&route(), None, &[])
        .await;
    let error = ex.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("not the JSON its Content-Type declares"),
        "{ex:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_times_out_and_says_how_far_it_got() {
    let url = serve(
        answer("402 Payment Required", "content-length: 100\r\n", "abc"),
        Then::Stall,
    )
    .await;
    let ex = Target::new(&url, Dialect::X402V2, Duration::from_millis(300))
        .send(&route(), None, &[])
        .await;
    assert!(ex.timed_out && !ex.retried, "{ex:?}");
    let error = ex.error.as_deref().unwrap();
    assert!(error.contains("stalled after 3 bytes"), "{error}");
}

#[tokio::test]
async fn an_endless_body_is_read_to_the_cap_and_kept_to_the_limit() {
    let url = serve(
        answer("402 Payment Required", "transfer-encoding: chunked\r\n", ""),
        Then::EndlessChunks,
    )
    .await;
    let mut target = Target::new(&url, Dialect::X402V2, Duration::from_secs(30));
    target.limits = BodyLimits::keeping(4096);
    let ex = target.send(&route(), None, &[]).await;
    let error = ex.error.as_deref().unwrap_or_default();
    assert!(error.contains("read cap"), "{ex:?}");
    assert_eq!(ex.body.len(), 4096);
    assert!(ex.body_bytes > target.limits.cap);
}

#[tokio::test]
async fn a_reset_keeps_its_cause() {
    let url = serve(Vec::new(), Then::Reset).await;
    let ex = Target::new(&url, Dialect::X402V2, Duration::from_secs(5))
        .send(&route(), None, &[])
        .await;
    let error = ex.error.as_deref().unwrap();
    // reqwest says only "error sending request for url (…)"; the causes say what happened.
    assert!(error.contains(": "), "{error}");
    assert!(
        ["reset", "closed", "connection"]
            .iter()
            .any(|w| error.to_lowercase().contains(w)),
        "{error}"
    );
}

#[tokio::test]
async fn a_v1_challenge_over_4_kib_decodes_from_the_whole_body() {
    let body = serde_json::json!({
        "x402Version": 1,
        "error": "payment required",
        "accepts": [{
            "scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "10000",
            "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "resource": "http://127.0.0.1/premium", "description": "d".repeat(10_000),
            "mimeType": "application/json", "maxTimeoutSeconds": 60,
            "extra": {"name": "USDC", "version": "2"}
        }]
    })
    .to_string();
    let url = serve(
        answer(
            "402 Payment Required",
            &format!(
                "content-type: application/json\r\ncontent-length: {}\r\n",
                body.len()
            ),
            &body,
        ),
        Then::Close,
    )
    .await;
    let target = Target::new(&url, Dialect::X402V1, Duration::from_secs(5));
    let ex = target.send(&route(), None, &[]).await;
    assert!(ex.answered() && body.len() > 10_000, "{ex:?}");
    assert!(target.read_challenge(&ex, Mode::Strict).is_ok());
    // Reports show a display copy only.
    let shown = serde_json::to_value(ex.evidence()).unwrap();
    assert!(shown["body"].as_str().unwrap().len() < 5000);
}

//! The client checks use: an idempotent request that meets a kept-alive connection the
//! server is closing is sent again on a new one; a server that really drops connections
//! is still seen to drop them.

use paycheck::protocol::Dialect;
use paycheck::target::{RouteSpec, Target};
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

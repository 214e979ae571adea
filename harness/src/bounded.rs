//! Reading a response body within a bound, for paycheck's own clients of the facilitator
//! and the Lightning backend (the conformance client keeps its own, counting reader in
//! `target::exchange`): an answer past the bound is refused, never buffered whole.

/// Why a bounded body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The transport failed.
    Transport(reqwest::Error),
    /// The body is longer than the bound.
    TooLarge(usize),
}

/// What paycheck's own clients read of an answer at most: their answers are small JSON.
pub const ANSWER_LIMIT: usize = 1024 * 1024;

/// Reads `response`'s body, chunk by chunk, up to `limit` bytes.
pub async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

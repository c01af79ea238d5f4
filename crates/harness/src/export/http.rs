//! The one small blocking HTTP client the exporters share (ureq, plain HTTP, no TLS
//! provider compiled in: the endpoints we push to are local collectors and gateways).

use std::time::Duration;

/// A response: status and body (bodies are small: error texts, OTLP responses).
pub(crate) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as one line of text, cut to a line's worth for a warning (gateways answer
    /// with several lines, one per refused sample).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub fn body_text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        match text.char_indices().nth(200) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None => text.to_string(),
        }
    }
}

/// A client whose every request is bounded by `timeout` (connect, send, receive).
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Sends `body` with `method` (`PUT` or `POST`); any status is a reply, only transport
/// failures are errors.
pub(crate) fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Reply, String> {
    let mut request = match method {
        "PUT" => agent.put(url),
        _ => agent.post(url),
    };
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    for (k, v) in headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let mut response = request.send(body).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(4 << 20)
        .read_to_vec()
        .map_err(|e| format!("reading the response: {e}"))?;
    Ok(Reply { status, body })
}

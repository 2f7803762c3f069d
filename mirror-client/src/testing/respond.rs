//! Answering one request: the token and ping endpoints, authentication, finding the blob,
//! then the behaviour's quirk.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use super::behaviour::Behaviour;
use super::http::{Request, head, write_reply};
use super::ranges::{Prepared, is_long_suffix, parse_ranges, prepare};
use super::server::{Content, Shared};

/// Whether the connection may carry another request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    KeepAlive,
    Close,
}

/// The repository used in token scopes when the path does not name one.
const DEFAULT_REPO: &str = "library/test";

/// Answers `request` on `out`. Write errors close the connection.
pub(super) fn respond(shared: &Shared, out: &mut impl Write, request: &Request) -> Outcome {
    match answer(shared, out, request) {
        Ok(Outcome::KeepAlive) if !request.close => Outcome::KeepAlive,
        _ => Outcome::Close,
    }
}

/// Where a request goes.
enum Route<'a> {
    Token,
    Ping,
    /// `GET /v2/` on a registry.
    ApiCheck,
    /// A blob (`blob` on a single-blob server, else the digest).
    Blob(&'a str),
    NotFound,
}

fn route<'a>(content: &Content, path: &'a str) -> Route<'a> {
    match path {
        "/token" => return Route::Token,
        "/ping" => return Route::Ping,
        _ => {}
    }
    match content {
        // A single-blob server serves its blob at every other path.
        Content::One(_) => Route::Blob("blob"),
        Content::Registry(_) => {
            if path == "/v2/" || path == "/v2" {
                Route::ApiCheck
            } else if let Some(digest) = path.strip_prefix("/storage/") {
                Route::Blob(digest)
            } else if let Some((_, digest)) = blob_path(path) {
                Route::Blob(digest)
            } else {
                Route::NotFound
            }
        }
    }
}

/// `/v2/<repo>/blobs/<digest>` into (repo, digest).
fn blob_path(path: &str) -> Option<(&str, &str)> {
    let (repo, digest) = path.strip_prefix("/v2/")?.rsplit_once("/blobs/")?;
    let ok = !repo.is_empty() && !digest.is_empty() && !digest.contains('/');
    ok.then_some((repo, digest))
}

fn answer(shared: &Shared, out: &mut impl Write, request: &Request) -> io::Result<Outcome> {
    let (name, behaviour) = match route(&shared.content, &request.path) {
        Route::Token => return token(shared, out, request),
        Route::Ping => return reply(out, request, 200, &[], b""),
        Route::NotFound => return reply(out, request, 404, &[], b""),
        Route::ApiCheck => {
            if let Some(outcome) = challenge(shared, out, request)? {
                return Ok(outcome);
            }
            let version = [("Docker-Distribution-API-Version", "registry/2.0")];
            return reply(out, request, 200, &version, b"{}");
        }
        Route::Blob(name) => {
            let behaviour = shared.next_behaviour();
            // The object store behind a redirect trusts its signed URL, not credentials.
            if behaviour != Behaviour::Storage
                && let Some(outcome) = challenge(shared, out, request)?
            {
                return Ok(outcome);
            }
            (name, behaviour)
        }
    };
    let Some(blob) = shared.content.blob(name) else {
        return reply(out, request, 404, &[], b"");
    };
    let ranges = request
        .header("range")
        .map(|v| parse_ranges(v, blob.len()))
        .unwrap_or_default();
    match behaviour {
        Behaviour::Status(code) => reply(out, request, code, &[], b""),
        Behaviour::TooMany(secs) => reply(
            out,
            request,
            429,
            &[("Retry-After", &secs.to_string())],
            b"",
        ),
        Behaviour::IgnoreRange => reply(out, request, 200, &[], &blob),
        Behaviour::Corrupt => {
            let inverted: Vec<u8> = blob.iter().map(|b| b ^ 0xff).collect();
            send(out, request, &prepare(&inverted, &ranges, false))
        }
        Behaviour::Redirect {
            status,
            target,
            ttl,
        } => {
            let exp = now_ms().saturating_add(ttl.as_millis());
            let location = format!("{target}/storage/{name}?exp={exp}&X-Amz-Signature=quirk");
            reply(out, request, status, &[("Location", &location)], b"")
        }
        Behaviour::Storage => {
            let exp: u128 = request
                .query
                .as_deref()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("exp=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if now_ms() > exp {
                return reply(out, request, 403, &[], b"expired");
            }
            send(out, request, &prepare(&blob, &ranges, false))
        }
        Behaviour::RefuseMulti(code) if ranges.len() > 1 => reply(out, request, code, &[], b""),
        Behaviour::FirstRangeOnly if ranges.len() > 1 => {
            // In bounds: there are at least two ranges.
            send(out, request, &prepare(&blob, &ranges[..1], false))
        }
        Behaviour::StarTotal => send(out, request, &prepare(&blob, &ranges, true)),
        Behaviour::RefuseLongSuffix
            if request
                .header("range")
                .is_some_and(|v| is_long_suffix(v, blob.len())) =>
        {
            let total = format!("bytes */{}", blob.len());
            reply(out, request, 416, &[("Content-Range", &total)], b"")
        }
        Behaviour::Delay(d) => {
            if shared.stop.sleep(d) {
                return Ok(Outcome::Close);
            }
            send(out, request, &prepare(&blob, &ranges, false))
        }
        Behaviour::Truncate(n) => {
            send_partial(out, request, &prepare(&blob, &ranges, false), n)?;
            Ok(Outcome::Close)
        }
        Behaviour::Stall(n, d) => {
            send_partial(out, request, &prepare(&blob, &ranges, false), n)?;
            shared.stop.sleep(d);
            Ok(Outcome::Close)
        }
        _ => send(out, request, &prepare(&blob, &ranges, false)),
    }
}

/// The token endpoint: `{"token": ..., "expires_in": ...}`, counted.
fn token(shared: &Shared, out: &mut impl Write, request: &Request) -> io::Result<Outcome> {
    let (token, expires_in) = shared.token_fetched();
    // Widen the window in which concurrent callers would fetch a token too.
    if shared.stop.sleep(std::time::Duration::from_millis(50)) {
        return Ok(Outcome::Close);
    }
    let body = serde_json::json!({ "token": token, "expires_in": expires_in }).to_string();
    let json = [("Content-Type", "application/json")];
    reply(out, request, 200, &json, body.as_bytes())
}

/// Sends a 401 challenge if the request lacks the required credentials.
fn challenge(
    shared: &Shared,
    out: &mut impl Write,
    request: &Request,
) -> io::Result<Option<Outcome>> {
    let (token, basic) = shared.credentials();
    let authorization = request.header("authorization");
    if let Some(token) = token
        && authorization != Some(&format!("Bearer {token}"))
    {
        let repo = blob_path(&request.path).map_or(DEFAULT_REPO, |(repo, _)| repo);
        let value = format!(
            r#"Bearer realm="{}/token",service="quirk",scope="repository:{repo}:pull""#,
            shared.base
        );
        return reply(out, request, 401, &[("WWW-Authenticate", &value)], b"").map(Some);
    }
    if let Some(basic) = basic
        && authorization != Some(&format!("Basic {basic}"))
    {
        let value = r#"Basic realm="quirk""#;
        return reply(out, request, 401, &[("WWW-Authenticate", value)], b"").map(Some);
    }
    Ok(None)
}

fn reply(
    out: &mut impl Write,
    request: &Request,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Outcome> {
    write_reply(out, request, status, headers, body).map(|()| Outcome::KeepAlive)
}

fn send(out: &mut impl Write, request: &Request, p: &Prepared) -> io::Result<Outcome> {
    reply(out, request, p.status, &p.header_pairs(), &p.body)
}

/// The head of `p` with its full `Content-Length`, then only `n` body bytes.
fn send_partial(out: &mut impl Write, request: &Request, p: &Prepared, n: usize) -> io::Result<()> {
    let h = head(p.status, &p.header_pairs(), p.body.len(), true);
    out.write_all(h.as_bytes())?;
    if !request.is_head() {
        out.write_all(p.body.get(..n).unwrap_or(&p.body))?;
    }
    out.flush()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

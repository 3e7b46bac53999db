//! Klaviyo's wire conventions shared by the simulator's handlers: JSON:API responses, the
//! error document, profile ids, opaque page cursors and `links`.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// The JSON:API media type.
pub(crate) const JSON_API: &str = "application/vnd.api+json";

/// A JSON:API response with `status`.
pub(crate) fn document(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    resp
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fresh UUID-shaped error id, as Klaviyo puts in every error object.
fn error_id() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    let a = mix(N.fetch_add(1, Ordering::Relaxed));
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// Where an error points: a query parameter or a body member.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// `source.parameter`.
    Parameter(&'a str),
    /// `source.pointer` (a JSON pointer into the request body).
    Pointer(&'a str),
}

/// One Klaviyo error, rendered as its error document by [`IntoResponse`]. Handlers return it
/// as their `Err` and render once.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    /// `("parameter" | "pointer", value)`.
    source: Option<(&'static str, String)>,
    /// `Retry-After` seconds, for 429.
    retry_after: Option<u64>,
}

impl ApiError {
    /// Adds `Retry-After`.
    pub(crate) fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let source = match self.source {
            Some((kind, value)) => json!({ kind: value }),
            None => json!({"pointer": "/data/"}),
        };
        let mut resp = document(
            self.status,
            &json!({"errors": [{
                "id": error_id(),
                "status": self.status.as_u16(),
                "code": self.code,
                "title": self.title,
                "detail": self.detail,
                "source": source,
            }]}),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Klaviyo's error document with one error.
pub(crate) fn error(
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: &str,
    source: Option<Source<'_>>,
) -> ApiError {
    ApiError {
        status,
        code,
        title,
        detail: detail.to_owned(),
        source: source.map(|s| match s {
            Source::Parameter(p) => ("parameter", p.to_owned()),
            Source::Pointer(p) => ("pointer", p.to_owned()),
        }),
        retry_after: None,
    }
}

/// `400 invalid` for a bad input, as Klaviyo answers malformed parameters and bodies.
pub(crate) fn invalid(detail: &str, source: Source<'_>) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        "Invalid input.",
        detail,
        Some(source),
    )
}

/// The simulator's `VendorErrors`: Klaviyo's error document for any status (used for
/// injected faults too).
pub fn vendor_error(status: StatusCode, message: &str) -> Response {
    let (code, title) = match status.as_u16() {
        400 => ("invalid", "Invalid input."),
        401 => (
            "not_authenticated",
            "Authentication credentials were not provided.",
        ),
        403 => (
            "permission_denied",
            "You do not have permission to perform this action.",
        ),
        404 => ("not_found", "Not found."),
        405 => ("method_not_allowed", "Method not allowed."),
        415 => ("unsupported_media_type", "Unsupported media type."),
        429 => ("throttled", "Request was throttled."),
        503 => ("service_unavailable", "Service unavailable."),
        _ => ("error", "A server error occurred."),
    };
    error(status, code, title, message, None).into_response()
}

// ----- ids -------------------------------------------------------------------------------

/// Crockford base 32, the alphabet of Klaviyo's (ULID-shaped) ids.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// The fixed head of simulated profile ids; the tail encodes the world index, so ids sort
/// like indexes.
const PROFILE_ID_HEAD: &str = "01J9SAMQ7XK3N8TW";

/// The 10-character Crockford encoding of `n` (50 bits).
fn base32(n: u64) -> String {
    (0..10)
        .rev()
        .map(|k| CROCKFORD[((n >> (5 * k)) & 31) as usize] as char)
        .collect()
}

fn unbase32(s: &str) -> Option<u64> {
    if s.len() != 10 {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        let d = CROCKFORD
            .iter()
            .position(|&c| c == b.to_ascii_uppercase())?;
        Some((acc << 5) | d as u64)
    })
}

/// The Klaviyo profile id of world customer `i`.
pub(crate) fn profile_id(i: u32) -> String {
    format!("{PROFILE_ID_HEAD}{}", base32(u64::from(i)))
}

/// The world index a profile id names, if it is one of ours.
pub(crate) fn profile_index(id: &str) -> Option<u32> {
    u32::try_from(unbase32(id.strip_prefix(PROFILE_ID_HEAD)?)?).ok()
}

/// An id for a profile the world does not hold (created by an event), stable per identifier.
pub(crate) fn new_profile_id(identifier: &str) -> String {
    let h = identifier.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("01J9SAMNEW{}{}", base32(mix(h) >> 14), &base32(h)[..6])
}

/// A six-character metric id (Klaviyo's metric ids look like `UMTLbD`), stable per name.
pub(crate) fn metric_id(name: &str) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut h = name.bytes().fold(0x811c_9dc5u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (0..6)
        .map(|_| {
            h = mix(h);
            ALNUM[(h % ALNUM.len() as u64) as usize] as char
        })
        .collect()
}

/// A UUID-shaped id for an event, unique per simulator run.
pub(crate) fn event_uuid() -> String {
    error_id()
}

// ----- cursors and links -------------------------------------------------------------------

/// An opaque cursor for position `pos` of listing mode `mode` (a letter).
pub(crate) fn cursor(mode: char, pos: u64) -> String {
    let raw = format!("{mode}::{pos}");
    raw.bytes().map(|b| format!("{:02x}", b ^ 0x5a)).collect()
}

/// Reads a cursor made by [`cursor`] for `mode`.
pub(crate) fn read_cursor(mode: char, cursor: &str) -> Option<u64> {
    if cursor.len() % 2 != 0 || !cursor.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&cursor[i..i + 2], 16)
                .ok()
                .map(|b| b ^ 0x5a)
        })
        .collect();
    let raw = String::from_utf8(bytes?).ok()?;
    let (m, pos) = raw.split_once("::")?;
    (m.len() == 1 && m.starts_with(mode))
        .then(|| pos.parse().ok())
        .flatten()
}

/// `http://<Host>` of the request, for absolute links like Klaviyo's.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `origin` + `path` + the query `params`, with `page[cursor]` replaced by `cursor`.
pub(crate) fn link(
    origin: &str,
    path: &str,
    params: &[(String, String)],
    cursor: Option<&str>,
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(k, _)| k != "page[cursor]") {
        q.append_pair(k, v);
    }
    if let Some(c) = cursor {
        q.append_pair("page[cursor]", c);
    }
    let q = q.finish();
    if q.is_empty() {
        format!("{origin}{path}")
    } else {
        format!("{origin}{path}?{q}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_ids_round_trip_and_look_like_klaviyos() {
        for i in [0, 1, 42, 9_999, 99_999_999] {
            let id = profile_id(i);
            assert_eq!(id.len(), 26, "{id}");
            assert_eq!(profile_index(&id), Some(i));
        }
        assert_eq!(profile_index("01GDDKASAP8TKDDA2GRZDSVP4H"), None);
        assert!(profile_id(1) < profile_id(2));
    }

    #[test]
    fn cursors_round_trip_per_mode() {
        let c = cursor('i', 1234);
        assert_eq!(read_cursor('i', &c), Some(1234));
        assert_eq!(read_cursor('u', &c), None);
        assert_eq!(read_cursor('i', "zz"), None);
        assert_eq!(read_cursor('i', "é1"), None);
    }

    #[test]
    fn metric_ids_are_stable() {
        assert_eq!(metric_id("Placed Order"), metric_id("Placed Order"));
        assert_ne!(metric_id("Placed Order"), metric_id("Viewed Product"));
        assert_eq!(metric_id("x").len(), 6);
    }
}

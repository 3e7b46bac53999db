//! Voyado's wire conventions shared by the simulator's handlers: JSON responses, the error
//! body, GUIDs for contacts and vouchers (derived from world indexes, so no table is kept),
//! and timestamps with an offset.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A GUID whose last group carries `payload` (48 bits) and whose other groups are a hash of
/// it, so ids look random but decode without a lookup table.
fn guid(salt: u64, payload: u64) -> String {
    let h = mix(payload ^ salt);
    let g = mix(h);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        0x8000 | (g & 0x3fff),
        (payload ^ salt) & 0xffff_ffff_ffff
    )
}

fn unguid(salt: u64, id: &str) -> Option<u64> {
    let id = id.trim().to_ascii_lowercase();
    let last = id.rsplit('-').next()?;
    if last.len() != 12 {
        return None;
    }
    let payload = (u64::from_str_radix(last, 16).ok()? ^ salt) & 0xffff_ffff_ffff;
    (guid(salt, payload) == id).then_some(payload)
}

const CONTACT_SALT: u64 = 0x5a3c_9e11_d2b4;
const VOUCHER_SALT: u64 = 0x0b7f_41c8_66e3;

/// The contact id of world customer `i`.
pub(crate) fn contact_id(i: u32) -> String {
    guid(CONTACT_SALT, u64::from(i))
}

/// The world index a contact id names, if it is one of ours.
pub(crate) fn contact_index(id: &str) -> Option<u32> {
    u32::try_from(unguid(CONTACT_SALT, id)?).ok()
}

/// The id of voucher `n` (0..16) of world customer `i`.
pub(crate) fn voucher_id(i: u32, n: u8) -> String {
    guid(VOUCHER_SALT, u64::from(i) << 4 | u64::from(n & 0xf))
}

/// The customer index and voucher number a voucher id names.
pub(crate) fn voucher_index(id: &str) -> Option<(u32, u8)> {
    let p = unguid(VOUCHER_SALT, id)?;
    Some((u32::try_from(p >> 4).ok()?, (p & 0xf) as u8))
}

/// Whether `s` is a GUID in its 8-4-4-4-12 form.
pub(crate) fn is_guid(s: &str) -> bool {
    crate::client::is_guid(s.trim())
}

/// A fresh GUID for an error's `correlationId`.
fn correlation_id() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    guid(0x77, N.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff_ffff)
}

/// A timestamp as Voyado writes them: ISO 8601 with the tenant's offset (CET, `+01:00`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    let cet = FixedOffset::east_opt(3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    t.with_timezone(&cet)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// One Voyado error, rendered as its error body by [`IntoResponse`]: `statusCode`,
/// `errorCode` (when Voyado documents one for the case), `message` and a `correlationId`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: Option<&'static str>,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a documented error code.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: Some(code),
            message: message.into(),
            retry_after: None,
        }
    }

    /// An error without an error code (e.g. the generic 500).
    pub(crate) fn bare(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After`.
    pub(crate) fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    /// 404 `ContactNotFound`.
    pub(crate) fn contact_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ContactNotFound",
            "No contact matches the given identifier.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "statusCode": self.status.as_u16(),
            "message": self.message,
            "correlationId": correlation_id(),
        });
        if let Some(code) = self.code {
            body["errorCode"] = json!(code);
        }
        let mut resp = json_response(self.status, &body);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The simulator's `VendorErrors`: Voyado's error body for any status (used for injected
/// faults too).
pub fn vendor_error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        400 => "InvalidRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "InternalServerError",
    };
    ApiError::new(status, code, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_ids_round_trip_and_look_like_guids() {
        for i in [0, 1, 42, 9_999, 99_999_999] {
            let id = contact_id(i);
            assert!(is_guid(&id), "{id}");
            assert_eq!(contact_index(&id), Some(i));
            assert_eq!(contact_index(&id.to_uppercase()), Some(i));
        }
        assert_ne!(contact_id(1), contact_id(2));
        assert_eq!(contact_index("2e40b702-2767-4abe-ae99-aa510108e22b"), None);
        assert_eq!(contact_index(&voucher_id(1, 0)), None);
    }

    #[test]
    fn voucher_ids_round_trip() {
        assert_eq!(voucher_index(&voucher_id(42, 1)), Some((42, 1)));
        assert_eq!(voucher_index(&contact_id(42)), None);
    }

    #[test]
    fn timestamps_carry_the_cet_offset() {
        let t = DateTime::parse_from_rfc3339("2024-03-01T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(ts(t), "2024-03-01T11:00:00+01:00");
    }
}

//! Marketing Cloud's wire conventions shared by the simulator's handlers: the REST error body
//! `{"message", "errorcode", "documentation"}` with the documented custom codes, the OAuth
//! error body of the token endpoint, and UUID-shaped ids.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where Marketing Cloud's error bodies point.
pub(crate) const DOCUMENTATION: &str =
    "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm";

/// Documented custom error codes (REST API "Handle Errors" table, rate-limiting page).
pub(crate) mod code {
    /// 401 Not Authorized: the token is missing, invalid or expired.
    pub const NOT_AUTHORIZED: i64 = 0;
    /// 400 Generic Exception.
    pub const GENERIC: i64 = 10000;
    /// 400 Invalid Data Type.
    pub const INVALID_DATA_TYPE: i64 = 10001;
    /// 400 Missing Required Field.
    pub const MISSING_REQUIRED_FIELD: i64 = 10002;
    /// 400 Invalid Message Format (the body is not JSON).
    pub const INVALID_MESSAGE_FORMAT: i64 = 10004;
    /// 400 Invalid Value.
    pub const INVALID_VALUE: i64 = 10005;
    /// 403 General Exception.
    pub const FORBIDDEN: i64 = 20000;
    /// 429 Rate limit exceeded (with `Retry-After` and `retryAfter`).
    pub const RATE_LIMITED: i64 = 50100;
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// One REST API error, rendered by [`IntoResponse`]; handlers return it as their `Err`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    errorcode: i64,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, Marketing Cloud's `errorcode` and `message`.
    pub(crate) fn new(status: StatusCode, errorcode: i64, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            errorcode,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with `errorcode`.
    pub(crate) fn bad(errorcode: i64, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, errorcode, message)
    }

    /// 401 Not Authorized, as for a missing, unknown or expired token.
    pub(crate) fn not_authorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::NOT_AUTHORIZED,
            "Not Authorized",
        )
    }

    /// 429 `Rate limit exceeded` with `Retry-After` and `retryAfter`.
    pub(crate) fn rate_limited(secs: u64) -> ApiError {
        ApiError {
            retry_after: Some(secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "Rate limit exceeded",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "errorcode": self.errorcode,
            "documentation": DOCUMENTATION,
        });
        if let Some(secs) = self.retry_after {
            body["retryAfter"] = json!(secs);
        }
        let mut resp = json_response(self.status, &body);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The error body for `status` and `message`, for faults the test harness injects.
pub fn vendor_error(status: StatusCode, message: &str) -> Response {
    let errorcode = match status.as_u16() {
        400 => code::GENERIC,
        401 => code::NOT_AUTHORIZED,
        403 => code::FORBIDDEN,
        429 => code::RATE_LIMITED,
        // Marketing Cloud documents no custom codes for server errors.
        _ => 0,
    };
    ApiError::new(status, errorcode, message).into_response()
}

/// The token endpoint's OAuth error body.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "error_uri": "https://developer.salesforce.com/docs",
        }),
    )
}

/// A `201`/`200` JSON answer.
pub(crate) fn ok(status: StatusCode, body: &Value) -> Response {
    json_response(status, body)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A UUID-shaped id derived from `seed`.
pub(crate) fn uuid_from(seed: u64) -> String {
    let a = mix(seed);
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

/// A fresh UUID-shaped id.
pub(crate) fn fresh_uuid() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    uuid_from(N.fetch_add(1, Ordering::Relaxed) ^ 0x00C0_FFEE)
}

//! The operations dashboard: one page for IT, sales, marketing, logistics and product, served
//! from the binary (plain HTML, CSS and a small script), with its data at `/dashboard/data`
//! and the same figures as Prometheus text at `/metrics`. Read-only; nothing of record.

use crate::server::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

const PAGE: &str = include_str!("dashboard/index.html");
const STYLE: &str = include_str!("dashboard/dashboard.css");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/", get(page))
        .route(
            "/dashboard/dashboard.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
        .route(
            "/dashboard/dashboard.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SCRIPT,
                )
            }),
        )
        .route("/dashboard/data", get(data))
        .route("/metrics", get(metrics))
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page loads nothing from elsewhere and runs no inline script.
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'"),
        ],
        PAGE,
    )
}

async fn data(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(state.gateway.telemetry.dashboard(&state.gateway)),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.gateway.telemetry.prometheus(&state.gateway),
    )
}

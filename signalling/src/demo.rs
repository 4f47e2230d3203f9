//! The demo page and the SDK bundle it loads, embedded at build time from
//! `signalling/assets/` (the SDK's `npm run build` writes the bundle there,
//! and the test command checks that it is current).

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;

const PAGE: &str = include_str!("../assets/demo.html");
const SDK: &str = include_str!("../assets/deepinfluence.js");

pub fn routes() -> Router {
    Router::new()
        .route("/demo", get(|| async { Html(PAGE) }))
        .route(
            "/sdk/deepinfluence.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    SDK,
                )
                    .into_response()
            }),
        )
}

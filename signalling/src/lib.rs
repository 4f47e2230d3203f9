//! WebSocket signalling: a client joins a room with a room token, negotiates
//! its media with the SFU through this service, and hears of the room's
//! changes and of its call's status. The protocol is `proto::signal`;
//! docs/signalling.md describes it for client authors.

mod demo;
mod hub;
mod media;
mod metrics;
mod sessions;
mod settings;
mod socket;

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use platform::room_token::RoomTokens;
use platform::{Bus, Clock};
use proto::signal::{CallStatusUpdate, CALL_STATUS_TOPIC};

pub use media::Media;
pub use settings::Settings;

/// The path of the WebSocket endpoint.
pub const PATH: &str = "/v1/signal";

#[derive(Clone)]
pub struct Signalling {
    hub: Arc<hub::Hub>,
}

impl Signalling {
    /// Starts following the media node's room events and the control
    /// plane's call statuses; serve `router()` to let clients in.
    pub async fn start(
        settings: Settings,
        tokens: RoomTokens,
        media: Media,
        bus: Bus,
        clock: Arc<dyn Clock>,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Signalling> {
        let hub = Arc::new(hub::Hub::new(settings, tokens, media, clock, registry));
        let mut events = hub.media().events().await?;
        let h = hub.clone();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                h.on_event(event).await;
            }
            tracing::warn!("room events ended: signalling no longer hears of room changes");
        });
        let mut statuses = bus.subscribe(CALL_STATUS_TOPIC).await?;
        let h = hub.clone();
        tokio::spawn(async move {
            while let Some(payload) = statuses.next().await {
                match serde_json::from_slice::<CallStatusUpdate>(&payload) {
                    Ok(update) => h.on_call_status(update).await,
                    Err(e) => tracing::warn!(error = %e, "unreadable call status dropped"),
                }
            }
        });
        Ok(Signalling { hub })
    }

    /// The WebSocket endpoint at `PATH`, the demo page at `/demo` and the
    /// SDK bundle it loads.
    pub fn router(&self) -> Router {
        Router::new()
            .route(PATH, get(upgrade))
            .with_state(self.hub.clone())
            .merge(demo::routes())
    }

    /// Sessions held, and rooms they are in.
    pub fn counts(&self) -> (usize, usize) {
        self.hub.counts()
    }
}

async fn upgrade(
    State(hub): State<Arc<hub::Hub>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        let problem = proto::Problem::new(
            426,
            "websocket_required",
            "This endpoint speaks WebSocket only; see docs/signalling.md",
        );
        return (
            StatusCode::UPGRADE_REQUIRED,
            [(header::CONTENT_TYPE, proto::problem::CONTENT_TYPE)],
            axum::Json(problem),
        )
            .into_response();
    };
    let max = hub.settings.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| socket::serve(socket, hub))
}

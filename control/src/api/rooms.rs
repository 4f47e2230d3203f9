//! Room tokens for trying calls by hand: an administrator mints one for any
//! participant of any room (the demo page does this). Billed calls get
//! theirs from their booking instead.

use axum::extract::State;
use axum::Json;
use proto::room_token::RoomClaims;
use proto::sfu::{Role, Source};
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Admins, Authorized};
use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::views::timestamp;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintRoomToken {
    /// 1 to 128 characters, no control characters.
    pub room: String,
    /// The participant's name in the room, same rule.
    pub participant: String,
    pub role: Role,
    /// What the participant may publish. Default: camera, microphone and
    /// screen, or nothing for a viewer.
    pub publish: Option<Vec<Source>>,
    /// Default 3600; at most `control.calls.max_room_token_ttl`.
    pub ttl_seconds: Option<i64>,
}

/// A room token and where to use it: minted by an administrator, or for a
/// booking's call (`POST /api/v1/calls/{id}/join`, whose room is the
/// booking's id and whose participant is the caller's account id).
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomTokenView {
    /// It expires at `expires_at` (for a call, when its window closes).
    pub token: String,
    pub room: String,
    pub participant: String,
    pub role: Role,
    pub publish: Vec<Source>,
    pub expires_at: String,
    /// The WebSocket URL to join with the token.
    pub signalling_url: String,
}

fn name_error(field: &str, value: &str) -> Option<FieldError> {
    (value.is_empty() || value.len() > 128 || value.chars().any(char::is_control)).then(|| {
        FieldError {
            field: field.to_owned(),
            code: "invalid".to_owned(),
            message: "must be 1 to 128 characters, without control characters".to_owned(),
        }
    })
}

/// Mint a room token (administrators; for trying calls by hand).
#[utoipa::path(post, path = "/api/v1/admin/room-tokens", tag = "admin", security(("bearer" = [])),
    request_body = MintRoomToken,
    responses((status = 201, body = RoomTokenView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn mint(
    State(state): State<AppState>,
    _: Authorized<Admins>,
    ApiJson(body): ApiJson<MintRoomToken>,
) -> ApiResult<(axum::http::StatusCode, Json<RoomTokenView>)> {
    let max = state.settings.calls.max_room_token_ttl.as_secs() as i64;
    let ttl = body.ttl_seconds.unwrap_or(3600.min(max));
    let mut errors: Vec<FieldError> = [
        name_error("room", &body.room),
        name_error("participant", &body.participant),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !(1..=max).contains(&ttl) {
        errors.push(FieldError {
            field: "ttl_seconds".to_owned(),
            code: "out_of_range".to_owned(),
            message: format!("must be 1 to {max}"),
        });
    }
    let publish = body.publish.unwrap_or_else(|| match body.role {
        Role::Viewer => Vec::new(),
        _ => vec![Source::Camera, Source::Microphone, Source::Screen],
    });
    if body.role == Role::Viewer && !publish.is_empty() {
        errors.push(FieldError {
            field: "publish".to_owned(),
            code: "invalid".to_owned(),
            message: "a viewer publishes nothing".to_owned(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = state.now() / 1000;
    let claims = RoomClaims {
        sub: body.participant,
        room: body.room,
        role: body.role,
        publish,
        call: None,
        iat: now,
        exp: now + ttl,
    };
    let token = state.room_tokens.mint(&claims);
    Ok((
        axum::http::StatusCode::CREATED,
        Json(RoomTokenView {
            token,
            room: claims.room,
            participant: claims.sub,
            role: claims.role,
            publish: claims.publish,
            expires_at: timestamp(claims.exp * 1000),
            signalling_url: state.signalling_url.clone(),
        }),
    ))
}

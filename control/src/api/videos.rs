//! Video messages over HTTP: resumable chunked uploads, and playback of a
//! message's file to its two participants with HTTP range requests.
//!
//! Upload: `POST /api/v1/conversations/{id}/uploads` declares the type,
//! size and duration; each `PUT /api/v1/uploads/{id}` carries the next
//! chunk with `Content-Range: bytes <first>-<last>/<size>`, starting where
//! the upload stands; after a dropped connection `GET /api/v1/uploads/{id}`
//! tells that offset and the client goes on from it. Once every byte is in
//! (`state: complete`), a message with `kind: video` and the `video_id`
//! sends it.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Caller, StreamCaller};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiBytes, ApiJson};
use crate::messaging::store::Video;
use crate::messaging::video::{self, Wanted};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// `video/webm` (MediaRecorder) or `video/mp4`; the file's first bytes
    /// must agree.
    pub content_type: String,
    /// Bytes, up to `control.messaging.max_video_bytes`.
    pub size: i64,
    /// Up to `control.messaging.max_video_duration`.
    pub duration_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    /// The `video_id` of the message that sends it.
    pub id: String,
    pub conversation_id: String,
    pub content_type: String,
    pub size: i64,
    pub duration_ms: i64,
    /// Bytes received: where the next chunk starts.
    pub offset: i64,
    /// `uploading`, `complete` (ready to send) or `sent`.
    pub state: String,
    /// `original` until the recorder transcodes it.
    pub processing: String,
}

impl From<&Video> for UploadView {
    fn from(v: &Video) -> Self {
        UploadView {
            id: v.id.clone(),
            conversation_id: v.conversation_id.clone(),
            content_type: v.content_type.clone(),
            size: v.size,
            duration_ms: v.duration_ms,
            offset: v.received,
            state: v.state.clone(),
            processing: v.processing.clone(),
        }
    }
}

/// Start a resumable upload of a video message in a conversation.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/uploads", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = NewUpload,
    responses((status = 201, body = UploadView), (status = 403, body = Problem, description = "blocked"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewUpload>,
) -> ApiResult<(StatusCode, Json<UploadView>)> {
    let v = state
        .messaging
        .start_upload(
            &id,
            &caller.account_id,
            &req.content_type,
            req.size,
            req.duration_ms,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(UploadView::from(&v))))
}

/// Where an upload stands: resume from `offset` after an interruption.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id")),
    responses((status = 200, body = UploadView), (status = 404, body = Problem)))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UploadView>> {
    let v = state.messaging.upload(&id, &caller.account_id).await?;
    Ok(Json(UploadView::from(&v)))
}

/// Send the next chunk of an upload, raw bytes with `Content-Range: bytes
/// <first>-<last>/<size>`; `first` must be the upload's offset (409
/// `offset_mismatch` otherwise, saying the offset). The first chunk must
/// hold the file's first 12 bytes, which must be those of its type.
#[utoipa::path(put, path = "/api/v1/uploads/{id}", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id"),
           ("Content-Range" = String, Header, description = "bytes <first>-<last>/<size>")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = UploadView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "offset_mismatch or upload_complete"),
        (status = 413, body = Problem, description = "payload_too_large: a chunk over max_chunk_bytes"),
        (status = 422, body = Problem)))]
pub async fn put_chunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<UploadView>> {
    let range = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok());
    let v = state
        .messaging
        .put_chunk(&id, &caller.account_id, range, &body)
        .await?;
    Ok(Json(UploadView::from(&v)))
}

/// Play a video message: its file, to the conversation's two participants,
/// whole (200) or in one byte range (`Range: bytes=...`, 206 with
/// `Content-Range`; 416 for a range outside the file). Sign in with the
/// Authorization header or, from a `<video>` element, `?access_token=`.
#[utoipa::path(get, path = "/api/v1/messages/{id}/video", tag = "messaging", security(("bearer" = [])),
    params(("id" = String, Path, description = "Message id"),
           ("Range" = Option<String>, Header, description = "bytes=<first>-<last>")),
    responses((status = 200, content_type = "video/webm", body = Vec<u8>),
        (status = 206, content_type = "video/webm", body = Vec<u8>, description = "a range"),
        (status = 404, body = Problem), (status = 416, body = Problem)))]
pub async fn play(
    State(state): State<AppState>,
    StreamCaller(caller): StreamCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (v, objects) = state.messaging.video_of(&id, &caller.account_id).await?;
    let size = v.size as u64;
    let wanted = video::range(
        headers.get(header::RANGE).and_then(|h| h.to_str().ok()),
        size,
    );
    let (status, first, last) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, size.saturating_sub(1)),
        Wanted::Part(first, last) => (StatusCode::PARTIAL_CONTENT, first, last),
        Wanted::Unsatisfiable => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                "The range lies outside the file",
            )
            .detail(format!("The file has {size} bytes"))
            .into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).map_err(ApiError::internal)?,
            );
            return Ok(r);
        }
    };
    let bytes = objects
        .read_range(&v.object_key, first, last - first + 1)
        .await?
        .ok_or_else(|| ApiError::not_found("video"))?;
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, v.content_type.clone()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
            // Only the participants may see it: no shared cache.
            (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
        ],
        bytes,
    )
        .into_response();
    if status == StatusCode::PARTIAL_CONTENT {
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {first}-{last}/{size}"))
                .map_err(ApiError::internal)?,
        );
    }
    Ok(response)
}

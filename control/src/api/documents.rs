//! Identity documents: the expert uploads them, they and administrators read
//! them, and every read is logged. Content is sealed (AES-256-GCM) in the
//! object store; to anyone else the documents do not exist (404).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use proto::Problem;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized, Caller};
use super::cursor::Page;
use super::error::{ApiError, ApiResult};
use super::experts::Expert_;
use super::extract::ApiQuery;
use super::review::ensure_editable;
use super::views::timestamp;
use crate::experts::documents::{self, DocumentKind, Refusal};
use crate::experts::verification::{self, document_seal_context, Document};
use crate::state::AppState;

/// A document's metadata (its content has its own URL).
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub kind: DocumentKind,
    pub content_type: String,
    pub size: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub uploaded_at: String,
    /// Where owner and administrators read the content.
    pub url: String,
}

impl From<&Document> for DocumentView {
    fn from(d: &Document) -> Self {
        DocumentView {
            id: d.id.clone(),
            kind: d.kind,
            content_type: d.content_type.clone(),
            size: d.size,
            sha256: d.sha256.clone(),
            uploaded_at: timestamp(d.uploaded_at),
            url: format!("/api/v1/experts/{}/documents/{}", d.account_id, d.id),
        }
    }
}

fn refused(kind: DocumentKind, r: Refusal) -> ApiError {
    let accepted = kind.content_types().join(", ");
    match r {
        Refusal::WrongType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "This kind of document takes another content type",
        )
        .detail(format!("{} takes {accepted}", kind.as_str())),
        Refusal::NotMatching => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            "The file is not what its content type says",
        )
        .detail(format!("expected the bytes of one of {accepted}")),
    }
}

/// Upload an identity document as the raw body with its content type:
/// `cin_front` and `cin_back` as JPEG, PNG or WebP images, `cin_pdf` (both
/// sides) as PDF, at most `control.experts.max_document_bytes`. A new upload
/// of a kind replaces the previous one. Only in draft or after a rejection.
#[utoipa::path(put, path = "/api/v1/experts/me/documents/{kind}", tag = "experts", security(("bearer" = [])),
    params(("kind" = DocumentKind, Path, description = "cin_front, cin_back or cin_pdf")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "under_review or already_approved"),
              (status = 413, body = Problem, description = "payload_too_large"),
              (status = 415, body = Problem, description = "unsupported_media_type"),
              (status = 422, body = Problem, description = "invalid_document")))]
pub async fn upload(
    State(state): State<AppState>,
    expert: Expert_,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    let kind = DocumentKind::parse(&kind).ok_or_else(|| ApiError::not_found("document kind"))?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let content_type = documents::check(kind, declared, &body).map_err(|r| refused(kind, r))?;
    let account_id = expert.0.account_id;
    let id = uuid::Uuid::now_v7().to_string();
    let (sealer, context) = (
        state.sealer.clone(),
        document_seal_context(&account_id, &id),
    );
    let size = body.len() as i64;
    let (sha256, sealed) = crate::cpu::run(move || {
        let digest: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (digest, sealer.seal(&context, &body))
    })
    .await?;
    let doc = Document {
        object_key: format!("documents/{account_id}/{id}"),
        id,
        account_id,
        kind,
        content_type: content_type.to_owned(),
        size,
        sha256,
        uploaded_at: state.now(),
    };
    state
        .objects
        .put(&doc.object_key, sealed.map_err(ApiError::internal)?)
        .await?;
    let replaced = match record(&state, &doc).await {
        Ok(replaced) => replaced,
        Err(e) => {
            discard(&state, &doc.object_key).await;
            return Err(e);
        }
    };
    // Only the current card is needed; a replaced one's content goes, its
    // row stays as a record.
    for key in replaced {
        discard(&state, &key).await;
    }
    Ok((StatusCode::CREATED, Json(DocumentView::from(&doc))))
}

async fn record(state: &AppState, doc: &Document) -> ApiResult<Vec<String>> {
    let mut tx = state.db.begin_write().await?;
    ensure_editable(&mut tx, &doc.account_id, doc.uploaded_at).await?;
    let replaced = verification::add_document(&mut tx, doc).await?;
    tx.commit().await?;
    Ok(replaced)
}

async fn discard(state: &AppState, key: &str) {
    if let Err(e) = state.objects.delete(key).await {
        tracing::warn!(key, error = %e, "could not delete a document's content");
    }
}

/// An expert's current documents: to the expert and administrators only.
#[utoipa::path(get, path = "/api/v1/experts/{id}/documents", tag = "experts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id")),
    responses((status = 200, body = Vec<DocumentView>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    if !caller.may_manage(&id) {
        return Err(ApiError::not_found("expert"));
    }
    // No expert profile (or no such id), no documents to list.
    super::experts::load(&state, &id).await?;
    let mut conn = state.db.pool().acquire().await?;
    let docs = verification::documents(&mut conn, &id).await?;
    Ok(Json(docs.iter().map(DocumentView::from).collect()))
}

/// A document's content, to the expert and administrators only; every read
/// is logged with its reader.
#[utoipa::path(get, path = "/api/v1/experts/{id}/documents/{doc}", tag = "experts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id"),
           ("doc" = String, Path, description = "The document id")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, doc_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    if !caller.may_manage(&id) {
        return Err(ApiError::not_found("document"));
    }
    let mut conn = state.db.pool().acquire().await?;
    let doc = verification::current_document(&mut conn, &id, &doc_id)
        .await?
        .ok_or_else(|| ApiError::not_found("document"))?;
    drop(conn);
    let sealed =
        state.objects.get(&doc.object_key).await?.ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("document {} has no content", doc.id))
        })?;
    let (sealer, context) = (state.sealer.clone(), document_seal_context(&id, &doc.id));
    let content = crate::cpu::run(move || sealer.open(&context, &sealed))
        .await?
        .map_err(ApiError::internal)?;
    // Logged before anything is sent: no read goes unrecorded.
    let mut tx = state.db.begin_write().await?;
    verification::record_read(&mut tx, &doc.id, &caller.account_id, state.now()).await?;
    tx.commit().await?;
    let disposition = format!(
        "attachment; filename=\"{}.{}\"",
        doc.kind.as_str(),
        documents::extension(&doc.content_type)
    );
    Ok((
        [
            (header::CONTENT_TYPE, doc.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            // Identity papers stay out of every cache, and browsers take them
            // for what they are declared.
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        content,
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
}

/// A read of an expert's document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadView {
    pub document_id: String,
    pub kind: String,
    pub reader_id: String,
    pub reader_name: String,
    pub reader_email: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadPage {
    pub items: Vec<ReadView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Who read an expert's documents and when, newest first.
#[utoipa::path(get, path = "/api/v1/admin/experts/{id}/document-reads", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The expert's account id"), ReadsQuery),
    responses((status = 200, body = ReadPage), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn reads(
    State(state): State<AppState>,
    _: Authorized<Admins>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ReadsQuery>,
) -> ApiResult<Json<ReadPage>> {
    let page = Page::parse_within(q.cursor.as_deref(), q.limit, 50, 200)?;
    let mut conn = state.db.pool().acquire().await?;
    let mut rows = verification::reads(&mut conn, &id, page.after.as_ref(), page.fetch()).await?;
    let next_cursor = page.cut(&mut rows, |r| (r.at, &r.id));
    Ok(Json(ReadPage {
        items: rows
            .into_iter()
            .map(|r| ReadView {
                document_id: r.document_id,
                kind: r.kind,
                reader_id: r.reader_id,
                reader_name: format!("{} {}", r.reader_first_name, r.reader_last_name),
                reader_email: r.reader_email,
                at: timestamp(r.at),
            })
            .collect(),
        next_cursor,
    }))
}

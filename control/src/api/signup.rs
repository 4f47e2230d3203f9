//! Sign-up, as JSON or as a form with an optional photo.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use proto::{FieldError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{fail_if_any, required, send_verification};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ClientIp};
use super::profile::{prepare_photo, store_photo, PhotoRefusal};
use super::views::AccountView;
use crate::accounts::store::{self, StoreError};
use crate::accounts::{validate, Account, Language, Role};
use crate::auth::password;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignupRole {
    User,
    Expert,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(required = true)]
    pub first_name: Option<String>,
    #[schema(required = true)]
    pub last_name: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
    /// 10+ characters mixing three of: lower case, upper case, digits, symbols.
    #[schema(required = true)]
    pub password: Option<String>,
    /// `user` (default) or `expert`.
    pub role: Option<SignupRole>,
    pub bio: Option<String>,
    /// Language of emails: `fr` (default) or `en`.
    pub language: Option<Language>,
}

/// The same fields as a `multipart/form-data` form, plus a photo.
#[allow(dead_code)] // Describes the form in the OpenAPI document only.
#[derive(ToSchema)]
pub struct SignupForm {
    first_name: String,
    last_name: String,
    email: String,
    password: String,
    role: Option<SignupRole>,
    bio: Option<String>,
    language: Option<Language>,
    /// JPEG, PNG, WebP or GIF, at most `control.storage.max_photo_bytes`.
    #[schema(value_type = Option<String>, format = Binary)]
    photo: Option<Vec<u8>>,
}

/// A sign-up request in either form, with the photo's declared type and bytes.
pub struct SignupInput {
    request: SignupRequest,
    photo: Option<(String, Bytes)>,
}

impl FromRequest<AppState> for SignupInput {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            // The route admits a photo-sized body for forms; JSON keeps the
            // JSON limit.
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, super::JSON_BODY_LIMIT)
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "The request body is too large",
                    )
                })?;
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            let ApiJson(request) = ApiJson::<SignupRequest>::from_request(req, state).await?;
            return Ok(SignupInput {
                request,
                photo: None,
            });
        }
        let form = Multipart::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                e.status(),
                "malformed_multipart",
                "The form could not be read",
            )
            .detail(e.body_text())
        })?;
        read_form(form).await
    }
}

fn bad_form(e: axum::extract::multipart::MultipartError) -> ApiError {
    let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        "payload_too_large"
    } else {
        "malformed_multipart"
    };
    ApiError::new(e.status(), code, "The form could not be read").detail(e.body_text())
}

/// An enumerated form field, parsed as its JSON string would be.
fn choice<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
}

async fn read_form(mut form: Multipart) -> ApiResult<SignupInput> {
    let mut request = SignupRequest::default();
    let mut photo = None;
    let mut errors = Vec::new();
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let content_type = field.content_type().unwrap_or_default().to_owned();
            photo = Some((content_type, field.bytes().await.map_err(bad_form)?));
            continue;
        }
        let text = field.text().await.map_err(bad_form)?;
        if text.contains('\0') {
            errors.push(FieldError::new(
                &name,
                "invalid",
                "must not contain NUL characters",
            ));
            continue;
        }
        match name.as_str() {
            "first_name" => request.first_name = Some(text),
            "last_name" => request.last_name = Some(text),
            "email" => request.email = Some(text),
            "password" => request.password = Some(text),
            "bio" => request.bio = Some(text),
            "role" => match choice(&text) {
                Ok(role) => request.role = Some(role),
                Err(_) => errors.push(FieldError::new("role", "invalid", "`user` or `expert`")),
            },
            "language" => match choice(&text) {
                Ok(lang) => request.language = Some(lang),
                Err(_) => errors.push(FieldError::new("language", "invalid", "`fr` or `en`")),
            },
            _ => errors.push(FieldError::new(&name, "unknown", "unknown field")),
        }
    }
    fail_if_any(errors)?;
    Ok(SignupInput { request, photo })
}

/// Create an account, as JSON or as a form with an optional `photo`. A
/// verification link is emailed; until it is followed the account cannot
/// book or message. A photo that is not a valid image refuses the whole
/// sign-up.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth",
    request_body(content((SignupRequest = "application/json"), (SignupForm = "multipart/form-data"))),
    responses((status = 201, body = AccountView), (status = 409, body = Problem, description = "email_taken"),
              (status = 413, body = Problem, description = "payload_too_large"),
              (status = 422, body = Problem, description = "validation_failed"), (status = 429, body = Problem)))]
pub async fn signup(
    State(state): State<AppState>,
    ip: ClientIp,
    input: SignupInput,
) -> ApiResult<Response> {
    ip.throttle(&state)?;
    let req = input.request;
    let mut errors = Vec::new();
    let first_name = required("first_name", req.first_name, &mut errors);
    let last_name = required("last_name", req.last_name, &mut errors);
    let email = required("email", req.email, &mut errors);
    let password = required("password", req.password, &mut errors);
    if !first_name.is_empty() {
        validate::name("first_name", &first_name, &mut errors);
    }
    if !last_name.is_empty() {
        validate::name("last_name", &last_name, &mut errors);
    }
    if !email.is_empty() {
        validate::email("email", &email, &mut errors);
    }
    if !password.is_empty() {
        let local = email.split('@').next().unwrap_or_default();
        validate::password(
            "password",
            &password,
            &[local, &first_name, &last_name],
            &mut errors,
        );
    }
    if let Some(bio) = &req.bio {
        validate::bio("bio", bio, &mut errors);
    }
    // The photo is checked before anything is created: a bad one refuses
    // the sign-up and leaves nothing behind.
    let photo = match input.photo {
        Some((content_type, bytes)) => match prepare_photo(&content_type, bytes).await? {
            Ok(jpeg) => Some(jpeg),
            Err(PhotoRefusal::WrongType) => {
                errors.push(FieldError::new(
                    "photo",
                    "unsupported_type",
                    "a JPEG, PNG, WebP or GIF image",
                ));
                None
            }
            Err(PhotoRefusal::Invalid(e)) => {
                errors.push(FieldError::new("photo", e.code(), e.to_string()));
                None
            }
        },
        None => None,
    };
    fail_if_any(errors)?;

    let role = match req.role.unwrap_or(SignupRole::User) {
        SignupRole::User => Role::User,
        SignupRole::Expert => Role::Expert,
    };
    let hash = password::hash(password).await?;
    let mut account = Account::new(&email, hash, role, &first_name, &last_name, state.now());
    account.bio = req
        .bio
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty());
    account.language = req.language.unwrap_or(Language::Fr);
    match store::insert(state.db.pool(), &account).await {
        Ok(()) => {}
        Err(StoreError::EmailTaken) => {
            return Err(ApiError::conflict(
                "email_taken",
                "An account with this email already exists",
            )
            .fields(vec![FieldError::new(
                "email",
                "taken",
                "is already registered",
            )]))
        }
        Err(StoreError::Db(e)) => return Err(e.into()),
    }
    if let Some(jpeg) = photo {
        account.photo_key = Some(store_photo(&state, &account.id, jpeg, account.created_at).await?);
    }
    tracing::info!(account = %account.id, role = account.role.as_str(), "account created");
    send_verification(&state, &account).await;
    let location = format!("/api/v1/accounts/{}", account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(AccountView::from(&account)),
    )
        .into_response())
}

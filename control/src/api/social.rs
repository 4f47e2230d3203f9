//! Social proofs over HTTP: an expert starts the OAuth flow, signs in at the
//! provider, whose redirect lands the browser on the callback, which links
//! the account; the expert's public page then shows it.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use proto::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Authorized, Experts};
use super::error::{ApiError, ApiResult};
use super::experts::SocialProof;
use super::extract::ApiQuery;
use crate::accounts::{self, Role, Status};
use crate::auth::links;
use crate::social::{self, oauth, store, Provider, SocialError};
use crate::state::AppState;

type Expert_ = Authorized<Experts>;

fn provider(name: &str) -> ApiResult<Provider> {
    Provider::parse(name).ok_or_else(|| ApiError::not_found("provider"))
}

impl From<SocialError> for ApiError {
    fn from(e: SocialError) -> Self {
        let (status, code, title) = match &e {
            SocialError::NotConfigured(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "provider_not_configured",
                "Linking this provider is not offered on this platform",
            ),
            SocialError::InvalidState => (
                StatusCode::BAD_REQUEST,
                "invalid_oauth_state",
                "This sign-in is not valid, has expired or was already used; start again from your profile",
            ),
            SocialError::OtherBrowser => (
                StatusCode::BAD_REQUEST,
                "oauth_other_browser",
                "Finish linking in the browser you started it from; nothing was linked",
            ),
            SocialError::Denied => (
                StatusCode::BAD_REQUEST,
                "oauth_denied",
                "Access was not granted at the provider; nothing was linked",
            ),
            SocialError::CodeRejected { .. } => (
                StatusCode::BAD_REQUEST,
                "oauth_code_rejected",
                "The provider did not accept this sign-in; start again from your profile",
            ),
            SocialError::Unavailable { .. } => (
                StatusCode::BAD_GATEWAY,
                "oauth_provider_unavailable",
                "The provider could not be reached or gave an unusable answer; try again later",
            ),
        };
        // The provider's own words go to the log, not to the browser.
        let error = ApiError::new(status, code, title);
        match e {
            SocialError::NotConfigured(provider)
            | SocialError::CodeRejected { provider, .. }
            | SocialError::Unavailable { provider, .. } => error.detail(provider.title()),
            SocialError::InvalidState | SocialError::OtherBrowser | SocialError::Denied => error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Authorize {
    /// Send the browser here; it comes back to
    /// `/api/v1/social/{provider}/callback` within ten minutes.
    pub authorize_url: String,
}

/// Start linking a social account: the provider's sign-in page, carrying a
/// single-use `state` bound to this account (valid ten minutes), and a cookie
/// binding the flow to this browser: the callback refuses a browser without
/// it, so an authorize URL sent to someone else cannot link their account to
/// this profile.
#[utoipa::path(post, path = "/api/v1/experts/me/social/{provider}", tag = "experts", security(("bearer" = [])),
    params(("provider" = Provider, Path, description = "linkedin or instagram")),
    responses((status = 200, body = Authorize), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem, description = "provider_not_configured")))]
pub async fn start(
    State(state): State<AppState>,
    expert: Expert_,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let provider = provider(&name)?;
    let client = state.social.client(provider)?;
    let (signed, nonce) = social::state::sign(
        &state.keys,
        provider,
        &expert.0.account_id,
        state.clock.now_secs(),
    );
    let secure = state.public_url.starts_with("https://");
    Ok((
        [(
            header::SET_COOKIE,
            social::state::cookie(provider, &nonce, secure),
        )],
        Json(Authorize {
            authorize_url: client.authorize_url(&signed),
        }),
    ))
}

/// What the provider sends the browser back with: `code` and `state`, or
/// `error` (and more we do not read).
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the provider sends the browser back (no sign-in: the `state` names
/// the account). Links the account, then answers with a short HTML page, or
/// JSON for `Accept: application/json`. Errors are problem documents.
#[utoipa::path(get, path = "/api/v1/social/{provider}/callback", tag = "experts",
    params(("provider" = Provider, Path, description = "linkedin or instagram"), CallbackQuery),
    responses((status = 200, body = SocialProof, description = "JSON, or an HTML page for browsers"),
        (status = 400, body = Problem, description = "invalid_oauth_state, oauth_denied or oauth_code_rejected"),
        (status = 404, body = Problem), (status = 502, body = Problem, description = "oauth_provider_unavailable"),
        (status = 503, body = Problem, description = "provider_not_configured")))]
pub async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> ApiResult<Response> {
    let provider = provider(&name)?;
    let binding = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| social::state::cookie_value(provider, v))
        .map(str::to_owned);
    let proof = SocialProof::from(&link(&state, provider, q, binding.as_deref()).await?);
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(Json(proof).into_response());
    }
    let title = provider.title();
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>{title} linked</title>\
         <h1>{title} account linked</h1><p>Your expert profile now shows <b>{}</b>. \
         You can close this window.</p>",
        escape(&proof.handle)
    ))
    .into_response())
}

/// The callback's work: the state first (it is what makes the request ours
/// to act on, and it is spent whatever follows), then the provider's answer.
async fn link(
    state: &AppState,
    provider: Provider,
    q: CallbackQuery,
    binding: Option<&str>,
) -> ApiResult<store::Link> {
    let claims = social::state::verify(
        &state.keys,
        provider,
        q.state.as_deref().unwrap_or_default(),
        state.clock.now_secs(),
    )?;
    // Checked before the nonce is spent: a stranger's browser cannot use up
    // the expert's own sign-in.
    if binding != Some(claims.nonce.as_str()) {
        return Err(SocialError::OtherBrowser.into());
    }
    let now = state.now();
    if !links::spend(state.db.pool(), &claims.nonce, now).await? {
        return Err(SocialError::InvalidState.into());
    }
    // Deactivated, or no longer an expert, since the flow started.
    accounts::store::by_id(state.db.pool(), &claims.account)
        .await?
        .filter(|a| a.status == Status::Active && a.role == Role::Expert)
        .ok_or(SocialError::InvalidState)?;
    if let Some(error) = q.error {
        if oauth::is_denial(&error) {
            return Err(SocialError::Denied.into());
        }
        let detail = match q.error_description {
            Some(d) => format!("{error}: {d}"),
            None => error,
        };
        tracing::warn!(provider = provider.as_str(), %detail, "OAuth sign-in failed at the provider");
        return Err(SocialError::Unavailable { provider, detail }.into());
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| SocialError::Unavailable {
            provider,
            detail: "came back with neither a code nor an error".to_owned(),
        })?;
    let client = state.social.client(provider)?;
    let profile = state.social.sign_in(client, &code).await.inspect_err(
        |e| tracing::warn!(account = %claims.account, error = %e, "social link failed"),
    )?;
    store::save(state.db.pool(), &claims.account, provider, &profile, now).await?;
    tracing::info!(account = %claims.account, provider = provider.as_str(), "social account linked");
    Ok(store::Link {
        provider,
        subject: profile.subject,
        handle: profile.handle,
        url: profile.url,
        verified_at: now,
    })
}

/// Text as HTML: the handle is the provider's, not ours.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One's linked social accounts.
#[utoipa::path(get, path = "/api/v1/experts/me/social", tag = "experts", security(("bearer" = [])),
    responses((status = 200, body = Vec<SocialProof>), (status = 403, body = Problem)))]
pub async fn mine(
    State(state): State<AppState>,
    expert: Expert_,
) -> ApiResult<Json<Vec<SocialProof>>> {
    let links = store::of(state.db.pool(), &expert.0.account_id).await?;
    Ok(Json(links.iter().map(SocialProof::from).collect()))
}

/// Unlink a social account; it leaves the public page at once.
#[utoipa::path(delete, path = "/api/v1/experts/me/social/{provider}", tag = "experts", security(("bearer" = [])),
    params(("provider" = Provider, Path, description = "linkedin or instagram")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unlink(
    State(state): State<AppState>,
    expert: Expert_,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let provider = provider(&name)?;
    if store::remove(state.db.pool(), &expert.0.account_id, provider).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("social link"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn handles_are_escaped() {
        assert_eq!(
            super::escape(r#"<b onclick="x">&'"#),
            "&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

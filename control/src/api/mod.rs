//! The REST API: routes, the OpenAPI document generated from the handlers'
//! annotations (`/api/openapi.json`, browsable at `/api/docs`), and the layers
//! every request passes through.

pub mod access;
mod admin;
mod announcements;
mod auth;
mod blocks;
mod bookings;
mod calendar;
mod calls;
pub(crate) mod cursor;
mod documents;
pub mod error;
mod experts;
mod extract;
mod finance;
mod messaging;
mod moderation;
mod notifications;
mod payment_info;
mod payouts;
mod profile;
mod push;
mod reports;
mod review;
mod rooms;
mod search;
mod signup;
mod social;
mod taxonomy;
mod videos;
pub mod views;
pub mod wallet;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;
use error::ApiError;

/// JSON bodies are small; only uploads get more.
pub(crate) const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DeepInfluence control plane",
        description = "Accounts, experts, bookings, messaging, wallet and calls. Errors are RFC 7807 \
                       `application/problem+json` documents with a stable `code`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, verification, login, tokens and passwords"),
        (name = "profile", description = "Profiles and photos"),
        (name = "experts", description = "Expert profiles, verification and the domain taxonomy"),
        (name = "calendar", description = "Experts' availability, free slots and iCalendar feeds"),
        (name = "calls", description = "Booked video calls: joining, ending, presence and settlement"),
        (name = "bookings", description = "Booking video calls: requests, answers, changes, guests"),
        (name = "wallet", description = "Coins: balances, purchases and payment-provider callbacks"),
        (name = "payouts", description = "Experts' earnings paid to their bank accounts"),
        (name = "messaging", description = "Conversations with experts: paid text and video messages, replies, search, blocks"),
        (name = "moderation", description = "Reports of profiles and messages, and what administrators do about them"),
        (name = "notifications", description = "The notification centre, its live stream and push subscriptions"),
        (name = "admin", description = "Administration (administrator role)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn openapi_and_routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let photo_limit = state.settings.storage.max_photo_bytes;
    let uploads = OpenApiRouter::new()
        .routes(routes!(
            profile::put_photo,
            profile::delete_photo,
            profile::get_photo
        ))
        .layer(DefaultBodyLimit::max(photo_limit));
    let documents = OpenApiRouter::new()
        .routes(routes!(documents::upload))
        .layer(DefaultBodyLimit::max(
            state.settings.experts.max_document_bytes,
        ));
    let chunks = OpenApiRouter::new()
        .routes(routes!(videos::status, videos::put_chunk))
        .layer(DefaultBodyLimit::max(
            state.settings.messaging.max_chunk_bytes,
        ));
    // A sign-up form may carry a photo next to its fields.
    let signup = OpenApiRouter::new()
        .routes(routes!(signup::signup))
        .layer(DefaultBodyLimit::max(photo_limit + JSON_BODY_LIMIT));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::verify_email_link, auth::verify_email_post))
        .routes(routes!(auth::resend_verification))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::request_reset))
        .routes(routes!(auth::confirm_reset))
        .routes(routes!(auth::change_password))
        .routes(routes!(profile::me))
        .routes(routes!(profile::public_profile, profile::update_profile))
        .routes(routes!(experts::domains))
        .routes(routes!(experts::mine, experts::edit))
        .routes(routes!(experts::page))
        .routes(routes!(search::search))
        .routes(routes!(search::suggestions))
        .routes(routes!(documents::list))
        .routes(routes!(documents::read))
        .routes(routes!(documents::reads))
        .routes(routes!(payment_info::put_bank))
        .routes(routes!(payment_info::put_tax))
        .routes(routes!(
            payment_info::get_tax_settings,
            payment_info::put_tax_settings
        ))
        .routes(routes!(review::submit))
        .routes(routes!(review::queue))
        .routes(routes!(review::get))
        .routes(routes!(review::approve))
        .routes(routes!(review::reject))
        .routes(routes!(social::mine))
        .routes(routes!(social::start, social::unlink))
        .routes(routes!(social::callback))
        .routes(routes!(taxonomy::create))
        .routes(routes!(taxonomy::rename, taxonomy::remove))
        .routes(routes!(admin::list))
        .routes(routes!(admin::get, admin::delete))
        .routes(routes!(admin::deactivate))
        .routes(routes!(admin::activate))
        .routes(routes!(rooms::mint))
        .routes(routes!(reports::file))
        .routes(routes!(moderation::queue))
        .routes(routes!(moderation::close))
        .routes(routes!(moderation::hide))
        .routes(routes!(moderation::unhide))
        .routes(routes!(moderation::suspend))
        .routes(routes!(moderation::actions))
        .routes(routes!(wallet::wallet))
        .routes(routes!(wallet::offer))
        .routes(routes!(wallet::start_purchase, wallet::purchases))
        .routes(routes!(wallet::purchase))
        .routes(routes!(wallet::konnect_webhook))
        .routes(routes!(wallet::flouci_webhook, wallet::flouci_webhook_get))
        .routes(routes!(wallet::payment_return))
        .routes(routes!(wallet::paypal_webhook))
        .routes(routes!(wallet::sandbox_page))
        .routes(routes!(wallet::sandbox_pay))
        .routes(routes!(wallet::reconcile))
        .routes(routes!(
            calendar::get_availability,
            calendar::put_availability
        ))
        .routes(routes!(calendar::slots))
        .routes(routes!(
            calendar::get_feed,
            calendar::rotate_feed,
            calendar::revoke_feed
        ))
        .routes(routes!(calendar::feed_file))
        .routes(routes!(bookings::book, bookings::history))
        .routes(routes!(bookings::get))
        .routes(routes!(bookings::act))
        .routes(routes!(bookings::invite))
        .routes(routes!(bookings::remove_guest))
        .routes(routes!(bookings::answer))
        .routes(routes!(calls::join))
        .routes(routes!(calls::end))
        .routes(routes!(calls::get))
        .routes(routes!(calls::list))
        .routes(routes!(calls::refund))
        .routes(routes!(calls::review))
        .routes(routes!(calls::reply))
        .routes(routes!(calls::hide_review))
        .routes(routes!(calls::expert_reviews))
        .routes(routes!(finance::history))
        .routes(routes!(finance::holds))
        .routes(routes!(finance::earnings))
        .routes(routes!(finance::finance))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::unread_count))
        .routes(routes!(notifications::read))
        .routes(routes!(notifications::read_all))
        .routes(routes!(notifications::archive))
        .routes(routes!(notifications::stream))
        .routes(routes!(push::vapid_key))
        .routes(routes!(push::subscribe, push::unsubscribe))
        .routes(routes!(announcements::announce))
        .routes(routes!(payouts::summary))
        .routes(routes!(payouts::request, payouts::list))
        .routes(routes!(payouts::statement))
        .routes(routes!(payouts::queue))
        .routes(routes!(payouts::approve))
        .routes(routes!(payouts::reject))
        .routes(routes!(messaging::open, messaging::list))
        .routes(routes!(messaging::get))
        .routes(routes!(messaging::history, messaging::send))
        .routes(routes!(messaging::read))
        .routes(routes!(messaging::search))
        .routes(routes!(messaging::accept))
        .routes(routes!(videos::start))
        .routes(routes!(videos::play))
        .routes(routes!(blocks::block, blocks::unblock))
        .routes(routes!(moderation::message))
        .routes(routes!(moderation::hide_message))
        .routes(routes!(moderation::unhide_message))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .merge(uploads)
        .merge(documents)
        .merge(chunks)
        .merge(signup)
        .split_for_parts()
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = openapi_and_routes(&state);
    api.route("/reset-password", get(auth::reset_page))
        .fallback(|| async { ApiError::not_found("route") })
        .with_state(state)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .layer(axum::middleware::from_fn(refuse_nul_in_path))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// A NUL byte in the path names nothing: answered 404 before any handler
/// passes a path segment to the database, which may refuse it (PostgreSQL
/// refuses NUL in text). Query strings and bodies have their own checks
/// (`ApiQuery`, `ApiJson`).
async fn refuse_nul_in_path(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request.uri().path().to_ascii_lowercase().contains("%00") {
        return ApiError::not_found("resource").into_response();
    }
    next.run(request).await
}

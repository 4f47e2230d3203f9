//! The wallet: balances, buying coins, and the payment providers' callbacks.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use proto::{FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::{Admins, Authorized, Caller};
use super::error::{ApiError, ApiResult};
use super::extract::{idempotency_key, ApiJson, ApiQuery};
use crate::ledger::MILLIMES_PER_COIN;
use crate::payments::service::Order;
use crate::payments::{GatewayError, PaymentsError, Purchase};
use crate::settings::Pack;
use crate::state::AppState;

impl From<PaymentsError> for ApiError {
    fn from(e: PaymentsError) -> Self {
        match e {
            PaymentsError::Invalid { field, reason } => ApiError::validation(vec![FieldError {
                field: field.to_owned(),
                code: "invalid".to_owned(),
                message: format!("{field} {reason}"),
            }]),
            PaymentsError::KeyReused => ApiError::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another purchase",
            ),
            PaymentsError::NotFound => ApiError::not_found("payment"),
            PaymentsError::Gateway(GatewayError::Unavailable { provider, .. }) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "payment_provider_unavailable",
                "The payment provider could not be reached; try again later",
            )
            .detail(provider),
            PaymentsError::Gateway(GatewayError::Refused { provider, .. }) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "payment_provider_refused",
                "The payment provider refused the payment",
            )
            .detail(provider),
            PaymentsError::Ledger(e) => ApiError::internal(e),
            PaymentsError::Notify(e) => ApiError::internal(e),
            PaymentsError::Db(e) => e.into(),
        }
    }
}

/// Amounts in millimes (1 coin = 500 millimes).
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    /// Coins that can be spent, in millimes.
    pub balance: i64,
    /// Whole coins that can be spent.
    pub coins: i64,
    /// Coins on hold for messages, bookings and calls, in millimes.
    pub held: i64,
    /// An expert's earnings not yet paid out, in millimes.
    pub earnings: i64,
}

/// The signed-in account's wallet.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 401, body = Problem)))]
pub async fn wallet(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<WalletView>> {
    let b = state.ledger.balances(caller.account_uuid()?).await?;
    Ok(Json(WalletView {
        balance: b.wallet,
        coins: b.wallet / MILLIMES_PER_COIN,
        held: b.held,
        earnings: b.earnings,
    }))
}

/// What can be bought, and how.
#[derive(Debug, Serialize, ToSchema)]
pub struct Offer {
    pub providers: Vec<&'static str>,
    /// Buy one by its place in this list.
    pub packs: Vec<Pack>,
    /// Millimes of TND per coin, for a chosen amount.
    pub coin_price: i64,
    pub min_coins: i64,
    pub max_coins: i64,
}

#[utoipa::path(get, path = "/api/v1/wallet/offer", tag = "wallet",
    responses((status = 200, body = Offer)))]
pub async fn offer(State(state): State<AppState>) -> Json<Offer> {
    let s = state.payments.settings();
    Json(Offer {
        providers: state.payments.providers(),
        packs: s.packs.clone(),
        coin_price: s.coin_price,
        min_coins: s.min_coins,
        max_coins: s.max_coins,
    })
}

/// A pack by its place in the offer, or a chosen number of coins.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    pub pack: Option<usize>,
    pub coins: Option<i64>,
    pub provider: String,
}

/// Starts buying coins: answers with the provider's page to pay on. The
/// `Idempotency-Key` header is required: the same key returns the same
/// purchase; the same key for another purchase is refused.
#[utoipa::path(post, path = "/api/v1/wallet/purchases", tag = "wallet", security(("bearer" = [])),
    request_body = PurchaseRequest,
    params(("Idempotency-Key" = String, Header, description = "One per purchase the buyer means to make")),
    responses((status = 201, body = Purchase), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn start_purchase(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PurchaseRequest>,
) -> ApiResult<(StatusCode, Json<Purchase>)> {
    let key = idempotency_key(&headers)?;
    let order = match (body.pack, body.coins) {
        (Some(pack), None) => Order::Pack(pack),
        (None, Some(coins)) => Order::Coins(coins),
        _ => {
            return Err(ApiError::validation(vec![FieldError {
                field: "pack".into(),
                code: "invalid".into(),
                message: "give either pack or coins".into(),
            }]))
        }
    };
    let p = state
        .payments
        .start(&caller.account_id, key, order, &body.provider)
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// The signed-in account's purchases, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/wallet/purchases", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = Vec<Purchase>), (status = 401, body = Problem)))]
pub async fn purchases(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<Purchase>>> {
    Ok(Json(state.payments.list(&caller.account_id, 100).await?))
}

/// One purchase. While it is pending the provider is asked first, so a
/// buyer back from the payment page sees the coins without waiting for
/// the provider's notification.
#[utoipa::path(get, path = "/api/v1/wallet/purchases/{id}", tag = "wallet", security(("bearer" = [])),
    params(("id" = String, Path, description = "Purchase id")),
    responses((status = 200, body = Purchase), (status = 404, body = Problem)))]
pub async fn purchase(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Purchase>> {
    let p = state
        .payments
        .get(&id)
        .await?
        .filter(|p| caller.may_manage(&p.account_id))
        .ok_or_else(|| ApiError::not_found("payment"))?;
    Ok(Json(settled(&state, p).await?))
}

/// A pending purchase settled from its provider's answer; when the provider
/// cannot be reached, the purchase as it stood.
async fn settled(state: &AppState, p: Purchase) -> ApiResult<Purchase> {
    match state.payments.settle(p.clone()).await {
        Ok(settled) => Ok(settled),
        Err(PaymentsError::Gateway(_)) => Ok(p),
        Err(e) => Err(e.into()),
    }
}

/// Where every provider sends the buyer's browser back, paid or not. It
/// proves nothing by itself: the payment is settled from the provider's
/// own answer, as on reading the purchase. No sign-in: the buyer arrives
/// from the provider's page, and the payment id is not guessable.
#[utoipa::path(get, path = "/api/v1/payments/return/{id}", tag = "wallet",
    params(("id" = String, Path, description = "Purchase id")),
    responses((status = 200, body = Purchase), (status = 404, body = Problem)))]
pub async fn payment_return(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Purchase>> {
    let p = state
        .payments
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("payment"))?;
    Ok(Json(settled(&state, p).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct KonnectNotification {
    pub payment_ref: String,
}

/// Konnect's notification (`GET ?payment_ref=`, unsigned): the payment is
/// settled from Konnect's own answer to our status call, never from this.
#[utoipa::path(get, path = "/api/v1/payments/konnect/webhook", tag = "wallet", params(KonnectNotification),
    responses((status = 200, body = Purchase), (status = 404, body = Problem), (status = 502, body = Problem)))]
pub async fn konnect_webhook(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<KonnectNotification>,
) -> ApiResult<Json<Purchase>> {
    Ok(Json(
        state.payments.notified("konnect", &q.payment_ref).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FlouciNotification {
    pub payment_id: Option<String>,
}

/// The `payment_id` of a Flouci notification: in the query, or in a JSON
/// body as `payment_id`, `id` or `data.payment_id` (Flouci documents no
/// payload for one-off payments).
fn flouci_payment_id(query: FlouciNotification, body: &[u8]) -> ApiResult<String> {
    let from_body = || {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let found = [&v["payment_id"], &v["id"], &v["data"]["payment_id"]]
            .into_iter()
            .find_map(|f| f.as_str().map(str::to_owned));
        found
    };
    query
        .payment_id
        .or_else(from_body)
        .filter(|id| !id.is_empty() && id.len() <= 100)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "payment_id_required",
                "A payment_id is required",
            )
        })
}

/// Flouci's notification, unsigned: the payment is settled from Flouci's
/// own answer to our verification call, never from this.
#[utoipa::path(post, path = "/api/v1/payments/flouci/webhook", tag = "wallet", params(FlouciNotification),
    request_body(content = Vec<u8>, content_type = "application/json", description = "Optional: {\"payment_id\": ...}"),
    responses((status = 200, body = Purchase), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn flouci_webhook(
    State(state): State<AppState>,
    Query(q): Query<FlouciNotification>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Purchase>> {
    let id = flouci_payment_id(q, &body)?;
    Ok(Json(state.payments.notified("flouci", &id).await?))
}

/// The same notification by `GET ?payment_id=`.
#[utoipa::path(get, path = "/api/v1/payments/flouci/webhook", tag = "wallet", params(FlouciNotification),
    responses((status = 200, body = Purchase), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn flouci_webhook_get(
    State(state): State<AppState>,
    Query(q): Query<FlouciNotification>,
) -> ApiResult<Json<Purchase>> {
    let id = flouci_payment_id(q, &[])?;
    Ok(Json(state.payments.notified("flouci", &id).await?))
}

/// PayPal's webhook. PayPal must vouch for it (`verify-webhook-signature`)
/// before it makes us look at the order it names.
#[utoipa::path(post, path = "/api/v1/payments/paypal/webhook", tag = "wallet",
    request_body(content = Vec<u8>, content_type = "application/json", description = "A PayPal webhook event"),
    responses((status = 200, body = Purchase), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn paypal_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Purchase>> {
    let paypal = state
        .payments
        .paypal()
        .ok_or_else(|| ApiError::not_found("route"))?;
    let unverified = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "webhook_not_verified",
            "PayPal did not vouch for this notification",
        )
    };
    if !paypal
        .authentic(&headers, &body)
        .await
        .map_err(PaymentsError::from)?
    {
        return Err(unverified());
    }
    let event: serde_json::Value = serde_json::from_slice(&body).map_err(|_| unverified())?;
    let order = crate::payments::paypal::order_of(&event).ok_or_else(unverified)?;
    Ok(Json(state.payments.notified("paypal", &order).await?))
}

fn sandbox_only(state: &AppState) -> ApiResult<&crate::payments::Sandbox> {
    state
        .payments
        .sandbox()
        .ok_or_else(|| ApiError::not_found("route"))
}

/// The sandbox provider's payment page (development only).
#[utoipa::path(get, path = "/api/v1/payments/sandbox/{reference}", tag = "wallet",
    params(("reference" = String, Path, description = "The sandbox's charge id")),
    responses((status = 200, description = "An HTML page with a pay button")))]
pub async fn sandbox_page(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    sandbox_only(&state)?;
    let reference: String = reference
        .chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>Sandbox payment</title>\
         <h1>Sandbox payment</h1><p>No money moves: this stands in for a payment provider.</p>\
         <form method=post action=\"/api/v1/payments/sandbox/{reference}/pay\">\
         <button>Pay</button></form>"
    ))
    .into_response())
}

/// Pays a sandbox charge, as a buyer would on a provider's page, then
/// settles it the way a provider's notification does.
#[utoipa::path(post, path = "/api/v1/payments/sandbox/{reference}/pay", tag = "wallet",
    params(("reference" = String, Path, description = "The sandbox's charge id")),
    responses((status = 200, body = Purchase), (status = 404, body = Problem)))]
pub async fn sandbox_pay(
    State(state): State<AppState>,
    Path(reference): Path<String>,
) -> ApiResult<Json<Purchase>> {
    let sandbox = sandbox_only(&state)?;
    sandbox.pay(&reference).await?;
    Ok(Json(state.payments.notified("sandbox", &reference).await?))
}

/// Payments whose provider notification has not come within this long are
/// asked about by reconciliation.
pub const QUIET_MS: i64 = 2 * 60_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Reconciled {
    /// Payments found paid or failed.
    pub settled: usize,
}

/// Runs payment reconciliation now (it also runs every minute): pending
/// payments older than two minutes are settled from their provider's answer.
#[utoipa::path(post, path = "/api/v1/admin/payments/reconcile", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Reconciled), (status = 403, body = Problem)))]
pub async fn reconcile(
    State(state): State<AppState>,
    _: Authorized<Admins>,
) -> ApiResult<Json<Reconciled>> {
    let settled = state.payments.reconcile(QUIET_MS, 500).await?;
    Ok(Json(Reconciled { settled }))
}

//! What every client relies on: one error format, the OpenAPI document, metrics.

use crate::both_backends;
use crate::common::{Backend, Server};

both_backends!(
    unknown_routes_and_methods_answer_problem_documents,
    openapi_docs_and_metrics_are_served
);

async fn unknown_routes_and_methods_answer_problem_documents(backend: Backend) {
    let s = Server::start(backend).await;
    s.get("/api/v1/nothing-here", None)
        .await
        .expect_problem(404, "not_found");
    let r = s
        .send(s.req(reqwest::Method::DELETE, "/api/v1/auth/login", None))
        .await
        .expect_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    s.send(s.req(reqwest::Method::PUT, "/healthz", None))
        .await
        .expect_problem(405, "method_not_allowed");
    s.refresh(&5).await.expect_problem(422, "validation_failed");
}

async fn openapi_docs_and_metrics_are_served(backend: Backend) {
    let s = Server::start(backend).await;
    let doc = s.get("/api/openapi.json", None).await.expect(200).body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/accounts/{id}/photo",
        "/api/v1/admin/accounts/{id}/deactivate",
        "/api/v1/payouts",
        "/api/v1/payouts/{id}/statement",
        "/api/v1/admin/payouts/{id}/approve",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas.get("Problem").is_some());
    // Two enums named State in the code, two schemas in the document.
    for (schema, value) in [("State", "submitted"), ("PayoutState", "requested")] {
        let values = schemas[schema]["enum"].as_array();
        assert!(
            values.is_some_and(|v| v.contains(&value.into())),
            "{schema}: {}",
            schemas[schema]
        );
    }
    // Every reference resolves: clients generate code from this document.
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50);
    for r in found {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema reference");
        assert!(schemas.get(name).is_some(), "{r} does not resolve");
    }
    let ui = s.get("/api/docs/", None).await.expect(200);
    assert!(
        String::from_utf8_lossy(&ui.bytes).contains("swagger"),
        "Swagger UI is served"
    );

    s.get("/healthz", None).await.expect(200);
    s.get("/readyz", None).await.expect(200);
    s.login("nobody@example.tn", "Whatever-123")
        .await
        .expect(401);
    let metrics = s.metrics().await;
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("route=\"/api/v1/auth/login\"")
                && l.contains("status=\"401\"")
        })
        .unwrap_or_else(|| panic!("no login counter in:\n{metrics}"));
    assert!(line.ends_with(" 1"), "{line}");
    assert!(metrics.contains(
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/auth/login\""
    ));
    assert!(metrics.contains("process_cpu_seconds_total"));
}

//! The JSON API's front door: bearer tokens made with the engine (as `tickler token create`
//! does), acting as their user; 401 with the one error shape without a good token. Every
//! response these tests receive is checked against the OpenAPI document
//! (`support::openapi::send_checked`).

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{TestApp, openapi::send_checked};
use tickler_core::user::Role;
use tickler_engine::Actor;

async fn me(app: &TestApp, authorization: Option<&str>) -> (StatusCode, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(app.url("/api/v1/me"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = send_checked(request).await;
    let challenge = response
        .headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or_default().to_string());
    (response.status, response.body, challenge)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_acts_as_its_user_until_revoked() {
    let app = TestApp::start().await;
    let id = app.user("kim@firm.example", Role::Sales).await;
    let made = app
        .engine
        .create_token("kim@firm.example", Some("CRM sync"), &Actor::system())
        .await
        .expect("token");
    assert!(made.token.starts_with("tickler_"), "{}", made.token);

    let (status, body, _) = me(&app, Some(&format!("Bearer {}", made.token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "kim@firm.example");
    assert_eq!(body["role"], "sales");
    assert_eq!(body["id"], id);
    let listed = app.engine.tokens(Some(id)).await.expect("tokens");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "CRM sync");
    assert!(listed[0].last_used_at.is_some(), "its use is noted");

    // Without a token, with another scheme, or a wrong one: 401, the one error shape.
    for authorization in [
        None,
        Some(format!("Basic {}", made.token)),
        Some("Bearer tickler_not-a-token".to_string()),
        Some("Bearer ".to_string()),
    ] {
        let (status, body, challenge) = me(&app, authorization.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(body["error"].get("field").is_some(), "{body}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
    }

    // Revoked: refused at once; revoking twice is a conflict.
    app.engine
        .revoke_token(made.id, &Actor::system())
        .await
        .expect("revoke");
    let (status, _, _) = me(&app, Some(&format!("Bearer {}", made.token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        app.engine
            .revoke_token(made.id, &Actor::system())
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_users_tokens_stop_working() {
    let app = TestApp::start().await;
    let id = app.user("kim@firm.example", Role::Sales).await;
    let made = app
        .engine
        .create_token("kim@firm.example", None, &Actor::system())
        .await
        .expect("token");
    let user = app.engine.user(id).await.expect("user");
    app.engine
        .update_user(
            id,
            tickler_engine::settings::UserChanges {
                name: &user.name,
                role: user.role,
                active: false,
                time_zone: None,
                language: None,
                digest: None,
                digest_time: None,
            },
            &Actor::system(),
        )
        .await
        .expect("deactivate");
    let (status, _, _) = me(&app, Some(&format!("Bearer {}", made.token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // And a deactivated user gets no new one.
    let refused = app
        .engine
        .create_token("kim@firm.example", None, &Actor::system())
        .await;
    assert!(refused.is_err());
}

/// A client acting with a token of a new user with `role`.
async fn client_as(app: &TestApp, email: &str, role: Role) -> Api {
    app.user(email, role).await;
    let made = app
        .engine
        .create_token(email, None, &Actor::system())
        .await
        .expect("token");
    Api {
        base: app.url("/api/v1"),
        token: made.token,
        http: reqwest::Client::new(),
    }
}

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = send_checked(request).await;
        (response.status, response.headers, response.body)
    }

    async fn get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }

    async fn post(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.send(reqwest::Method::POST, path, Some(body), headers)
            .await
    }
}

async fn a_customer(api: &Api) -> i64 {
    let (status, headers, body) = api
        .post(
            "/customers",
            &serde_json::json!({"name": "Acme", "emails": ["ops@acme.example"],
                                "language": "ja", "time_zone": "Asia/Tokyo"}),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().expect("id");
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/customers/{id}").as_str())
    );
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_create_with_the_same_key_makes_one_contract() {
    let app = TestApp::start().await;
    let api = client_as(&app, "sam@firm.example", Role::Sales).await;
    let customer = a_customer(&api).await;
    let contract = serde_json::json!({
        "customer_id": customer, "title": "PBX care", "start": "2027-01-01",
        "end": "2027-12-31", "amount": "1200.00", "currency": "EUR",
        "owner_email": "sam@firm.example", "custom_fields": {"site": "Osaka"}
    });
    let key = [("Idempotency-Key", "7d7c2a4e-create-pbx")];
    let (first, _, made) = api.post("/contracts", &contract, &key).await;
    assert_eq!(first, StatusCode::CREATED, "{made}");
    assert_eq!(made["amount"], "1200.00");
    assert_eq!(made["custom_fields"]["site"], "Osaka");
    // The connection dropped; the client sends it again.
    let (again, headers, replayed) = api.post("/contracts", &contract, &key).await;
    assert_eq!(again, StatusCode::CREATED);
    assert_eq!(replayed["id"], made["id"]);
    assert_eq!(
        headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    // Five at once with a new key: one contract.
    let key = [("Idempotency-Key", "burst")];
    let burst = contract.clone();
    let answers = futures_join(&api, &burst, &key).await;
    let ids: std::collections::BTreeSet<i64> =
        answers.iter().filter_map(|b| b["id"].as_i64()).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    let (_, _, all) = api.get("/contracts?limit=200").await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(2), "{all}");

    // The same key with another body is refused, naming the header.
    let other = serde_json::json!({"customer_id": customer, "title": "Other",
                                   "start": "2027-01-01", "end": "2027-12-31"});
    let (status, _, body) = api
        .post(
            "/contracts",
            &other,
            &[("Idempotency-Key", "7d7c2a4e-create-pbx")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "Idempotency-Key");
}

/// Sends `body` five times at once with `headers`; the answers' bodies.
async fn futures_join(api: &Api, body: &Value, headers: &[(&str, &str)]) -> Vec<Value> {
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (base, token, body) = (api.base.clone(), api.token.clone(), body.clone());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut request = reqwest::Client::new()
                .post(format!("{base}/contracts"))
                .bearer_auth(token)
                .json(&body);
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            let response = send_checked(request).await;
            assert_eq!(response.status, StatusCode::CREATED);
            response.body
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_roles_and_stale_updates_are_refused_in_one_shape() {
    let app = TestApp::start().await;
    let sam = client_as(&app, "sam@firm.example", Role::Sales).await;
    let viewer = client_as(&app, "vic@firm.example", Role::Viewer).await;
    let customer = a_customer(&sam).await;

    let (status, _, body) = sam
        .post(
            "/contracts",
            &serde_json::json!({"customer_id": customer, "title": "X",
                                "start": "2027-03-01", "end": "2027-02-01"}),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid");
    assert_eq!(body["error"]["field"], "end");
    let (status, _, body) = sam
        .post(
            "/contracts",
            &serde_json::json!({"title": "no customer"}),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "customer_id", "{body}");
    let (status, _, body) = viewer
        .post(
            "/contracts",
            &serde_json::json!({"customer_id": customer, "title": "X",
                                "start": "2027-01-01", "end": "2027-12-31"}),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    let (_, headers, made) = sam
        .post(
            "/contracts",
            &serde_json::json!({"customer_id": customer, "title": "PBX care",
                                "start": "2027-01-01", "end": "2027-12-31",
                                "owner_email": "sam@firm.example"}),
            &[],
        )
        .await;
    let id = made["id"].as_i64().expect("id");
    let etag = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_string();
    let path = format!("/contracts/{id}");
    let patch = |body: Value, headers: Vec<(&'static str, String)>| {
        let sam = &sam;
        let path = path.clone();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            sam.send(reqwest::Method::PATCH, &path, Some(&body), &headers)
                .await
        }
    };
    let (status, _, body) = patch(serde_json::json!({"title": "No version"}), vec![]).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    let (status, _, body) = patch(
        serde_json::json!({"title": "No version"}),
        vec![("If-Match", "\"\"".to_string())],
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{body}");
    let (status, headers, body) = patch(
        serde_json::json!({"title": "PBX care 2027"}),
        vec![("If-Match", etag.clone())],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["title"], "PBX care 2027");
    let newer = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_string();
    assert_ne!(newer, etag);
    // Another client still holding the old version cannot overwrite that change.
    let (status, _, body) = patch(
        serde_json::json!({"title": "Overwritten"}),
        vec![("If-Match", etag)],
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert_eq!(body["error"]["code"], "precondition_failed");
    let (_, _, now) = sam.get(&path).await;
    assert_eq!(now["title"], "PBX care 2027");
    // A viewer may read but not change.
    let (status, _, _) = viewer.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = viewer
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&serde_json::json!({"title": "Nope"})),
            &[("If-Match", newer.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = sam.get("/contracts/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_walk_page_by_page_with_their_cursor() {
    let app = TestApp::start().await;
    let api = client_as(&app, "sam@firm.example", Role::Sales).await;
    let customer = a_customer(&api).await;
    for i in 0..5 {
        let (status, _, body) = api
            .post(
                "/contracts",
                &serde_json::json!({"customer_id": customer, "title": format!("Line {i}"),
                                    "start": "2027-01-01", "end": format!("2027-12-1{i}")}),
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut seen = Vec::new();
    let mut path = "/contracts?limit=2".to_string();
    loop {
        let (status, _, page) = api.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 5);
        for row in page["data"].as_array().expect("rows") {
            seen.push(row["title"].as_str().unwrap_or_default().to_string());
            assert!(row["next_email"]["send_at"].is_string(), "{row}");
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/contracts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["Line 0", "Line 1", "Line 2", "Line 3", "Line 4"]);
    let (status, _, body) = api.get("/contracts?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "limit");
    // Parameters axum cannot read, or the database could not, are refused in the same
    // shape, naming them.
    for (path, field) in [
        ("/contracts?limit=many", "limit"),
        ("/customers?limit=1&limit=2", "limit"),
        ("/contracts?customer_id=acme", "customer_id"),
        ("/contracts/acme", "id"),
        // A NUL would end SQLite's full-text query early (a 500 before).
        ("/contracts?q=ac%00me", "q"),
        ("/customers?q=ac%00me", "q"),
        ("/customers/9223372036854775808", "id"),
    ] {
        let (status, _, body) = api.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid", "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}: {body}");
    }
    let (_, _, customers) = api.get("/customers?q=acme").await;
    assert_eq!(customers["data"][0]["id"], customer);
    assert_eq!(customers["data"][0]["contracts"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_makes_and_revokes_their_own_tokens_on_their_account_page() {
    let app = TestApp::start().await;
    app.user("kim@firm.example", Role::Sales).await;
    app.user("lee@firm.example", Role::Sales).await;
    let kim = app.login("kim@firm.example").await;
    let lee = app.login("lee@firm.example").await;
    let response = support::post(
        &kim,
        &app,
        "/account/tokens",
        "/account/tokens",
        &[("name", "CRM sync")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("page");
    let at = page
        .find("id=\"new-token\">")
        .expect("the token, shown once")
        + 15;
    let token = page[at..at + page[at..].find('<').expect("end")].to_string();
    assert!(token.starts_with("tickler_"), "{token}");
    let (status, body, _) = me(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "kim@firm.example");

    // Listed without the token; another user can neither see nor revoke it.
    let (_, listed) = support::get(&kim, &app, "/account/tokens").await;
    assert!(
        listed.contains("<td>CRM sync</td>") && !listed.contains(&token),
        "{listed}"
    );
    let id = app.engine.tokens(None).await.expect("tokens")[0].id;
    let (_, theirs) = support::get(&lee, &app, "/account/tokens").await;
    assert!(!theirs.contains("<td>CRM sync</td>"), "{theirs}");
    let refused = support::post(
        &lee,
        &app,
        "/account/tokens",
        &format!("/account/tokens/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let revoked = support::post(
        &kim,
        &app,
        "/account/tokens",
        &format!("/account/tokens/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let (status, _, _) = me(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_served_without_a_token() {
    let app = TestApp::start().await;
    let response = send_checked(reqwest::Client::new().get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body, support::openapi::document());
    assert_eq!(response.body["openapi"], "3.1.0");
}

/// Each documented path answers its documented methods (here 401, without a token) and
/// refuses the others with 405: the router and the document agree from the outside too.
#[tokio::test(flavor = "multi_thread")]
async fn every_documented_path_answers_exactly_its_documented_methods() {
    let app = TestApp::start().await;
    let http = reqwest::Client::new();
    let doc = support::openapi::document();
    let paths = doc["paths"].as_object().expect("paths");
    for (template, item) in paths {
        let path = template.replace("{id}", "1");
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
        ] {
            let request = http
                .request(method.clone(), app.url(&path))
                .json(&serde_json::json!({}));
            if item.get(method.as_str().to_lowercase()).is_some() {
                let response = send_checked(request).await;
                let expected = if item[method.as_str().to_lowercase()]
                    .get("security")
                    .is_some()
                {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::OK
                };
                assert_eq!(response.status, expected, "{method} {path}");
            } else {
                let response = request.send().await.expect("request");
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not documented"
                );
            }
        }
    }
}

/// The check itself refuses what the document does not say.
mod the_response_check {
    use reqwest::{Method, StatusCode, header::HeaderMap};

    use super::support::openapi::check_response;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().expect("a value"));
        headers
    }

    const CONTRACT: &str = r#"{"id": 1, "version": "v1", "title": "PBX care", "customer_id": 1,
        "customer_name": "Acme", "owner_email": null, "plan": "renewal", "status": "active",
        "term_number": 1, "start_date": "2027-01-01", "end_date": "2027-12-31",
        "amount": null, "currency": null, "renewal": "expires", "notice_days": null,
        "notice_date": null, "answer": null, "custom_fields": {}}"#;

    #[test]
    fn accepts_a_documented_response() {
        let mut headers = json_headers();
        headers.insert("etag", "\"v1\"".parse().expect("a value"));
        let body = check_response(
            &Method::GET,
            "/api/v1/contracts/1",
            StatusCode::OK,
            &headers,
            CONTRACT.as_bytes(),
        );
        assert_eq!(body["title"], "PBX care");
    }

    #[test]
    #[should_panic(expected = "status not documented")]
    fn refuses_an_undocumented_status() {
        check_response(
            &Method::GET,
            "/api/v1/me",
            StatusCode::IM_A_TEAPOT,
            &json_headers(),
            br#"{"error": {"code": "internal", "message": "no", "field": null}}"#,
        );
    }

    #[test]
    #[should_panic(expected = "the required header ETag is missing")]
    fn refuses_a_response_without_a_required_header() {
        check_response(
            &Method::GET,
            "/api/v1/contracts/1",
            StatusCode::OK,
            &json_headers(),
            CONTRACT.as_bytes(),
        );
    }

    #[test]
    #[should_panic(expected = "does not match the documented schema")]
    fn refuses_a_body_unlike_its_schema() {
        // `field` is always there (null when none), and codes are from a fixed list.
        check_response(
            &Method::GET,
            "/api/v1/me",
            StatusCode::UNAUTHORIZED,
            &json_headers(),
            br#"{"error": {"code": "nope", "message": "no"}}"#,
        );
    }

    #[test]
    #[should_panic(expected = "no path of the OpenAPI document matches")]
    fn refuses_an_undocumented_path() {
        check_response(
            &Method::GET,
            "/api/v1/no-such-thing",
            StatusCode::OK,
            &json_headers(),
            b"[]",
        );
    }
}

//! A client of the JSON API acting with a bearer token; every response it receives is
//! checked against the OpenAPI document (`openapi::send_checked`).

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use tickler_core::user::Role;
use tickler_engine::Actor;

use super::{TestApp, openapi::send_checked};

pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

/// A client acting with a token of a new user `email` with `role`.
pub async fn client_as(app: &TestApp, email: &str, role: Role) -> Api {
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

impl Api {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
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

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::GET, path, None, &[]).await;
        (status, body)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::POST, path, Some(body), &[]).await;
        (status, body)
    }

    /// A POST without a body.
    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::POST, path, None, &[]).await;
        (status, body)
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::PATCH, path, Some(body), &[]).await;
        (status, body)
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::DELETE, path, None, &[]).await;
        (status, body)
    }
}

//! Every JSON API response a test receives is held to the OpenAPI document the app serves:
//! its status must be documented for the operation, the headers documented as required
//! must be there, and its body must match the documented schema (JSON Schema 2020-12, the
//! dialect of OpenAPI 3.1). So the document cannot drift from what the API does.

use std::sync::LazyLock;

use reqwest::{Method, RequestBuilder, StatusCode, header::HeaderMap};
use serde_json::Value;

/// A response of the API, already checked against the document.
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// `Null` when the body is empty.
    pub body: Value,
}

/// Sends `request` and checks its response against the OpenAPI document; panics, naming
/// the operation and what differs, when it does not match.
pub async fn send_checked(request: RequestBuilder) -> ApiResponse {
    let (client, request) = request.build_split();
    let request = request.expect("a well-formed request");
    let method = request.method().clone();
    let path = request.url().path().to_string();
    let response = client.execute(request).await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a response body");
    let body = check_response(&method, &path, status, &headers, &bytes);
    ApiResponse {
        status,
        headers,
        body,
    }
}

/// The document, as the app generates (and serves) it.
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::to_value(tickler_web::api::document()).expect("the document serializes")
});

pub fn document() -> &'static Value {
    &DOCUMENT
}

/// Checks one response to `method path` against the document and returns its body as
/// JSON (`Null` when empty).
pub fn check_response(
    method: &Method,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Value {
    let doc = document();
    let template = path_template(doc, path)
        .unwrap_or_else(|| panic!("{method} {path}: no path of the OpenAPI document matches"));
    let what = format!("{method} {path} ({template}) answered {status}");
    let operation = doc["paths"][&template]
        .get(method.as_str().to_lowercase())
        .unwrap_or_else(|| panic!("{what}: the document has no {method} operation there"));
    let responses = &operation["responses"];
    let documented = responses
        .get(status.as_str())
        .or_else(|| responses.get(format!("{}XX", status.as_u16() / 100)))
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| {
            let listed: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            panic!("{what}: status not documented (documented: {listed:?})")
        });

    if let Some(documented_headers) = documented.get("headers").and_then(Value::as_object) {
        for (name, header) in documented_headers {
            let required = header.get("required").and_then(Value::as_bool) == Some(true);
            assert!(
                !required || headers.contains_key(name.as_str()),
                "{what}: the required header {name} is missing"
            );
        }
    }

    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(json) = documented.pointer("/content/application~1json") else {
        // A document of another type (a PDF): its type must be the documented one.
        if let Some(content) = documented.get("content").and_then(Value::as_object) {
            assert!(
                content
                    .keys()
                    .any(|media| content_type.starts_with(media.as_str())),
                "{what}: Content-Type is {content_type:?}, the document says {:?}",
                content.keys().collect::<Vec<_>>()
            );
            assert!(!body.is_empty(), "{what}: an empty document");
            return Value::Null;
        }
        assert!(
            body.is_empty(),
            "{what}: the document says no body, but one came: {}",
            String::from_utf8_lossy(body)
        );
        return Value::Null;
    };
    assert!(
        content_type.starts_with("application/json"),
        "{what}: Content-Type is {content_type:?}, the document says application/json"
    );
    let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{what}: the body is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
        )
    });
    if let Some(schema) = json.get("schema") {
        let errors = schema_errors(doc, schema, &instance);
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the documented schema:\n  {}\nbody: {instance}",
            errors.join("\n  ")
        );
    }
    instance
}

/// The document's path template that `path` is an instance of (`/api/v1/contracts/7` →
/// `/api/v1/contracts/{id}`); of several, the one with most literal segments, as a router
/// prefers `/contracts/search` to `/contracts/{id}`.
pub fn path_template(doc: &Value, path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template.clone())
}

/// Why `instance` does not match `schema` (none when it does). The schema's
/// `#/components/schemas/...` references point into the whole document, so it is checked
/// as a root schema that carries the document's components beside it: the same pointers
/// then resolve within that root.
pub fn schema_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = match schema {
        Value::Object(object) => object.clone(),
        other => panic!("a schema that is not an object: {other}"),
    };
    root.insert("components".to_string(), doc["components"].clone());
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("the document's schema does not compile: {e}\n{schema}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("at {:?}: {e}", e.instance_path().to_string()))
        .collect()
}

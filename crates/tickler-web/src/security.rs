//! Defences every request passes through: cross-site requests refused, form tokens
//! checked on every state-changing request, and protective response headers.

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;

use crate::{
    AppState, WebError,
    auth::{PRE_SESSION_COOKIE, SESSION_COOKIE, current_user},
};

/// Largest form accepted (a template body with room to spare).
const MAX_FORM_BYTES: usize = 1024 * 1024;

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // A customer's answer page has no session: the signed token in its path is what
    // allows the POST, so there is no form token to check; other sites are still refused.
    let request = if safe {
        request
    } else if crate::public::is_public_answer(request.uri().path()) {
        if cross_site(&state, request.headers()) {
            return with_headers(WebError::Forbidden.into_response());
        }
        request
    } else {
        match check_unsafe_request(&state, request).await {
            Ok(request) => request,
            Err(refusal) => return with_headers(refusal.into_response()),
        }
    };
    with_headers(next.run(request).await)
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
    );
    response
}

/// Refuses a state-changing request that comes from another site, or whose form token
/// does not match the session's (or, before login, the pre-session cookie's).
async fn check_unsafe_request(state: &AppState, request: Request) -> Result<Request, WebError> {
    if cross_site(state, request.headers()) {
        tracing::warn!(uri = %request.uri(), "cross-site request refused");
        return Err(WebError::Forbidden);
    }
    let jar = CookieJar::from_headers(request.headers());
    let user = match jar.get(SESSION_COOKIE) {
        Some(cookie) => current_user(state, cookie.value()).await?,
        None => None,
    };
    let expected = match &user {
        Some(user) => Some(user.csrf.clone()),
        None => jar.get(PRE_SESSION_COOKIE).map(|c| c.value().to_string()),
    };
    let (mut parts, body) = request.into_parts();
    // The handler's `CurrentUser` is the one just looked up: one session read per request.
    if let Some(user) = user {
        parts.extensions.insert(user);
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return Err(WebError::BadRequest("the form is too large".to_string())),
    };
    let given = if is_form {
        form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.into_owned())
    } else {
        parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match (expected, given) {
        (Some(expected), Some(given))
            if constant_time_eq(expected.as_bytes(), given.as_bytes()) =>
        {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => {
            tracing::warn!(uri = %parts.uri, "request without a valid form token refused");
            Err(WebError::Forbidden)
        }
    }
}

/// Whether the browser says the request was started by another site.
fn cross_site(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let public = state
        .config
        .public_url
        .as_deref()
        .map(|url| url.trim_end_matches('/'));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let same_host = origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host);
    !(same_host || public == Some(origin))
}

/// Compares secrets in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

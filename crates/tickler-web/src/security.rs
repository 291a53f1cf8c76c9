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
    client::Client,
};

/// Largest form accepted (a template body with room to spare).
const MAX_FORM_BYTES: usize = 1024 * 1024;

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = Client::of_request(request.extensions(), request.headers(), &state);
    let protect = Protection {
        https_only: state.config.secure_cookies(),
        secure_cookies: state.config.secure_cookies() || client.https,
    };
    let finish = |response| protect.apply(response);
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // A customer's answer page has no session: the signed token in its path is what
    // allows the POST, so there is no form token to check; other sites are still refused.
    let request = if safe {
        request
    } else if request.uri().path().starts_with(crate::api::PREFIX) {
        // The API authenticates by a bearer token alone, never by the session cookie that
        // a browser would send on another site's behalf: there is no form token to check.
        request
    } else if crate::public::is_public_answer(request.uri().path()) {
        if cross_site(&state, request.headers()) {
            return finish(WebError::Forbidden.into_response());
        }
        request
    } else {
        match check_unsafe_request(&state, request).await {
            Ok(request) => request,
            Err(refusal) => return finish(refusal.into_response()),
        }
    };
    finish(next.run(request).await)
}

/// What the response headers must say for this request.
struct Protection {
    /// The public URL is https: browsers are told to use nothing else (HSTS).
    https_only: bool,
    /// The browser reached us over https (directly or through a trusted proxy), so its
    /// cookies are marked `Secure`, whatever the handler set.
    secure_cookies: bool,
}

impl Protection {
    fn apply(&self, mut response: Response) -> Response {
        if self.secure_cookies {
            mark_cookies_secure(response.headers_mut());
        }
        if self.https_only {
            response.headers_mut().insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
        with_headers(response)
    }
}

/// Adds `Secure` to every cookie the response sets that lacks it.
fn mark_cookies_secure(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let secure = cookie.to_str().ok().and_then(|text| {
            let already = text
                .split(';')
                .any(|attribute| attribute.trim().eq_ignore_ascii_case("secure"));
            (!already).then(|| HeaderValue::from_str(&format!("{text}; Secure")).ok())?
        });
        headers.append(header::SET_COOKIE, secure.unwrap_or(cookie));
    }
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
    // Pages show a logged-in person's data and carry their form token: no copy in any cache
    // (the back button after logout, a shared proxy). Assets set their own caching.
    set(headers, header::CACHE_CONTROL, "no-store");
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
    fn cookies_are_marked_secure_once() {
        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("b=2; Secure; HttpOnly"),
        );
        mark_cookies_secure(&mut headers);
        let cookies: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies, ["a=1; Path=/; Secure", "b=2; Secure; HttpOnly"]);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

//! Logging in and out, the one-time setup of the first admin, and who is asking.

use std::{net::SocketAddr, time::Duration};

use askama::Template;
use axum::{
    Form, Router,
    extract::{ConnectInfo, FromRequestParts, Query, State},
    http::request::Parts,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tickler_core::{
    access::{Action, Viewer},
    time_zone::Zone,
    user::Role,
};
use tickler_engine::{Actor, directory::NewUser, passwords};
use tickler_store::{
    sessions,
    users::{self, User},
};

use crate::{AppState, WebError};

pub const SESSION_COOKIE: &str = "tickler_session";
/// Carries the form token of pages shown before anyone is logged in (login, setup).
pub const PRE_SESSION_COOKIE: &str = "tickler_pre";

/// Failed logins within this window count towards throttling.
const THROTTLE_WINDOW: SignedDuration = SignedDuration::from_secs(15 * 60);
/// From this many failures on, each attempt waits a second first.
const SLOW_AFTER: i64 = 5;
/// From this many failures on, attempts are refused with 429 until the window passes.
const REFUSE_AFTER: i64 = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup", get(setup_page).post(setup))
}

/// 32 random bytes, URL-safe: session tokens and form tokens.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Sessions are stored by hash, so the database never holds a usable token.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The logged-in person making the request, with what every page needs to know of them.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub viewer: Viewer,
    /// The token this session's forms must carry.
    pub csrf: String,
    /// The zone pages show times in for this person.
    pub zone: TimeZone,
    pub zone_name: String,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor(self.user.email.clone())
    }

    /// Refuses with 403 unless this person may take `action` (on a contract owned by `owner_id`).
    pub fn require(&self, action: Action, owner_id: Option<i64>) -> Result<(), WebError> {
        if self.viewer.may(action, owner_id) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// Why there is no current user: log in first (or set up the first admin).
pub struct LoginRequired {
    to: String,
}

impl IntoResponse for LoginRequired {
    fn into_response(self) -> Response {
        Redirect::to(&self.to).into_response()
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let found = match jar.get(SESSION_COOKIE) {
            Some(cookie) => current_user(state, cookie.value())
                .await
                .map_err(IntoResponse::into_response)?,
            None => None,
        };
        match found {
            Some(user) => Ok(user),
            None => {
                let mut conn = state
                    .engine
                    .store()
                    .conn()
                    .await
                    .map_err(|e| WebError::from(e).into_response())?;
                let nobody = !users::any_can_log_in(&mut conn)
                    .await
                    .map_err(|e| WebError::from(e).into_response())?;
                let to = if nobody {
                    "/setup".to_string()
                } else if parts.method == axum::http::Method::GET {
                    let path = parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/");
                    format!(
                        "/login?next={}",
                        form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
                    )
                } else {
                    "/login".to_string()
                };
                Err(LoginRequired { to }.into_response())
            }
        }
    }
}

/// The user behind a session token, sliding the session's expiry forward.
pub async fn current_user(state: &AppState, token: &str) -> Result<Option<CurrentUser>, WebError> {
    let hash = token_hash(token);
    let now = Timestamp::now();
    let mut conn = state.engine.store().conn().await?;
    let Some(session) = sessions::find_live(&mut conn, &hash, now).await? else {
        return Ok(None);
    };
    let user = users::get(&mut conn, session.user_id).await?;
    if !user.active {
        sessions::delete(&mut conn, &hash).await?;
        return Ok(None);
    }
    let idle = SignedDuration::try_from(state.config.session_idle)
        .unwrap_or(SignedDuration::from_hours(8));
    // Only write when a noticeable part of the idle time has passed, not on every request.
    let renewed = now.saturating_add(idle).unwrap_or(now);
    if renewed.duration_since(session.expires_at) > SignedDuration::from_secs(60) {
        sessions::touch(&mut conn, &hash, now, renewed).await?;
    }
    let default_zone = state.engine.settings().default_time_zone.clone();
    let zone = user
        .time_zone
        .as_deref()
        .and_then(|name| Zone::parse("time_zone", name).ok())
        .unwrap_or(default_zone);
    Ok(Some(CurrentUser {
        viewer: Viewer {
            user_id: user.id,
            role: user.role,
        },
        user,
        csrf: session.csrf_token,
        zone_name: zone.name().to_string(),
        zone: zone.tz().clone(),
    }))
}

fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .path("/")
        .build()
}

fn pre_session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((PRE_SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.secure_cookies())
        .path("/")
        .build()
}

/// The form token of a page shown before login, kept in its own cookie.
fn pre_session_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(PRE_SESSION_COOKIE) {
        Some(cookie) => {
            let token = cookie.value().to_string();
            (jar, token)
        }
        None => {
            let token = random_token();
            (jar.add(pre_session_cookie(state, token.clone())), token)
        }
    }
}

/// Only a local path may be a place to return to after login: never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> Result<Response, WebError> {
    let mut conn = state.engine.store().conn().await?;
    if !users::any_can_log_in(&mut conn).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = LoginPage {
        csrf,
        next: safe_next(query.next.as_deref()),
        email: String::new(),
        error: None,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let now = Timestamp::now();
    let since = now.saturating_sub(THROTTLE_WINDOW).unwrap_or(now);
    let email = form.email.trim().to_lowercase();
    let keys = [format!("email:{email}"), format!("ip:{}", peer.ip())];
    let mut conn = state.engine.store().conn().await?;
    let mut failures = 0;
    for key in &keys {
        failures = failures.max(sessions::failures_since(&mut conn, key, since).await?);
    }
    if failures >= REFUSE_AFTER {
        tracing::warn!(%email, ip = %peer.ip(), "login refused: too many failures");
        return Err(WebError::TooManyRequests);
    }
    if failures >= SLOW_AFTER {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let found = users::credentials(&mut conn, &email).await?;
    let password = form.password.clone();
    let verified = match found {
        Some((user, Some(stored))) if user.active => {
            let ok = tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?;
            ok.then_some(user)
        }
        _ => {
            // Hash anyway, so a missing account takes as long as a wrong password.
            let _ = tokio::task::spawn_blocking(move || passwords::hash(&password)).await;
            None
        }
    };
    let Some(user) = verified else {
        for key in &keys {
            sessions::record_failure(&mut conn, key, now, since).await?;
        }
        tracing::warn!(%email, ip = %peer.ip(), "failed login");
        let (jar, csrf) = pre_session_token(&state, jar);
        let page = LoginPage {
            csrf,
            next: safe_next(form.next.as_deref()),
            email: form.email,
            error: Some("Wrong email or password.".to_string()),
        };
        return Ok((
            axum::http::StatusCode::UNAUTHORIZED,
            jar,
            Html(page.render()?),
        )
            .into_response());
    };
    for key in &keys {
        sessions::clear_failures(&mut conn, key).await?;
    }
    let jar = start_session(&state, &mut conn, jar, &user, now).await?;
    tracing::info!(email = %user.email, "logged in");
    Ok((jar, Redirect::to(&safe_next(form.next.as_deref()))).into_response())
}

/// A new session with a new token: any session the browser had before is ended, so a
/// token planted before login is worthless after it.
async fn start_session(
    state: &AppState,
    conn: &mut tickler_store::Db,
    jar: CookieJar,
    user: &User,
    now: Timestamp,
) -> Result<CookieJar, WebError> {
    if let Some(old) = jar.get(SESSION_COOKIE) {
        sessions::delete(conn, &token_hash(old.value())).await?;
    }
    sessions::delete_expired(conn, now).await?;
    let token = random_token();
    let idle = SignedDuration::try_from(state.config.session_idle)
        .unwrap_or(SignedDuration::from_hours(8));
    sessions::insert(
        conn,
        &token_hash(&token),
        user.id,
        &random_token(),
        now,
        now.saturating_add(idle).unwrap_or(now),
    )
    .await?;
    Ok(jar
        .remove(Cookie::from(PRE_SESSION_COOKIE))
        .add(session_cookie(state, token)))
}

async fn logout(State(state): State<AppState>, jar: CookieJar) -> Result<Response, WebError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        let mut conn = state.engine.store().conn().await?;
        sessions::delete(&mut conn, &token_hash(cookie.value())).await?;
    }
    Ok((
        jar.remove(Cookie::build(SESSION_COOKIE).path("/").build()),
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    csrf: String,
    email: String,
    name: String,
    error: Option<String>,
}

async fn setup_page(State(state): State<AppState>, jar: CookieJar) -> Result<Response, WebError> {
    let mut conn = state.engine.store().conn().await?;
    if users::any_can_log_in(&mut conn).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = SetupPage {
        csrf,
        email: String::new(),
        name: String::new(),
        error: None,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    name: String,
    password: String,
    password_again: String,
}

async fn setup(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<SetupForm>,
) -> Result<Response, WebError> {
    let mut conn = state.engine.store().conn().await?;
    if users::any_can_log_in(&mut conn).await? {
        // Someone finished the setup first: it happens only once.
        return Err(WebError::Forbidden);
    }
    drop(conn);
    let problem = if form.password != form.password_again {
        Some("The two passwords differ.".to_string())
    } else {
        passwords::check_strength(&form.password)
            .err()
            .map(|e| format!("Password {}.", e.message))
    };
    let engine = &state.engine;
    let actor = Actor("setup".to_string());
    let created = match problem {
        Some(problem) => Err(problem),
        None => {
            let mut conn = engine.store().conn().await?;
            let existing = users::find_by_email(&mut conn, form.email.trim()).await?;
            drop(conn);
            let id = match existing {
                Some(user) => {
                    engine.promote_to_admin(user.id, &actor).await?;
                    Ok(user.id)
                }
                None => engine
                    .add_user(
                        NewUser {
                            email: form.email.clone(),
                            name: form.name.clone(),
                            role: Role::Admin,
                            password_hash: None,
                        },
                        &actor,
                    )
                    .await
                    .map_err(|e| e.to_string()),
            };
            match id {
                Ok(id) => engine
                    .set_password(id, &form.password, &actor)
                    .await
                    .map(|_| id)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        }
    };
    match created {
        Ok(id) => {
            let mut conn = engine.store().conn().await?;
            let user = users::get(&mut conn, id).await?;
            let jar = start_session(&state, &mut conn, jar, &user, Timestamp::now()).await?;
            Ok((jar, Redirect::to("/")).into_response())
        }
        Err(error) => {
            let (jar, csrf) = pre_session_token(&state, jar);
            let page = SetupPage {
                csrf,
                email: form.email,
                name: form.name,
                error: Some(error),
            };
            Ok((
                axum::http::StatusCode::BAD_REQUEST,
                jar,
                Html(page.render()?),
            )
                .into_response())
        }
    }
}

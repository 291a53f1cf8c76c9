//! Logging in and out, the one-time setup of the first admin, and who is asking.

use askama::Template;
use axum::{
    Form, Router,
    extract::{FromRequestParts, Query, State},
    http::request::Parts,
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use jiff::tz::TimeZone;
use serde::Deserialize;
use tickler_core::{
    access::{Action, Viewer},
    time_zone::Zone,
};
use tickler_engine::{
    Actor, EngineError,
    browse::User,
    passwords,
    sessions::{LogIn, NewSession, random_token},
    setup::{FirstAdmin, SetUp},
};

use crate::{AppState, WebError, client::Client};

pub const SESSION_COOKIE: &str = "tickler_session";
/// Carries the form token of pages shown before anyone is logged in (login, setup).
pub const PRE_SESSION_COOKIE: &str = "tickler_pre";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup", get(setup_page).post(setup))
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
    /// The confirmation this page shows once (left by the action that redirected here);
    /// only GET requests take it from the session.
    pub notice: Option<String>,
    /// Mail is written to the outbox folder, not sent: every page says so.
    pub test_mode: bool,
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
            Some(cookie) => {
                let shows_notice = parts.method == axum::http::Method::GET;
                user_of_session(state, cookie.value(), shows_notice)
                    .await
                    .map_err(IntoResponse::into_response)?
            }
            None => None,
        };
        match found {
            Some(user) => Ok(user),
            None => {
                let setup_first = state
                    .engine
                    .setup_first()
                    .await
                    .map_err(|e| WebError::from(e).into_response())?;
                let to = if setup_first {
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
    user_of_session(state, token, false).await
}

/// The user behind a session token; with `shows_notice` (a page is being shown) the
/// session's waiting notice is taken, so that it shows on this page and no other.
async fn user_of_session(
    state: &AppState,
    token: &str,
    shows_notice: bool,
) -> Result<Option<CurrentUser>, WebError> {
    let Some(session) = state
        .engine
        .current_session(token, state.config.session_idle, state.config.session_max)
        .await?
    else {
        return Ok(None);
    };
    let notice = match session.notice {
        Some(notice) if shows_notice && state.engine.take_notice(token, &notice).await? => {
            Some(notice)
        }
        _ => None,
    };
    let user = session.user;
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
        csrf: session.csrf,
        zone_name: zone.name().to_string(),
        zone: zone.tz().clone(),
        notice,
        test_mode: state.engine.mail_goes_to_outbox(),
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
pub(crate) fn pre_session_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
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
    if state.engine.setup_first().await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = LoginPage {
        csrf,
        next: crate::return_to::after_login(query.next.as_deref()),
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
    client: Client,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let previous = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let outcome = state
        .engine
        .log_in(
            &form.email,
            &form.password,
            client.address,
            previous.as_deref(),
            state.config.session_idle,
        )
        .await?;
    match outcome {
        LogIn::Throttled { retry_after } => {
            // Whole seconds, rounded up, so that a retry at that time is checked.
            let seconds = retry_after.as_secs() + i64::from(retry_after.subsec_nanos() > 0);
            let mut response = WebError::TooManyRequests.into_response();
            if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        LogIn::Refused => {
            let (jar, csrf) = pre_session_token(&state, jar);
            let page = LoginPage {
                csrf,
                next: crate::return_to::after_login(form.next.as_deref()),
                email: form.email,
                error: Some("Wrong email or password.".to_string()),
            };
            Ok((
                axum::http::StatusCode::UNAUTHORIZED,
                jar,
                Html(page.render()?),
            )
                .into_response())
        }
        LogIn::Started(session) => Ok((
            with_session(&state, jar, session),
            Redirect::to(&crate::return_to::after_login(form.next.as_deref())),
        )
            .into_response()),
    }
}

/// The browser's cookies once a session started: the new session's token, and the
/// pre-login form token gone.
fn with_session(state: &AppState, jar: CookieJar, session: NewSession) -> CookieJar {
    jar.remove(Cookie::from(PRE_SESSION_COOKIE))
        .add(session_cookie(state, session.token))
}

async fn logout(State(state): State<AppState>, jar: CookieJar) -> Result<Response, WebError> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.engine.log_out(cookie.value()).await?;
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
    /// Whether the form asks for the setup code (the app is reachable from other machines).
    needs_code: bool,
    error: Option<String>,
}

async fn setup_page(State(state): State<AppState>, jar: CookieJar) -> Result<Response, WebError> {
    if !state.engine.setup_open().await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let (jar, csrf) = pre_session_token(&state, jar);
    let page = SetupPage {
        csrf,
        email: String::new(),
        name: String::new(),
        needs_code: state.config.setup_needs_code,
        error: None,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

const WRONG_SETUP_CODE: &str = "That is not the setup code. It is in the log of `tickler serve` \
     (\"setup code\"), and `tickler setup-code` prints it.";

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    name: String,
    password: String,
    password_again: String,
    #[serde(default)]
    setup_code: String,
}

async fn setup(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<SetupForm>,
) -> Result<Response, WebError> {
    if !state.engine.setup_open().await? {
        // Someone finished the setup first: it happens only once.
        return Err(WebError::Forbidden);
    }
    let problem = if form.password != form.password_again {
        Some("The two passwords differ.".to_string())
    } else {
        passwords::check_strength(&form.password)
            .err()
            .map(|e| format!("Password {}.", e.message))
    };
    let created = match problem {
        Some(problem) => Err(problem),
        None => {
            let previous = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
            let admin = FirstAdmin {
                email: &form.email,
                name: &form.name,
                password: &form.password,
                setup_code: state
                    .config
                    .setup_needs_code
                    .then_some(form.setup_code.as_str()),
            };
            match state
                .engine
                .set_up_first_admin(admin, previous.as_deref(), state.config.session_idle)
                .await
            {
                Ok(SetUp::Started(session)) => Ok(session),
                Ok(SetUp::AlreadyDone) => return Err(WebError::Forbidden),
                Ok(SetUp::WrongCode) => Err(WRONG_SETUP_CODE.to_string()),
                // What the person typed is at fault: say so on the form.
                Err(
                    e @ (EngineError::Invalid(_)
                    | EngineError::Conflict(_)
                    | EngineError::NotFound { .. }),
                ) => Err(e.to_string()),
                Err(e) => return Err(e.into()),
            }
        }
    };
    match created {
        Ok(session) => Ok((with_session(&state, jar, session), Redirect::to("/")).into_response()),
        Err(error) => {
            let (jar, csrf) = pre_session_token(&state, jar);
            let status = if error == WRONG_SETUP_CODE {
                axum::http::StatusCode::FORBIDDEN
            } else {
                axum::http::StatusCode::BAD_REQUEST
            };
            let page = SetupPage {
                csrf,
                email: form.email,
                name: form.name,
                needs_code: state.config.setup_needs_code,
                error: Some(error),
            };
            Ok((status, jar, Html(page.render()?)).into_response())
        }
    }
}

//! The pages, one module each; every module exposes its routes.

pub mod contracts;
pub mod customers;
pub mod dashboard;
pub mod plans;
pub mod review;
pub mod sent;
pub mod settings;
pub mod users;

use axum::Router;
use tickler_core::user::Role;

use crate::{AppState, auth::CurrentUser};

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(dashboard::routes())
        .merge(review::routes())
        .merge(contracts::routes())
        .merge(customers::routes())
        .merge(plans::routes())
        .merge(sent::routes())
        .merge(settings::routes())
        .merge(users::routes())
}

/// What the frame around every page shows: the navigation, who is logged in, in which
/// zone times are shown, and the token for the logout form.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// Which navigation entry is current: "dashboard", "review", "contracts", ...
    pub active: &'static str,
    pub user_name: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub zone: String,
    pub csrf: String,
    /// A one-line confirmation of what was just done, e.g. "Reminder skipped."
    pub notice: Option<String>,
}

impl Layout {
    pub fn new(user: &CurrentUser, title: impl Into<String>, active: &'static str) -> Layout {
        Layout {
            title: title.into(),
            active,
            user_name: user.user.name.clone(),
            role: user.user.role.as_str(),
            is_admin: user.user.role == Role::Admin,
            zone: user.zone_name.clone(),
            csrf: user.csrf.clone(),
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Layout {
        self.notice = notice.filter(|n| !n.trim().is_empty());
        self
    }
}

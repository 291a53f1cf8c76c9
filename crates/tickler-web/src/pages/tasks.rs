//! The Tasks page: the team's to-dos (call the customer), filtered to the open ones, the
//! signed-in user's, the overdue or the done; each open one marked done with a note. The
//! same engine use cases as `tickler task list` and `tickler task done`; who may mark a task
//! done follows the contract rule (admins, and the salesperson who owns it).

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    response::{Html, Response},
    routing::{get, post},
};
use jiff::civil::Date;
use serde::Deserialize;
use tickler_core::{access::Action, task::TaskStatus};
use tickler_engine::tasks::{TaskItem, TaskQuery};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    pages::{Layout, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/{id}/done", post(done))
}

/// The filters of the page, `?show=`.
const FILTERS: [(&str, &str); 4] = [
    ("open", "Open"),
    ("mine", "Mine"),
    ("overdue", "Overdue"),
    ("done", "Done"),
];

/// One task as a row of a table (also the dashboard's).
pub struct TaskRow {
    pub id: i64,
    pub contract_id: Option<i64>,
    pub contract_title: String,
    pub customer_name: String,
    pub title: String,
    pub owner: String,
    pub due_date: String,
    pub overdue: bool,
    pub escalated: bool,
    pub status: &'static str,
    pub note: String,
    pub closed_by: String,
    /// Whether the viewer may mark it done.
    pub can_act: bool,
}

impl TaskRow {
    pub fn new(item: &TaskItem, user: &CurrentUser, today: Date) -> TaskRow {
        let t = &item.task;
        let open = t.status == TaskStatus::Open;
        TaskRow {
            id: t.id,
            contract_id: t.contract_id,
            contract_title: item.contract_title.clone().unwrap_or_default(),
            customer_name: item.customer_name.clone().unwrap_or_default(),
            title: t.title.clone(),
            owner: item
                .owner_name
                .clone()
                .or_else(|| item.owner_email.clone())
                .unwrap_or_else(|| "nobody".to_string()),
            due_date: t.due_date.to_string(),
            overdue: open && t.due_date < today,
            escalated: t.escalated_at.is_some(),
            status: t.status.as_str(),
            note: t.note.clone().unwrap_or_default(),
            closed_by: t.closed_by.clone().unwrap_or_default(),
            can_act: open && user.viewer.may(Action::ChangeContract, t.owner_id),
        }
    }
}

pub struct Tab {
    label: &'static str,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    layout: Layout,
    tabs: Vec<Tab>,
    show: &'static str,
    rows: Vec<TaskRow>,
    today: String,
}

#[derive(Deserialize, Default)]
struct ListParams {
    show: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let text = params.show.as_deref().map(str::trim).unwrap_or("open");
    let show = FILTERS
        .iter()
        .map(|(key, _)| *key)
        .find(|key| *key == text)
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "show: \"{text}\" is not a filter (open, mine, overdue or done)"
            ))
        })?;
    let query = match show {
        "mine" => TaskQuery {
            owner_id: Some(user.user.id),
            status: Some(TaskStatus::Open),
            ..TaskQuery::default()
        },
        "overdue" => TaskQuery {
            overdue: true,
            ..TaskQuery::default()
        },
        "done" => TaskQuery {
            status: Some(TaskStatus::Done),
            ..TaskQuery::default()
        },
        _ => TaskQuery {
            status: Some(TaskStatus::Open),
            ..TaskQuery::default()
        },
    };
    let today = engine.organisation_today();
    let rows = engine
        .list_tasks(&query)
        .await?
        .iter()
        .map(|item| TaskRow::new(item, &user, today))
        .collect();
    let page = TasksPage {
        layout: Layout::new(&user, "Tasks", "tasks"),
        tabs: FILTERS
            .iter()
            .map(|(key, label)| Tab {
                label,
                href: format!("/tasks?show={key}"),
                current: *key == show,
            })
            .collect(),
        show,
        rows,
        today: today.to_string(),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DoneForm {
    note: String,
    /// The list to return to.
    back: String,
}

async fn done(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DoneForm>,
) -> Result<Response, WebError> {
    let engine = &state.engine;
    let task = engine.get_task(id).await?;
    if !user.viewer.may(Action::ChangeContract, task.owner_id) {
        return Err(WebError::Forbidden);
    }
    let task = engine
        .complete_task(id, Some(&form.note), &user.actor())
        .await?;
    // Only a list of this page is a place to return to.
    let back = if form.back.starts_with("/tasks") || form.back == "/" {
        form.back.as_str()
    } else {
        "/tasks"
    };
    Ok(redirect_with_notice(
        back,
        &format!("Task \"{}\" marked done.", task.title),
    ))
}

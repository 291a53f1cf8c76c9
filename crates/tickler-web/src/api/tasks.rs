//! Tasks in the API: the team's to-dos (call the customer), listed by anyone with a token
//! with the Tasks page's filters; marked done, with a note, by those who may change the
//! task's contract (the page's rule). The same engine use cases as the Tasks page and
//! `tickler task list` / `tickler task done`.

use axum::{Json, body::Bytes, extract::State};
use serde::{Deserialize, Serialize};
use tickler_core::{access::Action, task::TaskStatus};
use tickler_engine::{
    Actor, EngineError,
    tasks::{TaskItem, TaskQuery, TaskRecord},
};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::{ApiQuery, IdPath},
    resources::{invalid, optional_body_of},
};
use crate::AppState;

/// A task's status.
#[derive(ToSchema)]
#[schema(as = TaskStatus)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum TaskStatusName {
    open,
    done,
    cancelled,
}

/// A task as `POST /api/v1/tasks/{id}/done` answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Task)]
pub(super) struct TaskOut {
    id: i64,
    /// The contract it is about; `null` for a task about no contract.
    #[schema(required = true)]
    contract_id: Option<i64>,
    title: String,
    /// What made it, e.g. `reminder:42`.
    source: String,
    #[schema(required = true)]
    owner_id: Option<i64>,
    #[schema(format = Date)]
    due_date: String,
    #[schema(value_type = TaskStatusName)]
    status: &'static str,
    /// The note of whoever did it, or why it was cancelled.
    #[schema(required = true)]
    note: Option<String>,
    #[schema(required = true, format = DateTime)]
    closed_at: Option<String>,
    #[schema(required = true)]
    closed_by: Option<String>,
    /// When the admins were told it was left too long.
    #[schema(required = true, format = DateTime)]
    escalated_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&TaskRecord> for TaskOut {
    fn from(t: &TaskRecord) -> Self {
        TaskOut {
            id: t.id,
            contract_id: t.contract_id,
            title: t.title.clone(),
            source: t.source.clone(),
            owner_id: t.owner_id,
            due_date: t.due_date.to_string(),
            status: t.status.as_str(),
            note: t.note.clone(),
            closed_at: t.closed_at.map(|at| at.to_string()),
            closed_by: t.closed_by.clone(),
            escalated_at: t.escalated_at.map(|at| at.to_string()),
            created_at: t.created_at.to_string(),
        }
    }
}

/// A task in a list, with its contract, customer and owner.
#[derive(Serialize, ToSchema)]
pub(super) struct TaskRow {
    id: i64,
    #[schema(required = true)]
    contract_id: Option<i64>,
    #[schema(required = true)]
    contract_title: Option<String>,
    #[schema(required = true)]
    customer_name: Option<String>,
    title: String,
    #[schema(required = true)]
    owner_id: Option<i64>,
    #[schema(required = true)]
    owner_name: Option<String>,
    #[schema(required = true)]
    owner_email: Option<String>,
    #[schema(format = Date)]
    due_date: String,
    #[schema(value_type = TaskStatusName)]
    status: &'static str,
    #[schema(required = true)]
    note: Option<String>,
    #[schema(required = true)]
    closed_by: Option<String>,
    /// Whether the admins were told it was left too long.
    escalated: bool,
}

impl From<TaskItem> for TaskRow {
    fn from(item: TaskItem) -> Self {
        let t = item.task;
        TaskRow {
            id: t.id,
            contract_id: t.contract_id,
            contract_title: item.contract_title,
            customer_name: item.customer_name,
            title: t.title,
            owner_id: t.owner_id,
            owner_name: item.owner_name,
            owner_email: item.owner_email,
            due_date: t.due_date.to_string(),
            status: t.status.as_str(),
            note: t.note,
            closed_by: t.closed_by,
            escalated: t.escalated_at.is_some(),
        }
    }
}

/// Tasks, soonest due first.
#[derive(Serialize, ToSchema)]
pub(super) struct TaskList {
    data: Vec<TaskRow>,
}

/// The query of the task list: the Tasks page's filters.
#[derive(Deserialize, Default, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(super) struct TasksQuery {
    /// Only tasks with this status; empty: any.
    #[param(pattern = "^(open|done|cancelled)?$")]
    status: Option<String>,
    /// `me`: the token's user's tasks; or a user's email.
    owner: Option<String>,
    /// Only the tasks of this contract.
    contract_id: Option<i64>,
    /// `true`: only open tasks past their due date (in the organisation's time zone).
    overdue: Option<bool>,
}

/// Tasks, soonest due first, with the Tasks page's filters (`tickler task list`).
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    security(("bearer" = [])),
    params(TasksQuery),
    responses(
        (status = 200, description = "The tasks", body = TaskList),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 422, description = "A query parameter refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_tasks(
    State(state): State<AppState>,
    api: ApiUser,
    ApiQuery(query): ApiQuery<TasksQuery>,
) -> Result<Json<TaskList>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<TaskStatus>())
        .transpose()
        .map_err(|_| invalid("status", "must be open, done or cancelled"))?;
    let overdue = query.overdue == Some(true);
    if overdue && status.is_some_and(|s| s != TaskStatus::Open) {
        return Err(invalid(
            "overdue",
            "only open tasks are overdue; leave out status or give open",
        ));
    }
    let (owner_id, owner_email) = match query.owner.as_deref().map(str::trim) {
        None | Some("") => (None, None),
        Some("me") => (Some(api.user.id), None),
        Some(email) => (None, Some(email.to_string())),
    };
    let rows = state
        .engine
        .list_tasks(&TaskQuery {
            owner_id,
            owner_email,
            status,
            contract_id: query.contract_id,
            overdue,
        })
        .await
        .map_err(|e| match e {
            // The filter names a user there is none of: the parameter is wrong, not the URL.
            EngineError::NotFound { what: "user", .. } => {
                invalid("owner", "is neither `me` nor the email of a user")
            }
            other => other.into(),
        })?;
    Ok(Json(TaskList {
        data: rows.into_iter().map(TaskRow::from).collect(),
    }))
}

/// Marking a task done; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = TaskDone, examples(json!({"note": "called; they renew"})))]
pub(super) struct DoneIn {
    /// What was done (kept with the task and in its history).
    note: Option<String>,
}

/// Marks an open task done, with a note (`tickler task done`).
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/done",
    tag = "tasks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The task's id")),
    request_body(content = Option<DoneIn>, description = "Optional: a note"),
    responses(
        (status = 200, description = "Done: the task as it now is", body = TaskOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may mark done only the tasks its user \
                                      owns", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The task is no longer open", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn done(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Json<TaskOut>, ApiError> {
    let task = state.engine.get_task(id).await?;
    if !api.viewer.may(Action::ChangeContract, task.owner_id) {
        return Err(ApiError::forbidden(
            "your role may mark done only the tasks you own",
        ));
    }
    let input: DoneIn = optional_body_of(&body)?;
    let task = state
        .engine
        .complete_task(id, input.note.as_deref(), &Actor(api.user.email.clone()))
        .await?;
    Ok(Json(TaskOut::from(&task)))
}

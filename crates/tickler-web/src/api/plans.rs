//! Plans in the API: every plan with its steps, as the Plans page lists them (the engine's
//! `plans_with_steps`). Open to anyone with a token; changing plans stays on the pages.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ApiUser, error::ErrorBody, openapi::ReminderModeName};
use crate::AppState;

/// Who a step's email goes to.
#[derive(Serialize, ToSchema)]
pub(super) struct StepRecipients {
    customer: bool,
    /// The contract's owner.
    owner: bool,
    /// The organisation's team address.
    team: bool,
    /// The owner in CC of the customer's email.
    cc_owner: bool,
}

/// One step of a plan: an email (or a task) at a time relative to one of the subject's
/// dates.
#[derive(Serialize, ToSchema)]
pub(super) struct StepOut {
    /// The step's name within its plan, e.g. `before_60`.
    key: String,
    label: String,
    /// The date it counts from, e.g. `end_date`, `notice_date`.
    anchor: &'static str,
    /// Days from the anchor; negative is before it.
    offset_days: i32,
    /// `calendar_days`, or `business_days` (weekends and holidays skipped).
    offset_unit: &'static str,
    /// Local time of day in the customer's zone, "09:00".
    send_time: String,
    recipients: StepRecipients,
    #[schema(value_type = ReminderModeName)]
    mode: &'static str,
    /// The template its email is written from.
    template: String,
    /// Where the customer's replies go; `null`: the contract's owner.
    #[schema(required = true)]
    reply_to: Option<String>,
}

/// A plan and its steps.
#[derive(Serialize, ToSchema)]
#[schema(as = Plan)]
pub(super) struct PlanOut {
    id: i64,
    name: String,
    description: String,
    /// What the plan's emails call the contract ("subscription"); empty: "contract".
    noun: String,
    /// Archived plans keep running for their contracts; new contracts cannot choose them.
    archived: bool,
    steps: Vec<StepOut>,
}

/// Every plan.
#[derive(Serialize, ToSchema)]
pub(super) struct PlanList {
    data: Vec<PlanOut>,
}

/// Every plan with its steps (the Plans page).
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    tag = "plans",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The plans", body = PlanList),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_plans(
    State(state): State<AppState>,
    _api: ApiUser,
) -> Result<Json<PlanList>, ApiError> {
    let data = state
        .engine
        .plans_with_steps()
        .await?
        .into_iter()
        .map(|(summary, plan)| PlanOut {
            id: summary.id,
            name: summary.name,
            description: summary.description,
            noun: summary.noun,
            archived: summary.archived,
            steps: plan
                .steps
                .into_iter()
                .map(|step| StepOut {
                    key: step.key,
                    label: step.label,
                    anchor: step.anchor.as_str(),
                    offset_days: step.offset.days,
                    offset_unit: step.offset.unit.as_str(),
                    send_time: step.send_time.strftime("%H:%M").to_string(),
                    recipients: StepRecipients {
                        customer: step.recipients.customer,
                        owner: step.recipients.owner,
                        team: step.recipients.team,
                        cc_owner: step.recipients.cc_owner,
                    },
                    mode: step.mode.as_str(),
                    template: step.template,
                    reply_to: step.reply_to.map(|address| address.to_string()),
                })
                .collect(),
        })
        .collect();
    Ok(Json(PlanList { data }))
}

/// A template in one language.
#[derive(Serialize, ToSchema)]
pub(super) struct TemplateLanguage {
    #[schema(value_type = super::openapi::LanguageCode)]
    language: &'static str,
    /// The team's text replaces the built-in one in this language.
    edited: bool,
}

/// A template a plan's step can use.
#[derive(Serialize, ToSchema)]
#[schema(as = Template)]
pub(super) struct TemplateOut {
    /// The name steps use, e.g. `renewal_60`.
    key: String,
    languages: Vec<TemplateLanguage>,
}

/// Every template.
#[derive(Serialize, ToSchema)]
pub(super) struct TemplateList {
    data: Vec<TemplateOut>,
}

/// Every template a plan can use: the built-in ones, those plans name and those the team
/// edited, with the languages the team edited each in (the Plans page's list).
#[utoipa::path(
    get,
    path = "/api/v1/templates",
    tag = "plans",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The templates", body = TemplateList),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_templates(
    State(state): State<AppState>,
    _api: ApiUser,
) -> Result<Json<TemplateList>, ApiError> {
    let data = state
        .engine
        .template_catalogue()
        .await?
        .into_iter()
        .map(|entry| TemplateOut {
            key: entry.key,
            languages: entry
                .languages
                .into_iter()
                .map(|(language, edited)| TemplateLanguage {
                    language: language.code(),
                    edited,
                })
                .collect(),
        })
        .collect();
    Ok(Json(TemplateList { data }))
}

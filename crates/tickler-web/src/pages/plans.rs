//! Plans and templates: a plan's steps (anchor, offset, send time, mode, recipients,
//! template) and each template's text per language, with a live preview against a real
//! contract. Everyone may look; only admins change them.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use jiff::civil::Time;
use serde::Deserialize;
use tickler_core::{
    Checks, ValidationError,
    access::Action,
    email::EmailAddress,
    language::Language,
    plan::{Anchor, Mode, Offset, OffsetUnit, Recipients, Step},
};
use tickler_engine::{
    EngineError,
    plans::{VARIABLES, plan_anchors, unschedulable},
    previews::{Rendered, SourceError, TEMPLATE_KEYS},
};

use crate::field_errors::FieldErrors;
use crate::{
    AppState, WebError,
    auth::CurrentUser,
    format,
    pages::{Layout, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plans", get(list))
        .route("/plans/{id}", get(detail))
        .route("/plans/{id}/steps", post(save_steps))
        .route("/plans/copy", post(copy))
        .route("/plans/{id}/describe", post(save_description))
        .route("/plans/{id}/archive", post(archive))
        .route("/templates/{key}/{lang}", get(editor).post(save_template))
        .route("/templates/{key}/{lang}/preview", post(preview))
        .route("/templates/{key}/{lang}/reset", post(reset_template))
}

/// The most steps one form may carry: far more than any plan has.
const MAX_STEPS: usize = 50;

/// How many contracts the preview selector offers.
const PREVIEW_CONTRACTS: i64 = 50;

// ---------------------------------------------------------------------------------------
// Plans

/// A step as the page shows it and as the form gives it back: text, as typed.
#[derive(Debug, Clone, Default)]
struct StepRow {
    key: String,
    label: String,
    anchor: String,
    offset: String,
    unit: String,
    time: String,
    mode: String,
    template: String,
    to_customer: bool,
    to_owner: bool,
    to_team: bool,
    cc_owner: bool,
    /// Where the customer's replies go; empty: the contract's owner.
    reply_to: String,
}

impl StepRow {
    fn of(step: &Step) -> StepRow {
        StepRow {
            key: step.key.clone(),
            label: step.label.clone(),
            anchor: step.anchor.as_str().to_string(),
            offset: step.offset.days.to_string(),
            unit: step.offset.unit.as_str().to_string(),
            time: step.send_time.strftime("%H:%M").to_string(),
            mode: step.mode.as_str().to_string(),
            template: step.template.clone(),
            to_customer: step.recipients.customer,
            to_owner: step.recipients.owner,
            to_team: step.recipients.team,
            cc_owner: step.recipients.cc_owner,
            reply_to: step
                .reply_to
                .as_ref()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
        }
    }

    /// The row for a new step, at the organisation's default send time (09:00 unless an
    /// admin set another in the settings).
    fn blank(state: &AppState) -> StepRow {
        let time = state
            .engine
            .organisation()
            .default_send_time
            .unwrap_or(Time::constant(9, 0, 0, 0));
        StepRow {
            anchor: Anchor::EndDate.as_str().to_string(),
            unit: OffsetUnit::CalendarDays.as_str().to_string(),
            time: time.strftime("%H:%M").to_string(),
            mode: Mode::Auto.as_str().to_string(),
            to_customer: true,
            cc_owner: true,
            ..StepRow::default()
        }
    }

    /// "30 days before the end date", "5 business days after the start date".
    fn when(&self) -> String {
        let days: i64 = self.offset.trim().parse().unwrap_or(0);
        let unit = if self.unit == OffsetUnit::BusinessDays.as_str() {
            "business day"
        } else {
            "day"
        };
        let anchor = self.anchor.replace('_', " ");
        match days {
            0 => format!("on the {anchor}"),
            d => format!(
                "{} {unit}{} {} the {anchor}",
                d.unsigned_abs(),
                if d.unsigned_abs() == 1 { "" } else { "s" },
                if d < 0 { "before" } else { "after" }
            ),
        }
    }

    fn recipients(&self) -> String {
        let mut who = Vec::new();
        if self.to_customer {
            who.push("customer");
        }
        if self.to_owner {
            who.push("owner");
        }
        if self.to_team {
            who.push("team");
        }
        if self.cc_owner {
            who.push("CC owner");
        }
        who.join(", ")
    }

    fn parse(&self, number: usize) -> Result<Step, ValidationError> {
        let field = |name: &str| format!("steps[{number}].{name}");
        let days: i32 = self.offset.trim().parse().map_err(|_| {
            ValidationError::new(
                field("offset"),
                format!("\"{}\" is not a whole number of days", self.offset.trim()),
            )
        })?;
        let send_time = Time::strptime("%H:%M", self.time.trim()).map_err(|_| {
            ValidationError::new(
                field("send_time"),
                format!("\"{}\" is not a time (HH:MM)", self.time.trim()),
            )
        })?;
        let retag = |e: ValidationError, name: &str| ValidationError::new(field(name), e.message);
        Ok(Step {
            key: self.key.trim().to_string(),
            label: self.label.trim().to_string(),
            anchor: self.anchor.parse().map_err(|e| retag(e, "anchor"))?,
            offset: Offset {
                days,
                unit: self.unit.parse().map_err(|e| retag(e, "unit"))?,
            },
            send_time,
            recipients: Recipients {
                customer: self.to_customer,
                owner: self.to_owner,
                team: self.to_team,
                cc_owner: self.cc_owner,
            },
            mode: self.mode.parse().map_err(|e| retag(e, "mode"))?,
            template: self.template.trim().to_string(),
            reply_to: Some(self.reply_to.trim())
                .filter(|text| !text.is_empty())
                .map(|text| EmailAddress::parse(&field("reply_to"), text))
                .transpose()?,
        })
    }
}

struct PlanBlock {
    id: i64,
    name: String,
    description: String,
    archived: bool,
    steps: Vec<StepRow>,
}

struct TemplateLink {
    key: String,
    language: &'static str,
    overridden: bool,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    layout: Layout,
    plans: Vec<PlanBlock>,
    templates: Vec<(String, Vec<TemplateLink>)>,
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let mut plans = Vec::new();
    for (summary, plan) in engine.plans_with_steps().await? {
        plans.push(PlanBlock {
            id: summary.id,
            name: summary.name,
            description: summary.description,
            archived: summary.archived,
            steps: plan.steps.iter().map(StepRow::of).collect(),
        });
    }
    let templates = engine
        .template_catalogue()
        .await?
        .into_iter()
        .map(|entry| {
            let links = entry
                .languages
                .iter()
                .map(|&(language, overridden)| TemplateLink {
                    key: entry.key.clone(),
                    language: language.code(),
                    overridden,
                })
                .collect();
            (entry.key, links)
        })
        .collect();
    let page = PlansPage {
        layout: Layout::new(&user, "Plans and templates", "plans"),
        plans,
        templates,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "plans_detail.html")]
struct PlanPage {
    layout: Layout,
    id: i64,
    name: String,
    description: String,
    noun: String,
    archived: bool,
    /// Ships with Tickler: keeps its name and cannot be archived.
    built_in: bool,
    /// "1,234" or "more than 10,000".
    active_contracts: String,
    steps: Vec<StepRow>,
    /// The rows of the edit form: the steps (as typed, after an error) and one blank row.
    rows: Vec<StepRow>,
    can_edit: bool,
    errors: FieldErrors,
    /// Stored steps whose anchor the plan's subject does not offer: they are never sent.
    never_sent: Vec<String>,
    anchors: Vec<&'static str>,
    units: Vec<&'static str>,
    modes: Vec<&'static str>,
    template_keys: Vec<String>,
}

/// A step's field, `steps[3].label`, as (3, "label").
fn step_field(field: &str) -> Option<(usize, &str)> {
    let rest = field.strip_prefix("steps[")?;
    let (number, name) = rest.split_once("].")?;
    Some((number.parse().ok()?, name))
}

/// The element of the steps form a refused step field is typed in: `label_2` for the
/// third step's label.
fn step_element(field: &str) -> Option<String> {
    let (number, name) = step_field(field)?;
    let element = match name {
        "send_time" => "time",
        "key" | "label" | "template" | "anchor" | "offset" | "unit" | "mode" | "reply_to" => name,
        _ => return None,
    };
    Some(format!("{element}_{}", number.checked_sub(1)?))
}

/// Each step's refusal says which step it is about ("Step 3, label: is empty"), since the
/// summary lists them apart from their rows.
fn step_errors_in_words(refusal: ValidationError) -> ValidationError {
    let words = |e: &ValidationError| match step_field(&e.field) {
        Some((number, name)) => ValidationError::new(
            e.field.clone(),
            format!("Step {number}, {}: {}", name.replace('_', " "), e.message),
        ),
        None => ValidationError::new(e.field.clone(), e.message.clone()),
    };
    let mut all = refusal.all().map(words);
    let first = all.next();
    let rest: Vec<ValidationError> = all.collect();
    match first {
        Some(mut first) => {
            first.more = rest;
            first
        }
        None => refusal,
    }
}

async fn plan_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    rows: Option<Vec<StepRow>>,
    error: Option<ValidationError>,
) -> Result<PlanPage, WebError> {
    let detail = state.engine.plan(id).await?;
    let summary = state.engine.plan_listing(&id.to_string()).await?;
    let steps: Vec<StepRow> = detail.plan.steps.iter().map(StepRow::of).collect();
    let rows = rows.unwrap_or_else(|| {
        let mut rows = steps.clone();
        rows.push(StepRow::blank(state));
        rows
    });
    let mut template_keys: Vec<String> = TEMPLATE_KEYS.iter().map(|k| k.to_string()).collect();
    for o in state.engine.template_overrides().await? {
        if !template_keys.contains(&o.template) {
            template_keys.push(o.template);
        }
    }
    // The anchors a plan's subject offers, and any other a stored step still has, so that the
    // form shows it as it is (saving then says why it cannot stay).
    let mut anchors: Vec<&'static str> = plan_anchors().iter().map(|a| a.as_str()).collect();
    let shown = detail.plan.steps.iter().map(|s| s.anchor.as_str());
    let typed = rows
        .iter()
        .filter_map(|r| r.anchor.parse::<Anchor>().ok())
        .map(Anchor::as_str);
    for anchor in shown.chain(typed) {
        if !anchors.contains(&anchor) {
            anchors.push(anchor);
        }
    }
    let never_sent = detail
        .plan
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| {
            unschedulable(step)
                .map(|why| format!("Step {} ({}) is never sent: {why}.", i + 1, step.key))
        })
        .collect();
    Ok(PlanPage {
        layout: Layout::new(user, format!("Plan {}", detail.plan.name), "plans"),
        id,
        name: detail.plan.name,
        description: detail.plan.description,
        noun: summary.summary.noun,
        archived: summary.summary.archived,
        built_in: summary.built_in,
        active_contracts: crate::format::count(detail.active_contracts),
        steps,
        rows,
        can_edit: user.viewer.may(Action::ManagePlans, None),
        errors: FieldErrors::of(
            error.map(step_errors_in_words).as_ref(),
            step_element,
            user.user.language,
        ),
        never_sent,
        anchors,
        units: [OffsetUnit::CalendarDays, OffsetUnit::BusinessDays]
            .iter()
            .map(|u| u.as_str())
            .collect(),
        modes: [Mode::Auto, Mode::Approval, Mode::Internal, Mode::Task]
            .iter()
            .map(|m| m.as_str())
            .collect(),
        template_keys,
    })
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let page = plan_page(&state, &user, id, None, None).await?;
    Ok(Html(page.render()?))
}

/// The rows of a submitted steps form: fields named `key_N`, `label_N`, ... for N from 0;
/// a row with an empty key (the blank row) or with `remove_N` ticked is left out.
fn rows_of(fields: &[(String, String)]) -> Vec<StepRow> {
    let value = |name: String| {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let ticked = |name: String| value(name).is_some_and(|v| !v.is_empty());
    let mut rows = Vec::new();
    for i in 0..MAX_STEPS {
        let Some(key) = value(format!("key_{i}")) else {
            break;
        };
        if key.trim().is_empty() || ticked(format!("remove_{i}")) {
            continue;
        }
        rows.push(StepRow {
            key,
            label: value(format!("label_{i}")).unwrap_or_default(),
            anchor: value(format!("anchor_{i}")).unwrap_or_default(),
            offset: value(format!("offset_{i}")).unwrap_or_default(),
            unit: value(format!("unit_{i}")).unwrap_or_default(),
            time: value(format!("time_{i}")).unwrap_or_default(),
            mode: value(format!("mode_{i}")).unwrap_or_default(),
            template: value(format!("template_{i}")).unwrap_or_default(),
            to_customer: ticked(format!("to_customer_{i}")),
            to_owner: ticked(format!("to_owner_{i}")),
            to_team: ticked(format!("to_team_{i}")),
            cc_owner: ticked(format!("cc_owner_{i}")),
            reply_to: value(format!("reply_to_{i}")).unwrap_or_default(),
        });
    }
    rows
}

async fn save_steps(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    let rows = rows_of(&fields);
    // Every row is read, so that the errors of all of them show at once.
    let mut checks = Checks::default();
    let steps: Vec<Option<Step>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| checks.check(row.parse(i + 1)))
        .collect();
    let parsed = checks.then(|| steps.into_iter().collect::<Option<Vec<Step>>>());
    let result = match parsed {
        Ok(steps) => state
            .engine
            .update_plan_steps(id, steps, &user.actor())
            .await
            .map_err(|e| match e {
                EngineError::Invalid(v) => Ok(v),
                other => Err(other),
            }),
        Err(v) => Err(Ok(v)),
    };
    match result {
        Ok(update) => {
            let notice = format!(
                "Steps saved. {} active contracts: {} reminders moved, {} added, {} cancelled.",
                update.contracts, update.rescheduled, update.created, update.cancelled
            );
            Ok(redirect_with_notice(&format!("/plans/{id}"), &notice))
        }
        Err(Ok(invalid)) => {
            let mut rows = rows;
            rows.push(StepRow::blank(&state));
            let page = plan_page(&state, &user, id, Some(rows), Some(invalid)).await?;
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(Err(e)) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// Templates

struct PreviewContractOption {
    id: i64,
    label: String,
    selected: bool,
}

/// The preview box: the rendered text, or the fault with its line and column.
#[derive(Template)]
#[template(path = "plans_template_preview.html")]
struct PreviewFragment {
    subject: String,
    body: String,
    error: Option<String>,
    /// Whether this ran against a sample rather than a real contract.
    sample: bool,
}

impl PreviewFragment {
    fn of(result: Result<Rendered, SourceError>, sample: bool) -> PreviewFragment {
        match result {
            Ok(r) => PreviewFragment {
                subject: r.subject,
                body: r.body,
                error: None,
                sample,
            },
            Err(e) => PreviewFragment {
                subject: String::new(),
                body: String::new(),
                error: Some(describe(&e)),
                sample,
            },
        }
    }
}

fn describe(e: &SourceError) -> String {
    match e.position {
        Some((line, column)) => format!(
            "The {} has an error at line {line}, column {column}: {}",
            e.part, e.message
        ),
        None => format!("The {}: {}", e.part, e.message),
    }
}

#[derive(Template)]
#[template(path = "plans_template.html")]
struct TemplatePage {
    layout: Layout,
    key: String,
    language: String,
    languages: Vec<&'static str>,
    subject: String,
    body: String,
    overridden: bool,
    has_builtin: bool,
    updated: String,
    contracts: Vec<PreviewContractOption>,
    variables: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    errors: FieldErrors,
    preview: Option<PreviewFragment>,
}

/// The element of the template editor a refusal is about.
fn template_element(field: &str) -> Option<&'static str> {
    ["subject", "body"].into_iter().find(|id| *id == field)
}

#[derive(Deserialize, Default)]
struct TemplateForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    contract_id: String,
}

impl TemplateForm {
    fn contract(&self) -> Option<i64> {
        self.contract_id.trim().parse().ok()
    }
}

#[allow(clippy::too_many_arguments)]
async fn template_page(
    state: &AppState,
    user: &CurrentUser,
    key: &str,
    language: &str,
    typed: Option<&TemplateForm>,
    error: Option<ValidationError>,
    preview: Option<PreviewFragment>,
) -> Result<TemplatePage, WebError> {
    let text = state.engine.template(key, language).await?;
    let chosen = typed.and_then(TemplateForm::contract);
    let contracts = state
        .engine
        .preview_contracts(PREVIEW_CONTRACTS)
        .await?
        .into_iter()
        .map(|c| PreviewContractOption {
            selected: Some(c.id) == chosen,
            label: format!("{} ({})", c.title, c.customer_name),
            id: c.id,
        })
        .collect();
    let updated = match (&text.updated_at, &text.updated_by) {
        (Some(at), Some(by)) => format!("{} by {by}", format::local(*at, &user.zone)),
        _ => String::new(),
    };
    Ok(TemplatePage {
        layout: Layout::new(
            user,
            format!("Template {} ({})", text.key, text.language),
            "plans",
        ),
        key: text.key,
        language: text.language.code().to_string(),
        languages: Language::ALL.iter().map(|l| l.code()).collect(),
        subject: typed.map(|t| t.subject.clone()).unwrap_or(text.subject),
        body: typed.map(|t| t.body.clone()).unwrap_or(text.body),
        overridden: text.overridden,
        has_builtin: text.has_builtin,
        updated,
        contracts,
        variables: VARIABLES.iter().map(|v| (v.name, v.meaning)).collect(),
        can_edit: user.viewer.may(Action::ManagePlans, None),
        errors: FieldErrors::of(error.as_ref(), template_element, user.user.language),
        preview,
    })
}

async fn editor(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((key, lang)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let page = template_page(&state, &user, &key, &lang, None, None, None).await?;
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
struct PreviewQuery {
    /// `1`: answer the whole editor with the preview in it (the Preview button without
    /// the script), not only the preview box.
    page: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((key, lang)): Path<(String, String)>,
    Query(query): Query<PreviewQuery>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    let contract = form.contract();
    let result = state
        .engine
        .preview_template(&key, &lang, &form.subject, &form.body, contract)
        .await?;
    let fragment = PreviewFragment::of(result, contract.is_none());
    if query.page.as_deref() == Some("1") {
        let page = template_page(
            &state,
            &user,
            &key,
            &lang,
            Some(&form),
            None,
            Some(fragment),
        )
        .await?;
        return Ok(Html(page.render()?).into_response());
    }
    Ok(Html(fragment.render()?).into_response())
}

async fn save_template(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((key, lang)): Path<(String, String)>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    // Checked here first (the engine checks again) so the page can say line and column.
    let language = Language::parse("language", &lang).map_err(EngineError::from)?;
    if let Err(e) = state
        .engine
        .check_template(&key, language, &form.subject, &form.body)
    {
        let page = template_page(
            &state,
            &user,
            &key,
            &lang,
            Some(&form),
            Some(ValidationError::new(e.part.to_string(), describe(&e))),
            None,
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    }
    match state
        .engine
        .save_template(&key, &lang, &form.subject, &form.body, &user.actor())
        .await
    {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/templates/{key}/{lang}"),
            "Template saved: reminders use it from now on.",
        )),
        Err(EngineError::Invalid(v)) => {
            let page =
                template_page(&state, &user, &key, &lang, Some(&form), Some(v), None).await?;
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn reset_template(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((key, lang)): Path<(String, String)>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    let removed = state
        .engine
        .reset_template(&key, &lang, &user.actor())
        .await?;
    let notice = if removed {
        "Template reset: the built-in text applies again."
    } else {
        "This template had no changes to reset."
    };
    Ok(redirect_with_notice(
        &format!("/templates/{key}/{lang}"),
        notice,
    ))
}

#[derive(Deserialize)]
struct CopyForm {
    /// The plan to copy, by id.
    from: i64,
    name: String,
}

/// A new plan, made from an existing one's steps (then changed on its own page).
async fn copy(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CopyForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    let id = state
        .engine
        .copy_plan(form.from, &form.name, &user.actor())
        .await?;
    Ok(redirect_with_notice(
        &format!("/plans/{id}#edit"),
        "Plan made with the steps of the one you copied: change its steps below.",
    ))
}

#[derive(Deserialize)]
struct DescribeForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    noun: String,
}

async fn save_description(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DescribeForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    state
        .engine
        .describe_plan(id, &form.name, &form.description, &form.noun, &user.actor())
        .await?;
    Ok(redirect_with_notice(&format!("/plans/{id}"), "Plan saved."))
}

#[derive(Deserialize)]
struct ArchiveForm {
    /// `1`: archive; `0`: offer again.
    archived: String,
}

async fn archive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ArchiveForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManagePlans, None)?;
    let archived = form.archived == "1";
    state
        .engine
        .archive_plan(id, archived, &user.actor())
        .await?;
    let notice = if archived {
        "Plan archived: no new contract can choose it; its contracts go on as before."
    } else {
        "Plan on offer again."
    };
    Ok(redirect_with_notice(&format!("/plans/{id}"), notice))
}

//! Renewal quotes: one quote as a page (its lines, totals, term, validity and history) with
//! what may be done to it for its status (edit and send a draft, accept or decline a sent
//! one), the create and edit form, and its PDF. Every action is the engine use case the
//! CLI's `quote` commands call; who may act follows the contract's rule: admins, and the
//! salesperson who owns the contract.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tickler_core::{access::Action, language::Language};
use tickler_engine::{
    Engine, EngineError,
    quotes::{QuoteDetail, QuoteInput},
};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    pages::{
        Layout,
        invoices::{LineRow, pdf::pdf_response},
        redirect_with_notice,
    },
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contracts/{id}/quotes/new", get(new_form))
        .route("/contracts/{id}/quotes", post(create))
        .route("/quotes/{id}", get(detail))
        .route("/quotes/{id}/edit", get(edit_form).post(edit))
        .route("/quotes/{id}/send", post(send))
        .route("/quotes/{id}/accept", post(accept))
        .route("/quotes/{id}/decline", post(decline))
        .route("/quotes/{id}/pdf", get(pdf))
}

/// A quote as a row of the contract page's list.
pub(crate) struct QuoteRow {
    pub id: i64,
    pub number: String,
    pub status: &'static str,
    pub term: String,
    pub valid_until: String,
    pub total: String,
}

impl QuoteRow {
    pub(crate) fn new(quote: &tickler_engine::quotes::Quote) -> QuoteRow {
        QuoteRow {
            id: quote.id,
            number: quote.number(),
            status: quote.status.as_str(),
            term: format!("{} to {}", quote.start_date, quote.end_date),
            valid_until: quote.valid_until.to_string(),
            total: quote.money(quote.total).format(Language::En),
        }
    }
}

/// The contract's quotes, newest first, for its page.
pub(crate) async fn contract_quotes(
    state: &AppState,
    contract_id: i64,
) -> Result<Vec<QuoteRow>, WebError> {
    let list = state
        .engine
        .list_quotes(&tickler_engine::quotes::QuoteFilter {
            contract_id: Some(contract_id),
            ..Default::default()
        })
        .await?;
    Ok(list.iter().map(|(quote, _)| QuoteRow::new(quote)).collect())
}

#[derive(Template)]
#[template(path = "quotes_detail.html")]
struct QuotePage {
    layout: Layout,
    id: i64,
    number: String,
    status: &'static str,
    contract_id: i64,
    contract_title: String,
    customer_id: i64,
    customer_name: String,
    term: String,
    renews: String,
    valid_until: String,
    billing: String,
    lines: Vec<LineRow>,
    subtotal: String,
    tax: String,
    total: String,
    accept_url: String,
    decline_url: String,
    decided: String,
    next_term_id: Option<i64>,
    events: Vec<(String, String, String, String)>,
    can_act: bool,
    error: Option<String>,
    decline_reason: String,
}

async fn load(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<(QuoteDetail, bool), WebError> {
    let detail = state.engine.quote_detail(id).await?;
    let can_act = user
        .viewer
        .may(Action::ChangeContract, detail.contract.owner_id);
    Ok((detail, can_act))
}

async fn quote_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    error: Option<String>,
    decline_reason: String,
) -> Result<QuotePage, WebError> {
    let (detail, can_act) = load(state, user, id).await?;
    let quote = &detail.quote;
    let money = |minor| quote.money(minor).format(Language::En);
    let decided = match (&quote.decided_on, &quote.decided_by) {
        (Some(on), Some(by)) => format!(
            "{} on {on} by {by}{}",
            quote.status,
            quote
                .decline_reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    Ok(QuotePage {
        layout: Layout::new(user, format!("Quote {}", quote.number()), "contracts"),
        id,
        number: quote.number(),
        status: quote.status.as_str(),
        contract_id: quote.contract_id,
        contract_title: detail.contract.title.clone(),
        customer_id: detail.customer.id,
        customer_name: detail.customer.name.clone(),
        term: format!("{} to {}", quote.start_date, quote.end_date),
        renews: format!(
            "term {} ({} to {})",
            detail.renews.term_number, detail.renews.start_date, detail.renews.end_date
        ),
        valid_until: quote.valid_until.to_string(),
        billing: quote
            .billing
            .map(|b| {
                format!(
                    "every {}, {}, invoices {}, due {} days after issue",
                    crate::pages::invoices::interval_text(b.interval),
                    b.timing.as_str().replace('_', " "),
                    match b.invoice_mode {
                        tickler_core::billing::InvoiceMode::Issue => "issued at once",
                        tickler_core::billing::InvoiceMode::Draft => "as drafts to approve",
                    },
                    b.payment_days
                )
            })
            .unwrap_or_default(),
        lines: detail
            .lines
            .iter()
            .map(|l| LineRow::new(&l.item, l.net))
            .collect(),
        subtotal: money(quote.subtotal),
        tax: money(quote.tax),
        total: money(quote.total),
        accept_url: detail
            .links
            .as_ref()
            .map(|l| l.accept.clone())
            .unwrap_or_default(),
        decline_url: detail
            .links
            .as_ref()
            .map(|l| l.decline.clone())
            .unwrap_or_default(),
        decided,
        next_term_id: quote.next_term_id,
        events: detail
            .events
            .iter()
            .map(|e| {
                (
                    crate::format::local(e.at, &user.zone),
                    e.actor.clone(),
                    e.action.clone(),
                    e.detail.clone(),
                )
            })
            .collect(),
        can_act,
        error,
        decline_reason,
    })
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let page = quote_page(&state, &user, id, None, String::new()).await?;
    Ok(Html(page.render()?))
}

/// 400 for a value that is not valid, 409 for a rule the quote's state forbids; anything
/// else is the error page.
fn refusal(error: EngineError) -> Result<(StatusCode, String), WebError> {
    match error {
        EngineError::Invalid(e) => Ok((StatusCode::BAD_REQUEST, e.to_string())),
        EngineError::Conflict(message) => Ok((StatusCode::CONFLICT, message)),
        other => Err(other.into()),
    }
}

/// The quote page again with the engine's refusal shown.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    error: EngineError,
    decline_reason: String,
) -> Result<Response, WebError> {
    let (status, message) = refusal(error)?;
    let page = quote_page(state, user, id, Some(message), decline_reason).await?;
    Ok((status, Html(page.render()?)).into_response())
}

async fn require_act(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), WebError> {
    if load(state, user, id).await?.1 {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

#[derive(Template)]
#[template(path = "quotes_form.html")]
struct FormPage {
    layout: Layout,
    /// Where the form posts: the contract's quotes, or the quote's edit.
    action: String,
    back: String,
    contract_title: String,
    end: String,
    lines: String,
    bill_every: String,
    valid_until: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct QuoteForm {
    end: String,
    lines: String,
    bill_every: String,
    valid_until: String,
}

impl QuoteForm {
    fn input(&self) -> QuoteInput {
        QuoteInput {
            end: Some(self.end.clone()),
            lines: self
                .lines
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            bill_every: Some(self.bill_every.clone()),
            valid_until: Some(self.valid_until.clone()),
        }
    }

    fn of(input: QuoteInput) -> QuoteForm {
        QuoteForm {
            end: input.end.unwrap_or_default(),
            lines: input.lines.join("\n"),
            bill_every: input.bill_every.unwrap_or_default(),
            valid_until: input.valid_until.unwrap_or_default(),
        }
    }
}

/// Where a form is and what it is about: the new quote of a contract, or a quote's edit.
struct FormTarget {
    title: String,
    action: String,
    back: String,
    contract_title: String,
}

impl FormTarget {
    fn new_quote(contract_id: i64, contract_title: String) -> FormTarget {
        FormTarget {
            title: "New quote".to_string(),
            action: format!("/contracts/{contract_id}/quotes"),
            back: format!("/contracts/{contract_id}"),
            contract_title,
        }
    }

    fn edit(detail: &QuoteDetail) -> FormTarget {
        let id = detail.quote.id;
        FormTarget {
            title: format!("Edit quote {}", detail.quote.number()),
            action: format!("/quotes/{id}/edit"),
            back: format!("/quotes/{id}"),
            contract_title: detail.contract.title.clone(),
        }
    }
}

/// The form with what was typed and, when the engine refused it, why (400 or 409).
fn render_form(
    user: &CurrentUser,
    target: FormTarget,
    form: QuoteForm,
    refused: Option<EngineError>,
) -> Result<Response, WebError> {
    let (status, error) = match refused {
        Some(e) => {
            let (status, message) = refusal(e)?;
            (status, Some(message))
        }
        None => (StatusCode::OK, None),
    };
    let page = FormPage {
        layout: Layout::new(user, target.title, "contracts"),
        action: target.action,
        back: target.back,
        contract_title: target.contract_title,
        end: form.end,
        lines: form.lines,
        bill_every: form.bill_every,
        valid_until: form.valid_until,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn contract_to_quote(
    state: &AppState,
    user: &CurrentUser,
    contract_id: i64,
) -> Result<String, WebError> {
    let detail = state.engine.contract_detail(contract_id).await?;
    if !user
        .viewer
        .may(Action::ChangeContract, detail.contract.owner_id)
    {
        return Err(WebError::Forbidden);
    }
    Ok(detail.contract.title)
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(contract_id): Path<i64>,
) -> Result<Response, WebError> {
    let title = contract_to_quote(&state, &user, contract_id).await?;
    let target = FormTarget::new_quote(contract_id, title);
    match state.engine.quote_defaults(contract_id).await {
        Ok(input) => render_form(&user, target, QuoteForm::of(input), None),
        Err(e) => render_form(&user, target, QuoteForm::default(), Some(e)),
    }
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(contract_id): Path<i64>,
    Form(form): Form<QuoteForm>,
) -> Result<Response, WebError> {
    let title = contract_to_quote(&state, &user, contract_id).await?;
    match state
        .engine
        .create_quote(contract_id, &form.input(), &user.actor())
        .await
    {
        Ok(id) => Ok(redirect_with_notice(
            &format!("/quotes/{id}"),
            "Quote drafted: check it, then send it to the customer.",
        )),
        Err(e) => render_form(
            &user,
            FormTarget::new_quote(contract_id, title),
            form,
            Some(e),
        ),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (detail, can_act) = load(&state, &user, id).await?;
    if !can_act {
        return Err(WebError::Forbidden);
    }
    render_form(
        &user,
        FormTarget::edit(&detail),
        QuoteForm::of(detail.input()),
        None,
    )
}

async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<QuoteForm>,
) -> Result<Response, WebError> {
    let (detail, can_act) = load(&state, &user, id).await?;
    if !can_act {
        return Err(WebError::Forbidden);
    }
    match state
        .engine
        .edit_quote(id, &form.input(), &user.actor())
        .await
    {
        Ok(_) => Ok(redirect_with_notice(
            &format!("/quotes/{id}"),
            "Quote saved.",
        )),
        Err(e) => render_form(&user, FormTarget::edit(&detail), form, Some(e)),
    }
}

async fn send(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    match state.engine.send_quote(id, &user.actor()).await {
        Ok(quote) => Ok(redirect_with_notice(
            &format!("/quotes/{id}"),
            &format!(
                "Quote {} sent: its email with the PDF goes out now.",
                quote.number()
            ),
        )),
        Err(e) => refused(&state, &user, id, e, String::new()).await,
    }
}

async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    match state.engine.accept_quote(id, &user.actor()).await {
        Ok(detail) => Ok(redirect_with_notice(
            &format!("/quotes/{id}"),
            &format!(
                "Quote {} accepted: term {} of the contract runs {} to {}.",
                detail.quote.number(),
                detail.contract.term_number,
                detail.contract.start_date,
                detail.contract.end_date
            ),
        )),
        Err(e) => refused(&state, &user, id, e, String::new()).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeclineForm {
    reason: String,
}

async fn decline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DeclineForm>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    match state
        .engine
        .decline_quote(id, Some(form.reason.clone()), &user.actor())
        .await
    {
        Ok(detail) => Ok(redirect_with_notice(
            &format!("/quotes/{id}"),
            &format!("Quote {} declined.", detail.quote.number()),
        )),
        Err(e) => refused(&state, &user, id, e, form.reason).await,
    }
}

/// The quote's PDF, the same document its email carries.
async fn pdf(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let detail = state.engine.quote_detail(id).await?;
    let bytes = state.engine.quote_pdf(id).await?;
    pdf_response(
        bytes,
        &Engine::quote_file_name(&detail),
        &format!("quote {id}"),
    )
}

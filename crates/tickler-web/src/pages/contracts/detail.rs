//! One contract: its terms, every reminder of every term and its history; renewing and
//! terminating it.

use super::*;

pub(super) struct TimelineRow {
    id: i64,
    /// Missed because the contract was entered after its time: may be sent late.
    missed: bool,
    term: i32,
    label: String,
    mode: &'static str,
    status: &'static str,
    reason: String,
    send_at: String,
    when: String,
    sent_at: String,
    lateness: String,
    href: String,
    subject: String,
}

pub(super) struct EventRow {
    at: String,
    actor: String,
    what: String,
    detail: String,
}

pub(super) struct TermView {
    number: i32,
    start: String,
    end: String,
    current: bool,
    /// The customer's answer about renewing it, if any.
    answer: String,
    /// The accepted quote it came from.
    quote_id: Option<i64>,
}

/// One planned period of a recurring sale, with its invoice once billed.
pub(super) struct PeriodRow {
    cycle: u32,
    start: String,
    end: String,
    issue_date: String,
    status: &'static str,
    reason: String,
    /// (invoice id, "INV-2027-0001" or "Draft", the invoice's status).
    invoice: Option<(i64, String, &'static str)>,
}

/// A recurring sale's schedule, lines, periods and invoices, as its contract shows them.
pub(super) struct BillingSection {
    every: String,
    timing: &'static str,
    mode: &'static str,
    payment_days: u32,
    cycles: String,
    lines: Vec<LineRow>,
    periods: Vec<PeriodRow>,
    invoices: Vec<InvoiceRow>,
}

/// The billing section of contract `contract`, if it is a recurring sale.
async fn billing_section(
    state: &AppState,
    user: &CurrentUser,
    contract: &tickler_engine::browse::Contract,
    today: Date,
) -> Result<Option<BillingSection>, WebError> {
    let Some(billing) = state.engine.billing_view(contract).await? else {
        return Ok(None);
    };
    let invoices = state
        .engine
        .browse_invoices(&InvoiceFilter {
            contract_id: Some(contract.id),
            ..InvoiceFilter::default()
        })
        .await?;
    let schedule = &billing.schedule;
    Ok(Some(BillingSection {
        every: format!("{} ({})", interval_text(schedule.interval), billing.every),
        timing: match schedule.timing {
            BillingTiming::InAdvance => "in advance: each period is invoiced when it begins",
            BillingTiming::InArrears => "in arrears: each period is invoiced once it is over",
        },
        mode: match schedule.invoice_mode {
            InvoiceMode::Draft => "made as drafts, issued when someone approves them",
            InvoiceMode::Issue => "issued and emailed at once",
        },
        payment_days: schedule.payment_days,
        cycles: match schedule.cycles {
            Some(cycles) => cycles.to_string(),
            None => "until the end of the term".to_string(),
        },
        lines: billing
            .lines
            .iter()
            .map(|item| LineRow::new(item, item.net()))
            .collect(),
        periods: billing
            .periods
            .iter()
            .map(|p| PeriodRow {
                cycle: p.cycle,
                start: p.start.to_string(),
                end: p.end.to_string(),
                issue_date: p.issue_date.to_string(),
                status: p.status.as_str(),
                reason: p.status_reason.clone().unwrap_or_default(),
                invoice: p.invoice_id.map(|id| {
                    match invoices.iter().find(|row| row.invoice.id == id) {
                        Some(row) => (id, number_text(&row.invoice), row.invoice.status.as_str()),
                        None => (id, format!("#{id}"), ""),
                    }
                }),
            })
            .collect(),
        invoices: invoices
            .iter()
            .map(|row| InvoiceRow::new(row, user, today))
            .collect(),
    }))
}

#[derive(Template)]
#[template(path = "contracts_detail.html")]
pub(super) struct DetailPage {
    layout: Layout,
    id: i64,
    title: String,
    status: &'static str,
    active: bool,
    term_number: i32,
    start: String,
    end: String,
    days_left: i64,
    customer_id: i64,
    customer_name: String,
    customer_emails: String,
    customer_language: String,
    customer_zone: String,
    owner: String,
    plan: String,
    amount: String,
    custom_fields: Vec<(String, String)>,
    billing: Option<BillingSection>,
    /// "expires", "renews automatically..." or "evergreen...".
    renewal: String,
    /// The customer's latest answer, in words.
    answer: String,
    /// The current term's one-click links (renew, decline, quote), when a public URL is set.
    links: Option<tickler_engine::answer_links::ContractLinks>,
    quotes: Vec<crate::pages::quotes::QuoteRow>,
    terms: Vec<TermView>,
    timeline: Vec<TimelineRow>,
    events: Vec<EventRow>,
    can_change: bool,
    error: Option<String>,
    renew_end: String,
    terminate_reason: String,
    /// What renewing does, for its confirmation: the current term's emails it cancels.
    renew_confirm: String,
}

/// "on time", "2 h 5 min late", "3 d 1 h early": how far from its time a reminder went out.
pub(super) fn lateness_text(ms: i64) -> String {
    let seconds = ms / 1000;
    let magnitude = seconds.unsigned_abs();
    if magnitude < 60 {
        return "on time".to_string();
    }
    let (days, hours, minutes) = (
        magnitude / 86_400,
        magnitude % 86_400 / 3_600,
        magnitude % 3_600 / 60,
    );
    let amount = match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, h) => format!("{h} h {minutes} min"),
        (d, h) => format!("{d} d {h} h"),
    };
    if seconds > 0 {
        format!("{amount} late")
    } else {
        format!("{amount} early")
    }
}

/// What was typed into the renew and terminate forms, and what went wrong, to show again.
#[derive(Default)]
pub(super) struct Retyped {
    error: Option<String>,
    renew_end: String,
    terminate_reason: String,
}

pub(super) async fn detail_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    retyped: Retyped,
) -> Result<DetailPage, WebError> {
    let engine = &state.engine;
    let detail = engine.contract_detail(id).await?;
    let now = engine.now();
    let today = today_in(now, &user.zone);
    let contract = &detail.contract;
    let language = detail.customer.language;
    let amount = contract
        .money()
        .map(|money| money.format(Language::En))
        .unwrap_or_default();
    let timeline = detail
        .reminders
        .iter()
        .map(|r| TimelineRow {
            id: r.id,
            missed: contract.status == ContractStatus::Active
                && r.term_number == contract.term_number
                && r.status == ReminderStatus::Cancelled
                && r.mode == Mode::Auto
                && r.status_reason.as_deref() == Some(tickler_engine::PASSED_WHEN_PLANNED),
            term: r.term_number,
            label: r.label.clone(),
            mode: r.mode.as_str(),
            status: r.status.as_str(),
            reason: r.status_reason.clone().unwrap_or_default(),
            send_at: format::local(r.send_at, &user.zone),
            when: format::relative(r.send_at, now),
            sent_at: r
                .sent_at
                .map(|t| format::local(t, &user.zone))
                .unwrap_or_default(),
            lateness: r.lateness_ms.map(lateness_text).unwrap_or_default(),
            href: if r.status.is_final() {
                format!("/sent/{}", r.id)
            } else {
                format!("/review/{}", r.id)
            },
            subject: r.subject.clone(),
        })
        .collect::<Vec<TimelineRow>>();
    let pending: Vec<&str> = timeline
        .iter()
        .filter(|r| r.term == contract.term_number && r.status == "scheduled")
        .map(|r| r.label.as_str())
        .collect();
    let renew_confirm = format!(
        "Renew \"{}\": start term {} after {}? {} The new term's emails are scheduled from \
         its end date.",
        contract.title,
        contract.term_number + 1,
        contract.end_date,
        if pending.is_empty() {
            "No email of the current term is still pending.".to_string()
        } else {
            format!(
                "This cancels the current term's {} pending email{}: {}.",
                pending.len(),
                if pending.len() == 1 { "" } else { "s" },
                pending.join(", ")
            )
        }
    );
    let events = detail
        .events
        .iter()
        .map(|e| EventRow {
            at: format::local(e.at, &user.zone),
            actor: e.actor.clone(),
            what: if e.subject_type == "contract" {
                e.action.clone()
            } else {
                format!("{} {} {}", e.subject_type, e.subject_id, e.action)
            },
            detail: e.detail.clone(),
        })
        .collect();
    let billing = billing_section(state, user, contract, today).await?;
    let renewal = match (contract.renewal, contract.notice_date()) {
        (RenewalType::Auto, Some(notice)) => format!(
            "renews automatically at the end of each term unless declined by the notice date \
             ({} days before the end): {notice}",
            contract.notice_days.unwrap_or_default()
        ),
        (RenewalType::Evergreen, _) => {
            "evergreen: no end date, no expiry emails; invoices go on".to_string()
        }
        _ => "expires at the end of the term unless renewed".to_string(),
    };
    let answer = match contract.answer {
        Some(Answer::Renew) => "renew",
        Some(Answer::Decline) => "do not renew",
        Some(Answer::Quote) => "send a renewal quote first",
        None => "",
    }
    .to_string();
    // Links only where the emails would carry them; their absence is said on the page.
    let links = if contract.is_active() && engine.settings().public_url.is_some() {
        Some(engine.contract_links(id).await?)
    } else {
        None
    };
    Ok(DetailPage {
        layout: Layout::new(user, contract.title.clone(), "contracts"),
        id,
        title: contract.title.clone(),
        status: contract.status.as_str(),
        active: contract.status == ContractStatus::Active,
        term_number: contract.term_number,
        start: contract.start_date.to_string(),
        end: contract.end_date.to_string(),
        days_left: days_between(today, contract.end_date),
        customer_id: detail.customer.id,
        customer_name: detail.customer.name.clone(),
        customer_emails: detail.customer.emails.join(", "),
        customer_language: language.code().to_string(),
        customer_zone: detail.customer.time_zone.clone().unwrap_or_else(|| {
            format!(
                "{} (the organisation's)",
                engine.settings().default_time_zone.name()
            )
        }),
        owner: detail
            .owner
            .as_ref()
            .map(|o| format!("{} <{}>", o.name, o.email))
            .unwrap_or_default(),
        plan: detail.plan.clone(),
        amount,
        custom_fields: contract
            .custom_fields
            .iter()
            .map(|(k, v)| (k.clone(), custom_field_text(v)))
            .collect(),
        billing,
        quotes: crate::pages::quotes::contract_quotes(state, id).await?,
        renewal,
        answer,
        links,
        terms: detail
            .terms
            .iter()
            .map(|t| TermView {
                number: t.number,
                start: t.start.to_string(),
                end: t.end.to_string(),
                current: t.number == contract.term_number,
                answer: t.answer.map(|a| a.as_str().to_string()).unwrap_or_default(),
                quote_id: t.quote_id,
            })
            .collect(),
        timeline,
        events,
        can_change: user.viewer.may(Action::ChangeContract, contract.owner_id),
        error: retyped.error,
        renew_end: retyped.renew_end,
        terminate_reason: retyped.terminate_reason,
        renew_confirm,
    })
}

pub(super) async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let page = detail_page(&state, &user, id, Retyped::default()).await?;
    Ok(Html(page.render()?))
}

/// Refuses with 403 unless the viewer may change contract `id`; 404 if there is none.
pub(super) async fn require_change(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<(), WebError> {
    let contract = state.engine.contract_detail(id).await?.contract;
    user.require(Action::ChangeContract, contract.owner_id)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RenewForm {
    end: String,
}

pub(super) async fn renew(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<RenewForm>,
) -> Result<Response, WebError> {
    require_change(&state, &user, id).await?;
    let new_end = match form.end.trim() {
        "" => Ok(None),
        text => parse_date("end", text).map(Some),
    };
    let outcome = match new_end {
        Ok(new_end) => {
            state
                .engine
                .renew_contract(id, new_end, &user.actor())
                .await
        }
        Err(e) => Err(EngineError::Invalid(e)),
    };
    match outcome {
        Ok(term) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            &format!("Renewed: the new term runs {} to {}.", term.start, term.end),
        )),
        Err(EngineError::Invalid(e)) => {
            let page = detail_page(
                &state,
                &user,
                id,
                Retyped {
                    error: Some(format!("Not renewed: {e}")),
                    renew_end: form.end,
                    ..Retyped::default()
                },
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct DeclineForm {
    reason: String,
}

/// What the customer's decline link does, recorded by the team (the customer said it on
/// the phone).
pub(super) async fn decline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DeclineForm>,
) -> Result<Response, WebError> {
    require_change(&state, &user, id).await?;
    let reason = Some(form.reason.trim().to_string()).filter(|r| !r.is_empty());
    match state
        .engine
        .decline_contract(id, reason, &user.actor())
        .await
    {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            "Recorded: the customer does not renew; the emails before the end date are cancelled.",
        )),
        Err(EngineError::Conflict(message)) => {
            let page = detail_page(
                &state,
                &user,
                id,
                Retyped {
                    error: Some(format!("Not recorded: {message}")),
                    ..Retyped::default()
                },
            )
            .await?;
            Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct TerminateForm {
    reason: String,
}

pub(super) async fn terminate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<TerminateForm>,
) -> Result<Response, WebError> {
    require_change(&state, &user, id).await?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().any(char::is_control) {
        let page = detail_page(
            &state,
            &user,
            id,
            Retyped {
                error: Some(
                    "Not terminated: reason: say why the contract ends (one line)".to_string(),
                ),
                terminate_reason: form.reason.clone(),
                ..Retyped::default()
            },
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    }
    state
        .engine
        .terminate_contract(id, reason, &user.actor())
        .await?;
    Ok(redirect_with_notice(
        &format!("/contracts/{id}"),
        "Terminated: its pending reminders are cancelled.",
    ))
}

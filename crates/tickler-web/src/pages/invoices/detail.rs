//! One invoice: the document as the customer reads it (printable on A4), and outside the
//! printed part, its payments and what may be done to it for its status.

use super::*;

pub(super) struct BandRow {
    rate: String,
    net: String,
    tax: String,
}

pub(super) struct PaymentRow {
    date: String,
    amount: String,
    reference: String,
    recorded_by: String,
    recorded_at: String,
}

/// Which form an error belongs to, so that it shows there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum FormName {
    #[default]
    None,
    Approve,
    Payment,
    Discard,
    Void,
    Edit,
}

/// What was typed into the invoice's forms, and what went wrong, to show again.
#[derive(Default)]
pub(super) struct Retyped {
    error: Option<String>,
    error_in: FormName,
    /// The field the error is about, to mark it: "amount", "date", "reference".
    error_field: String,
    pay_amount: Option<String>,
    pay_date: String,
    pay_reference: String,
    discard_reason: String,
    void_reason: String,
    /// A draft's lines as its edit form holds them, one `D|Q|P|T` a line.
    edit_lines: String,
    edit_issue_date: String,
    edit_due_date: String,
}

#[derive(Template)]
#[template(path = "invoices_detail.html")]
pub(super) struct InvoicePage {
    layout: Layout,
    id: i64,
    number: Option<String>,
    status: &'static str,
    void_reason: String,
    days_overdue: i64,
    organisation: String,
    organisation_email: String,
    iban: String,
    bank: String,
    customer_id: i64,
    customer_name: String,
    customer_email: String,
    contract_id: i64,
    contract_title: String,
    issue_date: String,
    due_date: String,
    period: String,
    currency: String,
    lines: Vec<LineRow>,
    bands: Vec<BandRow>,
    subtotal: String,
    tax: String,
    total: String,
    paid: String,
    balance: String,
    has_paid: bool,
    payments: Vec<PaymentRow>,
    can_act: bool,
    retyped: Retyped,
}

impl InvoicePage {
    /// Whether the page offers actions: to those who may act, while something can be done.
    fn shows_forms(&self) -> bool {
        self.can_act && matches!(self.status, "draft" | "issued")
    }

    /// Whether the page shows `form`.
    fn shows(&self, form: FormName) -> bool {
        let draft = self.status == "draft";
        self.shows_forms()
            && match form {
                FormName::Approve | FormName::Discard | FormName::Edit => draft,
                FormName::Payment => true,
                FormName::Void => !draft,
                FormName::None => false,
            }
    }

    /// The error shown above the invoice: an approval's, or one whose form the page does
    /// not show (a void asked of a draft, a payment of an invoice paid meanwhile).
    fn top_error(&self) -> Option<&str> {
        let form = self.retyped.error_in;
        (form == FormName::Approve || !self.shows(form))
            .then_some(self.retyped.error.as_deref())
            .flatten()
    }

    /// The error of `form`, if it is the one that failed.
    fn error_of(&self, form: FormName) -> Option<&str> {
        (self.retyped.error_in == form)
            .then_some(self.retyped.error.as_deref())
            .flatten()
    }

    /// Whether `field` of `form` is the one the error is about.
    fn invalid(&self, form: FormName, field: &str) -> bool {
        self.retyped.error_in == form && self.retyped.error_field == field
    }
}

/// The invoice and whether `user` may act on it (admins, and the contract's owner).
pub(super) async fn load(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<(InvoiceDetail, bool), WebError> {
    let detail = state.engine.invoice_detail(id).await?;
    let owner_id = state
        .engine
        .contract_detail(detail.invoice.contract_id)
        .await?
        .contract
        .owner_id;
    Ok((detail, user.viewer.may(Action::ChangeContract, owner_id)))
}

pub(super) async fn invoice_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    retyped: Retyped,
) -> Result<InvoicePage, WebError> {
    let engine = &state.engine;
    let (detail, can_act) = load(state, user, id).await?;
    let invoice = &detail.invoice;
    let view = InvoiceView::from(invoice);
    let today = today_in(engine.now(), &user.zone);
    let organisation = engine.organisation();
    let title = match &invoice.number {
        Some(number) => format!("Invoice {number}"),
        None => format!("Draft invoice #{id}"),
    };
    // A draft's edit form starts with what the draft has, unless a refused edit is shown.
    let (edit_lines, edit_issue_date, edit_due_date) = if retyped.error_in == FormName::Edit {
        (
            retyped.edit_lines.clone(),
            retyped.edit_issue_date.clone(),
            retyped.edit_due_date.clone(),
        )
    } else {
        (
            detail
                .lines
                .iter()
                .map(|line| tickler_engine::invoice_view::line_text(&line.item))
                .collect::<Vec<_>>()
                .join("\n"),
            invoice.issue_date.to_string(),
            invoice.due_date.to_string(),
        )
    };
    let retyped = Retyped {
        // A payment form starts with the balance: paying it in full is the usual case.
        pay_amount: retyped.pay_amount.clone().or(Some(view.balance.clone())),
        edit_lines,
        edit_issue_date,
        edit_due_date,
        ..retyped
    };
    Ok(InvoicePage {
        layout: Layout::new(user, title, "invoices"),
        id,
        number: invoice.number.clone(),
        status: invoice.status.as_str(),
        void_reason: invoice.void_reason.clone().unwrap_or_default(),
        days_overdue: days_overdue(invoice, today),
        organisation: engine.settings().organisation_name.clone(),
        organisation_email: engine.settings().mail_from.address.to_string(),
        iban: organisation
            .bank_iban
            .as_ref()
            .map(|iban| iban.grouped())
            .unwrap_or_default(),
        bank: organisation.bank_name.clone().unwrap_or_default(),
        customer_id: detail.customer.id,
        customer_name: detail.customer.name.clone(),
        customer_email: detail.customer.emails.first().cloned().unwrap_or_default(),
        contract_id: invoice.contract_id,
        contract_title: detail.contract_title.clone(),
        issue_date: invoice.issue_date.to_string(),
        due_date: invoice.due_date.to_string(),
        period: format!("{} to {}", invoice.period_start, invoice.period_end),
        currency: view.currency.clone(),
        lines: detail
            .lines
            .iter()
            .map(|line| LineRow::new(&line.item, line.net))
            .collect(),
        bands: detail
            .tax_bands()
            .iter()
            .map(|band| BandRow {
                rate: band.rate.to_string(),
                net: amount(invoice, band.net),
                tax: amount(invoice, band.tax),
            })
            .collect(),
        subtotal: amount(invoice, invoice.subtotal),
        tax: amount(invoice, invoice.tax),
        total: amount(invoice, invoice.total),
        paid: amount(invoice, invoice.paid),
        balance: amount(invoice, invoice.balance()),
        has_paid: invoice.paid != 0,
        payments: detail
            .payments
            .iter()
            .map(|p| PaymentRow {
                date: p.paid_on.to_string(),
                amount: amount(invoice, p.amount),
                reference: p.reference.clone().unwrap_or_default(),
                recorded_by: p.recorded_by.clone(),
                recorded_at: crate::format::local(p.recorded_at, &user.zone),
            })
            .collect(),
        can_act,
        retyped,
    })
}

pub(super) async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let page = invoice_page(&state, &user, id, Retyped::default()).await?;
    Ok(Html(page.render()?))
}

/// Refuses with 403 unless the viewer may act on invoice `id`; 404 if there is none.
async fn require_act(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), WebError> {
    let (_, can_act) = load(state, user, id).await?;
    if can_act {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

/// The invoice page again with `retyped` and the engine's refusal shown in `form`: 400 for
/// a value that is not valid, 409 for a rule the invoice's state forbids. Anything else
/// is the error page.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    form: FormName,
    mut retyped: Retyped,
    error: EngineError,
) -> Result<Response, WebError> {
    let (status, field, message) = match error {
        EngineError::Invalid(e) => (StatusCode::BAD_REQUEST, e.field.clone(), e.to_string()),
        EngineError::Conflict(message) => (StatusCode::CONFLICT, String::new(), message),
        EngineError::Transition(t) => (StatusCode::CONFLICT, String::new(), t.to_string()),
        other => return Err(other.into()),
    };
    // The payment rules (more than 0, at most the balance) are about the amount typed; a
    // line's error ("line 2") marks the lines box.
    retyped.error_field = if field.is_empty() && form == FormName::Payment {
        "amount".to_string()
    } else if field.starts_with("line") {
        "line".to_string()
    } else {
        field
    };
    retyped.error = Some(message);
    retyped.error_in = form;
    let page = invoice_page(state, user, id, retyped).await?;
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ApproveForm {
    back: String,
}

pub(super) async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ApproveForm>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    match state.engine.approve_invoice(id, &user.actor()).await {
        Ok(invoice) => {
            let number = number_text(&invoice);
            let notice = if invoice.status == InvoiceStatus::Paid {
                format!("Invoice {number} issued, already paid by its prepayments.")
            } else {
                format!(
                    "Invoice {number} issued, due {}; its email to the customer is queued.",
                    invoice.due_date
                )
            };
            Ok(redirect_with_notice(&back_to(&form.back, id), &notice))
        }
        Err(e) => refused(&state, &user, id, FormName::Approve, Retyped::default(), e).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PaymentForm {
    amount: String,
    date: String,
    reference: String,
    back: String,
}

pub(super) async fn record_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<PaymentForm>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    let outcome = state
        .engine
        .pay_invoice(
            id,
            &form.amount,
            Some(&form.date),
            Some(&form.reference),
            &user.actor(),
        )
        .await;
    match outcome {
        Ok(invoice) => {
            // The engine took the amount, so it parses; as typed otherwise, to be safe.
            let paid = Money::parse("amount", &form.amount, invoice.currency)
                .map(|money| money.format(Language::En))
                .unwrap_or_else(|_| form.amount.trim().to_string());
            let notice = match invoice.status {
                InvoiceStatus::Draft => {
                    format!("Prepayment of {paid} recorded; it counts when the draft is approved.")
                }
                InvoiceStatus::Paid => {
                    format!(
                        "Payment of {paid} recorded; invoice {} is paid.",
                        number_text(&invoice)
                    )
                }
                _ => format!(
                    "Payment of {paid} recorded; {} still to pay.",
                    amount(&invoice, invoice.balance())
                ),
            };
            Ok(redirect_with_notice(&back_to(&form.back, id), &notice))
        }
        Err(e) => {
            let retyped = Retyped {
                pay_amount: Some(form.amount),
                pay_date: form.date,
                pay_reference: form.reference,
                ..Retyped::default()
            };
            refused(&state, &user, id, FormName::Payment, retyped, e).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ReasonForm {
    reason: String,
    back: String,
}

pub(super) async fn discard(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    match state
        .engine
        .discard_invoice(id, Some(&form.reason), &user.actor())
        .await
    {
        Ok(_) => Ok(redirect_with_notice(
            &back_to(&form.back, id),
            "Draft discarded: it will not be issued, and its period is not billed again.",
        )),
        Err(e) => {
            let retyped = Retyped {
                discard_reason: form.reason,
                ..Retyped::default()
            };
            refused(&state, &user, id, FormName::Discard, retyped, e).await
        }
    }
}

pub(super) async fn void(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    match state
        .engine
        .void_invoice(id, Some(&form.reason), &user.actor())
        .await
    {
        Ok(invoice) => Ok(redirect_with_notice(
            &back_to(&form.back, id),
            &format!(
                "Invoice {} voided: it keeps its number and takes no payment; its reminders are cancelled.",
                number_text(&invoice)
            ),
        )),
        Err(e) => {
            let retyped = Retyped {
                void_reason: form.reason,
                ..Retyped::default()
            };
            refused(&state, &user, id, FormName::Void, retyped, e).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct EditForm {
    lines: String,
    issue_date: String,
    due_date: String,
}

pub(super) async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<Response, WebError> {
    require_act(&state, &user, id).await?;
    let changes = DraftChanges {
        lines: Some(
            form.lines
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        issue_date: Some(form.issue_date.clone()),
        due_date: Some(form.due_date.clone()),
    };
    match state.engine.edit_draft(id, &changes, &user.actor()).await {
        Ok(draft) => Ok(redirect_with_notice(
            &format!("/invoices/{id}"),
            &format!(
                "Draft saved: total {}, due {}.",
                amount(&draft, draft.total),
                draft.due_date
            ),
        )),
        Err(e) => {
            let retyped = Retyped {
                edit_lines: form.lines,
                edit_issue_date: form.issue_date,
                edit_due_date: form.due_date,
                ..Retyped::default()
            };
            refused(&state, &user, id, FormName::Edit, retyped, e).await
        }
    }
}

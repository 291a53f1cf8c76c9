//! Entering and editing a contract.

use super::*;

/// The contract form as typed; every field text, so nothing typed is lost on an error.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct ContractForm {
    customer: String,
    title: String,
    start: String,
    end: String,
    owner: String,
    plan: String,
    amount: String,
    currency: String,
    custom_fields: String,
    /// A recurring sale, when any of these is given: "1m", "3m"...
    bill_every: String,
    cycles: String,
    /// One `DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT` per line.
    lines: String,
    /// Checkboxes: "on" when ticked.
    in_arrears: String,
    draft_invoices: String,
    payment_days: String,
    /// expires, auto or evergreen.
    renewal: String,
    notice_days: String,
    /// The version of the contract the edit form was opened on: a save over someone
    /// else's newer change is refused rather than undoing it.
    version: String,
}

impl ContractForm {
    /// The billing schedule typed, if the contract is to be a recurring sale: any billing
    /// field filled (a ticked box too) makes it one, so that a half-filled schedule is
    /// refused with its missing field named rather than silently dropped.
    fn billing(&self) -> Option<BillingInput> {
        let typed = [
            &self.bill_every,
            &self.cycles,
            &self.lines,
            &self.payment_days,
            &self.in_arrears,
            &self.draft_invoices,
        ]
        .iter()
        .any(|field| !field.trim().is_empty());
        typed.then(|| BillingInput {
            every: self.bill_every.clone(),
            cycles: optional(&self.cycles),
            // Numbered as the box shows them (blank lines too, so "line 3" is the third
            // line a person sees); only the blank end of the box is dropped.
            lines: self.lines.trim_end().lines().map(str::to_string).collect(),
            in_arrears: !self.in_arrears.is_empty(),
            draft_invoices: !self.draft_invoices.is_empty(),
            payment_days: optional(&self.payment_days),
        })
    }
}

#[derive(Template)]
#[template(path = "contracts_form.html")]
pub(super) struct FormPage {
    layout: Layout,
    /// None: a new contract; else the contract being edited.
    editing: Option<i64>,
    form: ContractForm,
    customer_name: String,
    customers: Option<Vec<(String, String)>>,
    owners: Vec<(String, String)>,
    plans: Vec<String>,
    errors: FieldErrors,
}

/// The form field (element id) a validation error names, if the form has one.
fn field_anchor(field: &str) -> Option<&'static str> {
    const FIELDS: [&str; 15] = [
        "customer",
        "title",
        "start",
        "end",
        "renewal",
        "notice_days",
        "owner",
        "plan",
        "amount",
        "currency",
        "custom_fields",
        "bill_every",
        "cycles",
        "payment_days",
        "lines",
    ];
    match field {
        "term" => Some("end"),
        f if f.starts_with("line") => Some("lines"),
        f => FIELDS.iter().find(|known| **known == f).copied(),
    }
}

/// The form's `name=value` lines as custom fields; blank lines are ignored.
pub(super) fn parse_custom_fields(text: &str) -> Result<CustomFields, ValidationError> {
    contract::parse_custom_fields("custom_fields", text.lines(), "line")
}

pub(super) fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

pub(super) async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: ContractForm,
    customer_name: String,
    error: Option<ValidationError>,
) -> Result<FormPage, WebError> {
    let engine = &state.engine;
    let customers = if editing.is_none() {
        let choices = engine
            .browse_customer_choices(CUSTOMER_SELECT_MAX + 1)
            .await?;
        (choices.len() as i64 <= CUSTOMER_SELECT_MAX).then(|| {
            choices
                .into_iter()
                .map(|(id, name)| (id.to_string(), format!("{name} (#{id})")))
                .collect()
        })
    } else {
        None
    };
    let owners = engine
        .browse_owners()
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| (u.email.clone(), format!("{} <{}>", u.name, u.email)))
        .collect();
    let title = match editing {
        Some(_) => format!("Edit {}", form.title),
        None => "New contract".to_string(),
    };
    let mut plans = engine.browse_plan_names().await?;
    // A contract on an archived plan keeps it: its own plan stays a choice of its form.
    if editing.is_some() && !form.plan.is_empty() && !plans.contains(&form.plan) {
        plans.push(form.plan.clone());
    }
    Ok(FormPage {
        layout: Layout::new(user, title, "contracts"),
        editing,
        form,
        customer_name,
        customers,
        owners,
        plans,
        errors: FieldErrors::of(error.as_ref(), field_anchor, user.user.language),
    })
}

pub(super) async fn render_form_error(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: ContractForm,
    customer_name: String,
    error: ValidationError,
    status: StatusCode,
) -> Result<Response, WebError> {
    let page = form_page(state, user, editing, form, customer_name, Some(error)).await?;
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    customer: Option<String>,
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Html<String>, WebError> {
    user.require(Action::Create, None)?;
    let form = ContractForm {
        customer: given(&query.customer).unwrap_or_default().to_string(),
        owner: if user.user.role == tickler_core::user::Role::Sales {
            user.user.email.clone()
        } else {
            String::new()
        },
        // Empty: the engine's default, the renewal plan, or the subscription plan for a
        // recurring sale.
        plan: String::new(),
        ..ContractForm::default()
    };
    let page = form_page(&state, &user, None, form, String::new(), None).await?;
    Ok(Html(page.render()?))
}

pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ContractForm>,
) -> Result<Response, WebError> {
    user.require(Action::Create, None)?;
    let customer_id = match form.customer.trim().parse::<i64>() {
        Ok(id) => id,
        Err(_) => {
            let error = ValidationError::new(
                "customer",
                "choose a customer (or type its number, shown on its page)",
            );
            return render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let custom_fields = match parse_custom_fields(&form.custom_fields) {
        Ok(fields) => fields,
        Err(error) => {
            return render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let input = ContractInput {
        customer_id,
        title: form.title.clone(),
        start: form.start.clone(),
        end: form.end.clone(),
        owner_email: optional(&form.owner),
        plan: optional(&form.plan),
        amount: optional(&form.amount),
        currency: optional(&form.currency),
        custom_fields,
        billing: form.billing(),
        renewal: optional(&form.renewal),
        notice_days: optional(&form.notice_days),
    };
    let is_sale = input.billing.is_some();
    match state.engine.add_contract(input, &user.actor()).await {
        Ok(id) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            if is_sale {
                "Recurring sale entered; its reminders and billing periods are scheduled."
            } else {
                "Contract entered; its reminders are scheduled."
            },
        )),
        Err(EngineError::Invalid(error)) => {
            render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(EngineError::Conflict(message) | EngineError::Stale(message)) => {
            let error = ValidationError::new("contract", message);
            render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let detail = state.engine.contract_detail(id).await?;
    let contract = &detail.contract;
    user.require(Action::ChangeContract, contract.owner_id)?;
    let form = ContractForm {
        customer: contract.customer_id.to_string(),
        title: contract.title.clone(),
        start: contract.start_date.to_string(),
        end: contract.end_date.to_string(),
        owner: detail
            .owner
            .as_ref()
            .map(|o| o.email.clone())
            .unwrap_or_default(),
        plan: detail.plan.clone(),
        amount: contract
            .money()
            .map(|money| money.to_decimal_string())
            .unwrap_or_default(),
        currency: contract.currency.clone().unwrap_or_default(),
        custom_fields: contract
            .custom_fields
            .iter()
            .map(|(name, value)| format!("{name}={}", custom_field_text(value)))
            .collect::<Vec<_>>()
            .join("\n"),
        renewal: contract.renewal.as_str().to_string(),
        notice_days: contract
            .notice_days
            .map(|days| days.to_string())
            .unwrap_or_default(),
        version: contract.version(),
        // A sale's billing is set when it is entered; the edit form leaves it as it is.
        ..ContractForm::default()
    };
    let page = form_page(
        &state,
        &user,
        Some(id),
        form,
        detail.customer.name.clone(),
        None,
    )
    .await?;
    Ok(Html(page.render()?))
}

pub(super) async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ContractForm>,
) -> Result<Response, WebError> {
    let detail = state.engine.contract_detail(id).await?;
    user.require(Action::ChangeContract, detail.contract.owner_id)?;
    let custom_fields = match parse_custom_fields(&form.custom_fields) {
        Ok(fields) => fields,
        Err(error) => {
            let customer_name = detail.customer.name.clone();
            return render_form_error(
                &state,
                &user,
                Some(id),
                form,
                customer_name,
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let changes = ContractChanges {
        title: Some(form.title.clone()),
        start: Some(form.start.clone()),
        end: Some(form.end.clone()),
        owner_email: Some(form.owner.trim().to_string()),
        plan: optional(&form.plan),
        amount: Some(form.amount.clone()),
        currency: Some(form.currency.clone()),
        custom_fields: Some(custom_fields),
        renewal: optional(&form.renewal),
        // The field keeps its value when another type is chosen: only auto reads it.
        notice_days: (form.renewal.trim() == "auto").then(|| form.notice_days.clone()),
        if_version: optional(&form.version),
    };
    match state.engine.edit_contract(id, changes, &user.actor()).await {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            "Contract saved; its reminders follow the changes (edited ones are kept).",
        )),
        Err(EngineError::Invalid(error)) => {
            render_form_error(
                &state,
                &user,
                Some(id),
                form,
                detail.customer.name.clone(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(EngineError::Conflict(message)) => {
            let error = ValidationError::new("contract", message);
            render_form_error(
                &state,
                &user,
                Some(id),
                form,
                detail.customer.name.clone(),
                error,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_fields_are_name_value_lines() {
        let fields = parse_custom_fields("site = Athens\n\nunits=3\n").unwrap();
        assert_eq!(fields["site"], "Athens");
        assert_eq!(fields["units"], "3");
        let error = parse_custom_fields("site=A\nno equals sign").unwrap_err();
        assert_eq!(error.field, "custom_fields");
        assert!(error.message.contains("line 2"), "{error}");
        assert!(parse_custom_fields("a=1\na=2").is_err());
        assert!(parse_custom_fields("=x").is_err());
    }

    #[test]
    fn lateness_reads_as_words() {
        assert_eq!(lateness_text(20_000), "on time");
        assert_eq!(lateness_text(5 * 60_000), "5 min late");
        assert_eq!(lateness_text(2 * 3_600_000 + 60_000), "2 h 1 min late");
        assert_eq!(
            lateness_text(-(3 * 86_400_000 + 3_600_000)),
            "3 d 1 h early"
        );
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(total_text(1, false, "contract"), "1 contract");
        assert_eq!(
            total_text(10_000, true, "contract"),
            "10,000 or more contracts"
        );
    }

    #[test]
    fn links_leave_out_empty_parts() {
        assert_eq!(link("/contracts", "", ""), "/contracts");
        assert_eq!(
            link("/contracts", "q=a", "after=3"),
            "/contracts?q=a&after=3"
        );
        assert_eq!(query_string(&[("q", "a b&c"), ("status", "")]), "q=a+b%26c");
    }
}

//! The invoices list: a section per status, the drafts waiting for approval first, and
//! filters by status and contract.

use super::*;

/// Invoices read per status. The engine lists oldest first with a limit and no pages, so
/// the page says when a section stopped here and how to narrow it (by contract).
pub(super) const SECTION_CAP: i64 = 500;

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    status: Option<String>,
    contract: Option<String>,
}

/// What `?status=` may ask for: a status, or the issued invoices past their due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shown {
    Draft,
    Issued,
    Overdue,
    Paid,
    Void,
}

impl Shown {
    const ALL: [Shown; 5] = [
        Shown::Draft,
        Shown::Issued,
        Shown::Overdue,
        Shown::Paid,
        Shown::Void,
    ];

    fn key(self) -> &'static str {
        match self {
            Shown::Draft => "draft",
            Shown::Issued => "issued",
            Shown::Overdue => "overdue",
            Shown::Paid => "paid",
            Shown::Void => "void",
        }
    }

    fn tab(self) -> &'static str {
        match self {
            Shown::Draft => "Drafts",
            Shown::Issued => "Issued",
            Shown::Overdue => "Overdue",
            Shown::Paid => "Paid",
            Shown::Void => "Void",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Shown> {
        Shown::ALL.into_iter().find(|s| s.key() == text)
    }
}

/// One table of the page.
pub(super) struct Section {
    /// "draft", "overdue", "issued", "paid", "void": the table's columns and actions follow it.
    key: &'static str,
    title: &'static str,
    note: &'static str,
    rows: Vec<InvoiceRow>,
    /// The engine's limit was reached: there may be more.
    capped: bool,
}

pub(super) struct Tab {
    label: &'static str,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "invoices.html")]
pub(super) struct InvoicesPage {
    layout: Layout,
    tabs: Vec<Tab>,
    sections: Vec<Section>,
    /// The contract the list is narrowed to: (id, title).
    contract: Option<(i64, String)>,
    /// This list's address, for the actions to return to.
    back: String,
    cap: i64,
}

pub(super) fn list_href(status: Option<Shown>, contract: Option<i64>) -> String {
    let mut pairs = Vec::new();
    if let Some(status) = status {
        pairs.push(format!("status={}", status.key()));
    }
    if let Some(contract) = contract {
        pairs.push(format!("contract={contract}"));
    }
    if pairs.is_empty() {
        "/invoices".to_string()
    } else {
        format!("/invoices?{}", pairs.join("&"))
    }
}

/// The invoices the list's filters show (all of a status, or all), as CSV.
pub(super) async fn list_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Response, WebError> {
    let engine = &state.engine;
    let today = today_in(engine.now(), &user.zone);
    let (shown, contract_id) = filters(&params)?;
    let filter = InvoiceFilter {
        contract_id,
        status: shown.map(|shown| match shown {
            Shown::Draft => InvoiceStatus::Draft,
            Shown::Issued | Shown::Overdue => InvoiceStatus::Issued,
            Shown::Paid => InvoiceStatus::Paid,
            Shown::Void => InvoiceStatus::Void,
        }),
        overdue_on: (shown == Some(Shown::Overdue)).then_some(today),
        limit: None,
    };
    let mut csv = Vec::new();
    engine.export_invoices(&mut csv, &filter).await?;
    Ok(csv_download(&format!("invoices-{today}.csv"), csv))
}

/// The list's filters, checked: the status shown and the contract.
fn filters(params: &ListParams) -> Result<(Option<Shown>, Option<i64>), WebError> {
    let shown = match given(&params.status) {
        None => None,
        Some(text) => Some(Shown::parse(text).ok_or_else(|| {
            WebError::BadRequest(format!(
                "status: \"{text}\" is not a status (draft, issued, overdue, paid or void)"
            ))
        })?),
    };
    let contract_id = match given(&params.contract) {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            WebError::BadRequest(format!("contract: \"{text}\" is not a contract's number"))
        })?),
    };
    Ok((shown, contract_id))
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let today = today_in(engine.now(), &user.zone);
    let (shown, contract_id) = filters(&params)?;
    let contract = match contract_id {
        // Its title, and a 404 for a contract that does not exist.
        Some(id) => Some((id, engine.contract_detail(id).await?.contract.title)),
        None => None,
    };
    let fetch = |status: InvoiceStatus, overdue_on: Option<Date>| {
        let filter = InvoiceFilter {
            contract_id,
            status: Some(status),
            overdue_on,
            limit: Some(SECTION_CAP),
        };
        async move { engine.browse_invoices(&filter).await }
    };
    let rows = |found: Vec<InvoiceListRow>| -> Vec<InvoiceRow> {
        found
            .iter()
            .map(|row| InvoiceRow::new(row, &user, today))
            .collect()
    };
    let section = |key, title, note, found: Vec<InvoiceRow>, capped| Section {
        key,
        title,
        note,
        rows: found,
        capped,
    };
    let mut sections = Vec::new();
    if matches!(shown, None | Some(Shown::Draft)) {
        let found = fetch(InvoiceStatus::Draft, None).await?;
        let capped = found.len() as i64 >= SECTION_CAP;
        sections.push(section(
            "draft",
            "Drafts waiting for approval",
            "Approving issues a draft: it gets its number and is emailed to the customer. \
             A prepayment recorded first is kept; a draft fully prepaid is paid when approved.",
            rows(found),
            capped,
        ));
    }
    match shown {
        // Everything: the issued invoices split in two, those past their due date first,
        // since they are the ones to chase.
        None => {
            let found = fetch(InvoiceStatus::Issued, None).await?;
            let capped = found.len() as i64 >= SECTION_CAP;
            let (overdue, waiting): (Vec<_>, Vec<_>) =
                rows(found).into_iter().partition(|r| r.days_overdue > 0);
            sections.push(section(
                "overdue",
                "Overdue",
                "Issued and past their due date, with a balance.",
                overdue,
                capped,
            ));
            sections.push(section(
                "issued",
                "Issued, not yet due",
                "",
                waiting,
                capped,
            ));
        }
        Some(Shown::Issued) => {
            let found = fetch(InvoiceStatus::Issued, None).await?;
            let capped = found.len() as i64 >= SECTION_CAP;
            sections.push(section(
                "issued",
                "Issued",
                "Overdue ones are marked with the days they are late.",
                rows(found),
                capped,
            ));
        }
        Some(Shown::Overdue) => {
            let found = fetch(InvoiceStatus::Issued, Some(today)).await?;
            let capped = found.len() as i64 >= SECTION_CAP;
            sections.push(section(
                "overdue",
                "Overdue",
                "Issued and past their due date, with a balance.",
                rows(found),
                capped,
            ));
        }
        Some(Shown::Draft | Shown::Paid | Shown::Void) => {}
    }
    for (status, wanted, key, title) in [
        (InvoiceStatus::Paid, Shown::Paid, "paid", "Paid"),
        (InvoiceStatus::Void, Shown::Void, "void", "Void"),
    ] {
        if shown.is_none() || shown == Some(wanted) {
            let found = fetch(status, None).await?;
            let capped = found.len() as i64 >= SECTION_CAP;
            let note = if status == InvoiceStatus::Void {
                "Discarded drafts (no number) and voided invoices (their number is kept)."
            } else {
                ""
            };
            sections.push(section(key, title, note, rows(found), capped));
        }
    }
    let mut tabs = vec![Tab {
        label: "All",
        href: list_href(None, contract_id),
        current: shown.is_none(),
    }];
    tabs.extend(Shown::ALL.into_iter().map(|s| Tab {
        label: s.tab(),
        href: list_href(Some(s), contract_id),
        current: shown == Some(s),
    }));
    let page = InvoicesPage {
        layout: Layout::new(&user, "Invoices", "invoices"),
        tabs,
        sections,
        contract,
        back: list_href(shown, contract_id),
        cap: SECTION_CAP,
    };
    Ok(Html(page.render()?))
}

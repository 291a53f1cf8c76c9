//! The contracts list: search, filters, sorting and keyset pages read from the database.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    q: Option<String>,
    status: Option<String>,
    owner: Option<String>,
    customer: Option<String>,
    expiring: Option<String>,
    before: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    before_id: Option<String>,
}

/// The filters as typed, to fill the filter form and build links.
#[derive(Default)]
pub(super) struct Filters {
    q: String,
    status: String,
    owner: String,
    customer: String,
    expiring: String,
    before: String,
    sort: String,
    dir: String,
}

impl Filters {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("q", self.q.as_str()),
            ("status", self.status.as_str()),
            ("owner", self.owner.as_str()),
            ("customer", self.customer.as_str()),
            ("expiring", self.expiring.as_str()),
            ("before", self.before.as_str()),
            ("sort", self.sort.as_str()),
            ("dir", self.dir.as_str()),
        ]
    }

    fn query(&self) -> String {
        query_string(&self.pairs())
    }

    /// The same filters sorted by `sort`: ascending, or descending when already ascending
    /// by it.
    fn sorted_by(&self, sort: &str) -> String {
        let current = if self.sort.is_empty() {
            "end"
        } else {
            &self.sort
        };
        let dir = if current == sort && self.dir != "desc" {
            "desc"
        } else {
            ""
        };
        let mut pairs = self.pairs();
        pairs.retain(|(k, _)| *k != "sort" && *k != "dir");
        pairs.push(("sort", sort));
        pairs.push(("dir", dir));
        link("/contracts", &query_string(&pairs), "")
    }
}

/// Reads the list's parameters into a query, refusing what makes no sense with 400.
pub(super) fn contract_query(
    params: &ListParams,
    user: &CurrentUser,
    today: Date,
) -> Result<(ContractQuery, Filters), WebError> {
    let bad = |field: &str, message: String| WebError::BadRequest(format!("{field}: {message}"));
    let mut query = ContractQuery {
        search: search(&params.q)?,
        limit: PAGE_SIZE,
        ..ContractQuery::default()
    };
    let mut filters = Filters {
        q: given(&params.q).unwrap_or_default().to_string(),
        ..Filters::default()
    };
    if let Some(status) = given(&params.status) {
        query.status = Some(match status {
            "active" => ContractStatus::Active,
            "terminated" => ContractStatus::Terminated,
            other => {
                return Err(bad(
                    "status",
                    format!("\"{other}\" is not a status (active or terminated)"),
                ));
            }
        });
        filters.status = status.to_string();
    }
    if let Some(owner) = given(&params.owner) {
        query.owner_id = Some(if owner == "me" {
            user.user.id
        } else {
            owner.parse().map_err(|_| {
                bad(
                    "owner",
                    format!("\"{owner}\" is neither a user's number nor \"me\""),
                )
            })?
        });
        filters.owner = owner.to_string();
    }
    if let Some(customer) = given(&params.customer) {
        query.customer_id = Some(customer.parse().map_err(|_| {
            bad(
                "customer",
                format!("\"{customer}\" is not a customer's number"),
            )
        })?);
        filters.customer = customer.to_string();
    }
    if let Some(days) = given(&params.expiring) {
        let days: i64 = days
            .parse()
            .ok()
            .filter(|d| (0..=3660).contains(d))
            .ok_or_else(|| {
                bad(
                    "expiring",
                    format!("\"{days}\" is not a number of days (0 to 3660)"),
                )
            })?;
        // As the dashboard counts them: active contracts ending today .. today + days.
        query.end_from = Some(today);
        query.end_before = today.checked_add((days + 1).days()).ok();
        if query.status.is_none() {
            query.status = Some(ContractStatus::Active);
        }
        filters.expiring = days.to_string();
    }
    if let Some(before) = given(&params.before) {
        let date = parse_date("before", before).map_err(|e| WebError::BadRequest(e.to_string()))?;
        query.end_before = Some(match query.end_before {
            Some(other) if other < date => other,
            _ => date,
        });
        filters.before = before.to_string();
    }
    if let Some(sort) = given(&params.sort) {
        query.sort = ContractSort::parse(sort).ok_or_else(|| {
            bad(
                "sort",
                format!("\"{sort}\" is not a sort order (end, title, customer or created)"),
            )
        })?;
        filters.sort = sort.to_string();
    }
    match given(&params.dir) {
        None | Some("asc") => {}
        Some("desc") => {
            query.descending = true;
            filters.dir = "desc".to_string();
        }
        Some(other) => {
            return Err(bad("dir", format!("\"{other}\" is not asc or desc")));
        }
    }
    query.cursor = cursor(&params.after, &params.before_id)?;
    Ok((query, filters))
}

/// A contract as a row of a table: dates as the viewer reads them.
pub(crate) struct ListRow {
    pub id: i64,
    pub title: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_name: String,
    pub end_date: String,
    pub days_left: String,
    pub status: &'static str,
    /// "1,200.00 EUR"; empty without an amount.
    pub amount: String,
    /// The next email still to go out, in the viewer's zone, and its step; empty if none.
    pub next_at: String,
    pub next_label: String,
}

impl ListRow {
    pub(crate) fn new(row: &ContractListRow, today: Date, zone: &TimeZone) -> ListRow {
        let days = days_between(today, row.end_date);
        let amount = match (row.amount_minor, row.currency.as_deref()) {
            (Some(minor), Some(code)) => tickler_core::money::Currency::parse("currency", code)
                .map(|currency| tickler_core::money::Money { minor, currency }.format(Language::En))
                .unwrap_or_else(|_| format!("{minor} {code}")),
            _ => String::new(),
        };
        let (next_at, next_label) = match &row.next_email {
            Some((at, label)) => (format::local(*at, zone), label.clone()),
            None => (String::new(), String::new()),
        };
        ListRow {
            amount,
            next_at,
            next_label,
            id: row.id,
            title: row.title.clone(),
            customer_id: row.customer_id,
            customer_name: row.customer_name.clone(),
            owner_name: row.owner_name.clone().unwrap_or_default(),
            end_date: row.end_date.to_string(),
            days_left: match row.status {
                ContractStatus::Terminated => String::new(),
                ContractStatus::Active if days < 0 => format!("ended {} days ago", -days),
                ContractStatus::Active => days.to_string(),
            },
            status: row.status.as_str(),
        }
    }
}

pub(super) struct SortHeader {
    label: &'static str,
    href: String,
    /// `ascending` / `descending` when the list is sorted by it, else empty.
    aria_sort: &'static str,
}

#[derive(Template)]
#[template(path = "contracts.html")]
pub(super) struct ContractsPage {
    layout: Layout,
    filters: Filters,
    owners: Vec<(String, String)>,
    headers: Vec<SortHeader>,
    rows: Vec<ListRow>,
    total: String,
    first_link: Option<String>,
    previous_link: Option<String>,
    next_link: Option<String>,
    can_create: bool,
    /// The same filters as a CSV download.
    csv_link: String,
}

/// The contracts the list's filters show, every page of them, as the CSV that
/// `import contracts` reads.
pub(super) async fn list_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Response, WebError> {
    let engine = &state.engine;
    let now = engine.now();
    let (query, _) = contract_query(&params, &user, today_in(now, &user.zone))?;
    // Held whole before it is sent: an export that fails halfway is an error page, not a
    // file that looks complete.
    let mut csv = Vec::new();
    engine
        .export_contracts(&mut csv, ContractExport { filter: query })
        .await?;
    Ok(csv_download(
        &format!("contracts-{}.csv", today_in(now, &user.zone)),
        csv,
    ))
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let today = today_in(engine.now(), &user.zone);
    let (query, filters) = contract_query(&params, &user, today)?;
    let listing = engine.browse_contracts(&query).await?;
    let owners = engine
        .browse_owners()
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect();
    let base = filters.query();
    let page = &listing.page;
    let headers = [
        ("Contract", "title", ContractSort::Title),
        ("Customer", "customer", ContractSort::Customer),
        ("Ends", "end", ContractSort::End),
    ]
    .into_iter()
    .map(|(label, key, sort)| SortHeader {
        label,
        href: filters.sorted_by(key),
        aria_sort: match (query.sort == sort, query.descending) {
            (false, _) => "",
            (true, false) => "ascending",
            (true, true) => "descending",
        },
    })
    .collect();
    let page_view = ContractsPage {
        layout: Layout::new(&user, "Contracts", "contracts"),
        owners,
        headers,
        rows: page
            .rows
            .iter()
            .map(|r| ListRow::new(r, today, &user.zone))
            .collect(),
        total: total_text(listing.total, listing.total_capped(), "contract"),
        first_link: page.has_previous.then(|| link("/contracts", &base, "")),
        previous_link: match (page.has_previous, page.rows.first()) {
            (true, Some(first)) => Some(link(
                "/contracts",
                &base,
                &format!("before_id={}", first.id),
            )),
            _ => None,
        },
        next_link: match (page.has_next, page.rows.last()) {
            (true, Some(last)) => Some(link("/contracts", &base, &format!("after={}", last.id))),
            _ => None,
        },
        can_create: user.viewer.may(Action::Create, None),
        csv_link: link("/contracts.csv", &base, ""),
        filters,
    };
    Ok(Html(page_view.render()?))
}

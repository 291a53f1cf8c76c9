//! Lists for the web app's pages: contracts and customers, searched, filtered, sorted and
//! paged in the database. Pages are keyset pages (after or before a row, by its sort key),
//! so the hundredth page costs what the first does; every sort order has an index that ends
//! in the id (migration 0003). Only the filters in use appear in the SQL, so the database
//! can use its indexes.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tickler_core::language::Language;

use crate::{Db, StoreError, contracts::ContractStatus, date_from_text, instant_from_millis};

/// Counts stop here: a page says "more than 10,000" rather than count a million rows.
pub const COUNT_CAP: i64 = 10_000;

/// From this many matching contracts on, a filtered list sorted by title or entry walks
/// its sort's index rather than the filter's (see [`contract_filters`]).
const BROAD: i64 = 2_000;

/// How the contracts list is ordered; ties are broken by the id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContractSort {
    /// End date of the current term (soonest first).
    #[default]
    End,
    Title,
    /// Customer name (then customer, then contract).
    Customer,
    /// When the contract was entered.
    Created,
}

impl ContractSort {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractSort::End => "end",
            ContractSort::Title => "title",
            ContractSort::Customer => "customer",
            ContractSort::Created => "created",
        }
    }

    pub fn parse(text: &str) -> Option<ContractSort> {
        match text.trim() {
            "end" => Some(ContractSort::End),
            "title" => Some(ContractSort::Title),
            "customer" => Some(ContractSort::Customer),
            "created" => Some(ContractSort::Created),
            _ => None,
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            ContractSort::End => &["c.end_date", "c.id"],
            ContractSort::Title => &["c.title", "c.id"],
            ContractSort::Customer => &["cu.name", "cu.id", "c.id"],
            ContractSort::Created => &["c.created_at", "c.id"],
        }
    }
}

/// Where a keyset page starts: just after, or just before, the row with this id (in the
/// list's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    After(i64),
    Before(i64),
}

/// Which contracts to list; all filters are optional and combine with AND.
#[derive(Debug, Clone, Default)]
pub struct ContractQuery {
    /// Title or customer name contains this (case-insensitive).
    pub search: Option<String>,
    pub status: Option<ContractStatus>,
    pub owner_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// `end_date >= end_from`.
    pub end_from: Option<Date>,
    /// `end_date < end_before`.
    pub end_before: Option<Date>,
    pub sort: ContractSort,
    pub descending: bool,
    pub cursor: Option<Cursor>,
    /// Rows per page.
    pub limit: i64,
}

/// One contract as a row of a list.
#[derive(Debug, Clone, Serialize)]
pub struct ContractListRow {
    pub id: i64,
    pub title: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub status: ContractStatus,
    pub term_number: i32,
    pub start_date: Date,
    pub end_date: Date,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub created_at: Timestamp,
    /// The next email still to go out: its send time and step label.
    pub next_email: Option<(Timestamp, String)>,
}

/// One page of a list, with whether there are rows on either side of it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

/// A query argument, bound in order by [`bind_all!`].
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// The conditions and arguments of a list query, built up filter by filter.
pub(crate) struct Sql {
    pub(crate) conditions: Vec<String>,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new() -> Sql {
        Sql {
            conditions: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Adds an argument and returns its placeholder (`$1`, `$2`, ... in order).
    pub(crate) fn param(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }
}

/// `%text%` for LIKE, lower-cased, with LIKE's own characters escaped by `\`.
pub(crate) fn like_pattern(search: &str) -> String {
    format!(
        "%{}%",
        search
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// The search to apply, if any: blank ones, and ones too short for the trigram indexes
/// (the front ends refuse those with a message, see `tickler_core::search`), are none.
pub(crate) fn search_text(search: &Option<String>) -> Option<&str> {
    search
        .as_deref()
        .map(str::trim)
        .filter(|s| tickler_core::search::searchable(s))
}

fn is_postgres(db: &Db) -> bool {
    db.backend_name().eq_ignore_ascii_case("postgresql")
}

/// `"text"`: an FTS5 phrase, which the trigram tokenizer matches anywhere in the text.
fn fts_phrase(search: &str) -> String {
    format!("\"{}\"", search.replace('"', "\"\""))
}

/// What a search looks in.
#[derive(Clone, Copy)]
enum Searched {
    ContractTitles,
    CustomerNames,
    CustomerNamesAndAddresses,
}

/// A subquery of the ids (of contracts, or of customers) whose text contains `search`,
/// read from a trigram index (migration 0014): PostgreSQL's pg_trgm serves `ILIKE
/// '%text%'` as written; SQLite's LIKE could not use one, so it asks the FTS5 tables.
fn search_ids(db: &Db, sql: &mut Sql, searched: Searched, search: &str) -> String {
    // No stored name, title or address holds a control character, and a NUL would end
    // SQLite's full-text query early (a syntax error) and cannot be sent to PostgreSQL at
    // all: such a search finds nothing.
    if search.chars().any(char::is_control) {
        return match searched {
            Searched::ContractTitles => "SELECT id FROM contracts WHERE 1 = 0",
            Searched::CustomerNames | Searched::CustomerNamesAndAddresses => {
                "SELECT id FROM customers WHERE 1 = 0"
            }
        }
        .to_string();
    }
    if is_postgres(db) {
        let p = sql.param(Arg::Text(like_pattern(search)));
        match searched {
            Searched::ContractTitles => {
                format!("SELECT id FROM contracts WHERE title ILIKE {p} ESCAPE '\\'")
            }
            Searched::CustomerNames => {
                format!("SELECT id FROM customers WHERE name ILIKE {p} ESCAPE '\\'")
            }
            // Addresses are stored lower-cased.
            Searched::CustomerNamesAndAddresses => format!(
                "SELECT id FROM customers WHERE name ILIKE {p} ESCAPE '\\' \
                 UNION SELECT customer_id FROM customer_emails WHERE email LIKE {p} ESCAPE '\\'"
            ),
        }
    } else {
        let (table, query) = match searched {
            Searched::ContractTitles => ("contracts_search", fts_phrase(search)),
            Searched::CustomerNames => {
                ("customers_search", format!("name : {}", fts_phrase(search)))
            }
            Searched::CustomerNamesAndAddresses => ("customers_search", fts_phrase(search)),
        };
        let p = sql.param(Arg::Text(query));
        format!("SELECT rowid FROM {table} WHERE {table} MATCH {p}")
    }
}

/// How a contract list finds the contracts that match its search.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchPath {
    /// Read the matches from the trigram indexes first, then sort them: the cost grows with
    /// the number of matches (a word in a sixth of a million titles: 1 s).
    Matches,
    /// Walk the list's sort order and test each contract's title and customer's name with
    /// `LIKE` until a page is full: the cost grows with the rows walked per match, small
    /// when many match. Only for searches without letters beyond ASCII, for which SQLite's
    /// `LIKE` ignores case exactly as the trigram index does.
    Walk,
}

/// How the list of `query` should search: [`SearchPath::Walk`] on SQLite for a search that
/// at least [`BROAD`] titles contain (counted in the trigram index, which stops at that).
async fn search_path(db: &mut Db, query: &ContractQuery) -> Result<SearchPath, StoreError> {
    let Some(text) = search_text(&query.search) else {
        return Ok(SearchPath::Matches);
    };
    if is_postgres(db) || !text.is_ascii() {
        return Ok(SearchPath::Matches);
    }
    let titles = title_matches_up_to(db, text, BROAD).await?;
    Ok(if titles >= BROAD {
        SearchPath::Walk
    } else {
        SearchPath::Matches
    })
}

/// How many contract titles contain `search`, up to `cap`, from SQLite's trigram index.
async fn title_matches_up_to(db: &mut Db, search: &str, cap: i64) -> Result<i64, StoreError> {
    // A control character matches nothing (see `search_ids`), and must not reach MATCH.
    if search.chars().any(char::is_control) {
        return Ok(0);
    }
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT rowid FROM contracts_search \
         WHERE contracts_search MATCH $1 LIMIT $2) AS matched",
    )
    .bind(fts_phrase(search))
    .bind(cap)
    .fetch_one(db)
    .await?)
}

/// `column IN (...)`: the contracts whose title, or whose customer's name, contains
/// `search`. The matches are found first, each half through its index, so a rare word
/// costs a few index pages, not a walk of the table in the list's order.
pub(crate) fn contract_search(db: &Db, sql: &mut Sql, column: &str, search: &str) -> String {
    let titles = search_ids(db, sql, Searched::ContractTitles, search);
    let names = search_ids(db, sql, Searched::CustomerNames, search);
    format!("{column} IN ({titles} UNION SELECT id FROM contracts WHERE customer_id IN ({names}))")
}

/// The filters of `query` (not its cursor) as conditions on `contracts c`.
/// With `broad` (many rows match and the list is sorted by title or entry), the status and
/// owner conditions are written so that SQLite cannot lead with their indexes: without
/// statistics it takes any equality as selective, and would read all of an owner's
/// 100,000 contracts and sort them (220 ms) instead of walking the sort's index until a
/// page is full (2 ms).
fn contract_filters(
    db: &Db,
    query: &ContractQuery,
    broad: bool,
    search: SearchPath,
    sql: &mut Sql,
) {
    if let Some(text) = search_text(&query.search) {
        let condition = match search {
            SearchPath::Matches => contract_search(db, sql, "c.id", text),
            SearchPath::Walk => {
                let p = sql.param(Arg::Text(like_pattern(text)));
                format!(
                    "(c.title LIKE {p} ESCAPE '\\' OR EXISTS (SELECT 1 FROM customers x \
                     WHERE x.id = c.customer_id AND x.name LIKE {p} ESCAPE '\\'))"
                )
            }
        };
        sql.conditions.push(condition);
    }
    if let Some(status) = &query.status {
        let p = sql.param(Arg::Text(status.as_str().to_string()));
        let column = if broad { "c.status || ''" } else { "c.status" };
        sql.conditions.push(format!("{column} = {p}"));
    }
    if let Some(owner) = query.owner_id {
        let p = sql.param(Arg::Int(owner));
        let column = if broad {
            "c.owner_id + 0"
        } else {
            "c.owner_id"
        };
        sql.conditions.push(format!("{column} = {p}"));
    }
    if let Some(customer) = query.customer_id {
        let p = sql.param(Arg::Int(customer));
        sql.conditions.push(format!("c.customer_id = {p}"));
    }
    if let Some(from) = query.end_from {
        let p = sql.param(Arg::Text(from.to_string()));
        sql.conditions.push(format!("c.end_date >= {p}"));
    }
    if let Some(before) = query.end_before {
        let p = sql.param(Arg::Text(before.to_string()));
        sql.conditions.push(format!("c.end_date < {p}"));
    }
}

/// The sort key of contract `id` in `sort`'s order, as arguments; `None` if it is gone.
async fn contract_key(
    db: &mut Db,
    sort: ContractSort,
    id: i64,
) -> Result<Option<Vec<Arg>>, StoreError> {
    let row: Option<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT c.end_date, c.title, c.created_at, cu.name, cu.id FROM contracts c \
         JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(
        |(end, title, created, customer_name, customer_id)| match sort {
            ContractSort::End => vec![Arg::Text(end), Arg::Int(id)],
            ContractSort::Title => vec![Arg::Text(title), Arg::Int(id)],
            ContractSort::Customer => vec![
                Arg::Text(customer_name),
                Arg::Int(customer_id),
                Arg::Int(id),
            ],
            ContractSort::Created => vec![Arg::Int(created), Arg::Int(id)],
        },
    ))
}

type ContractListTuple = (
    i64,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    String,
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    i64,
);

fn contract_row(row: ContractListTuple) -> Result<ContractListRow, StoreError> {
    let (
        id,
        title,
        customer_id,
        customer_name,
        owner_id,
        owner_name,
        status,
        term,
        start,
        end,
        amount_minor,
        currency,
        created,
    ) = row;
    let corrupt = |what: String| StoreError::Corrupt(format!("contract {id}: {what}"));
    Ok(ContractListRow {
        id,
        title,
        customer_id,
        customer_name,
        owner_id,
        owner_name,
        status: status.parse().map_err(|e| corrupt(format!("{e}")))?,
        term_number: i32::try_from(term).map_err(|e| corrupt(e.to_string()))?,
        start_date: date_from_text(&start)?,
        end_date: date_from_text(&end)?,
        amount_minor,
        currency,
        created_at: instant_from_millis(created)?,
        next_email: None,
    })
}

/// Binds `args` in order to a query built with [`Sql::param`].
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(n) => query.bind(n),
                Arg::Text(t) => query.bind(t),
            };
        }
        query
    }};
}
pub(crate) use bind_all;

/// `(a, b) > ($1, $2)`: the rows after (or before) a key in the list's order.
pub(crate) fn keyset_condition(sql: &mut Sql, columns: &[&str], key: Vec<Arg>, forward: bool) {
    let placeholders: Vec<String> = key.into_iter().map(|arg| sql.param(arg)).collect();
    sql.conditions.push(format!(
        "({}) {} ({})",
        columns.join(", "),
        if forward { ">" } else { "<" },
        placeholders.join(", ")
    ));
}

/// A page from rows read up to one past `limit` in the page's reading direction (reversed
/// when walking back from a cursor): whether more lie beyond, and rows in the list's order.
pub(crate) fn page_of<T>(
    mut rows: Vec<T>,
    limit: i64,
    backwards: bool,
    from_cursor: bool,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    if backwards && from_cursor {
        rows.reverse();
        Page {
            rows,
            has_previous: more,
            has_next: true,
        }
    } else {
        Page {
            rows,
            has_previous: from_cursor,
            has_next: more,
        }
    }
}

/// One page of contracts matching `query`.
pub async fn contracts(
    db: &mut Db,
    query: &ContractQuery,
) -> Result<Page<ContractListRow>, StoreError> {
    let search = search_path(db, query).await?;
    contracts_searched(db, query, search).await
}

async fn contracts_searched(
    db: &mut Db,
    query: &ContractQuery,
    search: SearchPath,
) -> Result<Page<ContractListRow>, StoreError> {
    let broad = matches!(query.sort, ContractSort::Title | ContractSort::Created)
        && (query.status.is_some() || query.owner_id.is_some())
        && !is_postgres(db)
        && count_up_to(db, query, BROAD).await? >= BROAD;
    let mut sql = Sql::new();
    contract_filters(db, query, broad, search, &mut sql);
    let columns = query.sort.columns();
    // Walking backwards (a "previous" page) reads the order reversed, then flips the rows.
    let backwards = matches!(query.cursor, Some(Cursor::Before(_)));
    let cursor_id = match query.cursor {
        Some(Cursor::After(id) | Cursor::Before(id)) => Some(id),
        None => None,
    };
    let mut from_cursor = false;
    if let Some(id) = cursor_id
        && let Some(key) = contract_key(db, query.sort, id).await?
    {
        // Ascending and after: greater keys; any one flip turns it round.
        keyset_condition(&mut sql, columns, key, query.descending == backwards);
        from_cursor = true;
    }
    let descending = query.descending != (backwards && from_cursor);
    let direction = if descending { " DESC" } else { "" };
    let order = columns
        .iter()
        .map(|c| format!("{c}{direction}"))
        .collect::<Vec<_>>()
        .join(", ");
    let limit = query.limit.clamp(1, 1000);
    // By customer, the customers are read in name order and each one's contracts by id
    // (both from indexes), so no sort of every contract is needed; SQLite keeps the tables
    // of a CROSS JOIN in the order written, PostgreSQL plans it as any inner join.
    let from = if query.sort == ContractSort::Customer {
        sql.conditions.push("c.customer_id = cu.id".to_string());
        "customers cu CROSS JOIN contracts c"
    } else {
        "contracts c JOIN customers cu ON cu.id = c.customer_id"
    };
    let clause = sql.where_clause();
    let p_limit = sql.param(Arg::Int(limit + 1));
    let text = format!(
        "SELECT c.id, c.title, c.customer_id, cu.name, c.owner_id, u.name, c.status, \
         c.term_number, c.start_date, c.end_date, c.amount_minor, c.currency, c.created_at \
         FROM {from} LEFT JOIN users u ON u.id = c.owner_id \
         {clause} ORDER BY {order} LIMIT {p_limit}"
    );
    let rows: Vec<ContractListTuple> = bind_all!(sqlx::query_as(AssertSqlSafe(text)), sql.args)
        .fetch_all(&mut *db)
        .await?;
    let mut rows = rows
        .into_iter()
        .map(contract_row)
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut next = next_emails(db, &ids).await?;
    for row in &mut rows {
        row.next_email = next.remove(&row.id);
    }
    Ok(page_of(rows, limit, backwards, from_cursor))
}

/// The next email of each of `contract_ids` still to go out: its send time and step label,
/// for a page of the contract list (one statement for the page).
pub async fn next_emails(
    db: &mut Db,
    contract_ids: &[i64],
) -> Result<std::collections::HashMap<i64, (Timestamp, String)>, StoreError> {
    if contract_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    // Each contract's first scheduled email, looked up through the (contract, send time)
    // index. SQLite would rather walk every scheduled reminder by status (seconds at 100,000
    // contracts): `+status` keeps that index out of its choice.
    let (ids, id, status) = match crate::Backend::of(db) {
        crate::Backend::Sqlite => ("json_each($1) AS j", "j.value", "+n.status"),
        crate::Backend::Postgres => (
            "jsonb_array_elements_text($1::jsonb) AS j(value)",
            "j.value::bigint",
            "n.status",
        ),
    };
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT r.contract_id, r.send_at, r.label FROM reminders r WHERE r.id IN \
         (SELECT (SELECT n.id FROM reminders n WHERE n.contract_id = {id} \
             AND {status} = 'scheduled' ORDER BY n.send_at, n.id LIMIT 1) FROM {ids})"
    )))
    .bind(crate::json_ints(contract_ids.iter().copied()))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(contract_id, send_at, label)| {
            Ok((contract_id, (instant_from_millis(send_at)?, label)))
        })
        .collect()
}

/// How many contracts match `query` (cursor, order and limit aside), up to [`COUNT_CAP`].
pub async fn count_contracts(db: &mut Db, query: &ContractQuery) -> Result<i64, StoreError> {
    count_up_to(db, query, COUNT_CAP).await
}

async fn count_up_to(db: &mut Db, query: &ContractQuery, cap: i64) -> Result<i64, StoreError> {
    // A search alone that `cap` titles contain matches at least `cap` contracts: no need to
    // read every match to say so.
    if let Some(text) = search_text(&query.search)
        && !is_postgres(db)
        && query.status.is_none()
        && query.owner_id.is_none()
        && query.customer_id.is_none()
        && query.end_from.is_none()
        && query.end_before.is_none()
        && title_matches_up_to(db, text, cap).await? >= cap
    {
        return Ok(cap);
    }
    let mut sql = Sql::new();
    contract_filters(db, query, false, SearchPath::Matches, &mut sql);
    let clause = sql.where_clause();
    let p_cap = sql.param(Arg::Int(cap));
    let text = format!(
        "SELECT COUNT(*) FROM (SELECT 1 AS one FROM contracts c {clause} LIMIT {p_cap}) AS matched"
    );
    Ok(bind_all!(sqlx::query_scalar(AssertSqlSafe(text)), sql.args)
        .fetch_one(db)
        .await?)
}

/// Which customers to list.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Name or one of the addresses contains this (case-insensitive).
    pub search: Option<String>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// One customer as a row of a list.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerListRow {
    pub id: i64,
    pub name: String,
    pub language: Language,
    pub time_zone: Option<String>,
    /// The first of their addresses.
    pub email: Option<String>,
    pub contracts: i64,
}

fn customer_filters(db: &Db, query: &CustomerQuery, sql: &mut Sql) {
    if let Some(search) = search_text(&query.search) {
        let ids = search_ids(db, sql, Searched::CustomerNamesAndAddresses, search);
        sql.conditions.push(format!("cu.id IN ({ids})"));
    }
}

/// One page of customers matching `query`, by name.
pub async fn customers(
    db: &mut Db,
    query: &CustomerQuery,
) -> Result<Page<CustomerListRow>, StoreError> {
    let mut sql = Sql::new();
    customer_filters(db, query, &mut sql);
    let backwards = matches!(query.cursor, Some(Cursor::Before(_)));
    let mut from_cursor = false;
    if let Some(Cursor::After(id) | Cursor::Before(id)) = query.cursor {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *db)
            .await?;
        if let Some(name) = name {
            keyset_condition(
                &mut sql,
                &["cu.name", "cu.id"],
                vec![Arg::Text(name), Arg::Int(id)],
                !backwards,
            );
            from_cursor = true;
        }
    }
    let order = if backwards && from_cursor {
        "cu.name DESC, cu.id DESC"
    } else {
        "cu.name, cu.id"
    };
    let limit = query.limit.clamp(1, 1000);
    let clause = sql.where_clause();
    let p_limit = sql.param(Arg::Int(limit + 1));
    let text = format!(
        "SELECT cu.id, cu.name, cu.language, cu.time_zone, \
         (SELECT e.email FROM customer_emails e WHERE e.customer_id = cu.id \
          ORDER BY e.position LIMIT 1), \
         (SELECT COUNT(*) FROM contracts c WHERE c.customer_id = cu.id) \
         FROM customers cu {clause} ORDER BY {order} LIMIT {p_limit}"
    );
    type Row = (i64, String, String, Option<String>, Option<String>, i64);
    let rows: Vec<Row> = bind_all!(sqlx::query_as(AssertSqlSafe(text)), sql.args)
        .fetch_all(db)
        .await?;
    let rows = rows
        .into_iter()
        .map(|(id, name, language, time_zone, email, contracts)| {
            Ok(CustomerListRow {
                id,
                name,
                language: language.parse().map_err(|_| {
                    StoreError::Corrupt(format!("customer {id}: language \"{language}\""))
                })?,
                time_zone,
                email,
                contracts,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page_of(rows, limit, backwards, from_cursor))
}

/// How many customers match `query`, up to [`COUNT_CAP`].
pub async fn count_customers(db: &mut Db, query: &CustomerQuery) -> Result<i64, StoreError> {
    let mut sql = Sql::new();
    customer_filters(db, query, &mut sql);
    let clause = sql.where_clause();
    let p_cap = sql.param(Arg::Int(COUNT_CAP));
    let text = format!(
        "SELECT COUNT(*) FROM (SELECT 1 AS one FROM customers cu {clause} LIMIT {p_cap}) AS matched"
    );
    Ok(bind_all!(sqlx::query_scalar(AssertSqlSafe(text)), sql.args)
        .fetch_one(db)
        .await?)
}

/// The first `limit` customers by name, as choices for a form (id, name).
pub async fn customer_choices(db: &mut Db, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT id, name FROM customers ORDER BY name, id LIMIT $1")
            .bind(limit)
            .fetch_all(db)
            .await?,
    )
}

/// The names of the plans on offer (not archived), for a form's choice.
pub async fn plan_names(db: &mut Db) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM plans WHERE archived_at IS NULL ORDER BY name")
            .fetch_all(db)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_like_characters() {
        assert_eq!(like_pattern("50%_Off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn sorts_round_trip_through_text() {
        for sort in [
            ContractSort::End,
            ContractSort::Title,
            ContractSort::Customer,
            ContractSort::Created,
        ] {
            assert_eq!(ContractSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(ContractSort::parse("amount"), None);
    }

    /// How the database would run `text`: SQLite's `EXPLAIN QUERY PLAN` details, or
    /// PostgreSQL's `EXPLAIN` with sequential scans discouraged (a test's tables are so
    /// small that reading them whole would win, and the question is whether an index can
    /// serve the query at all).
    async fn query_plan(db: &mut Db, text: &str, args: Vec<Arg>) -> String {
        use sqlx::Row;
        let postgres = is_postgres(db);
        if postgres {
            sqlx::raw_sql("SET enable_seqscan = off")
                .execute(&mut *db)
                .await
                .unwrap();
        }
        let explain = if postgres {
            format!("EXPLAIN {text}")
        } else {
            format!("EXPLAIN QUERY PLAN {text}")
        };
        let rows = bind_all!(sqlx::query(AssertSqlSafe(explain)), args)
            .fetch_all(&mut *db)
            .await
            .unwrap();
        let column = if postgres { 0 } else { 3 };
        let lines: Vec<String> = rows
            .iter()
            .map(|row| row.try_get::<String, _>(column).unwrap())
            .collect();
        if postgres {
            sqlx::raw_sql("RESET enable_seqscan")
                .execute(&mut *db)
                .await
                .unwrap();
        }
        lines.join("\n")
    }

    /// English customers without a time zone, of these names and addresses: their ids.
    async fn add_customers(db: &mut Db, now: Timestamp, named: &[(&str, &str)]) -> Vec<i64> {
        let mut ids = Vec::new();
        for (name, email) in named {
            let emails = [email.to_string()];
            let new = crate::customers::NewCustomer {
                name,
                emails: &emails,
                language: Language::En,
                time_zone: None,
            };
            ids.push(crate::customers::insert(db, &new, now).await.unwrap());
        }
        ids
    }

    /// The lists on a real database: SQLite always, PostgreSQL when a server answers at
    /// `TICKLER_TEST_POSTGRES_URL` (default: the local one), as the store's tests do.
    async fn lists_page_both_ways(store: crate::Store) {
        use tickler_core::{plan::default_renewal_plan, user::Role};

        use crate::{contracts as c, plans, users};

        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut db = store.conn().await.unwrap();
        // Only the filters in use appear in the SQL.
        let mut sql = Sql::new();
        contract_filters(
            &db,
            &ContractQuery::default(),
            false,
            SearchPath::Matches,
            &mut sql,
        );
        assert_eq!(sql.where_clause(), "");
        let mut sql = Sql::new();
        let mine = ContractQuery {
            owner_id: Some(3),
            search: Some("  ".to_string()),
            ..ContractQuery::default()
        };
        contract_filters(&db, &mine, false, SearchPath::Matches, &mut sql);
        assert_eq!(sql.where_clause(), "WHERE c.owner_id = $1");
        let owner = users::insert(&mut db, "sam@firm.example", "Sam", Role::Sales, None, now)
            .await
            .unwrap();
        let plan = plans::ensure(&mut db, &default_renewal_plan(), now)
            .await
            .unwrap();
        let customer_ids = add_customers(
            &mut db,
            now,
            &[
                ("Zeta Lifts", "z@zeta.example"),
                ("Acme Copiers", "ops@acme.example"),
            ],
        )
        .await;
        let fields = serde_json::Map::new();
        let mut ids = Vec::new();
        for i in 0..7i64 {
            let title = format!("Contract {}", 6 - i);
            let end: Date = format!("2027-0{}-15", i + 1).parse().unwrap();
            let new = c::NewContract {
                customer_id: customer_ids[(i % 2) as usize],
                title: &title,
                owner_id: (i < 3).then_some(owner),
                plan_id: plan,
                start_date: "2026-01-01".parse().unwrap(),
                end_date: end,
                amount_minor: None,
                currency: None,
                custom_fields: &fields,
                renewal: tickler_core::renewal::RenewalType::Expires,
                notice_days: None,
            };
            ids.push(c::insert(&mut db, &new, now).await.unwrap().0);
        }
        let list = |query: ContractQuery| {
            let store = store.clone();
            async move {
                let mut db = store.conn().await.unwrap();
                let page = contracts(&mut db, &query).await.unwrap();
                let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
                (ids, page.has_previous, page.has_next)
            }
        };
        for sort in [
            ContractSort::End,
            ContractSort::Title,
            ContractSort::Customer,
            ContractSort::Created,
        ] {
            for descending in [false, true] {
                let base = ContractQuery {
                    sort,
                    descending,
                    limit: 100,
                    ..ContractQuery::default()
                };
                let (all, _, _) = list(base.clone()).await;
                assert_eq!(all.len(), 7);
                let (first, prev, next) = list(ContractQuery {
                    limit: 3,
                    ..base.clone()
                })
                .await;
                assert_eq!(
                    (first.as_slice(), prev, next),
                    (&all[..3], false, true),
                    "{sort:?} {descending}"
                );
                let (second, prev, next) = list(ContractQuery {
                    limit: 3,
                    cursor: Some(Cursor::After(first[2])),
                    ..base.clone()
                })
                .await;
                assert_eq!(
                    (second.as_slice(), prev, next),
                    (&all[3..6], true, true),
                    "{sort:?} {descending}"
                );
                let (last, _, next) = list(ContractQuery {
                    limit: 3,
                    cursor: Some(Cursor::After(second[2])),
                    ..base.clone()
                })
                .await;
                assert_eq!((last.as_slice(), next), (&all[6..], false));
                let (back, prev, next) = list(ContractQuery {
                    limit: 3,
                    cursor: Some(Cursor::Before(second[0])),
                    ..base.clone()
                })
                .await;
                assert_eq!(
                    (back.as_slice(), prev, next),
                    (&all[..3], false, true),
                    "{sort:?} {descending} back"
                );
            }
        }
        let (by_end, _, _) = list(ContractQuery {
            limit: 10,
            ..ContractQuery::default()
        })
        .await;
        assert_eq!(by_end, ids, "soonest end first");
        let (by_title, _, _) = list(ContractQuery {
            sort: ContractSort::Title,
            limit: 10,
            ..ContractQuery::default()
        })
        .await;
        assert_eq!(by_title, ids.iter().rev().copied().collect::<Vec<_>>());
        let (by_customer, _, _) = list(ContractQuery {
            sort: ContractSort::Customer,
            limit: 10,
            ..ContractQuery::default()
        })
        .await;
        assert_eq!(
            by_customer,
            vec![ids[1], ids[3], ids[5], ids[0], ids[2], ids[4], ids[6]]
        );

        let mut db = store.conn().await.unwrap();
        let q = |search: &str| ContractQuery {
            search: Some(search.to_string()),
            limit: 50,
            ..ContractQuery::default()
        };
        assert_eq!(count_contracts(&mut db, &q("ACME")).await.unwrap(), 3);
        assert_eq!(count_contracts(&mut db, &q("contract 6")).await.unwrap(), 1);
        assert_eq!(count_contracts(&mut db, &q("100%")).await.unwrap(), 0);
        assert_eq!(
            count_contracts(&mut db, &q("PIERS")).await.unwrap(),
            3,
            "within a word"
        );
        // Shorter than three characters: no search (the pages refuse it with a message).
        assert_eq!(count_contracts(&mut db, &q("ac")).await.unwrap(), 7);
        let filtered = ContractQuery {
            owner_id: Some(owner),
            status: Some(ContractStatus::Active),
            end_from: Some("2027-02-01".parse().unwrap()),
            end_before: Some("2027-03-16".parse().unwrap()),
            customer_id: Some(customer_ids[1]),
            limit: 50,
            ..ContractQuery::default()
        };
        assert_eq!(count_contracts(&mut db, &filtered).await.unwrap(), 1);
        assert_eq!(
            contracts(&mut db, &filtered).await.unwrap().rows[0]
                .owner_name
                .as_deref(),
            Some("Sam")
        );
        assert_eq!(
            crate::contracts::terms(&mut db, ids[0])
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            plan_names(&mut db).await.unwrap(),
            vec!["renewal".to_string()]
        );
        assert_eq!(
            customer_choices(&mut db, 1).await.unwrap(),
            vec![(customer_ids[1], "Acme Copiers".to_string())]
        );

        let page = customers(
            &mut db,
            &CustomerQuery {
                limit: 1,
                ..CustomerQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (
                page.rows[0].name.as_str(),
                page.rows[0].contracts,
                page.has_next
            ),
            ("Acme Copiers", 3, true)
        );
        assert_eq!(page.rows[0].email.as_deref(), Some("ops@acme.example"));
        let next = customers(
            &mut db,
            &CustomerQuery {
                limit: 1,
                cursor: Some(Cursor::After(page.rows[0].id)),
                ..CustomerQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (next.rows[0].name.as_str(), next.has_previous, next.has_next),
            ("Zeta Lifts", true, false)
        );
        let back = customers(
            &mut db,
            &CustomerQuery {
                limit: 1,
                cursor: Some(Cursor::Before(next.rows[0].id)),
                ..CustomerQuery::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (back.rows[0].name.as_str(), back.has_previous),
            ("Acme Copiers", false)
        );
        let by_email = CustomerQuery {
            search: Some("Z@ZETA".to_string()),
            limit: 5,
            ..CustomerQuery::default()
        };
        assert_eq!(count_customers(&mut db, &by_email).await.unwrap(), 1);

        // Each search reads a trigram index (migration 0014), never every row. PostgreSQL
        // weighs costs: among a few thousand rows, reading a B-tree whole loses.
        if is_postgres(&db) {
            sqlx::raw_sql(
                "INSERT INTO customers (name, language, created_at, updated_at) \
                 SELECT 'Filler ' || g, 'en', 0, 0 FROM generate_series(1, 3000) g; \
                 INSERT INTO customer_emails (email, customer_id, position) \
                 SELECT 'f' || id || '@filler.example', id, 0 FROM customers \
                 WHERE name LIKE 'Filler %'; \
                 INSERT INTO contracts (customer_id, title, plan_id, status, term_number, \
                 start_date, end_date, created_at, updated_at) \
                 SELECT customer_id, 'Filler ' || g, plan_id, status, term_number, start_date, \
                 end_date, created_at, updated_at FROM contracts, generate_series(1, 3000) g \
                 WHERE id = (SELECT MIN(id) FROM contracts)",
            )
            .execute(&mut *db)
            .await
            .unwrap();
            // As autovacuum would: statistics, and the GIN indexes' pending lists merged
            // (the planner prices unmerged entries as if read one by one).
            for table in ["customers", "customer_emails", "contracts"] {
                sqlx::raw_sql(AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
                    .execute(&mut *db)
                    .await
                    .unwrap();
            }
        }
        for (searched, postgres_indexes) in [
            (Searched::ContractTitles, &["contracts_title_trgm"][..]),
            (Searched::CustomerNames, &["customers_name_trgm"][..]),
            (
                Searched::CustomerNamesAndAddresses,
                &["customers_name_trgm", "customer_emails_email_trgm"][..],
            ),
        ] {
            let mut sql = Sql::new();
            let text = search_ids(&db, &mut sql, searched, "copiers");
            let plan = query_plan(&mut db, &text, sql.args).await;
            if is_postgres(&db) {
                for index in postgres_indexes {
                    assert!(plan.contains(index), "{index}: {plan}");
                }
            } else {
                assert!(plan.contains("VIRTUAL TABLE INDEX"), "{plan}");
            }
        }
    }

    /// A search that thousands of titles contain walks the list's order on SQLite, and
    /// finds, orders and pages exactly as reading the matches first does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_broad_search_walks_the_list_and_finds_the_same_pages() {
        use tickler_core::plan::default_renewal_plan;

        use crate::{contracts as c, plans};

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::Store::open(&url).await.unwrap();
        let mut db = store.conn().await.unwrap();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let plan = plans::ensure(&mut db, &default_renewal_plan(), now)
            .await
            .unwrap();
        let customers = add_customers(
            &mut db,
            now,
            &[
                ("Hvac Partners", "ops@hvac.example"),
                ("Acme Copiers", "ops@acme.example"),
            ],
        )
        .await;
        let fields = serde_json::Map::new();
        let total = BROAD + BROAD / 5;
        for i in 0..total {
            // Most titles contain the word; some contracts match by their customer's name
            // only; some match not at all.
            let title = match i % 20 {
                0 => format!("Copier fleet {i}"),
                1 => format!("Lift service {i}"),
                _ => format!("{} unit {i}", ["HVAC", "hvac", "Hvac"][(i % 3) as usize]),
            };
            let end = Date::new(2027, 1, 1)
                .unwrap()
                .checked_add(jiff::Span::new().days(i % 400))
                .unwrap();
            let new = c::NewContract {
                customer_id: customers[(i % 20 == 1) as usize],
                title: &title,
                owner_id: None,
                plan_id: plan,
                start_date: "2026-01-01".parse().unwrap(),
                end_date: end,
                amount_minor: None,
                currency: None,
                custom_fields: &fields,
                renewal: tickler_core::renewal::RenewalType::Expires,
                notice_days: None,
            };
            c::insert(&mut db, &new, now).await.unwrap();
        }
        let query = ContractQuery {
            search: Some("hvac".to_string()),
            limit: 50,
            ..ContractQuery::default()
        };
        assert!(search_path(&mut db, &query).await.unwrap() == SearchPath::Walk);
        // Every contract but the lifts (their customer is Acme); the copiers match by their
        // customer's name, Hvac Partners.
        let expected = (0..total).filter(|i| i % 20 != 1).count() as i64;
        assert_eq!(count_contracts(&mut db, &query).await.unwrap(), expected);
        for sort in [
            ContractSort::End,
            ContractSort::Title,
            ContractSort::Customer,
            ContractSort::Created,
        ] {
            for descending in [false, true] {
                let mut cursor = None;
                let mut seen = 0;
                loop {
                    let query = ContractQuery {
                        sort,
                        descending,
                        cursor,
                        ..query.clone()
                    };
                    let walked = contracts_searched(&mut db, &query, SearchPath::Walk)
                        .await
                        .unwrap();
                    let read = contracts_searched(&mut db, &query, SearchPath::Matches)
                        .await
                        .unwrap();
                    let ids = |page: &Page<ContractListRow>| {
                        page.rows.iter().map(|r| r.id).collect::<Vec<_>>()
                    };
                    assert_eq!(ids(&walked), ids(&read), "{sort:?} {descending} {cursor:?}");
                    assert_eq!(walked.has_next, read.has_next);
                    seen += walked.rows.len() as i64;
                    // A few pages each way is enough; the last page is checked below.
                    if !walked.has_next || seen >= 200 {
                        break;
                    }
                    cursor = walked.rows.last().map(|r| Cursor::After(r.id));
                }
            }
        }
        drop(db);
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_lists_page_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::Store::open(&url).await.unwrap();
        lists_page_both_ways(store.clone()).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_lists_page_both_ways() {
        use sqlx::Connection;
        let admin_url = std::env::var("TICKLER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        sqlx::any::install_default_drivers();
        let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url).await else {
            assert!(
                std::env::var_os("CI").is_none(),
                "no PostgreSQL server at {}",
                crate::redact_url(&admin_url)
            );
            eprintln!("SKIPPED postgres_lists_page_both_ways: no PostgreSQL server");
            return;
        };
        let name = format!("tickler_browse_{}", std::process::id());
        let drop = format!("DROP DATABASE IF EXISTS \"{name}\"");
        sqlx::raw_sql(AssertSqlSafe(drop.clone()))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => admin_url.clone(),
        };
        let store = crate::Store::open(&url).await.unwrap();
        let outcome = tokio::spawn(lists_page_both_ways(store.clone())).await;
        store.close().await;
        let _ = sqlx::raw_sql(AssertSqlSafe(drop)).execute(&mut admin).await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

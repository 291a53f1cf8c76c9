//! `import contracts FILE.csv`: all or nothing, every bad row reported with its line and
//! column, streamed in two passes (check everything, then write everything in one
//! transaction) so that memory does not grow with the file.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::{Path, PathBuf},
};

use jiff::Timestamp;
use tickler_core::{
    Checks, ValidationError,
    customer::Customer,
    event::{EventAction, EventSubject},
    language::Language,
    spreadsheet::from_spreadsheet,
    subject::SubjectRef,
};
use tickler_store::{
    Db,
    contracts::{self, NewContract},
    customers,
    events::NewEvent,
    reminders::{self, NewReminder},
    users,
};

use crate::webhooks::{self, ReminderNews};
use crate::{
    Actor, Engine, EngineError,
    billing::BillingInput,
    contracts::{ContractInput, Lookups, ValidContract, created_detail, validate_contract},
    directory::{NewCustomer, ValidCustomer, validate_customer},
    scheduling::{PASSED_WHEN_PLANNED, ScheduleOutcome, TermContext, step_reminder},
};
use serde_json::json;
use tickler_core::webhook::WebhookEvent;

/// The columns every contracts CSV has, in any order; other columns become custom fields.
pub const COLUMNS: [&str; 10] = [
    "customer_name",
    "customer_email",
    "language",
    "time_zone",
    "title",
    "start",
    "end",
    "owner_email",
    "amount",
    "currency",
];

/// Optional columns that make a row a recurring sale (see `contract add --bill-every`):
/// `lines` holds one `DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT` per line of the cell,
/// `in_arrears` and `draft_invoices` take yes/no.
pub const BILLING_COLUMNS: [&str; 6] = [
    "bill_every",
    "cycles",
    "lines",
    "in_arrears",
    "draft_invoices",
    "payment_days",
];

/// Optional columns that say how a row's contract renews (see `contract add --renewal`):
/// `renewal` is expires, auto or evergreen; `notice_days` goes with auto.
pub const RENEWAL_COLUMNS: [&str; 2] = ["renewal", "notice_days"];

fn yes(field: &str, text: &str) -> Result<bool, ValidationError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "no" | "false" | "0" => Ok(false),
        "yes" | "true" | "1" => Ok(true),
        other => Err(ValidationError::new(
            field,
            format!("\"{other}\" is not yes or no"),
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// Why nothing was imported.
#[derive(Debug)]
pub enum ImportError {
    /// The file has bad rows; each is listed.
    Rows {
        file: PathBuf,
        problems: Vec<RowProblem>,
    },
    Io {
        file: PathBuf,
        message: String,
    },
    Engine(EngineError),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Rows { file, problems } => {
                for p in problems {
                    writeln!(
                        f,
                        "{} line {}, column {}: {}",
                        file.display(),
                        p.line,
                        p.column,
                        p.message
                    )?;
                }
                let lines: std::collections::BTreeSet<u64> =
                    problems.iter().map(|p| p.line).collect();
                write!(f, "{} bad rows: nothing was imported", lines.len())
            }
            ImportError::Io { file, message } => write!(f, "{}: {message}", file.display()),
            ImportError::Engine(e) => write!(f, "{e}; nothing was imported"),
        }
    }
}

impl std::error::Error for ImportError {}

impl From<EngineError> for ImportError {
    fn from(e: EngineError) -> Self {
        ImportError::Engine(e)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub contracts: u64,
    pub customers_created: u64,
}

/// Where an import is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum ImportPhase {
    Checking,
    Writing,
}

struct ParsedRow {
    customer: ValidCustomer,
    contract: ValidContract,
}

struct Header {
    index: BTreeMap<&'static str, usize>,
    custom: Vec<(usize, String)>,
}

impl Header {
    fn read(headers: &csv::StringRecord) -> Result<Header, Vec<RowProblem>> {
        let mut index = BTreeMap::new();
        let mut custom = Vec::new();
        let mut problems = Vec::new();
        for (i, name) in headers.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}');
            let known = COLUMNS
                .iter()
                .chain(BILLING_COLUMNS.iter())
                .chain(RENEWAL_COLUMNS.iter())
                .find(|c| **c == name);
            let repeated = known.is_some_and(|c| index.contains_key(c))
                || custom.iter().any(|(_, seen)| seen == name);
            if repeated && !name.is_empty() {
                problems.push(RowProblem {
                    line: 1,
                    column: name.to_string(),
                    message: "this column appears twice in the header row".to_string(),
                });
                continue;
            }
            match known {
                Some(column) => {
                    index.insert(*column, i);
                }
                None if !name.is_empty() => custom.push((i, name.to_string())),
                None => {}
            }
        }
        let missing = COLUMNS
            .iter()
            .filter(|c| !index.contains_key(*c))
            .map(|c| RowProblem {
                line: 1,
                column: c.to_string(),
                message: "this column is missing from the header row".to_string(),
            });
        problems.extend(missing);
        if problems.is_empty() {
            Ok(Header { index, custom })
        } else {
            Err(problems)
        }
    }

    /// A cell as it was before an export made it safe for spreadsheets, trimmed.
    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.index
            .get(column)
            .and_then(|i| record.get(*i))
            .map(from_spreadsheet)
            .unwrap_or("")
            .trim()
    }

    fn parse(&self, record: &csv::StringRecord) -> Result<ParsedRow, ValidationError> {
        let column = |field: &str, e: ValidationError| ValidationError::new(field, e.message);
        let language = match self.get(record, "language") {
            "" => Language::En,
            text => Language::parse("language", text)?,
        };
        // The customer's and the contract's refusals are said together.
        let mut checks = Checks::default();
        let customer = checks.check(
            validate_customer(&NewCustomer {
                name: self.get(record, "customer_name").to_string(),
                emails: vec![self.get(record, "customer_email").to_string()],
                language,
                time_zone: Some(self.get(record, "time_zone").to_string()),
            })
            .map_err(|e| {
                e.map_each(|e| match e.field.as_str() {
                    "name" => column("customer_name", e),
                    "email" => column("customer_email", e),
                    _ => e,
                })
            }),
        );
        let optional =
            |column: &str| Some(self.get(record, column).to_string()).filter(|v| !v.is_empty());
        let billing = match optional("bill_every") {
            Some(every) => Some(BillingInput {
                every,
                cycles: optional("cycles"),
                lines: self
                    .get(record, "lines")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                in_arrears: yes("in_arrears", self.get(record, "in_arrears"))?,
                draft_invoices: yes("draft_invoices", self.get(record, "draft_invoices"))?,
                payment_days: optional("payment_days"),
            }),
            None => None,
        };
        let contract = checks.check(
            validate_contract(&ContractInput {
                customer_id: 0,
                title: self.get(record, "title").to_string(),
                start: self.get(record, "start").to_string(),
                end: self.get(record, "end").to_string(),
                owner_email: optional("owner_email"),
                plan: None,
                amount: optional("amount"),
                currency: optional("currency"),
                custom_fields: self
                    .custom
                    .iter()
                    .filter_map(|(i, name)| {
                        let value = from_spreadsheet(record.get(*i)?).trim();
                        (!value.is_empty()).then(|| (name.clone(), serde_json::Value::from(value)))
                    })
                    .collect(),
                billing,
                renewal: optional("renewal"),
                notice_days: optional("notice_days"),
            })
            .map_err(|e| {
                e.map_each(|e| match e.field.as_str() {
                    "owner" => column("owner_email", e),
                    line if line.starts_with("line ") => {
                        ValidationError::new("lines", format!("{line}: {}", e.message))
                    }
                    _ => e,
                })
            }),
        );
        checks.then(|| {
            Some(ParsedRow {
                customer: customer?,
                contract: contract?,
            })
        })
    }
}

fn open(file: &Path) -> Result<csv::Reader<std::fs::File>, ImportError> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .map_err(|e| ImportError::Io {
            file: file.to_path_buf(),
            message: format!("cannot read: {e}"),
        })
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

/// Where an import reads from, and how its errors name the file.
struct ImportFile<'a> {
    path: &'a Path,
}

impl ImportFile<'_> {
    fn rows(&self, problems: Vec<RowProblem>) -> ImportError {
        ImportError::Rows {
            file: self.path.to_path_buf(),
            problems,
        }
    }

    fn io(&self, e: csv::Error) -> ImportError {
        ImportError::Io {
            file: self.path.to_path_buf(),
            message: e.to_string(),
        }
    }

    fn problem_at(&self, line: u64, e: ValidationError) -> ImportError {
        self.rows(
            e.all()
                .map(|e| RowProblem {
                    line,
                    column: e.field.clone(),
                    message: e.message.clone(),
                })
                .collect(),
        )
    }
}

impl Engine {
    /// Imports contracts (and the customers they name, matched by email) from a CSV file.
    /// `progress` is told how many rows each phase has done. All or nothing: every row is
    /// checked first, and a file with a bad row imports nothing and reports every bad row.
    pub async fn import_contracts(
        &self,
        file: &Path,
        actor: &Actor,
        progress: &mut (dyn FnMut(ImportPhase, u64) + Send),
    ) -> Result<ImportReport, ImportError> {
        let file = ImportFile { path: file };
        let (header, rows) = self.check_import(&file, progress).await?;
        let report = self
            .write_import(&file, &header, rows, actor, progress)
            .await?;
        if let Err(e) = self.store.checkpoint().await {
            // The import is committed; a log left large only costs disk until the next checkpoint.
            tracing::warn!(error = %e, "could not checkpoint the database after the import");
        }
        if let Err(e) = self.store.refresh_statistics().await {
            // Autovacuum refreshes them later; until then some queries may be planned badly.
            tracing::warn!(error = %e, "could not refresh the statistics after the import");
        }
        Ok(report)
    }

    /// Pass 1: checks every row, and that every owner named is a user, writing nothing.
    /// Returns the header and the number of rows.
    async fn check_import(
        &self,
        file: &ImportFile<'_>,
        progress: &mut (dyn FnMut(ImportPhase, u64) + Send),
    ) -> Result<(Header, u64), ImportError> {
        let mut reader = open(file.path)?;
        let header = Header::read(reader.headers().map_err(|e| file.io(e))?)
            .map_err(|problems| file.rows(problems))?;
        let mut problems = Vec::new();
        let mut owners: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut record = csv::StringRecord::new();
        let mut rows = 0u64;
        while reader.read_record(&mut record).map_err(|e| file.io(e))? {
            rows += 1;
            let line = line_of(&record);
            match header.parse(&record) {
                Ok(parsed) => {
                    if let Some(owner) = &parsed.contract.owner_email {
                        owners
                            .entry(owner.as_str().to_lowercase())
                            .or_default()
                            .push(line);
                    }
                }
                Err(e) => problems.extend(e.all().map(|e| RowProblem {
                    line,
                    column: e.field.clone(),
                    message: e.message.clone(),
                })),
            }
            if rows.is_multiple_of(1000) {
                progress(ImportPhase::Checking, rows);
            }
        }
        progress(ImportPhase::Checking, rows);
        let mut db = self.store.conn().await.map_err(EngineError::from)?;
        for (owner, lines) in owners {
            let known = users::find_by_email(&mut db, &owner)
                .await
                .map_err(EngineError::from)?
                .is_some();
            if !known {
                problems.extend(lines.into_iter().map(|line| RowProblem {
                    line,
                    column: "owner_email".to_string(),
                    message: format!(
                        "no user has the email {owner} (add one with `tickler user add`)"
                    ),
                }));
            }
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(file.rows(problems));
        }
        Ok((header, rows))
    }

    /// Pass 2: writes every row in one transaction, [`BATCH_ROWS`] rows at a time.
    async fn write_import(
        &self,
        file: &ImportFile<'_>,
        header: &Header,
        rows: u64,
        actor: &Actor,
        progress: &mut (dyn FnMut(ImportPhase, u64) + Send),
    ) -> Result<ImportReport, ImportError> {
        let now = self.clock.now();
        let mut reader = open(file.path)?;
        reader.headers().map_err(|e| file.io(e))?;
        let mut tx = self.store.begin_bulk().await.map_err(EngineError::from)?;
        let bulk = tickler_store::prepare_bulk_write(&mut tx, rows)
            .await
            .map_err(EngineError::from)?;
        let mut written = Written {
            lookups: Lookups::for_import(),
            ..Written::default()
        };
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record).map_err(|e| file.io(e))?;
            if more {
                let line = line_of(&record);
                let row = header.parse(&record).map_err(|e| {
                    let message = format!("{} (the file changed during the import)", e.message);
                    file.problem_at(line, ValidationError::new(e.field, message))
                })?;
                batch.push((line, row));
            }
            if batch.len() == BATCH_ROWS || (!more && !batch.is_empty()) {
                self.write_batch(&mut tx, file, &batch, &mut written, actor, now)
                    .await?;
                batch.clear();
                progress(ImportPhase::Writing, written.report.rows);
            }
            if !more {
                break;
            }
        }
        progress(ImportPhase::Writing, written.report.rows);
        tickler_store::finish_bulk_write(&mut tx, bulk)
            .await
            .map_err(EngineError::from)?;
        self.commit_schedule_change(tx)
            .await
            .map_err(EngineError::from)?;
        Ok(written.report)
    }

    /// Writes one batch of checked rows: its new customers, contracts, terms, reminders and
    /// `created` events each with one multi-row statement, the reminders planned by the
    /// same rule as a contract entered alone ([`Engine::first_steps`]). A recurring sale's
    /// row takes the single-contract path, since its billing schedule has its own writes.
    async fn write_batch(
        &self,
        db: &mut Db,
        file: &ImportFile<'_>,
        batch: &[(u64, ParsedRow)],
        written: &mut Written,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), ImportError> {
        let at_line = |line: u64| {
            move |e: EngineError| match e {
                EngineError::Invalid(v) => file.problem_at(line, v),
                other => ImportError::Engine(other),
            }
        };
        self.add_customers(db, batch, written, now).await?;
        let mut plain = Vec::with_capacity(batch.len());
        for (line, row) in batch {
            let customer_id = written.customer_of(row)?.id;
            if row.contract.billing.is_some() {
                self.insert_contract(
                    db,
                    customer_id,
                    &row.contract,
                    actor,
                    now,
                    &mut written.lookups,
                )
                .await
                .map_err(at_line(*line))?;
            } else {
                let owner = match &row.contract.owner_email {
                    Some(email) => Some(
                        written
                            .lookups
                            .owner(db, email.as_str())
                            .await?
                            .ok_or_else(|| {
                                file.problem_at(
                                    *line,
                                    ValidationError::new(
                                        "owner_email",
                                        format!("no user has the email {email}"),
                                    ),
                                )
                            })?,
                    ),
                    None => None,
                };
                let plan_name = written
                    .lookups
                    .contract_plan(db, customer_id, &row.contract)
                    .await
                    .map_err(at_line(*line))?;
                let (plan_id, plan) = written
                    .lookups
                    .plan(db, &plan_name, now)
                    .await
                    .map_err(at_line(*line))?;
                plain.push((row, owner, plan_id, plan));
            }
            written.report.rows += 1;
            written.report.contracts += 1;
        }
        if plain.is_empty() {
            return Ok(());
        }
        let team = match &written.team {
            Some(team) => team.clone(),
            None if plain
                .iter()
                .any(|(_, _, _, plan)| plan.steps.iter().any(|s| s.recipients.team)) =>
            {
                let team = self.team_addresses(db).await?;
                written.team = Some(team.clone());
                team
            }
            None => Vec::new(),
        };
        let new_contracts: Vec<NewContract> = plain
            .iter()
            .map(|(row, owner, plan_id, _)| {
                let customer_id = written.customer_of(row)?.id;
                let owner_id = owner.as_ref().map(|o| o.id);
                Ok(row.contract.new_contract(customer_id, owner_id, *plan_id))
            })
            .collect::<Result<_, ImportError>>()?;
        let stored = contracts::insert_many(db, &new_contracts, now)
            .await
            .map_err(EngineError::from)?;
        // Each contract's first reminders, planned without the database.
        let mut steps = Vec::with_capacity(plain.len() * 4);
        let mut events = Vec::with_capacity(plain.len());
        for ((row, owner, _, plan), (contract, term)) in plain.iter().zip(&stored) {
            let ctx = TermContext {
                term,
                contract,
                customer: written.customer_of(row)?,
                owner: owner.as_ref(),
                plan,
            };
            let first = self.first_steps(&ctx.subject(), &team, now);
            let cancelled = first.iter().filter(|step| step.passed).count();
            let outcome = ScheduleOutcome {
                created: first.len(),
                rescheduled: 0,
                cancelled,
            };
            events.push(NewEvent {
                subject: EventSubject::Contract(contract.id),
                action: EventAction::Created,
                detail: created_detail(&row.contract, &plan.name, outcome, ""),
                actor: &actor.0,
            });
            steps.extend(first.into_iter().map(|step| {
                let message_id = self.new_message_id();
                (term.id, contract.id, plan, step, message_id)
            }));
        }
        let new_reminders: Vec<NewReminder> = steps
            .iter()
            .map(|(term_id, contract_id, plan, step, message_id)| {
                step_reminder(
                    SubjectRef::contract_term(*term_id),
                    Some(*contract_id),
                    &plan.steps[step.position],
                    step.position,
                    &step.wanted,
                    message_id,
                )
            })
            .collect();
        // A step already past when planned is stored cancelled, as for a contract added alone.
        let new_reminders: Vec<(&NewReminder, Option<&str>)> = new_reminders
            .iter()
            .zip(&steps)
            .map(|(reminder, (_, _, _, step, _))| {
                (reminder, step.passed.then_some(PASSED_WHEN_PLANNED))
            })
            .collect();
        let reminder_ids = reminders::insert_many(db, &new_reminders, now)
            .await
            .map_err(EngineError::from)?;
        tickler_store::events::record_many(db, now, &events)
            .await
            .map_err(EngineError::from)?;
        self.announce(db, now, || {
            let contracts = stored.iter().map(|(contract, _)| {
                webhooks::contract_news(WebhookEvent::ContractCreated, contract, json!({}))
            });
            let scheduled = new_reminders
                .iter()
                .zip(reminder_ids)
                .filter(|((_, cancelled), _)| cancelled.is_none())
                .map(|((reminder, _), id)| {
                    webhooks::reminder_news(
                        WebhookEvent::ReminderScheduled,
                        ReminderNews::of_new(id, reminder),
                    )
                });
            contracts.chain(scheduled).collect()
        })
        .await
        .map_err(ImportError::from)?;
        Ok(())
    }

    /// Finds the batch's customers by address (in this import or the database) and adds
    /// those nobody has yet, the first row naming an address giving its details.
    async fn add_customers(
        &self,
        db: &mut Db,
        batch: &[(u64, ParsedRow)],
        written: &mut Written,
        now: Timestamp,
    ) -> Result<(), ImportError> {
        let mut unknown: Vec<String> = Vec::new();
        let mut first_rows: HashMap<String, &ValidCustomer> = HashMap::new();
        for (_, row) in batch {
            let key = customer_key(row);
            if !written.customers.contains_key(&key) && !first_rows.contains_key(&key) {
                first_rows.insert(key.clone(), &row.customer);
                unknown.push(key);
            }
        }
        if unknown.is_empty() {
            return Ok(());
        }
        for (email, id) in customers::find_by_emails(db, &unknown)
            .await
            .map_err(EngineError::from)?
        {
            let customer = customers::get(db, id).await.map_err(EngineError::from)?;
            written.customers.insert(email, customer);
        }
        let new: Vec<(&String, &ValidCustomer)> = unknown
            .iter()
            .filter(|key| !written.customers.contains_key(*key))
            .filter_map(|key| Some((key, *first_rows.get(key)?)))
            .collect();
        let emails: Vec<Vec<String>> = new
            .iter()
            .map(|(_, c)| c.emails.iter().map(|e| e.to_lowercase()).collect())
            .collect();
        let rows: Vec<customers::NewCustomer> = new
            .iter()
            .zip(&emails)
            .map(|((_, c), emails)| customers::NewCustomer {
                name: &c.name,
                emails,
                language: c.language,
                time_zone: c.time_zone.as_ref().map(|z| z.name()),
            })
            .collect();
        let ids = customers::insert_many(db, &rows, now)
            .await
            .map_err(EngineError::from)?;
        written.report.customers_created += ids.len() as u64;
        for ((id, (key, _)), row) in ids.into_iter().zip(&new).zip(rows) {
            written.customers.insert(
                (*key).clone(),
                Customer {
                    id,
                    name: row.name.to_string(),
                    emails: row.emails.to_vec(),
                    language: row.language,
                    time_zone: row.time_zone.map(str::to_string),
                },
            );
        }
        Ok(())
    }
}

/// Rows written with one set of multi-row statements: large enough that a statement's
/// round trip is shared by many rows, small enough that memory does not grow with the file.
const BATCH_ROWS: usize = 1000;

/// What the write pass carries from batch to batch.
#[derive(Default)]
struct Written {
    report: ImportReport,
    /// The customers this import wrote or found, by their (first) address in lower case.
    /// It grows with the file's distinct customers (about 100 bytes each).
    customers: HashMap<String, Customer>,
    lookups: Lookups,
    /// The team's addresses, once a plan with a step to the team needed them.
    team: Option<Vec<String>>,
}

impl Written {
    fn customer_of(&self, row: &ParsedRow) -> Result<&Customer, ImportError> {
        let key = customer_key(row);
        self.customers.get(&key).ok_or_else(|| {
            ImportError::Engine(EngineError::from(tickler_store::StoreError::Corrupt(
                format!("the customer {key} was neither found nor added"),
            )))
        })
    }
}

/// The address a row's customer is matched by, as customer_emails stores it.
fn customer_key(row: &ParsedRow) -> String {
    row.customer
        .emails
        .first()
        .map(|e| e.to_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Result<Header, Vec<RowProblem>> {
        Header::read(&csv::StringRecord::from(names.to_vec()))
    }

    #[test]
    fn a_column_given_twice_is_refused_with_its_name() {
        let mut names = COLUMNS.to_vec();
        names.extend(["site", "site", "title"]);
        let Err(problems) = header(&names) else {
            panic!("a repeated column was accepted");
        };
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, ["site", "title"]);
        assert!(
            problems
                .iter()
                .all(|p| p.line == 1 && p.message.contains("twice"))
        );
    }

    #[test]
    fn other_columns_become_custom_fields() {
        let mut names = COLUMNS.to_vec();
        names.push("po_number");
        let Ok(header) = header(&names) else {
            panic!("an extra column was refused");
        };
        assert_eq!(header.custom, [(COLUMNS.len(), "po_number".to_string())]);
    }
}

//! The agenda: every dated thing of the coming weeks in one list, for one owner's contracts
//! or everybody's: the timed emails still to go out, open tasks' due dates, contract
//! expiries, the last days to cancel automatic renewals, and invoice dates (the issue dates
//! of planned billing periods and the due dates of issued invoices). One gathering serves
//! both the calendar feed (`calendar.rs`) and the Agenda page, so the two never disagree.

use jiff::{Timestamp, civil::Date};
use tickler_core::{
    icalendar::When, reminder::ReminderStatus, renewal::RenewalType, task::TaskStatus,
};
use tickler_store::{
    billing, contracts, invoices,
    reminders::{self, ReminderFilter, ReminderOrder},
    tasks::{self, TaskFilter},
};

use crate::{Engine, EngineError};

/// What an agenda item is; the page colours and labels items by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgendaKind {
    /// A timed email still to go out.
    Email,
    /// An open task's due date.
    Task,
    /// The last day of a contract's term.
    Expiry,
    /// The last day to cancel an automatic renewal.
    Notice,
    /// A planned invoice's issue date, or an issued invoice's due date.
    Invoice,
}

impl AgendaKind {
    pub const ALL: [AgendaKind; 5] = [
        AgendaKind::Email,
        AgendaKind::Task,
        AgendaKind::Expiry,
        AgendaKind::Notice,
        AgendaKind::Invoice,
    ];

    /// The feed's category and the page's class name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgendaKind::Email => "email",
            AgendaKind::Task => "task",
            AgendaKind::Expiry => "expiry",
            AgendaKind::Notice => "notice",
            AgendaKind::Invoice => "invoice",
        }
    }
}

/// One dated thing: what it is, when, what it says and where it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    pub kind: AgendaKind,
    /// A whole day (expiries, notices, tasks, invoices) or an instant (emails).
    pub when: When,
    /// Stable across reads: the feed's event UID.
    pub uid: String,
    /// One line: "Ends: PBX maintenance".
    pub summary: String,
    /// A sentence more.
    pub description: String,
    /// Where the item is reviewed or handled in the web app: `/review/7`, `/contracts/3`.
    pub path: String,
    /// The owner of the contract it belongs to.
    pub owner_id: Option<i64>,
}

impl AgendaItem {
    /// The item's day in `zone` (an email's local day there; a date is the same everywhere).
    pub fn day_in(&self, zone: &jiff::tz::TimeZone) -> Date {
        match self.when {
            When::Day(day) => day,
            When::At(at) => at.to_zoned_datetime(zone.clone()).date(),
        }
    }
}

/// Where the notice dates of an agenda come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notices {
    /// Those of the contracts whose expiry is listed, whatever their date (the feed).
    OfExpiries,
    /// Those dated within the agenda's days, whenever their contracts end (the page).
    Dated,
}

/// Which agenda to gather.
#[derive(Debug, Clone)]
pub struct AgendaQuery {
    /// Only the contracts (and tasks) of this user; `None`: everybody's.
    pub owner_id: Option<i64>,
    /// The days of expiries, notices, invoices (and tasks, with `tasks_in_days`).
    pub from: Date,
    pub until: Date,
    /// Emails sending in `sends_from..sends_until`.
    pub sends_from: Timestamp,
    pub sends_until: Timestamp,
    pub notices: Notices,
    /// Only tasks due in `from..=until`; otherwise every open task.
    pub tasks_in_days: bool,
    /// Invoice dates too.
    pub invoices: bool,
    /// Emails by their subject line as it will be sent (the feed); otherwise by their step's
    /// name, read in one query without rendering each email (the page: a month of a team's
    /// emails, rendered one by one, takes seconds).
    pub rendered_subjects: bool,
    /// The most items of each kind (a team's agenda can hold thousands a day).
    pub most_of_a_kind: i64,
}

/// An agenda, and the kinds that had more items than the query's `most_of_a_kind`: of
/// those, only the earliest are listed.
#[derive(Debug, Clone, Default)]
pub struct Agenda {
    pub items: Vec<AgendaItem>,
    pub truncated: Vec<AgendaKind>,
}

impl Engine {
    /// The dated things of `query`, kind by kind (expiries with their notices, emails,
    /// tasks, invoices), each kind by date; every read bounded by its dates and limit.
    pub async fn agenda(&self, query: &AgendaQuery) -> Result<Agenda, EngineError> {
        let owner = query.owner_id;
        let most = query.most_of_a_kind.max(1);
        let most_items = usize::try_from(most).unwrap_or(usize::MAX);
        let mut agenda = Agenda::default();
        let mut db = self.store.conn().await?;

        let expiring = contracts::expiring(&mut db, query.from, query.until, owner, most).await?;
        if expiring.len() >= most_items {
            agenda.truncated.push(AgendaKind::Expiry);
        }
        for contract in &expiring {
            if contract.renewal != RenewalType::Evergreen {
                agenda.items.push(expiry(contract));
            }
            if query.notices == Notices::OfExpiries
                && let Some(item) = notice(contract)
            {
                agenda.items.push(item);
            }
        }
        if query.notices == Notices::Dated {
            let noticed =
                contracts::notices_between(&mut db, query.from, query.until, owner, most).await?;
            if noticed.len() >= most_items {
                agenda.truncated.push(AgendaKind::Notice);
            }
            agenda.items.extend(noticed.iter().filter_map(notice));
        }
        drop(db);

        if query.rendered_subjects {
            let sends = self
                .list_reminders(&ReminderFilter {
                    status: Some(ReminderStatus::Scheduled),
                    owner_id: owner,
                    send_from: Some(query.sends_from),
                    send_until: Some(query.sends_until),
                    order: ReminderOrder::default(),
                    limit: Some(most),
                    ..ReminderFilter::default()
                })
                .await?;
            if sends.len() >= most_items {
                agenda.truncated.push(AgendaKind::Email);
            }
            for send in &sends {
                agenda.items.push(AgendaItem {
                    kind: AgendaKind::Email,
                    when: When::At(send.send_at),
                    uid: format!("reminder-{}@tickler", send.id),
                    summary: format!("Email to {}: {}", send.customer_name, send.subject),
                    description: format!("{} of {}.", send.label, send.contract_title),
                    path: format!("/review/{}", send.id),
                    owner_id: send.owner_id,
                });
            }
        } else {
            let mut db = self.store.conn().await?;
            let sends = reminders::scheduled_between(
                &mut db,
                query.sends_from,
                query.sends_until,
                owner,
                most,
            )
            .await?;
            if sends.len() >= most_items {
                agenda.truncated.push(AgendaKind::Email);
            }
            for send in sends {
                let customer = send.customer_name.unwrap_or_default();
                let title = send.contract_title.unwrap_or_default();
                agenda.items.push(AgendaItem {
                    kind: AgendaKind::Email,
                    when: When::At(tickler_store::instant_from_millis(send.send_at)?),
                    uid: format!("reminder-{}@tickler", send.id),
                    summary: {
                        let what = match send.subject {
                            Some(subject) => subject,
                            None => format!("{}, {title}", send.label),
                        };
                        match send.mode.as_str() {
                            "approval" => format!("Email to {customer} (to approve): {what}"),
                            "internal" => format!("Notice to the team: {what}"),
                            "task" => format!("Task for the owner: {what}"),
                            _ => format!("Email to {customer}: {what}"),
                        }
                    },
                    description: format!("{} of {title}.", send.label),
                    path: format!("/review/{}", send.id),
                    owner_id: send.owner_id,
                });
            }
        }

        let mut db = self.store.conn().await?;
        let (due_from, due_by, limit) = if query.tasks_in_days {
            (Some(query.from), Some(query.until), Some(most))
        } else {
            (None, None, None)
        };
        let open = tasks::list_items(
            &mut db,
            &TaskFilter {
                owner_id: owner,
                status: Some(TaskStatus::Open),
                due_from,
                due_by,
                limit,
                ..TaskFilter::default()
            },
        )
        .await?;
        if open.len() >= most_items {
            agenda.truncated.push(AgendaKind::Task);
        }
        for item in open.iter().take(most_items) {
            let task = &item.task;
            agenda.items.push(AgendaItem {
                kind: AgendaKind::Task,
                when: When::Day(task.due_date),
                uid: format!("task-{}@tickler", task.id),
                summary: format!("Task: {}", task.title),
                description: item
                    .contract_title
                    .as_ref()
                    .map(|title| format!("About {title}."))
                    .unwrap_or_default(),
                path: "/tasks".to_string(),
                owner_id: task.owner_id,
            });
        }

        if query.invoices {
            let planned =
                billing::planned_between(&mut db, query.from, query.until, owner, most).await?;
            let due = invoices::due_between(&mut db, query.from, query.until, owner, most).await?;
            if planned.len() >= most_items || due.len() >= most_items {
                agenda.truncated.push(AgendaKind::Invoice);
            }
            for p in &planned {
                let period = &p.period;
                agenda.items.push(AgendaItem {
                    kind: AgendaKind::Invoice,
                    when: When::Day(period.issue_date),
                    uid: format!("period-{}@tickler", period.id),
                    summary: format!("Invoice to issue: {}", p.contract_title),
                    description: format!(
                        "{}: the invoice for {} to {} is made today.",
                        p.customer_name, period.start, period.end
                    ),
                    path: format!("/contracts/{}", period.contract_id),
                    owner_id: p.owner_id,
                });
            }
            for listed in &due {
                let invoice = &listed.invoice;
                let number = invoice.number.as_deref().unwrap_or("(no number)");
                agenda.items.push(AgendaItem {
                    kind: AgendaKind::Invoice,
                    when: When::Day(invoice.due_date),
                    uid: format!("invoice-{}-due@tickler", invoice.id),
                    summary: format!("Invoice {number} due: {}", listed.customer_name),
                    description: format!(
                        "{} of {} is due today.",
                        invoice
                            .money(invoice.balance())
                            .format(tickler_core::language::Language::En),
                        listed.contract_title
                    ),
                    path: format!("/invoices/{}", invoice.id),
                    owner_id: listed.owner_id,
                });
            }
        }
        Ok(agenda)
    }
}

fn expiry(contract: &contracts::Contract) -> AgendaItem {
    let term = contract.term_number;
    AgendaItem {
        kind: AgendaKind::Expiry,
        when: When::Day(contract.end_date),
        uid: format!("contract-{}-term-{term}-end@tickler", contract.id),
        summary: format!("Ends: {}", contract.title),
        description: format!("Term {term} of contract {} ends.", contract.id),
        path: format!("/contracts/{}", contract.id),
        owner_id: contract.owner_id,
    }
}

fn notice(contract: &contracts::Contract) -> Option<AgendaItem> {
    let cancel_by = contract.notice_date()?;
    let term = contract.term_number;
    Some(AgendaItem {
        kind: AgendaKind::Notice,
        when: When::Day(cancel_by),
        uid: format!("contract-{}-term-{term}-notice@tickler", contract.id),
        summary: format!("Last day to cancel: {}", contract.title),
        description: format!(
            "Contract {} renews automatically on {} unless cancelled by today.",
            contract.id, contract.end_date
        ),
        path: format!("/contracts/{}", contract.id),
        owner_id: contract.owner_id,
    })
}

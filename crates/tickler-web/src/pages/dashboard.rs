//! The dashboard: what goes out today and this week, what waits for a person, what failed,
//! which contracts expire soon, and what was sent lately.

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use jiff::{Timestamp, ToSpan, civil::Time};
use serde::Deserialize;
use tickler_core::{plan::Mode, reminder::ReminderStatus, schedule::local_instant, user::Role};
use tickler_engine::{
    browse::{Contract, ReminderFilter, ReminderOrder},
    review::ReminderView,
};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    pages::{Layout, ReminderRow, tasks::TaskRow},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

struct ExpiringRow {
    id: i64,
    title: String,
    end_date: String,
    days_left: i64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    due_today: i64,
    due_week: i64,
    awaiting_approval: i64,
    failed: i64,
    expiring_30: i64,
    expiring_60: i64,
    expiring_90: i64,
    upcoming: Vec<ReminderRow>,
    failures: Vec<ReminderRow>,
    recently_sent: Vec<ReminderRow>,
    expiring: Vec<ExpiringRow>,
    my_open_tasks: i64,
    overdue_tasks: i64,
    my_tasks: Vec<TaskRow>,
    /// The user has more open tasks than the dashboard lists.
    more_tasks: bool,
    /// Why no mail goes out (an SMTP configuration problem), shown as a banner.
    mail_problem: Option<String>,
    /// "mine" (the viewer's contracts) or "all".
    who: &'static str,
    /// What a new installation still lacks, for admins, until everything is done.
    checklist: Vec<ChecklistItem>,
    /// The embedded database's backups, for admins.
    backups: Option<BackupLine>,
}

struct BackupLine {
    /// "2 hours ago (6 Dec 2026 02:00), 14 MB"; `None` before the first backup.
    last: Option<String>,
    /// The latest attempt failed, and why.
    failed: Option<String>,
}

/// The last backup as the dashboard tells admins, on SQLite (PostgreSQL is backed up by its
/// own tools, which Tickler does not see).
async fn backup_line(state: &AppState, user: &CurrentUser) -> Result<Option<BackupLine>, WebError> {
    if user.user.role != Role::Admin || !state.engine.takes_own_backups() {
        return Ok(None);
    }
    let (done, latest) = state.engine.latest_backups().await?;
    // Backups happen on the wall clock, whatever instant the engine's clock is set to.
    let now = Timestamp::now();
    Ok(Some(BackupLine {
        last: done.map(|b| {
            let at = b.finished_at.unwrap_or(b.started_at);
            // A backup is never in the future, even when taken within this second.
            format!(
                "{} ({}), {}",
                crate::format::relative(at.min(now) - jiff::SignedDuration::from_secs(1), now),
                crate::format::local(at, &user.zone),
                crate::format::bytes(b.size.unwrap_or(0))
            )
        }),
        failed: latest
            .filter(|b| b.status == "failed")
            .map(|b| b.error.unwrap_or_default()),
    }))
}

struct ChecklistItem {
    label: &'static str,
    done: bool,
    href: &'static str,
}

#[derive(Deserialize, Default)]
struct DashboardQuery {
    who: Option<String>,
}

/// The first-run checklist: what sending real mail to customers needs; empty once all done.
async fn checklist(state: &AppState, user: &CurrentUser) -> Result<Vec<ChecklistItem>, WebError> {
    if user.user.role != Role::Admin {
        return Ok(Vec::new());
    }
    let settings = state.engine.settings_view();
    let sender_set = !settings
        .mail_from
        .trim_end_matches('>')
        .ends_with("@localhost");
    let has_contract = !state.engine.list_contracts(0, 1).await?.is_empty();
    let items = vec![
        ChecklistItem {
            label: "Your organisation's name, as customers see it",
            done: settings.organisation_name != "Tickler",
            href: "/settings",
        },
        ChecklistItem {
            label: "The sender address emails go out from",
            done: sender_set,
            href: "/settings",
        },
        ChecklistItem {
            label: "A mail server (TICKLER_SMTP_URL), so that emails leave the outbox folder",
            done: !settings.mailer_is_outbox,
            href: "/settings",
        },
        ChecklistItem {
            label: "Your time zone, for send times and dates",
            done: settings.default_time_zone != "UTC",
            href: "/settings",
        },
        ChecklistItem {
            label: "Your first contract",
            done: has_contract,
            href: "/contracts/new",
        },
    ];
    Ok(if items.iter().all(|i| i.done) {
        Vec::new()
    } else {
        items
    })
}

async fn dashboard(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<DashboardQuery>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    // Sales see their own contracts' work first, as in the review queue.
    let who = match query.who.as_deref() {
        Some("all") => "all",
        Some("mine") => "mine",
        _ if user.user.role == Role::Sales => "mine",
        _ => "all",
    };
    let owner_id = (who == "mine").then_some(user.user.id);
    let now = engine.now();
    let today = now.to_zoned_datetime(user.zone.clone()).date();
    let day_start = |days: i64| {
        today
            .checked_add(days.days())
            .map(|date| local_instant(date, Time::midnight(), &user.zone))
            .unwrap_or(now)
    };
    let scheduled = ReminderFilter {
        status: Some(ReminderStatus::Scheduled),
        owner_id,
        ..ReminderFilter::default()
    };
    let until = |end: Timestamp| ReminderFilter {
        send_until: Some(end),
        ..scheduled.clone()
    };
    let due_today = engine.count_reminders(&until(day_start(1))).await?;
    let due_week = engine.count_reminders(&until(day_start(7))).await?;
    let awaiting_approval = engine
        .count_reminders(&ReminderFilter {
            mode: Some(Mode::Approval),
            ..scheduled.clone()
        })
        .await?;
    let failed_filter = ReminderFilter {
        status: Some(ReminderStatus::Failed),
        order: ReminderOrder::LatestFirst,
        owner_id,
        ..ReminderFilter::default()
    };
    let failed = engine.count_reminders(&failed_filter).await?;
    let upcoming = engine
        .list_reminders(&ReminderFilter {
            limit: Some(10),
            ..until(day_start(7))
        })
        .await?;
    let failures = engine
        .list_reminders(&ReminderFilter {
            limit: Some(10),
            ..failed_filter
        })
        .await?;
    let recently_sent = engine
        .list_reminders(&ReminderFilter {
            status: Some(ReminderStatus::Sent),
            order: ReminderOrder::LatestFirst,
            limit: Some(10),
            owner_id,
            ..ReminderFilter::default()
        })
        .await?;
    let in_days = |days: i64| today.checked_add(days.days()).unwrap_or(today);
    let (expiring_30, expiring) = engine
        .expiring_contracts(today, in_days(30), owner_id, 10)
        .await?;
    let (expiring_60, _) = engine
        .expiring_contracts(today, in_days(60), owner_id, 0)
        .await?;
    let (expiring_90, _) = engine
        .expiring_contracts(today, in_days(90), owner_id, 0)
        .await?;
    let checklist = checklist(&state, &user).await?;
    let backups = backup_line(&state, &user).await?;

    let rows = |list: Vec<ReminderView>| {
        list.iter()
            .map(|r| ReminderRow::new(r, &user, now))
            .collect()
    };
    let tasks = engine.task_summary(user.user.id).await?;
    let task_day = engine.organisation_today();
    let page = DashboardPage {
        layout: Layout::new(&user, "Dashboard", "dashboard"),
        due_today,
        due_week,
        awaiting_approval,
        failed,
        expiring_30,
        expiring_60,
        expiring_90,
        upcoming: rows(upcoming),
        failures: rows(failures),
        recently_sent: rows(recently_sent),
        expiring: expiring
            .iter()
            .map(|c: &Contract| expiring_row(c, today))
            .collect(),
        more_tasks: tasks.mine_open > tasks.mine.len() as i64,
        mail_problem: engine.mail_problem(),
        who,
        checklist,
        backups,
        my_open_tasks: tasks.mine_open,
        overdue_tasks: tasks.overdue,
        my_tasks: tasks
            .mine
            .iter()
            .map(|item| TaskRow::new(item, &user, task_day))
            .collect(),
    };
    Ok(Html(page.render()?))
}

fn expiring_row(contract: &Contract, today: jiff::civil::Date) -> ExpiringRow {
    ExpiringRow {
        id: contract.id,
        title: contract.title.clone(),
        end_date: contract.end_date.to_string(),
        days_left: today
            .until(contract.end_date)
            .map(|span| i64::from(span.get_days()))
            .unwrap_or(0),
    }
}

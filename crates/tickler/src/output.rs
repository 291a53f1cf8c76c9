//! How results look on a terminal; `--json` prints the same data for scripts.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tickler_core::{
    language::Language,
    money::{Currency, Money},
};
use tickler_engine::{
    browse::{Contract, Customer, JobState},
    contracts::ContractDetail,
    dispatch::Outcome,
    invoice_view::{InvoiceDetailView, InvoiceView},
    review::ReminderView,
};

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn customer(c: &Customer) {
    println!("customer {}: {}", c.id, c.name);
    println!("  emails:    {}", c.emails.join(", "));
    println!("  language:  {}", c.language);
    println!(
        "  time zone: {}",
        c.time_zone.as_deref().unwrap_or("(organisation default)")
    );
}

pub fn contracts(list: &[Contract]) {
    println!(
        "{:>6}  {:>8}  {:<10}  {:<10}  {:>4}  {:<10}  TITLE",
        "ID", "CUSTOMER", "START", "END", "TERM", "STATUS"
    );
    for c in list {
        println!(
            "{:>6}  {:>8}  {:<10}  {:<10}  {:>4}  {:<10}  {}",
            c.id,
            c.customer_id,
            c.start_date,
            c.end_date,
            c.term_number,
            c.status.as_str(),
            c.title
        );
    }
}

pub fn contract_detail(d: &ContractDetail) {
    let c = &d.contract;
    println!("contract {}: {}", c.id, c.title);
    println!(
        "  customer: {} ({}) <{}>",
        d.customer.name,
        d.customer.id,
        d.customer.emails.join(", ")
    );
    println!(
        "  language: {}, time zone: {}",
        d.customer.language,
        d.customer
            .time_zone
            .as_deref()
            .unwrap_or("(organisation default)")
    );
    if let Some(owner) = &d.owner {
        println!("  owner:    {} <{}>", owner.name, owner.email);
    }
    println!(
        "  term {}:   {} to {} ({})",
        c.term_number,
        c.start_date,
        c.end_date,
        c.status.as_str()
    );
    if let (Some(minor), Some(code)) = (c.amount_minor, c.currency.as_deref()) {
        match Currency::parse("currency", code) {
            Ok(currency) => println!(
                "  amount:   {}",
                Money { minor, currency }.format(Language::En)
            ),
            Err(_) => println!("  amount:   {minor} (minor units of {code})"),
        }
    }
    println!("  plan:     {}", d.plan);
    println!();
    reminders(&d.reminders);
    println!();
    println!("history:");
    for e in &d.events {
        println!(
            "  {}  {:<16} {} {}: {} {}",
            e.at, e.actor, e.subject_type, e.subject_id, e.action, e.detail
        );
    }
}

pub fn reminders(list: &[ReminderView]) {
    println!(
        "{:>6}  {:>8}  {:>4}  {:<10}  {:>6}  {:<11}  {:<20}  SUBJECT",
        "ID", "CONTRACT", "TERM", "STEP", "OFFSET", "STATUS", "SEND AT (UTC)"
    );
    for r in list {
        println!(
            "{:>6}  {:>8}  {:>4}  {:<10}  {:>6}  {:<11}  {:<20}  {}{}",
            r.id,
            r.contract_id.map(|id| id.to_string()).unwrap_or_default(),
            r.term_number,
            r.step,
            r.offset_days,
            r.status.as_str(),
            r.send_at.to_string(),
            r.subject,
            if r.edited { "  (edited)" } else { "" }
        );
    }
}

pub fn jobs(list: &[JobState]) {
    let instant = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    println!(
        "{:<15}  {:<30}  {:<30}  {:<20}  LAST OUTCOME",
        "JOB", "LAST STARTED (UTC)", "NEXT RUN (UTC)", "BY"
    );
    for job in list {
        println!(
            "{:<15}  {:<30}  {:<30}  {:<20}  {}",
            job.name,
            instant(job.last_started_at),
            job.next_run_at.to_string(),
            job.last_run_by.as_deref().unwrap_or(""),
            job.last_outcome.as_deref().unwrap_or("")
        );
    }
}

pub fn reminder(r: &ReminderView) {
    match r.contract_id {
        Some(contract) => println!(
            "reminder {} ({}, {} days) of contract {contract} term {}",
            r.id, r.label, r.offset_days, r.term_number
        ),
        None => println!("reminder {} ({}) to {}", r.id, r.label, r.to.join(", ")),
    }
    println!(
        "status:     {}{}",
        r.status.as_str(),
        r.status_reason
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default()
    );
    println!("send at:    {}", r.send_at);
    if let Some(next) = r.next_attempt_at {
        println!(
            "next try:   {next} (attempt {}; last error: {})",
            r.attempts + 1,
            r.last_error.as_deref().unwrap_or("none")
        );
    }
    if let Some(sent_at) = r.sent_at {
        println!("sent at:    {sent_at}");
    }
    println!("to:         {}", r.to.join(", "));
    println!("cc:         {}", r.cc.join(", "));
    println!("message-id: <{}>", r.message_id);
    println!("version:    {}", r.version);
    if let Some(reply) = &r.smtp_reply {
        println!("smtp reply: {reply}");
    }
    println!("subject:    {}", r.subject);
    println!();
    println!("{}", r.body);
    if let Some(now) = r
        .if_sent_now
        .as_ref()
        .filter(|now| now.version != r.version)
    {
        // What `reminder send` sends today: days left counted from today.
        println!();
        println!("if sent now (reminder send --version {}):", now.version);
        println!("subject:    {}", now.subject);
        println!();
        println!("{}", now.body);
    }
}

pub fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Sent { reply } => format!("sent ({reply})"),
        Outcome::Retry { at, error } => {
            format!("temporary failure ({error}); it will be retried at {at}")
        }
        Outcome::Failed { reply } => format!("failed: {reply}"),
        Outcome::Cancelled { reason } => format!("cancelled: {reason}"),
        Outcome::Fenced => "another dispatcher took it over".to_string(),
        Outcome::Unrecorded { error } => format!("the outcome could not be recorded: {error}"),
    }
}

/// A progress bar on stderr when it is a terminal, silent otherwise.
pub fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

pub fn invoices(list: &[InvoiceView]) {
    println!(
        "{:>6}  {:>8}  {:<16}  {:<7}  {:<23}  {:<10}  {:>12}  {:>12}  CUR",
        "ID", "CONTRACT", "NUMBER", "STATUS", "PERIOD", "DUE", "TOTAL", "BALANCE"
    );
    for i in list {
        println!(
            "{:>6}  {:>8}  {:<16}  {:<7}  {} {}  {:<10}  {:>12}  {:>12}  {}",
            i.id,
            i.contract_id,
            i.number.as_deref().unwrap_or("(draft)"),
            i.status,
            i.period_start,
            i.period_end,
            i.due_date.to_string(),
            i.total,
            i.balance,
            i.currency
        );
    }
}

pub fn invoice_detail(d: &InvoiceDetailView) {
    let i = &d.invoice;
    println!(
        "invoice {} {} ({})",
        i.id,
        i.number.as_deref().unwrap_or("(draft, no number yet)"),
        i.status
    );
    println!("  contract: {} ({})", d.contract_title, i.contract_id);
    println!("  customer: {} ({})", d.customer_name, i.customer_id);
    println!("  period:   {} to {}", i.period_start, i.period_end);
    println!("  issued:   {}, due {}", i.issue_date, i.due_date);
    if let Some(reason) = &i.void_reason {
        println!("  void:     {reason}");
    }
    println!("  lines:");
    for l in &d.lines {
        println!(
            "    {} x {} {} at {}% = {}  {}",
            l.quantity, l.unit_price, i.currency, l.tax_rate, l.net, l.description
        );
    }
    for band in &d.tax_bands {
        println!("  tax {}% on {}: {}", band.rate, band.net, band.tax);
    }
    println!(
        "  subtotal {}  tax {}  total {}  paid {}  balance {} {}",
        i.subtotal, i.tax, i.total, i.paid, i.balance, i.currency
    );
    for p in &d.payments {
        println!(
            "  payment {} on {}{} (recorded by {})",
            p.amount,
            p.date,
            p.reference
                .as_deref()
                .map(|r| format!(", reference {r}"))
                .unwrap_or_default(),
            p.recorded_by
        );
    }
}

pub fn tasks(list: &[crate::tasks::TaskView]) {
    println!(
        "{:>6}  {:>8}  {:<9}  {:<10}  {:<3}  {:<28}  {:<30}  CUSTOMER",
        "ID", "CONTRACT", "STATUS", "DUE", "ESC", "OWNER", "TITLE"
    );
    for t in list {
        println!(
            "{:>6}  {:>8}  {:<9}  {:<10}  {:<3}  {:<28}  {:<30}  {}",
            t.id,
            t.contract_id.map(|id| id.to_string()).unwrap_or_default(),
            t.status,
            t.due_date,
            if t.escalated_at.is_some() { "yes" } else { "" },
            t.owner.as_deref().unwrap_or("(nobody)"),
            t.title,
            t.customer.as_deref().unwrap_or("")
        );
    }
}

/// `tickler preview`: the emails grouped by day (in the organisation's zone), each with its
/// time in UTC and in the customer's zone.
pub fn preview(items: &[tickler_engine::outgoing::OutgoingItem], zone: &jiff::tz::TimeZone) {
    if items.is_empty() {
        println!("Nothing will be sent in this window.");
        return;
    }
    let mut day = None;
    for item in items {
        let date = item.send_at.to_zoned_datetime(zone.clone()).date();
        if day != Some(date) {
            if day.is_some() {
                println!();
            }
            println!("{}", date.strftime("%A %Y-%m-%d"));
            println!(
                "  {:<5}  {:<36}  {:<8}  {:>6}  {:<40}  SUBJECT",
                "UTC", "CUSTOMER'S TIME", "KIND", "ID", "TO"
            );
            day = Some(date);
        }
        let local = jiff::tz::TimeZone::get(&item.time_zone)
            .map(|tz| {
                item.send_at
                    .to_zoned_datetime(tz)
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|_| item.send_at_local.clone());
        let id = match item.reminder_id {
            Some(id) => id.to_string(),
            None => "new".to_string(),
        };
        let mut to = item.to.join(", ");
        if !item.cc.is_empty() {
            to.push_str(&format!(" (cc {})", item.cc.join(", ")));
        }
        println!(
            "  {:<5}  {:<36}  {:<8}  {:>6}  {:<40}  {}",
            item.send_at
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .strftime("%H:%M"),
            format!("{local} {}", item.time_zone),
            item.kind.as_str(),
            id,
            to,
            item.subject
        );
    }
    println!();
    let predicted = items.iter().filter(|i| i.predicted).count();
    println!(
        "{} email(s){}",
        items.len(),
        if predicted > 0 {
            format!(
                ", {predicted} of them made by the dispatcher on the way (id \"new\": an \
                 invoice it will issue, an alert to an owner)"
            )
        } else {
            String::new()
        }
    );
}

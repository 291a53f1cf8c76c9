//! The `invoice` and `settings` commands.

use anyhow::{Context, Result};
use serde::Serialize;
use tickler_core::invoice::InvoiceStatus;
use tickler_engine::invoicing::InvoiceFilter;
use tickler_engine::{
    Actor, Engine,
    billing::DEFAULT_PAYMENT_DAYS,
    invoice_view::{InvoiceDetailView, InvoiceView},
    invoicing::DraftChanges,
    settings::{DEFAULT_BRAND_COLOR, SettingsInput},
};

use crate::{
    cli::{InvoiceCommand, SettingsCommand},
    output,
};

pub async fn invoice(engine: &Engine, command: InvoiceCommand, actor: &Actor) -> Result<()> {
    match command {
        InvoiceCommand::List {
            contract,
            status,
            overdue,
            json,
        } => {
            let status: Option<InvoiceStatus> = status.map(|s| s.parse()).transpose()?;
            let today = engine
                .now()
                .to_zoned_datetime(engine.settings().default_time_zone.tz().clone())
                .date();
            let list = engine
                .list_invoices(&InvoiceFilter {
                    contract_id: contract,
                    status,
                    overdue_on: overdue.then_some(today),
                    limit: None,
                })
                .await?;
            let views: Vec<InvoiceView> = list.iter().map(InvoiceView::from).collect();
            if json {
                output::json(&views)?;
            } else {
                output::invoices(&views);
            }
        }
        InvoiceCommand::Show { id, json } => {
            let detail = InvoiceDetailView::from(&engine.invoice_detail(id).await?);
            if json {
                output::json(&detail)?;
            } else {
                output::invoice_detail(&detail);
            }
        }
        InvoiceCommand::Edit {
            id,
            lines,
            issue_date,
            due_date,
        } => {
            let changes = DraftChanges {
                lines: (!lines.is_empty()).then_some(lines),
                issue_date,
                due_date,
            };
            let invoice = engine.edit_draft(id, &changes, actor).await?;
            eprintln!(
                "draft {id}: total {}, issue {}, due {}",
                invoice.money(invoice.total).to_decimal_string(),
                invoice.issue_date,
                invoice.due_date
            );
        }
        InvoiceCommand::Approve { id } => {
            let invoice = engine.approve_invoice(id, actor).await?;
            eprintln!(
                "invoice {id} issued as {} ({}), due {}",
                invoice.number.as_deref().unwrap_or("?"),
                invoice.status.as_str(),
                invoice.due_date
            );
            println!("{id}");
        }
        InvoiceCommand::Discard { id, reason } => {
            engine.discard_invoice(id, reason.as_deref(), actor).await?;
            eprintln!("invoice {id} discarded: its period will not be billed again");
        }
        InvoiceCommand::Pay {
            id,
            amount,
            date,
            reference,
        } => {
            let invoice = engine
                .pay_invoice(id, &amount, date.as_deref(), reference.as_deref(), actor)
                .await?;
            eprintln!(
                "payment recorded on invoice {id}: paid {}, balance {} ({})",
                invoice.money(invoice.paid).to_decimal_string(),
                invoice.money(invoice.balance()).to_decimal_string(),
                invoice.status.as_str()
            );
        }
        InvoiceCommand::Void { id, reason } => {
            let invoice = engine.void_invoice(id, reason.as_deref(), actor).await?;
            eprintln!(
                "invoice {id} ({}) is void; its pending reminders are cancelled",
                invoice.number.as_deref().unwrap_or("no number")
            );
        }
        InvoiceCommand::Pdf { id, output: path } => {
            let pdf = engine.invoice_pdf(id).await?;
            std::fs::write(&path, &pdf).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), pdf.len());
        }
    }
    Ok(())
}

/// The settings as `settings show --json` prints them: effective values.
#[derive(Debug, Serialize)]
struct SettingsJson {
    organisation: String,
    mail_from: String,
    time_zone: String,
    send_time: String,
    iban: Option<String>,
    bank_name: Option<String>,
    invoice_prefix: String,
    payment_days: u32,
    brand_color: String,
    mailer: String,
}

pub async fn settings(engine: &Engine, command: SettingsCommand, actor: &Actor) -> Result<()> {
    let view = engine.settings_view();
    match command {
        SettingsCommand::Show { json } => {
            let shown = SettingsJson {
                organisation: view.organisation_name.clone(),
                mail_from: view.mail_from.clone(),
                time_zone: view.default_time_zone.clone(),
                send_time: Some(view.default_send_time.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "09:00".to_string()),
                iban: Some(view.bank_iban.clone()).filter(|t| !t.is_empty()),
                bank_name: Some(view.bank_name.clone()).filter(|t| !t.is_empty()),
                invoice_prefix: Some(view.invoice_prefix.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "INV-".to_string()),
                payment_days: view.payment_days.parse().unwrap_or(DEFAULT_PAYMENT_DAYS),
                brand_color: Some(view.brand_color.clone())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| DEFAULT_BRAND_COLOR.to_string()),
                mailer: view.mailer.clone(),
            };
            if json {
                output::json(&shown)?;
            } else {
                println!("organisation:   {}", shown.organisation);
                println!("mail from:      {}", shown.mail_from);
                println!("time zone:      {}", shown.time_zone);
                println!("send time:      {}", shown.send_time);
                println!("IBAN:           {}", shown.iban.as_deref().unwrap_or("-"));
                println!(
                    "bank:           {}",
                    shown.bank_name.as_deref().unwrap_or("-")
                );
                println!("invoice prefix: {}", shown.invoice_prefix);
                println!("payment days:   {}", shown.payment_days);
                println!("brand colour:   {}", shown.brand_color);
                println!("mail goes to:   {}", shown.mailer);
            }
        }
        SettingsCommand::Set {
            organisation,
            iban,
            bank_name,
            invoice_prefix,
            payment_days,
            brand_color,
        } => {
            // The form's rule: an empty field drops the stored value. Values that only
            // echo the environment's default stay unstored, so the environment still rules.
            let stored_or_empty = |effective: &str, env: &str| {
                if effective == env {
                    String::new()
                } else {
                    effective.to_string()
                }
            };
            let input = SettingsInput {
                organisation_name: organisation.unwrap_or_else(|| {
                    stored_or_empty(&view.organisation_name, &view.env_organisation_name)
                }),
                mail_from: stored_or_empty(&view.mail_from, &view.env_mail_from),
                default_time_zone: stored_or_empty(
                    &view.default_time_zone,
                    &view.env_default_time_zone,
                ),
                default_send_time: view.default_send_time.clone(),
                bank_iban: iban.unwrap_or_else(|| view.bank_iban.clone()),
                bank_name: bank_name.unwrap_or_else(|| view.bank_name.clone()),
                invoice_prefix: invoice_prefix.unwrap_or_else(|| view.invoice_prefix.clone()),
                payment_days: payment_days.unwrap_or_else(|| view.payment_days.clone()),
                brand_color: brand_color.unwrap_or_else(|| view.brand_color.clone()),
            };
            engine.save_settings(&input, actor).await?;
            eprintln!("settings saved");
        }
    }
    Ok(())
}

//! The `quote` commands: renewal quotes, from draft to the next term.

use anyhow::Result;
use clap::Subcommand;
use tickler_core::quote::QuoteStatus;
use tickler_engine::{
    Actor, Engine,
    quote_view::{QuoteDetailView, QuoteView},
    quotes::{QuoteFilter, QuoteInput},
};

use crate::output;

#[derive(Debug, Subcommand)]
pub enum QuoteCommand {
    /// Draft a quote for a contract's next term; defaults are copied from the current term.
    /// Prints the new id.
    Create {
        #[arg(long)]
        contract: i64,
        /// The next term's last day, YYYY-MM-DD (default: as long as the current term).
        #[arg(long)]
        end: Option<String>,
        /// A line of the quote; repeat for several (default: the sale's lines, or the
        /// contract's amount).
        #[arg(
            long = "line",
            value_name = "DESCRIPTION|QUANTITY|UNIT_PRICE|TAX_PERCENT"
        )]
        lines: Vec<String>,
        /// Invoice the next term every PERIOD: Nd, Nw, Nm or Ny (default: as now).
        #[arg(long, value_name = "PERIOD")]
        bill_every: Option<String>,
        /// The last day it may be accepted, YYYY-MM-DD (default: in 30 days).
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Send a draft to the customer: an email with its PDF and accept/decline links.
    Send { id: i64 },
    /// Accept a sent quote: the contract's next term starts from it.
    Accept { id: i64 },
    /// Decline a sent quote.
    Decline {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Quotes, newest first.
    List {
        #[arg(long)]
        contract: Option<i64>,
        #[arg(long, value_parser = ["draft", "sent", "accepted", "declined", "expired"])]
        status: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One quote with its lines, term, billing and history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn quote(engine: &Engine, command: QuoteCommand, actor: &Actor) -> Result<()> {
    match command {
        QuoteCommand::Create {
            contract,
            end,
            lines,
            bill_every,
            valid_until,
        } => {
            let input = QuoteInput {
                end,
                lines,
                bill_every,
                valid_until,
            };
            let id = engine.create_quote(contract, &input, actor).await?;
            let view = QuoteView::new(&engine.quote_detail(id).await?.quote, None);
            eprintln!(
                "quote {} drafted for contract {contract}: term {} to {}, total {} {}, valid \
                 until {}",
                view.number,
                view.term_start,
                view.term_end,
                view.total,
                view.currency,
                view.valid_until
            );
            println!("{id}");
        }
        QuoteCommand::Send { id } => {
            let quote = engine.send_quote(id, actor).await?;
            eprintln!(
                "quote {} sent; its email goes out with the next dispatch",
                quote.number()
            );
        }
        QuoteCommand::Accept { id } => {
            let detail = engine.accept_quote(id, actor).await?;
            eprintln!(
                "quote {} accepted: term {} of contract {} starts (term id {})",
                detail.quote.number(),
                detail.contract.term_number,
                detail.contract.id,
                detail.quote.next_term_id.unwrap_or_default()
            );
        }
        QuoteCommand::Decline { id, reason } => {
            let detail = engine.decline_quote(id, reason, actor).await?;
            eprintln!("quote {} declined", detail.quote.number());
        }
        QuoteCommand::List {
            contract,
            status,
            json,
        } => {
            let status: Option<QuoteStatus> = status.map(|s| s.parse()).transpose()?;
            let list = engine
                .list_quotes(&QuoteFilter {
                    contract_id: contract,
                    status,
                    limit: None,
                })
                .await?;
            let views: Vec<QuoteView> = list
                .iter()
                .map(|(quote, links)| QuoteView::new(quote, links.as_ref()))
                .collect();
            if json {
                output::json(&views)?;
            } else {
                for v in &views {
                    println!(
                        "{:>5}  {:<6} contract {:<5} {:<9} {} to {}  {} {}  valid until {}",
                        v.id,
                        v.number,
                        v.contract_id,
                        v.status,
                        v.term_start,
                        v.term_end,
                        v.total,
                        v.currency,
                        v.valid_until
                    );
                }
            }
        }
        QuoteCommand::Show { id, json } => {
            let detail = QuoteDetailView::from(&engine.quote_detail(id).await?);
            if json {
                output::json(&detail)?;
            } else {
                let q = &detail.quote;
                println!(
                    "{} ({}) for contract {} \"{}\", {}",
                    q.number, q.status, q.contract_id, detail.contract_title, detail.customer_name
                );
                println!("next term: {} to {}", q.term_start, q.term_end);
                if let Some(b) = &detail.billing {
                    println!(
                        "billing: every {}, {}, invoices {}, due in {} days",
                        b.every, b.timing, b.invoice_mode, b.payment_days
                    );
                }
                println!("valid until: {}", q.valid_until);
                for line in &detail.lines {
                    println!(
                        "  {} x {} @ {} ({}% tax) = {}",
                        line.quantity, line.description, line.unit_price, line.tax_rate, line.net
                    );
                }
                println!(
                    "subtotal {}, tax {}, total {} {}",
                    q.subtotal, q.tax, q.total, q.currency
                );
                if let (Some(accept), Some(decline)) = (&q.accept_url, &q.decline_url) {
                    println!("accept: {accept}\ndecline: {decline}");
                }
                for event in &detail.events {
                    println!(
                        "  {} {} {}: {}",
                        event.at, event.actor, event.action, event.detail
                    );
                }
            }
        }
    }
    Ok(())
}

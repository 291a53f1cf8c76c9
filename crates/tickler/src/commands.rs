//! Carries out each command through the engine.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result, anyhow};
use tickler_core::{
    clock::{FixedClock, ShiftedClock, SystemClock},
    error::{parse_date, parse_instant},
    language::Language,
    reminder::ReminderStatus,
    user::Role,
};
use tickler_engine::settings::UserChanges;
use tickler_engine::{
    Actor, Engine,
    billing::BillingInput,
    browse::ReminderFilter,
    contracts::{ContractChanges, ContractInput},
    directory::{NewCustomer, NewUser},
    export::ContractExport,
    import::ImportPhase,
    review::ReminderChanges,
};
use tickler_mail::Mailer;
use tickler_store::Store;

use crate::{
    cli::{
        CalendarCommand, Cli, Command, ContractCommand, CustomerCommand, DispatchArgs,
        ExportCommand, ImportCommand, PreviewArgs, ReminderCommand, SecretCommand, TokenCommand,
        UserCommand, WebhookCommand,
    },
    config, invoices, output, serve, tasks,
};
use tickler_core::webhook::WebhookEvent;
use tickler_engine::invoicing::InvoiceFilter;
use tickler_engine::webhooks::WebhookReport;

pub(crate) async fn engine(database: &str) -> Result<Engine> {
    engine_with(database, config::from_env()?).await
}

async fn engine_with(database: &str, config: config::Config) -> Result<Engine> {
    let store = Store::open_with_pool(database, config.database_max_connections).await?;
    let mailer = Mailer::new(&config.mail).map_err(|e| anyhow!("TICKLER_SMTP_URL: {e}"))?;
    let engine = Engine::new(store, mailer, Arc::new(SystemClock), config.settings);
    engine.load_settings().await?;
    engine.ensure_default_plan().await?;
    Ok(engine)
}

/// Who the CLI acts as in the audit trail.
fn cli_actor() -> Actor {
    match std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
        Ok(user) if !user.is_empty() => Actor(format!("cli:{user}")),
        _ => Actor("cli".to_string()),
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Migrate { dry_run } => {
            return crate::operations::migrate(&cli.database, dry_run).await;
        }
        Command::Backup { file, json } => {
            return crate::operations::backup(&cli.database, &file, json).await;
        }
        Command::Restore { file, force, json } => {
            return crate::operations::restore(&cli.database, &file, force, json).await;
        }
        Command::Serve(args) => {
            let config = config::from_env()?;
            let web = config.web.clone();
            let backups = config.backups.clone();
            let engine = engine_with(&cli.database, config).await?;
            return serve::run(engine, web, backups, &args.listen).await;
        }
        _ => {}
    }
    let engine = engine(&cli.database).await?;
    let actor = cli_actor();
    match cli.command {
        Command::Migrate { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Serve(_) => {}
        Command::Jobs { json } => {
            let states = engine.job_states().await?;
            if json {
                output::json(&states)?;
            } else {
                output::jobs(&states);
            }
        }
        Command::User(command) => user(&engine, command, &actor).await?,
        Command::Customer(command) => customer(&engine, command, &actor).await?,
        Command::Contract(command) => contract(&engine, *command, &actor).await?,
        Command::Secret(SecretCommand::Rotate) => {
            engine.rotate_link_secret(&actor).await?;
            println!(
                "The link secret was replaced: links in emails sent before now no longer work \
                 (their pages say so). Emails sent from now on carry new links."
            );
        }
        Command::SetupCode => match engine.setup_code().await? {
            Some(code) => println!("{code}"),
            None => anyhow::bail!(
                "the setup is done: an admin exists, so there is no setup code (add users with \
                 `tickler user add`, or an admin on the Users page)"
            ),
        },
        Command::Reminder(command) => reminder(&engine, command, &actor).await?,
        Command::Plan(command) => crate::plans::plan(&engine, command, &actor).await?,
        Command::Dispatch(args) => dispatch(engine, args).await?,
        Command::Preview(args) => preview(engine, args).await?,
        Command::Import(command) => import(&engine, command, &actor).await?,
        Command::Export(command) => export(&engine, command).await?,
        Command::Token(command) => token(&engine, command, &actor).await?,
        Command::Webhook(command) => webhook(&engine, command, &actor).await?,
        Command::Calendar(command) => match command {
            CalendarCommand::Url { user } => println!("{}", engine.calendar_url(&user).await?),
            CalendarCommand::Revoke { user } => {
                engine.revoke_calendar(&user, &actor).await?;
                eprintln!("the old address of {user}'s calendar feed no longer works");
                println!("{}", engine.calendar_url(&user).await?);
            }
        },
        Command::Invoice(command) => invoices::invoice(&engine, command, &actor).await?,
        Command::Quote(command) => crate::quotes::quote(&engine, command, &actor).await?,
        Command::Settings(command) => invoices::settings(&engine, command, &actor).await?,
        Command::Task(command) => tasks::task(&engine, command, &actor).await?,
    }
    Ok(())
}

async fn user(engine: &Engine, command: UserCommand, actor: &Actor) -> Result<()> {
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            password_stdin,
        } => {
            let role: Role = role.parse()?;
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the password from standard input")?;
                Some(text.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let id = engine
                .create_user(
                    NewUser {
                        email,
                        name,
                        role,
                        password_hash: None,
                    },
                    password.as_deref(),
                    actor,
                )
                .await?;
            println!("{id}");
        }
        UserCommand::Invite { email, name, role } => {
            let role: Role = role.parse()?;
            let invitation = engine.invite_user(&email, &name, role, actor).await?;
            match &invitation.emailed {
                Ok(reply) => eprintln!("invitation emailed to {email}: {reply}"),
                Err(why) => eprintln!("not emailed: {why}"),
            }
            eprintln!(
                "the link works once, until {}; user {}",
                invitation.expires_at, invitation.user_id
            );
            println!("{}", invitation.link);
        }
        UserCommand::Edit {
            user,
            name,
            role,
            time_zone,
            language,
            digest,
            digest_time,
        } => {
            let found = match user.parse::<i64>() {
                Ok(id) => Some(engine.user(id).await?),
                Err(_) => engine.user_by_email(&user).await?,
            }
            .ok_or_else(|| anyhow!("no user has the id or email {user}"))?;
            let role = role.map(|r| r.parse::<Role>()).transpose()?;
            let language = language
                .map(|l| Language::parse("language", &l))
                .transpose()?;
            engine
                .update_user(
                    found.id,
                    UserChanges {
                        name: name.as_deref().unwrap_or(&found.name),
                        role: role.unwrap_or(found.role),
                        active: found.active,
                        time_zone: Some(
                            time_zone
                                .as_deref()
                                .unwrap_or(found.time_zone.as_deref().unwrap_or("")),
                        ),
                        language,
                        digest: digest.map(|d| d.parse()).transpose()?,
                        digest_time: digest_time.as_deref(),
                    },
                    actor,
                )
                .await?;
            eprintln!("user {} updated", found.id);
        }
        UserCommand::Password { email } => {
            let user = engine
                .user_by_email(&email)
                .await?
                .ok_or_else(|| anyhow!("no user has the email {email}"))?;
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the password from standard input")?;
            engine
                .set_password(user.id, text.trim_end_matches(['\r', '\n']), actor)
                .await?;
        }
    }
    Ok(())
}

async fn customer(engine: &Engine, command: CustomerCommand, actor: &Actor) -> Result<()> {
    match command {
        CustomerCommand::Add {
            name,
            emails,
            language,
            time_zone,
            plan,
        } => {
            let language = Language::parse("language", &language)?;
            // Checked before the customer is stored: a bad plan adds nothing.
            if let Some(plan) = &plan {
                let listing = engine.plan_listing(plan).await?;
                if listing.summary.archived {
                    return Err(anyhow!(
                        "--plan: plan \"{}\" is archived: choose another",
                        listing.summary.name
                    ));
                }
            }
            let id = engine
                .add_customer(
                    NewCustomer {
                        name,
                        emails,
                        language,
                        time_zone,
                    },
                    actor,
                )
                .await?;
            if let Some(plan) = plan {
                engine
                    .set_customer_default_plan(id, Some(&plan), actor)
                    .await?;
            }
            println!("{id}");
        }
        CustomerCommand::Edit {
            id,
            name,
            emails,
            language,
            time_zone,
            plan,
        } => {
            let current = engine.customer(id).await?;
            let language = match language {
                Some(text) => Language::parse("language", &text)?,
                None => current.language,
            };
            engine
                .edit_customer(
                    id,
                    NewCustomer {
                        name: name.unwrap_or(current.name),
                        emails: if emails.is_empty() {
                            current.emails
                        } else {
                            emails
                        },
                        language,
                        time_zone: time_zone.or(current.time_zone),
                    },
                    actor,
                    // The operator at the command line may do what an admin may.
                    None,
                )
                .await?;
            if let Some(plan) = plan {
                engine
                    .set_customer_default_plan(id, Some(&plan), actor)
                    .await?;
            }
        }
        CustomerCommand::Show { id, json } => {
            let customer = engine.customer(id).await?;
            if json {
                output::json(&customer)?;
            } else {
                output::customer(&customer);
            }
        }
    }
    Ok(())
}

async fn preview(engine: Engine, args: PreviewArgs) -> Result<()> {
    let engine = match args.now {
        Some(now) => engine.with_clock(Arc::new(FixedClock(parse_instant("--now", &now)?))),
        None => engine,
    };
    let window = engine.preview_window(&args.from, &args.to)?;
    let items = engine.preview(window, args.owner.as_deref()).await?;
    if args.json {
        output::json(&items)?;
    } else {
        output::preview(&items, engine.settings().default_time_zone.tz());
    }
    Ok(())
}

async fn dispatch(engine: Engine, args: DispatchArgs) -> Result<()> {
    if !args.once {
        let engine = match args.now {
            Some(now) => engine.with_clock(Arc::new(ShiftedClock::starting_at(parse_instant(
                "--now", &now,
            )?))),
            None => engine,
        };
        serve::run_dispatcher(engine).await?;
        return Ok(());
    }
    let engine = match args.now {
        Some(now) => engine.with_clock(Arc::new(FixedClock(parse_instant("--now", &now)?))),
        None => engine,
    };
    if engine.mail_goes_to_outbox() {
        eprintln!(
            "TICKLER_SMTP_URL is not set: mail goes to the {}",
            engine.mail_route()
        );
    }
    let report = engine.dispatch_due().await?;
    eprintln!(
        "claimed {}, sent {}, retrying {}, failed {}, cancelled {}, unrecorded {}",
        report.claimed,
        report.sent,
        report.retried,
        report.failed,
        report.cancelled,
        report.unrecorded
    );
    if report.invoiced > 0 {
        eprintln!(
            "invoices made {} (issued {}, drafts {})",
            report.invoiced,
            report.issued,
            report.invoiced - report.issued
        );
    }
    if report.renewed > 0 {
        eprintln!("terms started by themselves {}", report.renewed);
    }
    let webhooks = engine.deliver_webhooks_due().await?;
    if webhooks != WebhookReport::default() {
        eprintln!(
            "webhooks delivered {}, retrying {}, failed {}",
            webhooks.delivered, webhooks.retried, webhooks.failed
        );
    }
    Ok(())
}

async fn import(engine: &Engine, command: ImportCommand, actor: &Actor) -> Result<()> {
    match command {
        ImportCommand::Contracts { file } => {
            let bar = output::progress_bar();
            let mut progress = |phase: ImportPhase, rows: u64| {
                bar.set_message(match phase {
                    ImportPhase::Checking => "checking",
                    ImportPhase::Writing => "importing",
                });
                bar.set_position(rows);
            };
            let report = engine.import_contracts(&file, actor, &mut progress).await;
            bar.finish_and_clear();
            let report = report.map_err(|e| anyhow!("{e}"))?;
            eprintln!(
                "imported {} contracts from {} rows ({} new customers)",
                report.contracts, report.rows, report.customers_created
            );
        }
        ImportCommand::All { dir, json } => {
            crate::transfer::import_all(engine, &dir, json, actor).await?;
        }
    }
    Ok(())
}

async fn token(engine: &Engine, command: TokenCommand, actor: &Actor) -> Result<()> {
    match command {
        TokenCommand::Create { user, name } => {
            let made = engine.create_token(&user, name.as_deref(), actor).await?;
            eprintln!(
                "token {} for {user}: keep it secret, it is not shown again",
                made.id
            );
            println!("{}", made.token);
        }
        TokenCommand::List { user, json } => {
            let user_id = match user {
                Some(email) => Some(
                    engine
                        .user_by_email(&email)
                        .await?
                        .ok_or_else(|| anyhow!("no user has the email {email}"))?
                        .id,
                ),
                None => None,
            };
            let tokens = engine.tokens(user_id).await?;
            if json {
                output::json(&tokens)?;
            } else {
                for t in &tokens {
                    println!(
                        "{}\t{}\t{}\tmade {}\tlast used {}\t{}",
                        t.id,
                        t.user_email,
                        t.name,
                        t.created_at,
                        t.last_used_at
                            .map_or_else(|| "never".to_string(), |at| at.to_string()),
                        t.revoked_at
                            .map_or_else(|| "active".to_string(), |at| format!("revoked {at}")),
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let token = engine.revoke_token(id, actor).await?;
            eprintln!(
                "token {id} (\"{}\", {}) revoked: it no longer works",
                token.name, token.user_email
            );
        }
    }
    Ok(())
}

async fn webhook(engine: &Engine, command: WebhookCommand, actor: &Actor) -> Result<()> {
    match command {
        WebhookCommand::Add {
            url,
            events,
            description,
        } => {
            let made = engine
                .add_webhook(&url, &events, description.as_deref(), actor)
                .await?;
            eprintln!(
                "webhook {} posts to {url}; its signing secret follows: keep it secret, it is \
                 not shown again",
                made.id
            );
            println!("{}", made.id);
            println!("{}", made.secret);
        }
        WebhookCommand::List { json } => {
            let hooks = engine.webhooks().await?;
            if json {
                output::json(&hooks)?;
            } else {
                for hook in &hooks {
                    println!(
                        "{}\t{}\t{}\t{}",
                        hook.id, hook.url, hook.events, hook.description
                    );
                }
            }
        }
        WebhookCommand::Remove { id } => {
            engine.remove_webhook(id, actor).await?;
            eprintln!("webhook {id} removed: nothing more is posted to it");
        }
        WebhookCommand::Events => {
            for event in WebhookEvent::ALL {
                println!("{}\t{}", event.as_str(), event.describe());
            }
        }
        WebhookCommand::Deliveries {
            webhook,
            status,
            limit,
            json,
        } => {
            let deliveries = engine
                .webhook_deliveries(webhook, status.as_deref(), limit)
                .await?;
            if json {
                output::json(&deliveries)?;
            } else {
                for d in &deliveries {
                    let answer = match (&d.last_status, &d.last_error) {
                        (Some(status), _) => format!("HTTP {status}"),
                        (None, Some(error)) => error.clone(),
                        (None, None) => "not tried yet".to_string(),
                    };
                    println!(
                        "{}\tevt_{}\t{}\twebhook {}\t{}\t{} attempts\t{}",
                        d.id, d.event_id, d.event_type, d.endpoint_id, d.status, d.attempts, answer
                    );
                }
            }
        }
        WebhookCommand::Redeliver { id } => {
            let new = engine.redeliver_webhook(id, actor).await?;
            eprintln!("delivery {id} is posted again as delivery {new}");
            println!("{new}");
        }
    }
    Ok(())
}

/// Where an export goes: the file named (written whole or not at all), else standard output.
struct ExportTarget {
    file: Option<(PathBuf, tempfile::NamedTempFile)>,
}

impl ExportTarget {
    fn open(output: Option<PathBuf>) -> Result<ExportTarget> {
        let file = match output {
            Some(path) => {
                // Written beside the target and renamed over it at the end, so that a
                // failed export never leaves half a file where a whole one was.
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let temp = tempfile::NamedTempFile::new_in(dir)
                    .with_context(|| format!("cannot write in {}", dir.display()))?;
                Some((path, temp))
            }
            None => None,
        };
        Ok(ExportTarget { file })
    }

    fn writer(&self) -> Result<Box<dyn Write + '_>> {
        Ok(match &self.file {
            Some((_, temp)) => Box::new(std::io::BufWriter::new(temp.as_file())),
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        })
    }

    fn finish(self, count: u64, what: &str) -> Result<()> {
        if let Some((path, temp)) = self.file {
            temp.persist(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{count} {what} written to {}", path.display());
        } else {
            eprintln!("{count} {what} written");
        }
        Ok(())
    }
}

async fn export(engine: &Engine, command: ExportCommand) -> Result<()> {
    match command {
        ExportCommand::Contracts { output, status } => {
            let status = status
                .map(|s| s.parse::<tickler_core::contract::ContractStatus>())
                .transpose()?;
            let target = ExportTarget::open(output)?;
            // In the order they were entered, so that an import of the file enters them
            // in the same order.
            let filter = tickler_engine::browse::ContractQuery {
                status,
                sort: tickler_engine::browse::ContractSort::Created,
                ..Default::default()
            };
            let count = engine
                .export_contracts(target.writer()?, ContractExport { filter })
                .await?;
            target.finish(count, "contracts")
        }
        ExportCommand::Customers { output } => {
            let target = ExportTarget::open(output)?;
            let count = engine.export_customers(target.writer()?, None).await?;
            target.finish(count, "customers")
        }
        ExportCommand::Invoices { output } => {
            let target = ExportTarget::open(output)?;
            let count = engine
                .export_invoices(target.writer()?, &InvoiceFilter::default())
                .await?;
            target.finish(count, "invoices")
        }
        ExportCommand::All { output, json } => {
            crate::transfer::export_all(engine, &output, json).await
        }
    }
}

async fn contract(engine: &Engine, command: ContractCommand, actor: &Actor) -> Result<()> {
    match command {
        ContractCommand::Add {
            customer,
            title,
            start,
            end,
            owner,
            plan,
            amount,
            currency,
            fields,
            billing,
            renewal,
            notice_days,
        } => {
            let custom_fields = tickler_core::contract::parse_custom_fields(
                "--field",
                fields.iter().map(String::as_str),
                "number",
            )?;
            let id = engine
                .add_contract(
                    ContractInput {
                        customer_id: customer,
                        title,
                        start,
                        end: end.unwrap_or_default(),
                        owner_email: owner,
                        plan,
                        amount,
                        currency,
                        custom_fields,
                        billing: billing.bill_every.map(|every| BillingInput {
                            every,
                            cycles: billing.cycles,
                            lines: billing.lines,
                            in_arrears: billing.in_arrears,
                            draft_invoices: billing.draft_invoices,
                            payment_days: billing.payment_days,
                        }),
                        renewal,
                        notice_days,
                    },
                    actor,
                )
                .await?;
            println!("{id}");
        }
        ContractCommand::Renew { id, end } => {
            let end = end.map(|e| parse_date("--end", &e)).transpose()?;
            let term = engine.renew_contract(id, end, actor).await?;
            eprintln!(
                "contract {id} renewed: new term {} to {}",
                term.start, term.end
            );
            println!("{id}");
        }
        ContractCommand::Edit {
            id,
            title,
            start,
            end,
            owner,
            plan,
            amount,
            currency,
            renewal,
            notice_days,
        } => {
            engine
                .edit_contract(
                    id,
                    ContractChanges {
                        title,
                        start,
                        end,
                        owner_email: owner,
                        plan,
                        amount,
                        currency,
                        custom_fields: None,
                        renewal,
                        notice_days,
                        if_version: None,
                    },
                    actor,
                )
                .await?
        }
        ContractCommand::Terminate { id, reason } => {
            engine.terminate_contract(id, &reason, actor).await?
        }
        ContractCommand::Links { id, json } => {
            let links = engine.contract_links(id).await?;
            if json {
                output::json(&links)?;
            } else {
                println!("renew   {}", links.renew);
                println!("decline {}", links.decline);
                println!("quote   {}", links.quote);
                println!("(they work until {})", links.expires_on);
            }
        }
        ContractCommand::Decline { id, reason } => {
            engine.decline_contract(id, reason, actor).await?;
            println!(
                "Contract {id} will not be renewed; its pending emails before the end date are cancelled."
            );
        }
        ContractCommand::Show { id, json } => {
            let detail = engine.contract_detail(id).await?;
            if json {
                output::json(&detail)?;
            } else {
                output::contract_detail(&detail);
            }
        }
        ContractCommand::List { json } => {
            let mut all = Vec::new();
            let mut after = 0;
            loop {
                let page = engine.list_contracts(after, 1000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                all.extend(page);
            }
            if json {
                output::json(&all)?;
            } else {
                output::contracts(&all);
            }
        }
    }
    Ok(())
}

async fn reminder(engine: &Engine, command: ReminderCommand, actor: &Actor) -> Result<()> {
    match command {
        ReminderCommand::List {
            contract,
            status,
            json,
        } => {
            let status = status.map(|s| s.parse::<ReminderStatus>()).transpose()?;
            let list = engine
                .list_reminders(&ReminderFilter {
                    contract_id: contract,
                    status,
                    ..ReminderFilter::default()
                })
                .await?;
            if json {
                output::json(&list)?;
            } else {
                output::reminders(&list);
            }
        }
        ReminderCommand::Show { id, json } => {
            let view = engine.reminder(id).await?;
            if json {
                output::json(&view)?;
            } else {
                output::reminder(&view);
            }
        }
        ReminderCommand::Edit {
            id,
            subject,
            body_file,
            send_at,
        } => {
            let body = match body_file {
                Some(path) if path.as_os_str() == "-" => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .context("reading the body from standard input")?;
                    Some(text)
                }
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("--body-file {}", path.display()))?,
                ),
                None => None,
            };
            let send_at = send_at
                .map(|s| parse_instant("--send-at", &s))
                .transpose()?;
            engine
                .edit_reminder(
                    id,
                    ReminderChanges {
                        subject,
                        body,
                        send_at,
                    },
                    actor,
                )
                .await?;
        }
        ReminderCommand::Send { id, version } => {
            let seen = version
                .map(|text| tickler_core::seen::SeenVersion::parse("--version", &text))
                .transpose()?;
            let outcome = engine.send_reminder_now(id, seen.as_ref(), actor).await?;
            match outcome {
                tickler_engine::dispatch::Outcome::Sent { reply } => {
                    eprintln!("reminder {id} sent: {reply}")
                }
                other => {
                    return Err(anyhow!(
                        "reminder {id} was not sent: {}",
                        output::outcome(&other)
                    ));
                }
            }
        }
        ReminderCommand::Skip { id, reason } => engine.skip_reminder(id, &reason, actor).await?,
        ReminderCommand::SendMissed { id } => {
            let outcome = engine.send_missed_notice(id, actor).await?;
            match outcome {
                tickler_engine::dispatch::Outcome::Sent { reply } => {
                    eprintln!("reminder {id} sent late: {reply}")
                }
                other => {
                    return Err(anyhow!(
                        "reminder {id} was not sent: {}",
                        output::outcome(&other)
                    ));
                }
            }
        }
        ReminderCommand::Unskip { id } => {
            engine.unskip_reminder(id, actor).await?;
            eprintln!("reminder {id} is back in the queue");
        }
    }
    Ok(())
}

//! The ceiling of a dispatch to the file outbox before any database work: how many
//! messages per second this machine renders from the built-in template, lays out as HTML,
//! builds as MIME and writes to the outbox folder, with the same functions the dispatcher
//! calls for each message (`Renderer::render_builtin`, `render_html`, `Mailer::send`).
//!
//! ```sh
//! cargo bench -p tickler-mail --bench outbox_floor
//! BENCH_MESSAGES=50000 BENCH_OUTBOX=/dev/shm/floor cargo bench -p tickler-mail --bench outbox_floor
//! ```
//!
//! Each stage is timed on its own over BENCH_MESSAGES messages (default 20,000) on one
//! thread, then the whole per-message work on as many threads as the machine has cores (each
//! with its own runtime and mailer, sharing nothing): no dispatcher can send faster than the
//! last figure, whatever its database does. The outbox folder is BENCH_OUTBOX (default a
//! temporary folder; use a tmpfs to match `bench/run.sh`); it is emptied between runs. Run as
//! a test (without cargo bench's `--bench` argument) it makes a small smoke run.

use std::{
    error::Error,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use jiff::civil::date;
use tickler_core::{email::EmailAddress, language::Language};
use tickler_mail::{
    BrandColor, HtmlLayout, MailConfig, Mailer, OutgoingMessage, Renderer, Sender, TemplateContext,
    context::{ContractView, CustomerView, OrganisationView, OwnerView, StepView},
    render_html,
};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// The dispatcher's commonest message: the 30-day reminder of a contract, in Greek (its
/// quoted-printable body is the costliest of the three languages to encode).
fn context(n: usize) -> Result<TemplateContext> {
    let address = |a: &str| EmailAddress::parse("email", a);
    Ok(TemplateContext {
        customer: CustomerView {
            name: format!("Πελάτης {n} Α.Ε."),
            emails: vec![address(&format!("c{n}@customer.example"))?],
            language: Language::parse("language", "el")?,
        },
        contract: ContractView {
            title: format!("Συντήρηση εξοπλισμού {n}"),
            start_date: date(2026, 7, 1),
            end_date: date(2027, 6, 30),
            amount: None,
            notice_date: None,
            noun: "maintenance contract".to_string(),
            custom: serde_json::Map::new(),
        },
        owner: Some(OwnerView {
            name: "Owner".to_string(),
            email: Some(address("owner@firm.example")?),
        }),
        organisation: OrganisationView {
            name: "Firm Ltd".to_string(),
            email: address("office@firm.example")?,
            iban: Some("GR16 0110 1250 0000 0001 2300 695".to_string()),
            bank: Some("Bank".to_string()),
        },
        step: StepView {
            key: "before_30".to_string(),
            label: "Reminder".to_string(),
        },
        days_left: 30,
        failure: None,
        invoice: None,
        links: None,
        quote: None,
    })
}

/// One message, as the dispatcher builds it: rendered, laid out as HTML, addressed.
fn build(renderer: &Renderer, brand: &BrandColor, n: usize) -> Result<OutgoingMessage> {
    let ctx = context(n)?;
    let language = ctx.customer.language;
    let rendered = renderer.render_builtin("before_30", language, &ctx)?;
    let html = render_html(
        &rendered.body,
        &HtmlLayout {
            language,
            title: &rendered.subject,
            organisation: "Firm Ltd",
            brand_color: brand,
            action_links: &[],
        },
    );
    Ok(OutgoingMessage {
        message_id: format!("tickler.{n:032x}@firm.example"),
        from: Sender::parse("Firm Ltd <office@firm.example>")?,
        to: ctx.customer.emails.clone(),
        cc: vec![EmailAddress::parse("cc", "owner@firm.example")?],
        reply_to: vec![EmailAddress::parse("reply_to", "owner@firm.example")?],
        subject: rendered.subject,
        body: rendered.body,
        html: Some(html),
        language,
        date: "2027-05-02T12:00:00Z".parse()?,
        attachments: Vec::new(),
    })
}

fn mailer(outbox: &Path) -> Result<Mailer> {
    Ok(Mailer::new(&MailConfig {
        smtp_url: None,
        outbox_dir: outbox.to_path_buf(),
        from: Sender::parse("Firm Ltd <office@firm.example>")?,
        timeout: Duration::from_secs(30),
        dkim: None,
        ca: None,
    })?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Renders, lays out, builds and writes `count` messages on this thread.
fn send_all(outbox: &Path, first: usize, count: usize) -> Result<()> {
    let (renderer, brand) = (
        Renderer::new(),
        BrandColor::parse("brand", BrandColor::DEFAULT)?,
    );
    let mailer = mailer(outbox)?;
    runtime()?.block_on(async {
        for n in first..first + count {
            mailer.send(&build(&renderer, &brand, n)?).await?;
        }
        Ok(())
    })
}

fn fresh(outbox: &Path) -> Result<()> {
    if outbox.exists() {
        std::fs::remove_dir_all(outbox)?;
    }
    std::fs::create_dir_all(outbox)?;
    Ok(())
}

fn main() -> Result<()> {
    let benching = std::env::args().any(|a| a == "--bench");
    let messages = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 20_000 } else { 200 });
    let scratch = tempfile::tempdir()?;
    let outbox: PathBuf = match std::env::var("BENCH_OUTBOX") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => scratch.path().join("outbox"),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let renderer = Renderer::new();
    let brand = BrandColor::parse("brand", BrandColor::DEFAULT)?;

    let started = Instant::now();
    for n in 0..messages {
        let ctx = context(n)?;
        std::hint::black_box(renderer.render_builtin("before_30", ctx.customer.language, &ctx)?);
    }
    let render = per_second(messages, started.elapsed());

    let started = Instant::now();
    let built: Vec<OutgoingMessage> = (0..messages)
        .map(|n| build(&renderer, &brand, n))
        .collect::<Result<_>>()?;
    let build_rate = per_second(messages, started.elapsed());

    let started = Instant::now();
    for message in &built {
        std::hint::black_box(message.formatted()?);
    }
    let mime = per_second(messages, started.elapsed());
    drop(built);

    fresh(&outbox)?;
    let started = Instant::now();
    send_all(&outbox, 0, messages)?;
    let one_thread = per_second(messages, started.elapsed());

    fresh(&outbox)?;
    let share = messages.div_ceil(cores);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|i| {
                let outbox = outbox.clone();
                scope.spawn(move || send_all(&outbox, i * share, share))
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "a sending thread panicked")?)
    })?;
    let all_cores = per_second(share * cores, started.elapsed());
    let written = std::fs::read_dir(&outbox)?.count();
    if written != share * cores {
        return Err(format!(
            "expected {} files in the outbox, found {written}",
            share * cores
        )
        .into());
    }
    fresh(&outbox)?;

    println!("messages: {messages}, outbox: {}", outbox.display());
    println!("render the template (one thread):              {render:>9.0} messages/s");
    println!("render + HTML layout + address (one thread):   {build_rate:>9.0} messages/s");
    println!("MIME formatting alone (one thread):            {mime:>9.0} messages/s");
    println!("all of it + write the .eml (one thread):       {one_thread:>9.0} messages/s");
    println!("all of it + write the .eml ({cores} threads):         {all_cores:>9.0} messages/s");
    println!(
        "RESULT outbox_floor messages={messages} cores={cores} render_per_s={render:.0} build_per_s={build_rate:.0} mime_per_s={mime:.0} one_thread_per_s={one_thread:.0} all_cores_per_s={all_cores:.0}"
    );
    Ok(())
}

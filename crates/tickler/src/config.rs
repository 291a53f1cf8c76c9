//! Settings from the environment (`TICKLER_*`), checked once at start-up.

use std::{path::PathBuf, time::Duration};

use anyhow::Result;
use tickler_core::{backoff::RetryPolicy, time_zone::Zone};
use tickler_engine::{
    Settings,
    backups::{BackupSchedule, parse_backup_time},
};
use tickler_mail::{MailConfig, Sender, SmtpCa, dkim::DkimSigner};

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match var(name) {
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: \"{text}\" is not a number")),
        None => Ok(default),
    }
}

/// DKIM signing needs a selector and a key together: one without the other is a mistake
/// worth stopping for, not a reason to send unsigned mail silently.
fn dkim_from_env() -> Result<Option<DkimSigner>> {
    const SELECTOR: &str = "TICKLER_DKIM_SELECTOR";
    const KEY_FILE: &str = "TICKLER_DKIM_KEY_FILE";
    match (var(SELECTOR), var(KEY_FILE)) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(anyhow::anyhow!(
            "{SELECTOR} is set but {KEY_FILE} is not: DKIM signing needs both (or neither)"
        )),
        (None, Some(_)) => Err(anyhow::anyhow!(
            "{KEY_FILE} is set but {SELECTOR} is not: DKIM signing needs both (or neither)"
        )),
        (Some(selector), Some(file)) => DkimSigner::load(&selector, std::path::Path::new(&file))
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{e} (from {SELECTOR} and {KEY_FILE})")),
    }
}

pub struct Config {
    pub settings: Settings,
    /// Pooled database connections per process; `None`: the backend's default.
    pub database_max_connections: Option<u32>,
    pub mail: MailConfig,
    pub web: tickler_web::WebConfig,
    /// `serve`'s daily backups, when `TICKLER_BACKUP_DIR` is set.
    pub backups: Option<BackupSchedule>,
}

pub fn from_env() -> Result<Config> {
    let from_text =
        var("TICKLER_MAIL_FROM").unwrap_or_else(|| "Tickler <tickler@localhost>".to_string());
    let from = Sender::parse(&from_text)
        .map_err(|e| anyhow::anyhow!("TICKLER_MAIL_FROM: {}", e.message))?;
    let zone = match var("TICKLER_TIME_ZONE") {
        Some(name) => {
            Zone::parse("TICKLER_TIME_ZONE", &name).map_err(|e| anyhow::anyhow!("{e}"))?
        }
        None => Zone::utc(),
    };
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".to_string());
    let public_url = var("TICKLER_PUBLIC_URL")
        .map(|url| check_public_url(&url))
        .transpose()?;
    let smtp_timeout = Duration::from_secs(number("TICKLER_SMTP_TIMEOUT_SECONDS", 30u64)?);
    let settings = Settings {
        organisation_name: var("TICKLER_ORGANISATION").unwrap_or_else(|| "Tickler".to_string()),
        default_time_zone: zone,
        mail_from: from.clone(),
        worker_id: format!("{host}:{}", std::process::id()),
        lease: Duration::from_secs(number("TICKLER_LEASE_SECONDS", 300u64)?),
        batch_size: number("TICKLER_BATCH_SIZE", 200i64)?.max(1),
        concurrency: number("TICKLER_SEND_CONCURRENCY", 8usize)?.max(1),
        retry: RetryPolicy::default(),
        poll_interval: Duration::from_secs(number("TICKLER_POLL_SECONDS", 30u64)?.max(1)),
        public_url: public_url.clone(),
    };
    check_timeout_within_lease(settings.lease, smtp_timeout)?;
    let mail = MailConfig {
        smtp_url: var("TICKLER_SMTP_URL"),
        outbox_dir: PathBuf::from(var("TICKLER_OUTBOX").unwrap_or_else(|| "outbox".to_string())),
        from,
        timeout: smtp_timeout,
        dkim: dkim_from_env()?,
        ca: var("TICKLER_SMTP_CA_FILE")
            .map(|file| SmtpCa::load(std::path::Path::new(&file)))
            .transpose()
            .map_err(|e| anyhow::anyhow!("TICKLER_SMTP_CA_FILE: {e}"))?,
    };
    let web = tickler_web::WebConfig {
        public_url,
        public_requests_per_minute: number("TICKLER_PUBLIC_RATE_PER_MINUTE", 30u32)?.max(1),
        session_idle: Duration::from_secs(
            number("TICKLER_SESSION_IDLE_SECONDS", 8 * 3600u64)?.max(1),
        ),
        metrics_token: var("TICKLER_METRICS_TOKEN")
            .map(|token| check_metrics_token(&token))
            .transpose()?,
        // Decided by `serve` once it knows the address it listens on.
        setup_needs_code: false,
        session_max: Duration::from_secs(
            number("TICKLER_SESSION_MAX_SECONDS", 7 * 24 * 3600u64)?.max(1),
        ),
        trusted_proxies: tickler_web::client::TrustedProxies::parse(
            &var("TICKLER_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|e| anyhow::anyhow!("TICKLER_TRUSTED_PROXIES: {e}"))?,
    };
    let database_max_connections = match var("TICKLER_DATABASE_MAX_CONNECTIONS") {
        Some(_) => Some(number("TICKLER_DATABASE_MAX_CONNECTIONS", 10u32)?.max(1)),
        None => None,
    };
    Ok(Config {
        settings,
        database_max_connections,
        mail,
        web,
        backups: backup_schedule_from_env()?,
    })
}

fn backup_schedule_from_env() -> Result<Option<BackupSchedule>> {
    let Some(dir) = var("TICKLER_BACKUP_DIR") else {
        return Ok(None);
    };
    let at = parse_backup_time(&var("TICKLER_BACKUP_TIME").unwrap_or_else(|| "02:00".into()))
        .map_err(|e| anyhow::anyhow!("TICKLER_BACKUP_TIME: {e}"))?;
    let keep = number("TICKLER_BACKUP_KEEP", 7usize)?;
    if keep == 0 {
        anyhow::bail!("TICKLER_BACKUP_KEEP must be at least 1: the newest backup is always kept");
    }
    Ok(Some(BackupSchedule {
        dir: PathBuf::from(dir),
        keep,
        at,
    }))
}

/// The public URL as the links in emails will use it: http(s), with a host, no trailing
/// slash; refused with a clear message otherwise, since a wrong one breaks every link sent.
fn check_public_url(text: &str) -> Result<String> {
    let trimmed = text.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "TICKLER_PUBLIC_URL: \"{text}\" must start with https:// (or http://), e.g. \
                 https://tickler.example.com"
            )
        })?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        anyhow::bail!("TICKLER_PUBLIC_URL: \"{text}\" has no host name");
    }
    if rest.contains(['?', '#']) {
        anyhow::bail!("TICKLER_PUBLIC_URL: \"{text}\" must not have a query or fragment");
    }
    Ok(trimmed.to_string())
}

/// A metrics token short enough to guess protects nothing: refused, without echoing it.
fn check_metrics_token(token: &str) -> Result<tickler_web::metrics::MetricsToken> {
    let token = token.trim();
    if token.chars().count() < 16 || token.contains(char::is_whitespace) {
        anyhow::bail!(
            "TICKLER_METRICS_TOKEN must be at least 16 characters without spaces (e.g. the \
             output of `openssl rand -hex 32`)"
        );
    }
    Ok(tickler_web::metrics::MetricsToken::new(token))
}

/// Refuses an SMTP timeout as long as the lease: a send still in flight when its claim runs
/// out would be taken over by another dispatcher and sent twice.
fn check_timeout_within_lease(lease: Duration, smtp_timeout: Duration) -> Result<()> {
    if smtp_timeout >= lease {
        anyhow::bail!(
            "TICKLER_SMTP_TIMEOUT_SECONDS ({}) must be shorter than TICKLER_LEASE_SECONDS ({}): \
             a message still being sent when its lease runs out could be sent again by another \
             dispatcher",
            smtp_timeout.as_secs(),
            lease.as_secs()
        );
    }
    Ok(())
}

//! `tickler serve`: the dispatcher plus HTTP endpoints, until SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tickler_engine::{Engine, backups::BackupSchedule};
use tokio::sync::watch;

pub async fn run(
    engine: Engine,
    mut web: tickler_web::WebConfig,
    backups: Option<BackupSchedule>,
    listen: &str,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, mail = %engine.mail_route(), "tickler is serving");
    warn_if_outbox(&engine);
    web.setup_needs_code = reachable_from_elsewhere(address, web.public_url.as_deref());
    if web.setup_needs_code
        && let Some(code) = engine.setup_code().await?
    {
        // The log is the one place only the operator reads: whoever opens /setup first
        // needs this code to become admin.
        tracing::warn!(
            setup_code = %code,
            "no admin yet: open /setup and enter this setup code (`tickler setup-code` prints it too)"
        );
    }
    if web.public_url.is_none() {
        tracing::warn!(
            "TICKLER_PUBLIC_URL is not set: renewal emails carry no one-click links and ask \
             customers to answer by reply; set it to the address customers reach this web app at"
        );
        eprintln!(
            "warning: TICKLER_PUBLIC_URL is not set, so emails carry no one-click answer links \
             (customers are asked to reply instead)"
        );
    }
    let (stop, stopped) = watch::channel(false);
    let dispatcher = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.run_dispatcher(stopped).await })
    };
    let pipeline_counter = {
        let engine = engine.clone();
        let stopped = stop.subscribe();
        tokio::spawn(async move { engine.keep_pipeline_counted(stopped).await })
    };
    let backup_schedule = backups.and_then(|schedule| {
        if engine.pg_dump_command().is_some() {
            tracing::warn!(
                "TICKLER_BACKUP_DIR is ignored: the database is PostgreSQL; back it up with \
                 pg_dump or pg_basebackup"
            );
            return None;
        }
        tracing::info!(
            "backups {}",
            tickler_engine::backups::describe_schedule(
                &schedule,
                engine.settings().default_time_zone.tz()
            )
        );
        let engine = engine.clone();
        let stopped = stop.subscribe();
        Some(tokio::spawn(async move {
            engine.run_backup_schedule(schedule, stopped).await
        }))
    });
    let app = tickler_web::router(engine, web);
    let mut web_stopped = stop.subscribe();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
        let _ = web_stopped.changed().await;
    })
    .await
    .context("HTTP server")?;
    dispatcher.await.context("dispatcher task")?;
    pipeline_counter.await.context("pipeline counting task")?;
    if let Some(backups) = backup_schedule {
        backups.await.context("backup task")?;
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Whether people on other machines may reach the web app: it listens beyond loopback, or
/// a public URL names another host (a reverse proxy in front of a loopback listener).
fn reachable_from_elsewhere(listening: SocketAddr, public_url: Option<&str>) -> bool {
    let public_host_is_local = |url: &str| {
        let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host),
        };
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    !listening.ip().is_loopback() || public_url.is_some_and(|url| !public_host_is_local(url))
}

/// `tickler dispatch` without `--once`: the dispatcher alone, until SIGTERM or Ctrl-C.
pub async fn run_dispatcher(engine: Engine) -> Result<()> {
    tracing::info!(mail = %engine.mail_route(), "tickler is dispatching");
    warn_if_outbox(&engine);
    let (stop, stopped) = watch::channel(false);
    let dispatcher = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.run_dispatcher(stopped).await })
    };
    shutdown_signal().await;
    let _ = stop.send(true);
    dispatcher.await.context("dispatcher task")?;
    tracing::info!("stopped cleanly");
    Ok(())
}

fn warn_if_outbox(engine: &Engine) {
    if engine.mail_goes_to_outbox() {
        tracing::warn!(
            "TICKLER_SMTP_URL is not set: mail is written to the outbox folder, not sent"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing the batch in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_code_is_asked_for_unless_only_this_machine_can_reach_the_app() {
        let at = |text: &str| text.parse::<SocketAddr>().expect("address");
        assert!(!reachable_from_elsewhere(at("127.0.0.1:8080"), None));
        assert!(!reachable_from_elsewhere(at("[::1]:8080"), None));
        assert!(!reachable_from_elsewhere(
            at("127.0.0.1:8080"),
            Some("http://localhost:8080")
        ));
        assert!(!reachable_from_elsewhere(
            at("127.0.0.1:8080"),
            Some("http://[::1]:8080/")
        ));
        assert!(reachable_from_elsewhere(at("0.0.0.0:8080"), None));
        assert!(reachable_from_elsewhere(at("[::]:8080"), None));
        assert!(reachable_from_elsewhere(at("192.0.2.7:8080"), None));
        assert!(reachable_from_elsewhere(
            at("127.0.0.1:8080"),
            Some("https://tickler.firm.example")
        ));
        assert!(reachable_from_elsewhere(
            at("127.0.0.1:8080"),
            Some("https://127.0.0.1.firm.example:8443")
        ));
    }
}

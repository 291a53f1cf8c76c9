//! `tickler serve`: the dispatcher plus HTTP endpoints, until SIGTERM or Ctrl-C.

use anyhow::{Context, Result};
use tickler_engine::Engine;
use tokio::sync::watch;

pub async fn run(engine: Engine, web: tickler_web::WebConfig, listen: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, mail = %engine.mail_route(), "tickler is serving");
    warn_if_outbox(&engine);
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
    tracing::info!("stopped cleanly");
    Ok(())
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

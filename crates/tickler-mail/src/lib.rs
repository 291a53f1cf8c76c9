//! Tickler's mail: the built-in notice templates, sandboxed rendering of those and of
//! user-edited templates, building safe MIME messages, and delivering them over SMTP or into an
//! outbox folder.
//!
//! No other crate talks SMTP; the engine hands an [`message::OutgoingMessage`] to a
//! [`transport::Mailer`] and reads back a [`transport::Delivery`] or a classified
//! [`transport::SendError`].

pub mod context;
pub mod dkim;
pub mod html;
pub mod message;
pub mod render;
mod smtp_pool;
pub mod templates;
pub mod transport;

pub use context::TemplateContext;
pub use html::{ActionLink, BrandColor, HtmlLayout, render_html};
pub use message::{Attachment, OutgoingMessage, Sender};
pub use render::{RenderError, Rendered, Renderer};
pub use transport::{
    ConfigError, Delivery, MailConfig, Mailer, SendError, SmtpCa, install_crypto_provider,
};

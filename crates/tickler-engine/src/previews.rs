//! What the plans page needs to preview a template ([`Engine::preview_template`],
//! [`Engine::check_template`]) without depending on the mail crate.
//!
//! [`Engine::preview_template`]: crate::Engine::preview_template
//! [`Engine::check_template`]: crate::Engine::check_template

pub use tickler_mail::{Rendered, render::SourceError, templates::KEYS as TEMPLATE_KEYS};

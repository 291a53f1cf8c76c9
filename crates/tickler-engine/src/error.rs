use tickler_core::{ValidationError, reminder::TransitionError};
use tickler_store::StoreError;

/// Why a use case refused or failed, told apart so a front end can answer 400/404/409/503.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Template(#[from] tickler_mail::RenderError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, id } => EngineError::NotFound { what, id },
            StoreError::Conflict(message) => EngineError::Conflict(message),
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// The database was unreachable (a restart, an outage): trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::Store(e) if e.is_transient())
    }
}

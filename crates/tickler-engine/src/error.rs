use tickler_core::{ValidationError, reminder::TransitionError};
use tickler_store::StoreError;

/// Why a use case refused or failed, told apart so a front end can answer 400/404/409/500/503.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    /// The change was made against a version of the record that is no longer current:
    /// someone else changed it meanwhile (the API's `If-Match`).
    #[error("{0}")]
    Stale(String),
    /// The person may do this in general but not here; the text says why (and who may).
    #[error("{0}")]
    Forbidden(String),
    /// A customer's link that opens nothing: forged, altered, expired, or naming what is gone.
    #[error(transparent)]
    Link(#[from] crate::answers::LinkRefusal),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Template(#[from] tickler_mail::RenderError),
    /// The database could not be reached (a restart, an outage, a full pool): trying again
    /// a little later may succeed.
    #[error(transparent)]
    Unavailable(StoreError),
    /// Any other database failure: a bug or a damaged database, not the caller's doing.
    #[error(transparent)]
    Store(StoreError),
    /// A failure inside Tickler that is nobody's input (a hashing library refusing, a task
    /// that panicked): the caller can only report it.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, id } => EngineError::NotFound { what, id },
            StoreError::Conflict(message) => EngineError::Conflict(message),
            other if other.is_transient() => EngineError::Unavailable(other),
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// The database was unreachable (a restart, an outage): trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, EngineError::Unavailable(_))
    }
}

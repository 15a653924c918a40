//! Agents' Teams presence from Microsoft Graph: the subscriptions that make Graph send it
//! (created and renewed by the scheduled `renew-presence-subscriptions`), stored with the
//! secret (`clientState`) each notification must carry, and the webhook that receives the
//! notifications (`POST /api/graph/presence-notifications`) and records the presence through
//! the kernel, newer observations winning.
//!
//! Graph's presence subscriptions watch `/communications/presences?$filter=id in (…)` for at
//! most 650 users each and live at most an hour, so a tenant's agents are covered by as many
//! subscriptions as it takes, and every run renews those that would expire before the next.

mod notifications;
mod subscriptions;

pub use notifications::{receive_presence_notifications, BatchReport, WebhookAnswer};
pub use subscriptions::{
    plan_renewal, renew_presence_subscriptions, RenewalPlan, RenewalReport, StoredSubscription,
    MAX_USERS_PER_SUBSCRIPTION,
};

use stratus_kernel::error::Dependency;
use stratus_kernel::{Error, Problem, StatusCode};

/// What the presence operations answer when they fail.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PresenceError {
    #[error(transparent)]
    Kernel(#[from] Error),
}

impl Problem for PresenceError {
    fn status(&self) -> StatusCode {
        match self {
            PresenceError::Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            PresenceError::Kernel(e) => Some(e),
        }
    }
}

/// A Graph failure as a kernel error: an outage is a 503, anything else a 500; the log keeps
/// the whole chain.
pub(crate) fn graph_failure(error: stratus_graph::GraphError) -> Error {
    if error.is_unavailable() {
        Error::unavailable(Dependency::Graph, error.to_string(), Some(Box::new(error)))
    } else {
        Error::internal_from("calling Microsoft Graph", error)
    }
}

/// The process's Graph client, or the configuration error it could not be built with.
pub type GraphSetup = Result<stratus_graph::GraphClient, stratus_graph::GraphError>;

/// The process's Graph client from `STRATUS_GRAPH_*`, built once at start-up.
pub fn graph_from_env() -> GraphSetup {
    stratus_graph::GraphClient::from_env()
}

//! The routing function's two triggers (`route-tasks`). In AWS the table's stream delivers
//! changed items — a task queued or put back, a service's queue entry, an agent's state —
//! and an EventBridge schedule sends `{"sweep": {"passes", "intervalSeconds"}}`; locally a
//! bridge reads DynamoDB Local's stream and a timer sends the same two payloads. Either way
//! the work is the routing pass of each service concerned.
//!
//! Correctness never rests on the stream: a failed pass is logged and left to the sweep,
//! which visits every service with tasks on every pass.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{json, Value};
use stratus_kernel::{Error, Guid, Kernel};

use crate::route::{route_service, services_of_agent, PassReport};
use crate::store::{active_services, forget_idle_service, parse_queue_pk, ActiveService, Writes};
use crate::TaskError;

/// Most passes one scheduled run makes, and the longest pause between them.
const MAX_PASSES: u64 = 60;
const MAX_INTERVAL_SECONDS: u64 = 60;

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub services: usize,
    pub failed: usize,
    #[serde(flatten)]
    pub passes: PassReport,
}

/// Entry point of `route-tasks`. Boxed: the passes' futures nest deep, and the runtime's
/// handler would nest them again past the compiler's layout depth.
pub fn route_tasks(
    kernel: &Kernel,
    event: Value,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<RunReport, TaskError>> + Send + '_>>
{
    Box::pin(run(kernel, event))
}

async fn run(kernel: &Kernel, event: Value) -> Result<RunReport, TaskError> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let services = services_in_records(kernel, records).await;
        return Ok(route_all(kernel, &services, false).await);
    }
    if let Some(sweep) = event.get("sweep") {
        let passes = sweep
            .get("passes")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .clamp(1, MAX_PASSES);
        let interval = sweep
            .get("intervalSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .min(MAX_INTERVAL_SECONDS);
        let mut total = RunReport::default();
        for pass in 0..passes {
            if pass > 0 && interval > 0 {
                tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
            }
            let services: BTreeSet<ActiveService> =
                active_services(kernel.table()).await?.into_iter().collect();
            let report = route_all(kernel, &services, true).await;
            total.services += report.services;
            total.failed += report.failed;
            total.passes.add(&report.passes);
        }
        return Ok(total);
    }
    Err(Error::BadRequest(
        "route-tasks takes a DynamoDB stream event ({\"Records\": [...]}) or a sweep \
         ({\"sweep\": {\"passes\", \"intervalSeconds\"}})"
            .into(),
    )
    .into())
}

/// Routes each service; a failure is logged and counted, and the others go on.
async fn route_all(kernel: &Kernel, services: &BTreeSet<ActiveService>, sweep: bool) -> RunReport {
    let mut report = RunReport {
        services: services.len(),
        ..RunReport::default()
    };
    let writes = &Writes::unlimited();
    let results = futures::future::join_all(services.iter().map(|active| async move {
        // Boxed: a pass's future is deep, and the function's main would nest it again.
        let result = Box::pin(route_service(kernel, &active.tenant, &active.service, writes)).await;
        if sweep {
            if let Ok(pass) = &result {
                if pass.idle {
                    if let Err(e) = forget_idle_service(kernel.table(), active).await {
                        tracing::warn!(service = %active.service, error = %e, "forgetting an idle service failed");
                    }
                }
            }
        }
        (active, result)
    }))
    .await;
    for (active, result) in results {
        match result {
            Ok(pass) => report.passes.add(&pass),
            Err(e) => {
                report.failed += 1;
                tracing::error!(tenant = %active.tenant, service = %active.service,
                    error = %stratus_kernel::error::chain(&e), "routing pass failed; the sweep retries it");
            }
        }
    }
    report
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = value;
    for step in path {
        at = at.get(step)?;
    }
    at.as_str()
}

/// The services a batch of stream records concerns.
async fn services_in_records(kernel: &Kernel, records: &[Value]) -> BTreeSet<ActiveService> {
    let mut services = BTreeSet::new();
    let mut agents = BTreeSet::new();
    for record in records {
        let Some(pk) = text(record, &["dynamodb", "Keys", "PK", "S"]) else {
            continue;
        };
        let sk = text(record, &["dynamodb", "Keys", "SK", "S"]).unwrap_or_default();
        let new = record.pointer("/dynamodb/NewImage");
        let event = text(record, &["eventName"]).unwrap_or_default();
        if let Some((tenant, service)) = parse_queue_pk(pk) {
            // A task entered a queue (or an agent's task ended): the service has work.
            services.insert(ActiveService { tenant, service });
        } else if let Some(rest) = pk.strip_prefix("TASK#") {
            let state = new.and_then(|n| text(n, &["state", "S"]));
            let service = new
                .and_then(|n| text(n, &["serviceId", "S"]))
                .and_then(Guid::parse);
            let tenant = rest.split('#').next().and_then(Guid::parse);
            if let (Some("queued"), Some(tenant), Some(service), "TASK") =
                (state, tenant, service, sk)
            {
                services.insert(ActiveService { tenant, service });
            }
        } else if let Some(rest) = pk.strip_prefix("AGENT#") {
            let mut parts = rest.split('#');
            let (Some(tenant), Some(agent)) = (
                parts.next().and_then(Guid::parse),
                parts.next().and_then(Guid::parse),
            ) else {
                continue;
            };
            if sk == stratus_kernel::table::keys::AGENT_STATE_SK
                && event != "REMOVE"
                && may_have_freed(record)
            {
                agents.insert((tenant, agent));
            } else if let Some(service) = activated_service(new) {
                services.insert(ActiveService { tenant, service });
            }
        }
    }
    for (tenant, agent) in agents {
        match services_of_agent(kernel, &tenant, &agent).await {
            Ok(ids) => services.extend(ids.into_iter().map(|service| ActiveService {
                tenant: tenant.clone(),
                service,
            })),
            Err(e) => tracing::warn!(%agent, error = %e, "reading an agent's services failed"),
        }
    }
    services
}

/// Whether an agent's state change may have made them able to take a task: an offer,
/// call, chat or wrap-up ended, or presence or duty changed. An offer made to them cannot.
fn may_have_freed(record: &Value) -> bool {
    let old = record
        .pointer("/dynamodb/OldImage")
        .cloned()
        .unwrap_or(json!({}));
    let new = record
        .pointer("/dynamodb/NewImage")
        .cloned()
        .unwrap_or(json!({}));
    let gone = |name: &str| old.get(name).is_some() && new.get(name).is_none();
    let changed = |name: &str| old.get(name) != new.get(name);
    gone("offerTaskId")
        || gone("callTaskId")
        || gone("wrapUpTaskId")
        || changed("chatTasks") && new.get("offerTaskId").is_none()
        || changed("presence")
        || changed("version")
}

/// A history entry of the Active toggle switched on names its service.
fn activated_service(new: Option<&Value>) -> Option<Guid> {
    let new = new?;
    if text(new, &["kind", "S"]) == Some("active") && text(new, &["to", "S"]) == Some("true") {
        return text(new, &["serviceId", "S"]).and_then(Guid::parse);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(old: Value, new: Value) -> Value {
        json!({"eventName": "MODIFY", "dynamodb": {"OldImage": old, "NewImage": new}})
    }

    #[test]
    fn an_agent_counts_as_freed_when_a_task_or_offer_ends_or_presence_or_duty_moves() {
        let offered = json!({"offerTaskId": {"S": "t"}, "presence": {"S": "Available"}});
        let free = json!({"presence": {"S": "Available"}});
        assert!(may_have_freed(&record(offered.clone(), free.clone())));
        // Being offered a task frees nobody.
        assert!(!may_have_freed(&record(free.clone(), offered)));
        let away = json!({"presence": {"S": "Away"}});
        assert!(may_have_freed(&record(away, free.clone())));
        let duty = json!({"presence": {"S": "Available"}, "version": {"N": "3"}});
        assert!(may_have_freed(&record(free.clone(), duty)));
        assert!(!may_have_freed(&record(free.clone(), free)));
    }

    #[test]
    fn the_active_toggle_switched_on_names_its_service() {
        let service = Guid::new_random();
        let on = json!({"kind": {"S": "active"}, "to": {"S": "true"}, "serviceId": {"S": service.to_string()}});
        assert_eq!(activated_service(Some(&on)), Some(service));
        let off = json!({"kind": {"S": "active"}, "to": {"S": "false"}});
        assert_eq!(activated_service(Some(&off)), None);
    }
}

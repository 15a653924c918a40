//! Tasks arriving: `POST /api/services/{serviceId}/tasks` (inbound calls, chats, external
//! tasks) and `POST /api/services/{serviceId}/outbound-tasks` (scheduled outbound), by a
//! routing application. The answer is 202 before any offer exists: the task is stored in its
//! service's queue in one transaction, and the table's stream (or the sweep) routes it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use stratus_kernel::fields::{path_guid, Fields};
use stratus_kernel::table::keys;
use stratus_kernel::{Error, Guid, Incoming, Kernel};
use stratus_routing::spec::RequiredSkill;
use stratus_routing::text::untrusted;
use stratus_services::service::AssignmentType;
use stratus_services::store::ServiceStore;

use crate::access::routing_app;
use crate::flow::{move_waiting_task, Destination, Now};
use crate::model::{Direction, Modality, Outcome, Task, TaskState, TransferKind};
use crate::route::destination_of;
use crate::store::{idempotent_task, Tx, Writes};
use crate::TaskError;

const MAX_CALLER_CHARS: usize = 256;
const MAX_REQUIRED_SKILLS: usize = 20;
const MAX_ATTRIBUTES: usize = 50;
const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1_024;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// How far ahead an outbound task may be scheduled.
const MAX_SCHEDULE_DAYS: i64 = 90;

/// A validated submission.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTask {
    pub modality: Modality,
    pub caller: String,
    pub priority: u8,
    pub required_skills: Vec<RequiredSkill>,
    pub attributes: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    /// Outbound: when it falls due (ms since the epoch).
    pub scheduled_at_ms: Option<i64>,
}

const INBOUND_FIELDS: [&str; 6] = [
    "modality",
    "caller",
    "priority",
    "requiredSkills",
    "attributes",
    "idempotencyKey",
];
const OUTBOUND_FIELDS: [&str; 7] = [
    "scheduledAt",
    "callee",
    "modality",
    "priority",
    "requiredSkills",
    "attributes",
    "idempotencyKey",
];

impl NewTask {
    /// An inbound body: `modality` and `caller` required. Pure.
    pub fn parse_inbound(body: &Fields) -> Result<NewTask, Error> {
        body.reject_unknown(&INBOUND_FIELDS, "a task")?;
        let modality = body.required_string("modality")?;
        let modality = Modality::parse(modality.trim()).ok_or_else(|| {
            Error::field(
                "modality",
                &format!("is {modality:?}; one of {}", Modality::NAMES),
            )
        })?;
        Self::parse_common(body, modality, "caller", None)
    }

    /// An outbound body: `scheduledAt` and `callee` required; `modality` defaults to audio.
    pub fn parse_outbound(body: &Fields, now_ms: i64) -> Result<NewTask, Error> {
        body.reject_unknown(&OUTBOUND_FIELDS, "an outbound task")?;
        let modality = match body.string("modality")? {
            None => Modality::Audio,
            Some(text) => Modality::parse(text.trim()).ok_or_else(|| {
                Error::field(
                    "modality",
                    &format!("is {text:?}; one of {}", Modality::NAMES),
                )
            })?,
        };
        let at = body.required_string("scheduledAt")?;
        let at_ms = stratus_kernel::table::micros_of(at.trim())
            .map(|us| us / 1_000)
            .ok_or_else(|| {
                Error::field(
                    "scheduledAt",
                    "must be an RFC 3339 time, e.g. 2026-12-01T09:30:00Z",
                )
            })?;
        if at_ms > now_ms + MAX_SCHEDULE_DAYS * 86_400_000 {
            return Err(Error::field(
                "scheduledAt",
                &format!("is more than {MAX_SCHEDULE_DAYS} days ahead"),
            ));
        }
        Self::parse_common(body, modality, "callee", Some(at_ms))
    }

    fn parse_common(
        body: &Fields,
        modality: Modality,
        party_field: &str,
        scheduled_at_ms: Option<i64>,
    ) -> Result<NewTask, Error> {
        let caller = body.required_string(party_field)?;
        let caller = caller.trim();
        if caller.chars().count() > MAX_CALLER_CHARS || caller.chars().any(char::is_control) {
            return Err(Error::field(
                party_field,
                &format!("must be a phone number or SIP address of at most {MAX_CALLER_CHARS} characters, without control characters"),
            ));
        }
        let priority = body.integer_in("priority", 0, 255)?.unwrap_or(0) as u8;
        let required_skills = match body.get("requiredSkills") {
            None => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_REQUIRED_SKILLS => items
                .iter()
                .enumerate()
                .map(|(i, item)| required_skill(i, item))
                .collect::<Result<_, _>>()?,
            Some(Value::Array(_)) => {
                return Err(Error::field(
                    "requiredSkills",
                    &format!("lists more than {MAX_REQUIRED_SKILLS} skills"),
                ))
            }
            Some(_) => {
                return Err(Error::field(
                    "requiredSkills",
                    "must be a list of {\"skill\", \"minLevel\"}",
                ))
            }
        };
        let attributes = match body.get("attributes") {
            None => BTreeMap::new(),
            Some(Value::Object(map)) => attributes(map)?,
            Some(_) => {
                return Err(Error::field(
                    "attributes",
                    "must be an object of string values",
                ))
            }
        };
        let idempotency_key = body.string("idempotencyKey")?;
        if let Some(key) = &idempotency_key {
            if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control)
            {
                return Err(Error::field(
                    "idempotencyKey",
                    &format!("must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters, without control characters"),
                ));
            }
        }
        Ok(NewTask {
            modality,
            caller: caller.to_owned(),
            priority,
            required_skills,
            attributes,
            idempotency_key,
            scheduled_at_ms,
        })
    }
}

fn required_skill(i: usize, item: &Value) -> Result<RequiredSkill, Error> {
    let fields = Fields::from_value(item.clone(), &format!("requiredSkills[{i}]."))?;
    fields.reject_unknown(&["skill", "minLevel"], "a required skill")?;
    let skill = fields.required_string("skill")?.trim().to_owned();
    let min_level = fields
        .integer_in("minLevel", 1, 100)?
        .ok_or_else(|| Error::field(&fields.name("minLevel"), "is required (1 to 100)"))?;
    Ok(RequiredSkill {
        skill,
        min_level: min_level as u8,
    })
}

fn attributes(map: &serde_json::Map<String, Value>) -> Result<BTreeMap<String, String>, Error> {
    if map.len() > MAX_ATTRIBUTES {
        return Err(Error::field(
            "attributes",
            &format!("has more than {MAX_ATTRIBUTES} entries"),
        ));
    }
    map.iter()
        .map(|(key, value)| {
            let name = format!("attributes.{}", untrusted(key, MAX_ATTRIBUTE_KEY_CHARS));
            if key.is_empty() || key.chars().count() > MAX_ATTRIBUTE_KEY_CHARS || key.chars().any(char::is_control) {
                return Err(Error::field(&name, &format!("must be a name of 1 to {MAX_ATTRIBUTE_KEY_CHARS} characters, without control characters")));
            }
            match value {
                Value::String(text) if text.chars().count() <= MAX_ATTRIBUTE_VALUE_CHARS => {
                    Ok((key.clone(), untrusted(text, MAX_ATTRIBUTE_VALUE_CHARS)))
                }
                _ => Err(Error::field(&name, &format!("must be a string of at most {MAX_ATTRIBUTE_VALUE_CHARS} characters"))),
            }
        })
        .collect()
}

/// The 202 answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub id: Guid,
    pub service_id: Guid,
    pub state: TaskState,
    /// A retried submission (same idempotency key) answers the first task.
    pub duplicate: bool,
}

/// `POST /api/services/{serviceId}/tasks`.
pub async fn submit_task(kernel: &Kernel, incoming: Incoming) -> Result<Accepted, TaskError> {
    let app = routing_app(kernel, &incoming).await?;
    let service_id = path_guid("serviceId", incoming.path_param("serviceId"))?;
    let new = NewTask::parse_inbound(&incoming.body_fields()?)?;
    submit(kernel, &app.tenant_id, &service_id, new).await
}

/// `POST /api/services/{serviceId}/outbound-tasks`: 409 past the tenant's limit of outbound
/// tasks scheduled or in progress per service, and the task is not kept.
pub async fn submit_outbound_task(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Accepted, TaskError> {
    let app = routing_app(kernel, &incoming).await?;
    let service_id = path_guid("serviceId", incoming.path_param("serviceId"))?;
    let new = NewTask::parse_outbound(&incoming.body_fields()?, Now::current().ms)?;
    submit(kernel, &app.tenant_id, &service_id, new).await
}

/// Stores a validated task in the service's queue (or, the queue full, sends it on to the
/// service's overflow); the operations above call it after checking the caller.
pub async fn submit(
    kernel: &Kernel,
    tenant: &Guid,
    service_id: &Guid,
    new: NewTask,
) -> Result<Accepted, TaskError> {
    let table = kernel.table();
    // The tenant's settings matter to outbound tasks only (their limit).
    let outbound = new.scheduled_at_ms.is_some();
    let (service, outbound_limit) = futures::try_join!(table.service(tenant, service_id), async {
        match outbound {
            true => table
                .tenant_settings(tenant)
                .await
                .map(|s| Some(s.outbound.max_scheduled_tasks_per_service)),
            false => Ok(None),
        }
    })?;
    let service = service
        .ok_or_else(|| TaskError::ServiceNotFound(service_id.to_string()))?
        .service;
    if service.assignment_type == AssignmentType::None {
        return Err(TaskError::NotRoutable(service_id.to_string()));
    }
    let mut new = new;
    new.required_skills =
        canonical_skills(kernel, tenant, std::mem::take(&mut new.required_skills)).await?;
    if let Some(key) = &new.idempotency_key {
        if let Some(id) = idempotent_task(table, tenant, service_id, key).await? {
            return Ok(duplicate(kernel, tenant, service_id, id).await);
        }
    }
    let distribution = service.distribution.clone().unwrap_or_default();
    let now = Now::current();
    let direction = match new.scheduled_at_ms {
        Some(_) => Direction::Outbound,
        None => Direction::Inbound,
    };
    let mut task = Task::arriving(
        service_id.clone(),
        direction,
        new.modality,
        new.caller,
        now.ms,
        now.text.clone(),
    );
    task.priority = new.priority;
    task.required_skills = new.required_skills;
    task.attributes = new.attributes;
    task.idempotency_key = new.idempotency_key.clone();
    task.queued_at_ms = new.scheduled_at_ms.unwrap_or(now.ms).max(now.ms);
    task.scheduled_at = new.scheduled_at_ms.map(crate::flow::rfc3339_of_ms);
    task.not_before_ms = new.scheduled_at_ms.filter(|at| *at > now.ms);
    let writes = Writes::unlimited();
    let mut tx = Tx::new(table, tenant);
    tx.create_task(&task)?;
    tx.enqueue(&task, Some(distribution.max_queue_length))?;
    if let Some(limit) = outbound_limit {
        tx.take_outbound_slot(service_id, limit)?;
    }
    if let Some(key) = &new.idempotency_key {
        tx.idempotency(service_id, key, &task.id)?;
    }
    match tx.commit(table, &writes).await {
        Ok(()) => {}
        Err(TaskError::Duplicate(key)) => {
            // Another request with the same key won the race: answer its task.
            if let Some(id) = idempotent_task(table, tenant, service_id, &key).await? {
                return Ok(duplicate(kernel, tenant, service_id, id).await);
            }
            return Err(TaskError::Duplicate(key));
        }
        Err(TaskError::QueueFull(_)) => {
            // The queue is full: the task overflows at once, to the service's overflow.
            let destination = destination_of(kernel, tenant, &distribution.overflow).await?;
            task.state = overflow_at_arrival(kernel, tenant, &task, destination, &now).await?;
        }
        Err(e) => return Err(e),
    }
    tracing::info!(task = %task.id, service = %service_id, state = %task.state, "task submitted");
    Ok(Accepted {
        id: task.id,
        service_id: service_id.clone(),
        state: task.state,
        duplicate: false,
    })
}

/// Stores a task whose queue was full at arrival, moved on to its service's overflow (whose
/// own queue may be full too: then it ends as overflowed).
async fn overflow_at_arrival(
    kernel: &Kernel,
    tenant: &Guid,
    task: &Task,
    destination: Destination,
    now: &Now,
) -> Result<TaskState, TaskError> {
    let mut destination = destination;
    loop {
        let mut next = task.clone();
        let mut tx = Tx::new(kernel.table(), tenant);
        let state = move_waiting_task(
            &mut tx,
            &mut next,
            &destination,
            TransferKind::Overflow,
            Some("queue full".into()),
            None,
            now,
        )?;
        if state.is_final() {
            next.outcome = Some(Outcome::Overflowed);
        }
        tx.create_task(&next)?;
        if let Some(key) = &task.idempotency_key {
            tx.idempotency(&task.service_id, key, &task.id)?;
        }
        match tx.commit(kernel.table(), &Writes::unlimited()).await {
            Ok(()) => return Ok(state),
            Err(TaskError::QueueFull(service))
                if matches!(destination, Destination::Service { .. }) =>
            {
                destination =
                    Destination::Outside(format!("service {service} (its queue is full)"));
            }
            Err(e) => return Err(e),
        }
    }
}

async fn duplicate(kernel: &Kernel, tenant: &Guid, service: &Guid, id: Guid) -> Accepted {
    let state = crate::store::read_task(kernel.table(), tenant, &id)
        .await
        .ok()
        .flatten()
        .map(|t| t.task.state)
        .unwrap_or(TaskState::Queued);
    Accepted {
        id,
        service_id: service.clone(),
        state,
        duplicate: true,
    }
}

/// Every required skill must be one of the tenant's (by name, case-insensitively); the
/// names are answered as the tenant spells them, which is how agents' skills are named too.
async fn canonical_skills(
    kernel: &Kernel,
    tenant: &Guid,
    skills: Vec<RequiredSkill>,
) -> Result<Vec<RequiredSkill>, TaskError> {
    if skills.is_empty() {
        return Ok(skills);
    }
    let known: Vec<String> = kernel
        .table()
        .query_prefix(keys::tenant_pk(tenant), "SKILL#")
        .await?
        .into_iter()
        .filter_map(|item| item.get("name").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    skills
        .into_iter()
        .enumerate()
        .map(|(i, skill)| {
            let name = known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(&skill.skill))
                .ok_or_else(|| {
                    Error::field(
                        &format!("requiredSkills[{i}].skill"),
                        &format!(
                            "{:?} is not a skill of this tenant",
                            untrusted(&skill.skill, 64)
                        ),
                    )
                })?;
            Ok(RequiredSkill {
                skill: name.clone(),
                min_level: skill.min_level,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;

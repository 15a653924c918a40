//! Where tasks live in the single table, and the writes that move them. Every change of a
//! task is one transaction: the task item (conditional on the version read), its queue or
//! work entry, the service's counters, the agents' state items (conditional on what the
//! decision saw) and, when the task ends, its call detail record. A crash between two
//! transactions therefore leaves a state that is whole, and the next routing pass or sweep
//! carries it on from there.
//!
//! Keys:
//! - `TASK#<tid>#<taskId>` / `TASK`: the task; `DECISION#<n>`: its decision traces.
//! - `QUEUE#<tid>#<serviceId>` / `Q#<255-priority>#<arrival ms>#<taskId>`: a waiting task,
//!   in queue order; `W#<taskId>`: a task held by an agent (assigned or in wrap-up).
//! - `ROUTING#<shard>` / `<tid>#<serviceId>`: a service with tasks, and its counters
//!   (`waiting` inbound tasks, `working` tasks, `outbound` tasks scheduled or in progress);
//!   the sweep visits these and deletes one only when all are zero.
//! - `IDEMPOTENCY#<tid>#<serviceId>` / `<key>`: the task a retried submission made.
//! - `CDR#<tid>#<day>` / `<ended at>#<taskId>`: call detail records, by day of their end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use stratus_kernel::table::{
    from_item, key, keys, n, not_exists, s, sort_key, to_item, Change, Expr, Item, Meaning,
    StateChange, Table,
};
use stratus_kernel::{Error, Guid};

use crate::model::{Direction, Task};
use crate::TaskError;

pub const TASK_SK: &str = "TASK";
pub const DECISION_PREFIX: &str = "DECISION#";
const WAITING_PREFIX: &str = "Q#";
const WORK_PREFIX: &str = "W#";
/// Partitions of the list of services with tasks (spread so no one key takes every write).
pub const ROUTING_SHARDS: u32 = 8;
/// How long a finished task (and its traces) can be read back.
const TASK_RETENTION_DAYS: i64 = 30;
/// How long call detail records are kept.
pub const CDR_RETENTION_DAYS: i64 = 365;
/// How long a submission's idempotency key is remembered.
const IDEMPOTENCY_HOURS: i64 = 24;

pub fn task_pk(tenant: &Guid, task: &Guid) -> String {
    format!("TASK#{tenant}#{task}")
}
pub fn decision_sk(n: u32) -> String {
    format!("{DECISION_PREFIX}{n:06}")
}
pub fn queue_pk(tenant: &Guid, service: &Guid) -> String {
    format!("QUEUE#{tenant}#{service}")
}
/// Queue order in the key itself: priority (higher first), then arrival.
pub fn waiting_sk(task: &Task) -> String {
    format!(
        "{WAITING_PREFIX}{:03}#{:015}#{}",
        255 - u32::from(task.priority),
        task.arrived_at_ms.max(0),
        task.id
    )
}
fn work_sk(task: &Guid) -> String {
    format!("{WORK_PREFIX}{task}")
}
fn shard_of(service: &Guid) -> u32 {
    service
        .as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % ROUTING_SHARDS
}
pub fn routing_pk(shard: u32) -> String {
    format!("ROUTING#{shard}")
}
fn routing_key(tenant: &Guid, service: &Guid) -> Item {
    key(routing_pk(shard_of(service)), format!("{tenant}#{service}"))
}
fn idempotency_key(tenant: &Guid, service: &Guid, given: &str) -> Item {
    key(format!("IDEMPOTENCY#{tenant}#{service}"), given.to_owned())
}
pub fn cdr_pk(tenant: &Guid, day: &str) -> String {
    format!("CDR#{tenant}#{day}")
}

/// The tenant and service of a `QUEUE#` partition key.
pub fn parse_queue_pk(pk: &str) -> Option<(Guid, Guid)> {
    let (tenant, service) = pk.strip_prefix("QUEUE#")?.split_once('#')?;
    Some((Guid::parse(tenant)?, Guid::parse(service)?))
}

/// A service with tasks, as the sweep lists it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActiveService {
    pub tenant: Guid,
    pub service: Guid,
}

fn epoch_seconds_in(days: i64) -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp() + days * 86_400
}

/// Counts transactions so that a test can make the process "crash" after any of them.
pub struct Writes {
    left: Option<AtomicI64>,
}

impl Writes {
    pub fn unlimited() -> Writes {
        Writes { left: None }
    }

    /// Every transaction after the first `n` fails as a crash would, before it is sent.
    pub fn crash_after(n: i64) -> Writes {
        Writes {
            left: Some(AtomicI64::new(n)),
        }
    }

    fn spend(&self) -> Result<(), Error> {
        match &self.left {
            Some(left) if left.fetch_sub(1, Ordering::SeqCst) <= 0 => {
                Err(Error::internal("injected crash before a write"))
            }
            _ => Ok(()),
        }
    }
}

/// One transaction moving tasks, being put together. Queue entries and service counters
/// are gathered and written once each at commit: a transaction may touch an item only once,
/// and one move can take a task out of a queue and put it back (or move two counters of one
/// service).
pub struct Tx {
    change: Change<TaskError>,
    tenant: Guid,
    entries: BTreeMap<(String, String), Option<Guid>>,
    counters: BTreeMap<Guid, Counters>,
}

#[derive(Default)]
struct Counters {
    waiting: i64,
    working: i64,
    outbound: i64,
    max_waiting: Option<u32>,
    outbound_limit: Option<u32>,
}

impl Tx {
    pub fn new(table: &Table, tenant: &Guid) -> Tx {
        Tx {
            change: Change::on(table),
            tenant: tenant.clone(),
            entries: BTreeMap::new(),
            counters: BTreeMap::new(),
        }
    }

    pub fn tenant(&self) -> &Guid {
        &self.tenant
    }

    pub async fn commit(mut self, table: &Table, writes: &Writes) -> Result<(), TaskError> {
        for ((pk, sk), task) in std::mem::take(&mut self.entries) {
            match task {
                Some(task) => {
                    self.change
                        .put(item_with(pk, sk, &task), None, Meaning::Unconditional)?
                }
                None => self
                    .change
                    .delete(key(pk, sk), None, Meaning::Unconditional)?,
            }
        }
        for (service, counters) in std::mem::take(&mut self.counters) {
            self.write_counters(&service, &counters)?;
        }
        writes.spend()?;
        table.commit(self.change).await
    }

    fn write_counters(&mut self, service: &Guid, c: &Counters) -> Result<(), Error> {
        let mut adds = Vec::new();
        let mut expr = Expr::new()
            .value(":tid", s(self.tenant.as_str()))
            .value(":sid", s(service.as_str()));
        for (name, delta) in [
            ("waiting", c.waiting),
            ("working", c.working),
            ("outbound", c.outbound),
        ] {
            if delta != 0 {
                adds.push(format!("{name} :{name}"));
                expr = expr.value(&format!(":{name}"), n(delta));
            }
        }
        let mut conditions = Vec::new();
        let mut meaning = Meaning::Unconditional;
        if let Some(limit) = c.outbound_limit {
            conditions.push("(attribute_not_exists(outbound) OR outbound < :limit)");
            expr = expr.value(":limit", n(limit));
            meaning = Meaning::Fails(TaskError::OutboundLimit {
                service: service.to_string(),
                limit,
            });
        }
        if let Some(max) = c.max_waiting {
            conditions.push("(attribute_not_exists(waiting) OR waiting < :max)");
            expr = expr.value(":max", n(max));
            meaning = Meaning::Fails(TaskError::QueueFull(service.to_string()));
        }
        if adds.is_empty() && conditions.is_empty() {
            return Ok(());
        }
        let add = if adds.is_empty() {
            String::new()
        } else {
            format!("ADD {} ", adds.join(", "))
        };
        self.change.update(
            routing_key(&self.tenant, service),
            &format!("{add}SET tenantId = :tid, serviceId = :sid"),
            &conditions.join(" AND "),
            expr,
            meaning,
        )
    }

    /// Creates `task`.
    pub fn create_task(&mut self, task: &Task) -> Result<(), Error> {
        let (cond, expr) = not_exists();
        self.change.put(
            self.task_item(task)?,
            Some((cond, expr)),
            Meaning::Fails(TaskError::TaskChanged(task.id.to_string())),
        )
    }

    /// Replaces `task` as read at `read_version` (`task.version` is the next one).
    pub fn replace_task(&mut self, task: &Task, read_version: u64) -> Result<(), Error> {
        self.change.put(
            self.task_item(task)?,
            Some(("version = :v", Expr::new().value(":v", n(read_version)))),
            Meaning::Fails(TaskError::TaskChanged(task.id.to_string())),
        )
    }

    fn task_item(&self, task: &Task) -> Result<Item, Error> {
        let mut item = to_item(task_pk(&self.tenant, &task.id), TASK_SK, task)?;
        if task.state.is_final() {
            item.insert(
                keys::EXPIRES_AT.into(),
                n(epoch_seconds_in(TASK_RETENTION_DAYS)),
            );
        }
        Ok(item)
    }

    /// A decision trace of the task, numbered `number`.
    pub fn decision<T: Serialize>(
        &mut self,
        task: &Guid,
        number: u32,
        trace: &T,
    ) -> Result<(), Error> {
        let mut item = to_item(task_pk(&self.tenant, task), decision_sk(number), trace)?;
        item.insert(
            keys::EXPIRES_AT.into(),
            n(epoch_seconds_in(TASK_RETENTION_DAYS)),
        );
        self.change.put(item, None, Meaning::Unconditional)
    }

    fn counters_of(&mut self, service: &Guid) -> &mut Counters {
        self.counters.entry(service.clone()).or_default()
    }

    /// Puts the task in its service's queue; an inbound task only while fewer than
    /// `max_waiting` wait (else the transaction fails with [`TaskError::QueueFull`]).
    pub fn enqueue(&mut self, task: &Task, max_waiting: Option<u32>) -> Result<(), Error> {
        self.entries.insert(
            (queue_pk(&self.tenant, &task.service_id), waiting_sk(task)),
            Some(task.id.clone()),
        );
        if task.direction == Direction::Inbound {
            let counters = self.counters_of(&task.service_id);
            counters.waiting += 1;
            if max_waiting.is_some() {
                counters.max_waiting = max_waiting;
            }
        }
        Ok(())
    }

    /// Takes the task out of its service's queue.
    pub fn dequeue(&mut self, task: &Task) -> Result<(), Error> {
        self.entries.insert(
            (queue_pk(&self.tenant, &task.service_id), waiting_sk(task)),
            None,
        );
        if task.direction == Direction::Inbound {
            self.counters_of(&task.service_id).waiting -= 1;
        }
        Ok(())
    }

    /// Records the task as held by an agent (the sweep ends its wrap-up from here).
    pub fn start_work(&mut self, task: &Task) -> Result<(), Error> {
        self.entries.insert(
            (queue_pk(&self.tenant, &task.service_id), work_sk(&task.id)),
            Some(task.id.clone()),
        );
        self.counters_of(&task.service_id).working += 1;
        Ok(())
    }

    pub fn end_work(&mut self, task: &Task) -> Result<(), Error> {
        self.entries.insert(
            (queue_pk(&self.tenant, &task.service_id), work_sk(&task.id)),
            None,
        );
        self.counters_of(&task.service_id).working -= 1;
        Ok(())
    }

    /// One more outbound task of the service, only while fewer than `limit` are scheduled
    /// or in progress (`u32::MAX`: a task moved in from another service, never refused).
    pub fn take_outbound_slot(&mut self, service: &Guid, limit: u32) -> Result<(), Error> {
        let counters = self.counters_of(service);
        counters.outbound += 1;
        if limit != u32::MAX {
            counters.outbound_limit = Some(limit);
        }
        Ok(())
    }

    pub fn free_outbound_slot(&mut self, service: &Guid) -> Result<(), Error> {
        self.counters_of(service).outbound -= 1;
        Ok(())
    }

    /// Remembers which task a submission's idempotency key made; fails with
    /// [`TaskError::Duplicate`] when the key is already taken.
    pub fn idempotency(&mut self, service: &Guid, given: &str, task: &Guid) -> Result<(), Error> {
        let mut item = idempotency_key(&self.tenant, service, given);
        item.insert("taskId".into(), s(task.as_str()));
        item.insert(
            keys::EXPIRES_AT.into(),
            n(epoch_seconds_in(0) + IDEMPOTENCY_HOURS * 3_600),
        );
        let (cond, expr) = not_exists();
        self.change.put(
            item,
            Some((cond, expr)),
            Meaning::Fails(TaskError::Duplicate(given.to_owned())),
        )
    }

    /// An update of an agent's state item.
    pub fn agent(
        &mut self,
        agent: &Guid,
        update: &str,
        condition: &str,
        expr: Expr,
        meaning: Meaning<TaskError>,
    ) -> Result<(), Error> {
        self.change.update(
            stratus_kernel::table::agent_state_key(&self.tenant, agent),
            update,
            condition,
            expr,
            meaning,
        )
    }

    pub fn history(&mut self, entry: &StateChange) -> Result<(), Error> {
        let tenant = self.tenant.clone();
        self.change.state_change(&tenant, entry)
    }

    /// Any other item (a call detail record, a not-available reason).
    pub fn put(&mut self, item: Item) -> Result<(), Error> {
        self.change.put(item, None, Meaning::Unconditional)
    }

    pub fn update(&mut self, key: Item, update: &str, expr: Expr) -> Result<(), Error> {
        self.change
            .update(key, update, "", expr, Meaning::Unconditional)
    }
}

fn item_with(pk: String, sk: String, task: &Guid) -> Item {
    let mut item = key(pk, sk);
    item.insert("taskId".into(), s(task.as_str()));
    item
}

/// A task as read, and the version its replacement is conditional on.
pub struct ReadTask {
    pub task: Task,
    pub version: u64,
}

pub async fn read_task(table: &Table, tenant: &Guid, id: &Guid) -> Result<Option<ReadTask>, Error> {
    Ok(table
        .get(key(task_pk(tenant, id), TASK_SK))
        .await?
        .map(from_item::<Task>)
        .transpose()?
        .map(|task| ReadTask {
            version: task.version,
            task,
        }))
}

/// The task with its decision traces (one query of its partition).
pub async fn read_task_with_traces(
    table: &Table,
    tenant: &Guid,
    id: &Guid,
) -> Result<Option<(Task, Vec<serde_json::Value>)>, Error> {
    let items = table.query_prefix(task_pk(tenant, id), "").await?;
    let mut task = None;
    let mut traces = Vec::new();
    for item in items {
        if sort_key(&item) == TASK_SK {
            task = Some(from_item::<Task>(item)?);
        } else if sort_key(&item).starts_with(DECISION_PREFIX) {
            let mut trace: serde_json::Map<String, serde_json::Value> = from_item(item)?;
            for k in [keys::PK, keys::SK, keys::EXPIRES_AT] {
                trace.remove(k);
            }
            traces.push(serde_json::Value::Object(trace));
        }
    }
    Ok(task.map(|task| (task, traces)))
}

/// The ids of the tasks waiting in a service's queue (in queue order) and of those held by
/// its agents.
pub async fn queue_of(
    table: &Table,
    tenant: &Guid,
    service: &Guid,
) -> Result<(Vec<Guid>, Vec<Guid>), Error> {
    let items = table.query_prefix(queue_pk(tenant, service), "").await?;
    let mut waiting = Vec::new();
    let mut working = Vec::new();
    for item in &items {
        let id = item
            .get("taskId")
            .and_then(|v| v.as_s().ok())
            .and_then(|t| Guid::parse(t));
        let Some(id) = id else { continue };
        if sort_key(item).starts_with(WAITING_PREFIX) {
            waiting.push(id);
        } else if sort_key(item).starts_with(WORK_PREFIX) {
            working.push(id);
        }
    }
    Ok((waiting, working))
}

/// The tasks with these ids that exist, in the order asked.
pub async fn read_tasks(table: &Table, tenant: &Guid, ids: &[Guid]) -> Result<Vec<Task>, Error> {
    let keys = ids
        .iter()
        .map(|id| key(task_pk(tenant, id), TASK_SK))
        .collect();
    let mut found: std::collections::HashMap<Guid, Task> = table
        .batch_get(keys)
        .await?
        .into_iter()
        .map(|item| from_item::<Task>(item).map(|t| (t.id.clone(), t)))
        .collect::<Result<_, _>>()?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The task a submission's idempotency key made, if it was used.
pub async fn idempotent_task(
    table: &Table,
    tenant: &Guid,
    service: &Guid,
    given: &str,
) -> Result<Option<Guid>, Error> {
    Ok(table
        .get(idempotency_key(tenant, service, given))
        .await?
        .and_then(|item| {
            item.get("taskId")
                .and_then(|v| v.as_s().ok())
                .and_then(|t| Guid::parse(t))
        }))
}

/// The services with tasks, as of now (one query per shard).
pub async fn active_services(table: &Table) -> Result<Vec<ActiveService>, Error> {
    let shards = (0..ROUTING_SHARDS).map(|shard| table.query_prefix(routing_pk(shard), ""));
    let mut found = Vec::new();
    for items in futures::future::try_join_all(shards).await? {
        for item in items {
            let text = |name: &str| {
                item.get(name)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|t| Guid::parse(t))
            };
            if let (Some(tenant), Some(service)) = (text("tenantId"), text("serviceId")) {
                found.push(ActiveService { tenant, service });
            }
        }
    }
    Ok(found)
}

/// Forgets a service that has no tasks left; a task arriving meanwhile moved a counter, and
/// then the service stays listed.
pub async fn forget_idle_service(table: &Table, active: &ActiveService) -> Result<(), Error> {
    let zero = AttributeValue::N("0".into());
    let result = table
        .client()
        .delete_item()
        .table_name(table.name())
        .set_key(Some(routing_key(&active.tenant, &active.service)))
        .condition_expression(
            "(attribute_not_exists(waiting) OR waiting = :z) AND (attribute_not_exists(working) \
             OR working = :z) AND (attribute_not_exists(outbound) OR outbound = :z)",
        )
        .expression_attribute_values(":z", zero)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(Error::internal_from("forgetting an idle service", e)),
    }
}

/// What live routing keeps on an agent's state item (defaults when there is none).
pub async fn read_agent_load(
    table: &Table,
    tenant: &Guid,
    agent: &Guid,
) -> Result<crate::model::AgentLoad, Error> {
    Ok(table
        .get(stratus_kernel::table::agent_state_key(tenant, agent))
        .await?
        .map(from_item)
        .transpose()?
        .unwrap_or_default())
}

/// A service's counters as stored: inbound tasks waiting, tasks held, outbound tasks.
pub async fn service_counters(
    table: &Table,
    tenant: &Guid,
    service: &Guid,
) -> Result<(i64, i64, i64), Error> {
    let item = table
        .get(routing_key(tenant, service))
        .await?
        .unwrap_or_default();
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)
    };
    Ok((number("waiting"), number("working"), number("outbound")))
}

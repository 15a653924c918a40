//! The routing pass of one service: its timers first (wrap-ups that ended, offers that rang
//! out, tasks past the queue timeout), then each waiting task in queue order is decided
//! with the agents who may take it now, and the decision is carried out with conditional
//! writes. Two passes of one service may run at once (a stream event and the sweep): every
//! write is conditional on what its pass read, so one of them wins and the other skips the
//! task or the agent — no agent is ever given two offers, no task offered twice.

pub mod decide;
mod moves;
mod timers;
use moves::{destination_named, write_trace};
pub use moves::{destination_of, overflow_task, service_destination};
pub use timers::end_wrap_up;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Value};
use stratus_kernel::table::{from_item, keys, n, s, Expr, Meaning};
use stratus_kernel::{Guid, Kernel};
use stratus_services::distribution::DistributionSettings;
use stratus_services::service::Service;
use stratus_services::store::ServiceStore;
use stratus_services::{member_eligibility, service_roster, Roster};

use crate::flow::Now;
use crate::model::{AgentLoad, Offer, OfferState, Outcome, Task, TaskState};
use crate::shadow::{agreement, ShadowComparison};
use crate::store::{queue_of, read_tasks, Tx, Writes};
use crate::TaskError;
use decide::{
    ask_policy, bounded_members, candidate_spec, consider, Answer, MemberTrace, MemberView,
    OmittedMembers, PolicyTrace, MAX_TRACE_MEMBER_BYTES,
};

/// Most agents rung at once when a policy asks for simultaneous ringing.
const MAX_SIMULTANEOUS: usize = 10;
/// Agents tried in turn for one decision when the first ones changed meanwhile.
const MAX_OFFER_ATTEMPTS: usize = 10;

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub offers: u32,
    pub expired: u32,
    pub waits: u32,
    pub overflowed: u32,
    pub finished: u32,
    /// Writes that lost a race (another pass or an agent got there first).
    pub raced: u32,
    pub plugin_failures: u32,
    /// The service had no tasks at all.
    #[serde(skip)]
    pub idle: bool,
}

impl PassReport {
    /// Counts a write: applied (in the counter `applied` picks), or lost to another writer
    /// (which leaves the task or agent to the pass that writer's change triggers).
    pub(crate) fn tally(
        &mut self,
        written: Result<(), TaskError>,
        applied: fn(&mut PassReport) -> &mut u32,
    ) -> Result<(), TaskError> {
        match written {
            Ok(()) => {
                *applied(self) += 1;
                Ok(())
            }
            Err(TaskError::TaskChanged(_) | TaskError::AgentChanged(_)) => {
                self.raced += 1;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub fn add(&mut self, other: &PassReport) {
        self.offers += other.offers;
        self.expired += other.expired;
        self.waits += other.waits;
        self.overflowed += other.overflowed;
        self.finished += other.finished;
        self.raced += other.raced;
        self.plugin_failures += other.plugin_failures;
    }
}

/// A decision as stored with its task and answered by get-task.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionTrace {
    pub number: u32,
    pub at: String,
    pub service_id: Guid,
    pub waited_seconds: u32,
    pub members: Vec<MemberTrace>,
    /// Members left out of `members` so that the trace fits its item (large services).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted_members: Option<OmittedMembers>,
    pub candidates: usize,
    pub policy: PolicyTrace,
    /// What was done: the offer made (to whom), the wait, or the overflow.
    pub action: Value,
    /// The shadow policy's answer on the same input, and how it compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<PolicyTrace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow_comparison: Option<ShadowComparison>,
    /// Agents the policy chose whose state changed before the offer could be written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_meanwhile: Vec<Guid>,
}

/// The pass's view of the service and its members.
struct Pass<'a> {
    kernel: &'a Kernel,
    tenant: &'a Guid,
    service: &'a Service,
    settings: DistributionSettings,
    roster: Roster,
    loads: HashMap<Guid, AgentLoad>,
    skill_names: BTreeMap<Guid, String>,
    writes: &'a Writes,
    now: Now,
    report: PassReport,
}

/// Routes one service now.
pub async fn route_service(
    kernel: &Kernel,
    tenant: &Guid,
    service_id: &Guid,
    writes: &Writes,
) -> Result<PassReport, TaskError> {
    let table = kernel.table();
    let (service, (waiting, working)) = futures::try_join!(
        table.service(tenant, service_id),
        queue_of(table, tenant, service_id)
    )?;
    let mut report = PassReport::default();
    if waiting.is_empty() && working.is_empty() {
        report.idle = true;
        return Ok(report);
    }
    let ids: Vec<Guid> = waiting.iter().chain(&working).cloned().collect();
    let tasks = read_tasks(table, tenant, &ids).await?;
    let now = Now::current();
    let Some(service) = service.map(|v| v.service) else {
        return timers::discard_all(table, tenant, tasks, writes, &now).await;
    };
    for task in tasks.iter().filter(|t| t.state == TaskState::WrapUp) {
        if task.wrap_up_until_ms.is_some_and(|until| until <= now.ms) {
            timers::end_wrap_up(table, tenant, task, writes, &now, &mut report).await?;
        }
    }
    let waiting: Vec<Task> = tasks.into_iter().filter(|t| t.state.is_waiting()).collect();
    if waiting.is_empty() {
        return Ok(report);
    }
    let (roster, skills) = futures::try_join!(
        async {
            service_roster(kernel, tenant, &service)
                .await
                .map_err(TaskError::from)
        },
        async {
            table
                .query_prefix(keys::tenant_pk(tenant), "SKILL#")
                .await
                .map_err(TaskError::from)
        },
    )?;
    let skill_names = skills
        .into_iter()
        .filter_map(|item| from_item::<Value>(item).ok())
        .filter_map(|v| {
            let id = Guid::parse(v.get("id")?.as_str()?)?;
            Some((id, v.get("name")?.as_str()?.to_owned()))
        })
        .collect();
    let loads = roster
        .members
        .iter()
        .map(|m| {
            let load = m
                .state_item
                .clone()
                .and_then(|item| from_item::<AgentLoad>(item).ok())
                .unwrap_or_default();
            (m.agent.o365_id.clone(), load)
        })
        .collect();
    let mut pass = Pass {
        kernel,
        tenant,
        settings: service.distribution.clone().unwrap_or_default(),
        service: &service,
        roster,
        loads,
        skill_names,
        writes,
        // Taken after the reads: an offer is never dated before the state it was decided on.
        now: Now::current(),
        report,
    };
    for mut task in waiting {
        if !pass.expire_offers(&mut task).await? {
            continue;
        }
        if task.state != TaskState::Queued {
            continue;
        }
        let timeout_ms = i64::from(pass.settings.queue_timeout_seconds) * 1_000;
        if pass.now.ms - task.queued_at_ms >= timeout_ms {
            pass.overflow(task, None, "queue timeout".into(), Outcome::TimedOut, None)
                .await?;
            continue;
        }
        if task.not_before_ms.is_some_and(|t| t > pass.now.ms) {
            continue;
        }
        pass.decide(task).await?;
    }
    Ok(pass.report)
}

impl Pass<'_> {
    /// The agent's presence and duty as this pass read them (empty when it has none).
    fn state_of(&self, agent: &Guid) -> stratus_kernel::table::AgentState {
        self.roster
            .members
            .iter()
            .find(|m| &m.agent.o365_id == agent)
            .and_then(|m| m.state.clone())
            .unwrap_or_default()
    }

    fn member_views(&self) -> Vec<MemberView<'_>> {
        let cx = self.roster.context(self.service);
        self.roster
            .members
            .iter()
            .map(|m| MemberView {
                id: &m.agent.o365_id,
                user: m.user.as_ref(),
                state: m.state.as_ref(),
                ineligible: member_eligibility(&cx, &m.agent, m.user.as_ref(), m.state.as_ref()),
                load: self.loads.get(&m.agent.o365_id).unwrap_or(&EMPTY_LOAD),
            })
            .collect()
    }

    /// Decides `task` and carries the decision out.
    async fn decide(&mut self, task: Task) -> Result<(), TaskError> {
        let policy = self.settings.policy.clone();
        let views = self.member_views();
        let members = consider(
            &task,
            &views,
            &self.skill_names,
            self.settings.concurrent_chats_per_agent,
            i64::from(self.settings.ring_timeout_seconds) * 1_000,
            policy.is_none(),
            self.now.ms,
        );
        let candidates: Vec<_> = views
            .iter()
            .zip(&members)
            .filter(|(_, trace)| trace.candidate)
            .map(|(view, _)| candidate_spec(view, &self.skill_names, &self.now))
            .collect();
        drop(views);
        let (answer, policy_trace) = ask_policy(
            self.kernel,
            self.tenant,
            policy.as_ref(),
            self.settings.time_zone.as_deref(),
            &task,
            &candidates,
            &self.now,
        )
        .await;
        let shadow = match &self.settings.shadow_policy {
            Some(shadow) => {
                let (shadow_answer, shadow_trace) = ask_policy(
                    self.kernel,
                    self.tenant,
                    Some(shadow),
                    self.settings.time_zone.as_deref(),
                    &task,
                    &candidates,
                    &self.now,
                )
                .await;
                let (agrees, first_choice_agrees) = agreement(&answer, &shadow_answer);
                let comparison = ShadowComparison {
                    plugin: shadow.plugin.clone(),
                    version: shadow.version,
                    agrees,
                    first_choice_agrees,
                    failed: shadow_trace.fell_back,
                };
                Some((shadow_trace, comparison))
            }
            None => None,
        };
        if policy_trace.fell_back {
            self.report.plugin_failures += 1;
            if let Some(p) = &policy {
                count_plugin_failure(self.kernel, self.tenant, &p.plugin, p.version).await;
            }
        }
        let (members, omitted_members) = bounded_members(members, MAX_TRACE_MEMBER_BYTES);
        let mut trace = DecisionTrace {
            number: task.decision_count + 1,
            at: self.now.text.clone(),
            service_id: task.service_id.clone(),
            waited_seconds: decide::task_spec(&task, &self.now).waited_seconds,
            members,
            omitted_members,
            candidates: candidates.len(),
            policy: policy_trace,
            action: Value::Null,
            shadow: shadow.as_ref().map(|(trace, _)| trace.clone()),
            shadow_comparison: shadow.map(|(_, comparison)| comparison),
            changed_meanwhile: Vec::new(),
        };
        match answer {
            // Nobody to offer it to now: the task waits for an agent, and no trace is kept
            // of a decision that changed nothing.
            Answer::Offer { agents, .. } if agents.is_empty() => Ok(()),
            Answer::Offer {
                agents,
                simultaneous,
            } => self.offer(task, agents, simultaneous, trace).await,
            Answer::Wait(seconds) => {
                trace.action = json!({"wait": seconds});
                let mut next = task.clone();
                next.not_before_ms = Some(self.now.ms + i64::from(seconds) * 1_000);
                self.record_decision(&mut next, &trace);
                let mut tx = Tx::new(self.kernel.table(), self.tenant);
                tx.replace_task(&next, task.version)?;
                write_trace(&mut tx, &task.id, &trace)?;
                let written = tx.commit(self.kernel.table(), self.writes).await;
                self.report.tally(written, |r| &mut r.waits)
            }
            Answer::Overflow { reason, target } => {
                self.overflow(task, target, reason, Outcome::Overflowed, Some(trace))
                    .await
            }
        }
    }

    fn record_decision(&self, task: &mut Task, trace: &DecisionTrace) {
        task.decision_count = trace.number;
        task.version += 1;
        if trace.policy.fell_back {
            task.plugin_failures += 1;
        }
    }

    /// Offers `task` to the first of `agents` whose state still is what the decision saw
    /// (or, simultaneous, to all of them that are).
    async fn offer(
        &mut self,
        task: Task,
        agents: Vec<Guid>,
        simultaneous: bool,
        mut trace: DecisionTrace,
    ) -> Result<(), TaskError> {
        let mut remaining: Vec<Guid> = agents;
        for _ in 0..MAX_OFFER_ATTEMPTS {
            let chosen: Vec<Guid> = if simultaneous {
                remaining.iter().take(MAX_SIMULTANEOUS).cloned().collect()
            } else {
                remaining.iter().take(1).cloned().collect()
            };
            if chosen.is_empty() {
                return Ok(());
            }
            trace.action = json!({"offer": {"agents": chosen, "simultaneous": simultaneous}});
            let mut next = task.clone();
            self.record_decision(&mut next, &trace);
            let expires_ms = self.now.ms + i64::from(self.settings.ring_timeout_seconds) * 1_000;
            for agent in &chosen {
                next.offers.push(Offer {
                    agent_id: agent.clone(),
                    state: OfferState::Open,
                    expires_at: crate::flow::rfc3339_of_ms(expires_ms),
                    expires_at_ms: expires_ms,
                    offered_at: self.now.text.clone(),
                    resolved_at: None,
                    resolved_at_ms: None,
                    decision: trace.number,
                });
            }
            next.trim_offers();
            next.state = TaskState::Offered;
            next.not_before_ms = None;
            let mut tx = Tx::new(self.kernel.table(), self.tenant);
            tx.replace_task(&next, task.version)?;
            write_trace(&mut tx, &task.id, &trace)?;
            for agent in &chosen {
                self.offer_agent_write(&mut tx, agent, &next, expires_ms)?;
            }
            match tx.commit(self.kernel.table(), self.writes).await {
                Ok(()) => {
                    self.report.offers += 1;
                    for agent in &chosen {
                        if let Some(load) = self.loads.get_mut(agent) {
                            load.offer_task_id = Some(task.id.clone());
                        }
                    }
                    return Ok(());
                }
                Err(TaskError::AgentChanged(agent)) => {
                    self.report.raced += 1;
                    let agent = Guid::parse(&agent);
                    remaining.retain(|a| Some(a) != agent.as_ref());
                    if let Some(agent) = agent {
                        // Whatever it is now, this pass no longer knows it: leave it to the
                        // pass its change triggers.
                        self.loads.entry(agent.clone()).or_default().offer_task_id =
                            Some(Guid::new_random());
                        trace.changed_meanwhile.push(agent);
                    }
                }
                Err(TaskError::TaskChanged(_)) => {
                    self.report.raced += 1;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The agent's half of an offer: conditional on the capacity the decision saw and on
    /// the presence and duty it read, so an agent whose state moved on is not rung.
    fn offer_agent_write(
        &self,
        tx: &mut Tx,
        agent: &Guid,
        task: &Task,
        expires_ms: i64,
    ) -> Result<(), TaskError> {
        let state = self.state_of(agent);
        let mut condition = String::from(
            "attribute_exists(PK) AND attribute_not_exists(offerTaskId) AND \
             attribute_not_exists(callTaskId) AND (attribute_not_exists(wrapUpUntilMs) OR \
             wrapUpUntilMs <= :now) AND #version = :version",
        );
        let mut expr = Expr::new()
            .name("#version", "version")
            .value(":task", s(task.id.as_str()))
            .value(":expires", n(expires_ms))
            .value(":now", n(self.now.ms))
            .value(":version", n(state.version));
        if task.modality.is_call() {
            condition.push_str(" AND attribute_not_exists(chatTasks)");
        } else {
            condition
                .push_str(" AND (attribute_not_exists(chatTasks) OR size(chatTasks) < :chats)");
            expr = expr.value(":chats", n(self.settings.concurrent_chats_per_agent));
        }
        match state.presence_at {
            Some(at) => {
                condition.push_str(" AND presenceAt = :presenceAt");
                expr = expr.value(":presenceAt", n(at));
            }
            None => condition.push_str(" AND attribute_not_exists(presenceAt)"),
        }
        tx.agent(
            agent,
            "SET offerTaskId = :task, offerExpiresAtMs = :expires, lastOfferedAtMs = :now",
            &condition,
            expr,
            Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
        )?;
        Ok(())
    }

    /// Sends a waiting task on: to the policy's target, else to the service's overflow.
    async fn overflow(
        &mut self,
        task: Task,
        target: Option<String>,
        reason: String,
        outcome: Outcome,
        trace: Option<DecisionTrace>,
    ) -> Result<(), TaskError> {
        let destination = match target {
            Some(target) => destination_named(self.kernel, self.tenant, &target).await?,
            None => destination_of(self.kernel, self.tenant, &self.settings.overflow).await?,
        };
        let result = overflow_task(
            self.kernel,
            self.tenant,
            &task,
            &destination,
            reason,
            outcome,
            trace,
            self.writes,
            &self.now,
        )
        .await;
        self.report.tally(result, |r| &mut r.overflowed)
    }
}

static EMPTY_LOAD: AgentLoad = AgentLoad {
    offer_task_id: None,
    offer_expires_at_ms: None,
    call_task_id: None,
    chat_tasks: Vec::new(),
    wrap_up_task_id: None,
    wrap_up_until_ms: None,
    missed_offers: 0,
    last_offered_at_ms: None,
    last_answered_at_ms: None,
    free_since_ms: None,
    handled_day: None,
    handled_today: 0,
    talk_seconds_today: 0,
};

/// One more failed decision of the plugin version, on its item (best effort: the task's
/// trace has the failure either way).
async fn count_plugin_failure(kernel: &Kernel, tenant: &Guid, plugin: &str, version: u32) {
    let result = kernel
        .table()
        .client()
        .update_item()
        .table_name(kernel.table().name())
        .set_key(Some(stratus_kernel::table::key(
            keys::tenant_pk(tenant),
            keys::plugin_version_sk(plugin, version),
        )))
        .update_expression("ADD decisionFailures :one")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":one", n(1))
        .send()
        .await;
    if let Err(e) = result {
        tracing::warn!(plugin, version, error = %e, "could not count a plugin failure");
    }
}

/// The services an agent serves (the user-side mirrors of its memberships).
pub async fn services_of_agent(
    kernel: &Kernel,
    tenant: &Guid,
    agent: &Guid,
) -> Result<Vec<Guid>, TaskError> {
    let prefix = format!("{}#MEMBER#", keys::user_prefix(agent));
    let items = kernel
        .table()
        .query_prefix(keys::tenant_pk(tenant), &prefix)
        .await?;
    let mut seen = HashSet::new();
    Ok(items
        .iter()
        .filter_map(|item| {
            let sk = stratus_kernel::table::sort_key(item);
            Guid::parse(sk.rsplit('#').next()?)
        })
        .filter(|id| seen.insert(id.clone()))
        .collect())
}

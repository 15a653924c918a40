//! Teams-based services: provisioned from a Microsoft Teams team (`POST
//! /api/admin/services/from-team`) and kept in step with its roster (`POST
//! /api/admin/services/{serviceId}/sync`, and a schedule over every such service). The team's
//! people become users (Teams-synced, in the service's unit) where they are not users yet,
//! and members of the service, active at once (SPEC §4); their team role becomes the
//! membership's portal role; the directory fields Stratus keeps (display name, e-mail)
//! follow Entra ID, the source of truth.
//!
//! Writes go in transactions of at most [`STEPS_PER_CHANGE`] people. The service is written
//! first (with the first of them), and every later transaction conditions on the service's
//! version and moves it on. So a membership never exists without its service, a concurrent
//! delete of the service re-reads the members it has to end, and a roster too big for one
//! transaction that is cut short (a crash, a timeout) leaves a service with part of its
//! people, whom the next sync completes: it plans from what is stored, not from what the
//! interrupted run meant to do.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{json, Value};
use stratus_graph::{GraphClient, GraphError, TeamMember, TeamRole};
use stratus_kernel::audit::{audit_record, AuditRecord};
use stratus_kernel::error::Dependency;
use stratus_kernel::fields::Fields;
use stratus_kernel::organization::validate_name;
use stratus_kernel::table::{keys, Table, VersionedUser};
use stratus_kernel::{Error, Guid, Incoming, Kernel, LicenseType, Problem, User};

use crate::service::{upn, AssignmentType, Service};
use stratus_kernel::settings::MinimumProvisioningRole;

use crate::store::ServiceStore;
use crate::{
    ensure_unit, existing_service, new_service_region, service_id, Agent, PortalRole, ServiceError,
};

type Result<T> = std::result::Result<T, ServiceError>;

/// People per transaction: each takes at most 4 items (user, membership, mirror, agent
/// state), and the transaction also holds the service (or its version bump), its UPN guard,
/// the seat, the Teams registry entry, the presence registry entry and the audit record:
/// 23 × 4 + 6 ≤ 100, DynamoDB's limit.
pub const STEPS_PER_CHANGE: usize = 23;
/// Times a sync re-reads and re-plans after losing a race with another writer.
const MAX_SYNC_ATTEMPTS: u32 = 5;

/// Who asks to provision a service from a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provisioner {
    TenantAdmin,
    /// An owner of the team being provisioned (not admitted by the route yet: it takes
    /// tenant-admin tokens only).
    TeamOwner,
}

/// Whether `who` may provision under the tenant's `setting`: a tenant admin may unless
/// provisioning is disabled; a team owner only when the minimum role is TeamOwner.
pub fn may_provision(setting: MinimumProvisioningRole, who: Provisioner) -> Result<()> {
    match (setting, who) {
        (MinimumProvisioningRole::Disabled, _) => Err(ServiceError::ProvisioningDisabled),
        (MinimumProvisioningRole::TenantAdmin, Provisioner::TeamOwner) => {
            Err(ServiceError::ProvisioningNeedsTenantAdmin)
        }
        _ => Ok(()),
    }
}

/// The tenant's "minimum role allowed to provision" (tenant settings,
/// `serviceProvisioning.minimumRole`).
async fn stored_minimum_role(table: &Table, tenant: &Guid) -> Result<MinimumProvisioningRole> {
    Ok(table
        .tenant_settings(tenant)
        .await?
        .service_provisioning
        .minimum_role)
}

/// One person of a team's roster, as this feature stores them.
#[derive(Clone, Debug, PartialEq)]
pub struct RosterPerson {
    pub o365_id: Guid,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: PortalRole,
}

/// The roster Graph answered, as people Stratus can store: members whose user id is no GUID
/// (none are documented) are left out and logged; a person listed twice counts once, as an
/// owner if either entry says so.
pub fn roster_people(members: &[TeamMember]) -> Vec<RosterPerson> {
    let mut people: BTreeMap<Guid, RosterPerson> = BTreeMap::new();
    for member in members {
        let Some(o365_id) = Guid::parse(&member.user_id) else {
            tracing::warn!(user_id = %member.user_id, "team member without a GUID user id; skipped");
            continue;
        };
        let role = match member.role {
            TeamRole::Owner => PortalRole::Owner,
            TeamRole::Member => PortalRole::Member,
        };
        let person = people.entry(o365_id.clone()).or_insert(RosterPerson {
            o365_id,
            display_name: member.display_name.clone(),
            email: member.email.clone(),
            role,
        });
        if role == PortalRole::Owner {
            person.role = PortalRole::Owner;
        }
    }
    people.into_values().collect()
}

/// One person's change.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A joiner: the user is created (`user: None`, Teams-synced in the service's unit) or
    /// kept, with directory fields refreshed; the membership is stored, active.
    Add {
        person: RosterPerson,
        user: Option<VersionedUser>,
    },
    /// A leaver: the membership ends, the user stays.
    Remove { o365_id: Guid },
    /// A member who stays: new directory fields (`user`, at its read version, already
    /// changed) and/or a new role (`agent`, already changed).
    Update {
        user: Option<VersionedUser>,
        agent: Option<Agent>,
    },
}

/// What a sync does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncPlan {
    pub steps: Vec<Step>,
}

/// The answer of a sync: people added, removed and updated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub added: usize,
    pub removed: usize,
    pub updated: usize,
}

impl SyncPlan {
    pub fn counts(steps: &[Step]) -> SyncCounts {
        let mut counts = SyncCounts::default();
        for step in steps {
            match step {
                Step::Add { .. } => counts.added += 1,
                Step::Remove { .. } => counts.removed += 1,
                Step::Update { .. } => counts.updated += 1,
            }
        }
        counts
    }
}

/// A user's record with the directory fields the roster gives, if they differ.
fn refreshed(user: &VersionedUser, person: &RosterPerson) -> Option<VersionedUser> {
    let differs =
        |stored: &Option<String>, given: &Option<String>| given.is_some() && stored != given;
    if !differs(&user.user.display_name, &person.display_name)
        && !differs(&user.user.email, &person.email)
    {
        return None;
    }
    let mut next = user.clone();
    if person.display_name.is_some() {
        next.user.display_name = person.display_name.clone();
    }
    if person.email.is_some() {
        next.user.email = person.email.clone();
    }
    Some(next)
}

/// The changes that bring `members` (the service's stored memberships) in step with
/// `roster`, given the roster's people who are already users.
pub fn plan_sync(
    roster: &[RosterPerson],
    members: &[Agent],
    users: &HashMap<Guid, VersionedUser>,
) -> SyncPlan {
    let current: HashMap<&Guid, &Agent> = members.iter().map(|a| (&a.o365_id, a)).collect();
    let mut steps = Vec::new();
    for person in roster {
        let user = users.get(&person.o365_id);
        match current.get(&person.o365_id) {
            None => steps.push(Step::Add {
                person: person.clone(),
                user: user.map(|u| refreshed(u, person).unwrap_or_else(|| u.clone())),
            }),
            Some(agent) => {
                let user = user.and_then(|u| refreshed(u, person));
                let agent = (agent.portal_role != Some(person.role)).then(|| Agent {
                    portal_role: Some(person.role),
                    ..(*agent).clone()
                });
                if user.is_some() || agent.is_some() {
                    steps.push(Step::Update { user, agent });
                }
            }
        }
    }
    let in_roster: std::collections::HashSet<&Guid> = roster.iter().map(|p| &p.o365_id).collect();
    for agent in members {
        if !in_roster.contains(&agent.o365_id) {
            steps.push(Step::Remove {
                o365_id: agent.o365_id.clone(),
            });
        }
    }
    SyncPlan { steps }
}

/// A Graph failure as this feature answers it: an unknown team names it (`missing`), an
/// outage or throttling that outlasted its budget is a 503, anything else a 500 whose log
/// keeps the whole chain.
fn graph_failure(error: GraphError, missing: ServiceError) -> ServiceError {
    if error.is_not_found() {
        missing
    } else if error.is_unavailable() {
        Error::unavailable(Dependency::Graph, error.to_string(), Some(Box::new(error))).into()
    } else {
        Error::internal_from("calling Microsoft Graph", error).into()
    }
}

/// A validated `POST /api/admin/services/from-team` body.
#[derive(Clone, Debug, PartialEq)]
pub struct FromTeam {
    pub team_id: Guid,
    pub organization_unit_id: Guid,
    pub upn: String,
    pub name: Option<String>,
    pub region: Option<String>,
}

const FROM_TEAM_FIELDS: [&str; 5] = ["teamId", "organizationUnitId", "upn", "name", "region"];

impl FromTeam {
    pub fn parse(body: &Fields) -> Result<FromTeam> {
        body.reject_unknown(&FROM_TEAM_FIELDS, "a service from a team")?;
        Ok(FromTeam {
            team_id: body.required_guid("teamId")?,
            organization_unit_id: body.required_guid("organizationUnitId")?,
            upn: upn(&body.required_string("upn")?)?,
            name: body
                .string("name")?
                .map(|n| validate_name("name", &n))
                .transpose()?,
            region: body.string("region")?,
        })
    }
}

/// The graph client of the process, or the configuration error it could not be built with.
pub type GraphSetup = std::result::Result<GraphClient, GraphError>;

/// The process's Graph client from `STRATUS_GRAPH_*`, built once at start-up; a missing
/// variable is kept and answered (a 500 whose log names it) on every request, rather than
/// failing the Lambda's start with an opaque error.
pub fn graph_from_env() -> GraphSetup {
    GraphClient::from_env()
}

fn graph_client(setup: &GraphSetup) -> Result<&GraphClient> {
    setup
        .as_ref()
        .map_err(|e| Error::internal_from("configuring Microsoft Graph", e.clone()).into())
}

/// `POST /api/admin/services/from-team`: a Teams-based service named after its team (unless
/// named), with an Advanced Routing seat, whose people are its members, active.
pub async fn create_service_from_team(
    kernel: &Kernel,
    graph: &GraphSetup,
    incoming: Incoming,
) -> Result<Service> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let new = FromTeam::parse(&incoming.body_fields()?)?;
    let table = kernel.table();
    may_provision(
        stored_minimum_role(table, &admin.tenant_id).await?,
        Provisioner::TenantAdmin,
    )?;
    ensure_unit(kernel, &admin.tenant_id, &new.organization_unit_id).await?;
    let graph = graph_client(graph)?;
    let tenant_text = admin.tenant_id.to_string();
    let team_text = new.team_id.to_string();
    let unknown = || ServiceError::TeamNotFound(team_text.clone());
    let team = graph
        .team(&tenant_text, &team_text)
        .await
        .map_err(|e| graph_failure(e, unknown()))?;
    let roster = roster_people(
        &graph
            .team_members(&tenant_text, &team_text)
            .await
            .map_err(|e| graph_failure(e, unknown()))?,
    );
    let name = match &new.name {
        Some(name) => name.clone(),
        None => validate_name("name", &team.display_name).map_err(|_| {
            Error::field(
                "name",
                "is required: the team's display name is not usable as a service name",
            )
        })?,
    };
    let id = Guid::new_random();
    let created: Result<(Service, bool)> = stratus_kernel::retry_on_race(|| async {
        let region = new_service_region(table, &admin.tenant_id, new.region.as_deref()).await?;
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "service.create",
            format!("service:{id}"),
            json!({ "name": name, "licenseType": LicenseType::AdvancedRouting,
                    "assignmentType": AssignmentType::TeamsBased, "region": region,
                    "teamId": new.team_id, "members": roster.len() }),
        );
        let service = Service {
            id: id.clone(),
            name: name.clone(),
            upn: new.upn.clone(),
            pstn: None,
            organization_unit_id: new.organization_unit_id.clone(),
            // The seed: provisioning from a team applies the Advanced Routing licence.
            license_type: LicenseType::AdvancedRouting,
            assignment_type: AssignmentType::TeamsBased,
            region,
            created_at: audit.at.clone(),
            team_id: Some(new.team_id.clone()),
            distribution: Some(crate::DistributionSettings::default()),
        };
        let users = users_of(table, &admin.tenant_id, &roster).await?;
        let mut plan = plan_sync(&roster, &[], &users).steps;
        let rest = plan.split_off(plan.len().min(STEPS_PER_CHANGE));
        table
            .create_teams_service(&admin.tenant_id, &service, &plan, &audit)
            .await?;
        Ok((service, rest.is_empty()))
    })
    .await;
    let (service, complete) = created?;
    if !complete {
        // The rest of a big roster, planned again from what is stored now.
        sync_roster(table, &admin.tenant_id, &admin.actor, &service.id, &roster).await?;
    }
    Ok(service)
}

/// `POST /api/admin/services/{serviceId}/sync`: the roster read again and applied.
pub async fn sync_service(
    kernel: &Kernel,
    graph: &GraphSetup,
    incoming: Incoming,
) -> Result<SyncCounts> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = service_id(&incoming)?;
    sync_one(
        kernel.table(),
        graph_client(graph)?,
        &admin.tenant_id,
        &admin.actor,
        &id,
    )
    .await
}

/// Reads the service's team roster from Graph and applies it.
pub async fn sync_one(
    table: &Table,
    graph: &GraphClient,
    tenant: &Guid,
    actor: &str,
    id: &Guid,
) -> Result<SyncCounts> {
    let service = existing_service(table, tenant, id).await?.service;
    let team_id = match (service.assignment_type, &service.team_id) {
        (AssignmentType::TeamsBased, Some(team)) => team.clone(),
        _ => {
            return Err(ServiceError::NotTeamsBased {
                current: service.assignment_type,
            })
        }
    };
    let gone = || ServiceError::TeamGone(team_id.to_string());
    let members = graph
        .team_members(tenant.as_str(), team_id.as_str())
        .await
        .map_err(|e| graph_failure(e, gone()))?;
    sync_roster(table, tenant, actor, id, &roster_people(&members)).await
}

/// Applies `roster` to the service: plans from what is stored, writes transaction by
/// transaction, and plans again from a fresh read when a write lost a race.
async fn sync_roster(
    table: &Table,
    tenant: &Guid,
    actor: &str,
    id: &Guid,
    roster: &[RosterPerson],
) -> Result<SyncCounts> {
    let mut done = SyncCounts::default();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match sync_roster_once(table, tenant, actor, id, roster, &mut done).await {
            Err(e)
                if e.as_kernel() == Some(&Error::ConcurrentChange)
                    && attempts < MAX_SYNC_ATTEMPTS => {}
            Err(e) => return Err(e),
            Ok(()) => return Ok(done),
        }
    }
}

async fn sync_roster_once(
    table: &Table,
    tenant: &Guid,
    actor: &str,
    id: &Guid,
    roster: &[RosterPerson],
    done: &mut SyncCounts,
) -> Result<()> {
    let mut service = existing_service(table, tenant, id).await?;
    let members = table.agents_of(tenant, id).await?;
    let users = users_of(table, tenant, roster).await?;
    let plan = plan_sync(roster, &members, &users);
    let chunks: Vec<&[Step]> = plan.steps.chunks(STEPS_PER_CHANGE).collect();
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.into_iter().enumerate() {
        let counts = SyncPlan::counts(chunk);
        // One audit record per transaction that changed something: what it changed.
        let audit = audit_record(
            tenant,
            actor,
            "service.sync",
            format!("service:{id}"),
            json!({ "added": counts.added, "removed": counts.removed,
                    "updated": counts.updated, "final": i == last }),
        );
        table.apply_roster(tenant, &service, chunk, &audit).await?;
        service.version += 1;
        done.added += counts.added;
        done.removed += counts.removed;
        done.updated += counts.updated;
    }
    Ok(())
}

/// The roster's people who are users already, by O365 id.
async fn users_of(
    table: &Table,
    tenant: &Guid,
    roster: &[RosterPerson],
) -> std::result::Result<HashMap<Guid, VersionedUser>, Error> {
    let mut users = HashMap::new();
    // BatchGetItem takes at most 100 keys.
    for chunk in roster.chunks(100) {
        let keys = chunk
            .iter()
            .map(|p| stratus_kernel::table::key(keys::tenant_pk(tenant), keys::user_sk(&p.o365_id)))
            .collect();
        for item in table.batch_get(keys).await? {
            let user = VersionedUser::from_item(item)?;
            users.insert(user.user.o365_id.clone(), user);
        }
    }
    Ok(users)
}

/// A new Teams-synced user for a roster person, in the service's unit.
pub(crate) fn new_user(person: &RosterPerson, unit: &Guid) -> User {
    let mut user = User::teams_synced(person.o365_id.clone(), unit.clone());
    user.display_name = person.display_name.clone();
    user.email = person.email.clone();
    user
}

/// A membership of a Teams-based service: active from the start (SPEC §4).
pub(crate) fn membership(service: &Guid, person: &RosterPerson, at: &AuditRecord) -> Agent {
    Agent {
        service_id: service.clone(),
        o365_id: person.o365_id.clone(),
        active: true,
        added_at: at.at.clone(),
        active_since: None,
        portal_role: Some(person.role),
    }
}

/// What the scheduled sync answers (the invocation's result, and its log line).
#[derive(Debug, Default, Serialize)]
pub struct ScheduledSync {
    pub services: usize,
    pub failed: usize,
    #[serde(flatten)]
    pub counts: SyncCounts,
}

/// The scheduled sync: every Teams-based service (or those of the tenants the event names
/// in `tenantIds`, for an operator's run), one after another; a service that fails is logged
/// and counted, and the others still sync.
pub async fn sync_teams_services(
    table: &Table,
    graph: &GraphSetup,
    event: &Value,
) -> Result<ScheduledSync> {
    let graph = graph_client(graph)?;
    let only: Option<Vec<Guid>> = event.get("tenantIds").and_then(Value::as_array).map(|ids| {
        ids.iter()
            .filter_map(|v| v.as_str().and_then(Guid::parse))
            .collect()
    });
    let mut answer = ScheduledSync::default();
    for (tenant, service) in table.teams_services().await? {
        if only.as_ref().is_some_and(|only| !only.contains(&tenant)) {
            continue;
        }
        answer.services += 1;
        match sync_one(table, graph, &tenant, "system:teams-sync", &service).await {
            Ok(counts) => {
                answer.counts.added += counts.added;
                answer.counts.removed += counts.removed;
                answer.counts.updated += counts.updated;
            }
            // Deleted since it was listed: nothing to sync.
            Err(ServiceError::NotFound(_)) => answer.services -= 1,
            Err(error) => {
                answer.failed += 1;
                tracing::warn!(%tenant, %service, error = %stratus_kernel::error::chain(&error),
                               "scheduled roster sync of a service failed");
            }
        }
    }
    tracing::info!(
        services = answer.services,
        failed = answer.failed,
        added = answer.counts.added,
        removed = answer.counts.removed,
        updated = answer.counts.updated,
        "scheduled roster sync done"
    );
    Ok(answer)
}

#[cfg(test)]
mod tests;

//! How the services feature's items look in the table (a service, its UPN guard, the Teams
//! registry) and the pieces its transactions are made of (a membership pair, a roster step,
//! a plugin version's assignment count).

use super::*;
use std::collections::BTreeMap;

/// A service as its item stores it: the answer's fields today, but its own type, so that the
/// API's shape and the stored data's can change apart.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceItem {
    id: Guid,
    name: String,
    upn: String,
    pstn: Option<String>,
    organization_unit_id: Guid,
    license_type: stratus_kernel::LicenseType,
    assignment_type: crate::AssignmentType,
    region: String,
    created_at: String,
    #[serde(default)]
    team_id: Option<Guid>,
    distribution: Option<crate::DistributionSettings>,
}

impl From<&Service> for ServiceItem {
    fn from(s: &Service) -> Self {
        ServiceItem {
            id: s.id.clone(),
            name: s.name.clone(),
            upn: s.upn.clone(),
            pstn: s.pstn.clone(),
            organization_unit_id: s.organization_unit_id.clone(),
            license_type: s.license_type,
            assignment_type: s.assignment_type,
            region: s.region.clone(),
            created_at: s.created_at.clone(),
            team_id: s.team_id.clone(),
            distribution: s.distribution.clone(),
        }
    }
}

impl From<ServiceItem> for Service {
    fn from(i: ServiceItem) -> Self {
        Service {
            id: i.id,
            name: i.name,
            upn: i.upn,
            pstn: i.pstn,
            organization_unit_id: i.organization_unit_id,
            license_type: i.license_type,
            assignment_type: i.assignment_type,
            region: i.region,
            created_at: i.created_at,
            team_id: i.team_id,
            distribution: i.distribution,
        }
    }
}

pub(super) fn service_item(tenant: &Guid, service: &Service, version: u64) -> Result<Item, Error> {
    let stored = ServiceItem::from(service);
    let mut item = to_item(
        keys::tenant_pk(tenant),
        keys::service_sk(&service.id),
        &stored,
    )?;
    item.insert("version".into(), n(version));
    Ok(item)
}

pub(super) fn upn_guard(tenant: &Guid, service: &Service) -> Item {
    let mut item = key(keys::tenant_pk(tenant), keys::service_upn_sk(&service.upn));
    item.insert("serviceId".into(), s(service.id.as_str()));
    item
}

pub(super) fn versioned(item: Item) -> Result<VersionedService, Error> {
    let version = version_of(&item);
    let stored: ServiceItem = from_item(item)?;
    Ok(VersionedService {
        service: stored.into(),
        version,
    })
}

/// The items of a new service: the service, its UPN guard, its licence seat and the tenant's
/// data region (one update of the tenant item).
pub(super) fn add_service_creation(
    c: &mut Change<ServiceError>,
    tenant: &Guid,
    service: &Service,
) -> Result<(), Error> {
    c.put(
        service_item(tenant, service, 1)?,
        Some(not_exists()),
        Meaning::Fails(Error::ConcurrentChange.into()),
    )?;
    c.put(
        upn_guard(tenant, service),
        Some(not_exists()),
        Meaning::Fails(ServiceError::UpnTaken(service.upn.clone())),
    )?;
    // Another first service fixing another region meanwhile: read again, decide again.
    c.seats_in_region(
        tenant,
        &[service.license_type],
        &[],
        Some((&service.region, Error::ConcurrentChange.into())),
    )
}

/// The tenant's entry among those whose agents' presence is subscribed to; put with every
/// change that adds a membership (idempotent: the same item every time).
pub(super) fn register_presence_tenant(
    c: &mut Change<ServiceError>,
    tenant: &Guid,
) -> Result<(), Error> {
    c.put(
        key(
            keys::PRESENCE_TENANTS_PK.to_owned(),
            keys::presence_tenant_sk(tenant),
        ),
        None,
        Meaning::Unconditional,
    )
}

pub(super) fn teams_registry_key(tenant: &Guid, service: &Guid) -> Item {
    key(
        keys::TEAMS_SERVICES_PK.to_owned(),
        keys::teams_service_sk(tenant, service),
    )
}

/// A membership stored twice: under the service and, mirrored, under the user.
pub(super) fn put_membership(
    c: &mut Change<ServiceError>,
    pk: &str,
    agent: &Agent,
    condition: Option<(&str, Expr)>,
) -> Result<(), Error> {
    c.put(
        to_item(
            pk.to_owned(),
            keys::member_sk(&agent.service_id, &agent.o365_id),
            agent,
        )?,
        condition,
        Meaning::Fails(Error::ConcurrentChange.into()),
    )?;
    c.put(
        to_item(
            pk.to_owned(),
            keys::user_membership_sk(&agent.o365_id, &agent.service_id),
            agent,
        )?,
        None,
        Meaning::Unconditional,
    )
}

/// A user record written back at the next version, if still at the one it was read at.
pub(super) fn put_user(
    c: &mut Change<ServiceError>,
    tenant: &Guid,
    user: &VersionedUser,
) -> Result<(), Error> {
    c.put(
        user_item(tenant, &user.user, user.version + 1)?,
        Some(version_is(user.version)),
        Meaning::Fails(Error::ConcurrentChange.into()),
    )
}

/// The items of roster steps. Every condition that fails means another writer got there
/// first: the sync reads again and plans again.
pub(super) fn add_roster_steps(
    c: &mut Change<ServiceError>,
    tenant: &Guid,
    service: &Service,
    steps: &[Step],
    audit: &AuditRecord,
) -> Result<(), Error> {
    let pk = keys::tenant_pk(tenant);
    if steps.iter().any(|s| matches!(s, Step::Add { .. })) {
        register_presence_tenant(c, tenant)?;
    }
    for step in steps {
        match step {
            Step::Add { person, user } => {
                match user {
                    Some(user) => put_user(c, tenant, user)?,
                    None => c.put(
                        user_item(tenant, &new_user(person, &service.organization_unit_id), 1)?,
                        Some(not_exists()),
                        Meaning::Fails(Error::ConcurrentChange.into()),
                    )?,
                }
                put_membership(
                    c,
                    &pk,
                    &membership(&service.id, person, audit),
                    Some(not_exists()),
                )?;
                // Presence and duty are kept from a user's first membership on.
                c.ensure_agent_state(tenant, &person.o365_id)?;
            }
            Step::Remove { o365_id } => {
                c.delete(
                    key(pk.clone(), keys::member_sk(&service.id, o365_id)),
                    None,
                    Meaning::Unconditional,
                )?;
                c.delete(
                    key(pk.clone(), keys::user_membership_sk(o365_id, &service.id)),
                    None,
                    Meaning::Unconditional,
                )?;
            }
            Step::Update { user, agent } => {
                if let Some(user) = user {
                    put_user(c, tenant, user)?;
                }
                if let Some(agent) = agent {
                    put_membership(c, &pk, agent, Some(("attribute_exists(PK)", Expr::new())))?;
                }
            }
        }
    }
    Ok(())
}

/// The plugin version a service's policy names, if any.
/// The plugin versions a service holds (its policy and its shadow policy), with how many
/// times each: the count its assignments add to the version.
pub(super) fn policies_of(service: &Service) -> BTreeMap<(&str, u32), i64> {
    let mut held = BTreeMap::new();
    if let Some(d) = service.distribution.as_ref() {
        for policy in [d.policy.as_ref(), d.shadow_policy.as_ref()]
            .into_iter()
            .flatten()
        {
            *held
                .entry((policy.plugin.as_str(), policy.version))
                .or_insert(0) += 1;
        }
    }
    held
}

/// The assignment counts that move between `before` and `after`, one update per version
/// (a transaction may touch an item once).
pub(super) fn count_assignments(
    c: &mut Change<ServiceError>,
    tenant: &Guid,
    before: Option<&Service>,
    after: Option<&Service>,
) -> Result<(), Error> {
    let mut deltas: BTreeMap<(&str, u32), i64> = BTreeMap::new();
    for (version, n) in after.map(policies_of).unwrap_or_default() {
        *deltas.entry(version).or_insert(0) += n;
    }
    for (version, n) in before.map(policies_of).unwrap_or_default() {
        *deltas.entry(version).or_insert(0) -= n;
    }
    for ((plugin, version), delta) in deltas {
        if delta != 0 {
            count_assignment(c, tenant, plugin, version, delta)?;
        }
    }
    Ok(())
}

/// Moves a plugin version's assignment count; the version must still exist (a concurrent
/// delete of it makes the assignment fail rather than point at nothing).
pub(super) fn count_assignment(
    c: &mut Change<ServiceError>,
    tenant: &Guid,
    plugin: &str,
    version: u32,
    delta: i64,
) -> Result<(), Error> {
    c.update(
        key(
            keys::tenant_pk(tenant),
            keys::plugin_version_sk(plugin, version),
        ),
        "ADD assignments :delta",
        "attribute_exists(PK)",
        Expr::new().value(":delta", n(delta)),
        Meaning::Fails(ServiceError::NoSuchPluginVersion {
            plugin: plugin.to_owned(),
            version,
        }),
    )
}

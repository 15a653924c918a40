//! Services (`/api/admin/services`, tenant admin): the queues calls and tasks are routed to.
//! Create, get, list, update and delete, with the rules of SPEC §4: a user assignment type
//! fixed at creation, the seed's feature matrix for the service's own settings, one seat of
//! the tenant's contingent for the service's licence (taken and freed atomically), a UPN
//! unique per tenant, and the tenant's data region chosen with its first service; and the
//! agents of skill-based services, and the tenant's duty configuration (responsibility
//! profiles, not-available reasons); and the presence rule of who a task may reach
//! ([`presence::presence_allows`]), which eligibility and live routing will share.

mod agents;
pub mod distribution;
mod duty;
mod eligibility;
mod error;
pub mod presence;
pub mod service;
pub mod state;
pub mod store;
pub mod teams;

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::json;
use stratus_kernel::audit::audit_record;
use stratus_kernel::fields::path_guid;
use stratus_kernel::table::Table;
use stratus_kernel::{retry_on_race, Error, Guid, Incoming, Kernel};

pub use agents::{add_service_agent, check_agent, remove_service_agent, Agent, PortalRole};
pub use distribution::{put_service_distribution, DistributionSettings};
pub use duty::{
    create_not_available_reason, create_responsibility_profile, list_not_available_reasons,
    list_responsibility_profiles, NotAvailableReason, ResponsibilityProfile,
};
pub use eligibility::{
    get_service_eligibility, member_eligibility, service_eligibility, service_roster, Context,
    Ineligible, Roster, RosterMember,
};
pub use error::ServiceError;
pub use service::{AssignmentType, NewService, Service, ServicePatch};
pub use state::{put_my_service_active, put_my_state, put_presence, put_user_state};
use store::ServiceStore;
pub use teams::{
    create_service_from_team, graph_from_env, sync_service, sync_teams_services, GraphSetup,
    SyncCounts,
};

type Result<T> = std::result::Result<T, ServiceError>;

/// The data regions a tenant can choose from, unless `STRATUS_REGIONS` names others.
const DEFAULT_REGIONS: [&str; 6] = ["ch-01", "dewe-01", "ukso-01", "aue-01", "euwe-01", "use-01"];
/// Services per page of the list, unless the caller asks for fewer (`limit`, 1 to this).
const MAX_PAGE: i32 = 100;
const DEFAULT_PAGE: i32 = 50;

/// The configured regions: `STRATUS_REGIONS` (comma-separated) or the defaults.
fn regions() -> &'static [String] {
    static REGIONS: OnceLock<Vec<String>> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let configured: Vec<String> = std::env::var("STRATUS_REGIONS")
            .unwrap_or_default()
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        if configured.is_empty() {
            DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect()
        } else {
            configured
        }
    })
}

/// The region a new service gets: the tenant's, which a given region must equal; for the
/// tenant's first service, the given one, which must be configured.
fn region_for(
    tenant_region: Option<&str>,
    given: Option<&str>,
    known: &[String],
) -> Result<String> {
    match (tenant_region, given) {
        (Some(current), Some(given)) if given != current => Err(ServiceError::RegionFixed {
            current: current.to_owned(),
        }),
        (Some(current), _) => Ok(current.to_owned()),
        (None, None) => Err(ServiceError::RegionRequired {
            known: known.to_vec(),
        }),
        (None, Some(given)) if known.iter().any(|r| r == given) => Ok(given.to_owned()),
        (None, Some(given)) => Err(ServiceError::UnknownRegion {
            given: given.to_owned(),
            known: known.to_vec(),
        }),
    }
}

/// The region a new service of the tenant gets ([`region_for`]), from the tenant as stored
/// now.
pub(crate) async fn new_service_region(
    table: &Table,
    tenant: &Guid,
    given: Option<&str>,
) -> Result<String> {
    let stored = table.tenant(tenant).await?.ok_or(Error::InvalidTenantId)?;
    region_for(stored.region.as_deref(), given, regions())
}

async fn ensure_unit(kernel: &Kernel, tenant: &Guid, unit: &Guid) -> Result<()> {
    match kernel.unit(tenant, unit).await? {
        Some(_) => Ok(()),
        None => Err(Error::field(
            "organizationUnitId",
            "is not an organization unit of this tenant",
        )
        .into()),
    }
}

/// The service as read, or 404 naming it.
pub(crate) async fn existing_service(
    table: &Table,
    tenant: &Guid,
    id: &Guid,
) -> Result<store::VersionedService> {
    table
        .service(tenant, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.to_string()))
}

pub(crate) fn service_id(incoming: &Incoming) -> std::result::Result<Guid, Error> {
    path_guid("serviceId", incoming.path_param("serviceId"))
}

/// `POST /api/admin/services`: a skill-based or none service.
pub async fn create_service(kernel: &Kernel, incoming: Incoming) -> Result<Service> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let new = NewService::parse(&incoming.body_fields()?)?;
    ensure_unit(kernel, &admin.tenant_id, &new.organization_unit_id).await?;
    let table = kernel.table();
    let id = Guid::new_random();
    retry_on_race(|| async {
        let region = new_service_region(table, &admin.tenant_id, new.region.as_deref()).await?;
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "service.create",
            format!("service:{id}"),
            json!({ "name": new.name, "licenseType": new.license_type,
                    "assignmentType": new.assignment_type, "region": region }),
        );
        let service = Service {
            id: id.clone(),
            name: new.name.clone(),
            upn: new.upn.clone(),
            pstn: new.pstn.clone(),
            organization_unit_id: new.organization_unit_id.clone(),
            license_type: new.license_type,
            assignment_type: new.assignment_type,
            region,
            created_at: audit.at.clone(),
            team_id: None,
            distribution: (new.assignment_type != AssignmentType::None)
                .then(DistributionSettings::default),
        };
        table
            .create_service(&admin.tenant_id, &service, &audit)
            .await?;
        Ok(service)
    })
    .await
}

/// `GET /api/admin/services/{serviceId}`.
pub async fn get_service(kernel: &Kernel, incoming: Incoming) -> Result<Service> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = service_id(&incoming)?;
    Ok(existing_service(kernel.table(), &admin.tenant_id, &id)
        .await?
        .service)
}

/// One page of services and the cursor of the next (`None` on the last).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceList {
    pub items: Vec<Service>,
    pub next_cursor: Option<Guid>,
}

/// `GET /api/admin/services?limit=&cursor=`: the tenant's services by id, a page at a time.
pub async fn list_services(kernel: &Kernel, incoming: Incoming) -> Result<ServiceList> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let limit = match incoming.query_param("limit") {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "\"limit\" {text:?} must be a whole number from 1 to {MAX_PAGE}"
                ))
            })?,
    };
    let after = incoming
        .query_param("cursor")
        .map(|text| {
            Guid::parse(text).ok_or_else(|| {
                Error::BadRequest(format!(
                    "\"cursor\" {text:?} is not a cursor this list answered"
                ))
            })
        })
        .transpose()?;
    let page = kernel
        .table()
        .services(&admin.tenant_id, after.as_ref(), limit)
        .await?;
    Ok(ServiceList {
        items: page.items,
        next_cursor: page.next_after,
    })
}

/// `PATCH /api/admin/services/{serviceId}`: name (skill-based and none), UPN, PSTN, unit,
/// licence (seats moved atomically); the assignment type and region never change.
pub async fn update_service(kernel: &Kernel, incoming: Incoming) -> Result<Service> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = service_id(&incoming)?;
    let patch = ServicePatch::parse(&incoming.body_fields()?)?;
    if let Some(unit) = &patch.organization_unit_id {
        ensure_unit(kernel, &admin.tenant_id, unit).await?;
    }
    let table = kernel.table();
    retry_on_race(|| async {
        let before = existing_service(table, &admin.tenant_id, &id).await?;
        let after = patch.apply(&before.service)?;
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "service.update",
            format!("service:{id}"),
            json!({ "name": after.name, "upn": after.upn, "licenseType": after.license_type,
                    "organizationUnitId": after.organization_unit_id }),
        );
        table
            .replace_service(&admin.tenant_id, &before, &after, &audit)
            .await?;
        Ok(after)
    })
    .await
}

/// `DELETE /api/admin/services/{serviceId}`: frees its seat and its UPN, and ends its
/// agents' memberships.
pub async fn delete_service(kernel: &Kernel, incoming: Incoming) -> Result<()> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = service_id(&incoming)?;
    let table = kernel.table();
    retry_on_race(|| async {
        let before = existing_service(table, &admin.tenant_id, &id).await?;
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "service.delete",
            format!("service:{id}"),
            json!({ "licenseFreed": before.service.license_type }),
        );
        table
            .delete_service(&admin.tenant_id, &before, &audit)
            .await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn the_first_service_chooses_the_region_and_later_ones_keep_it() {
        let known = known();
        assert_eq!(region_for(None, Some("ch-01"), &known).unwrap(), "ch-01");
        assert!(matches!(
            region_for(None, None, &known),
            Err(ServiceError::RegionRequired { .. })
        ));
        assert!(matches!(
            region_for(None, Some("mars-01"), &known),
            Err(ServiceError::UnknownRegion { .. })
        ));
        assert_eq!(region_for(Some("ch-01"), None, &known).unwrap(), "ch-01");
        assert_eq!(
            region_for(Some("ch-01"), Some("ch-01"), &known).unwrap(),
            "ch-01"
        );
        assert_eq!(
            region_for(Some("ch-01"), Some("use-01"), &known),
            Err(ServiceError::RegionFixed {
                current: "ch-01".into()
            })
        );
    }
}

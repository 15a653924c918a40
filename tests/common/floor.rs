//! A routing floor written straight into the table (no API, no tokens): a tenant, a
//! Teams-based service (its members are on duty while Active) and `n` active, available
//! members; for the storage tests of live routing and the routing bench, which drive the
//! tasks crate directly.

use std::collections::BTreeMap;

use stratus_auth::{AuthConfig, Authenticator};
use stratus_kernel::audit::{audit_record, AuditRecord};
use stratus_kernel::license::LicenseType;
use stratus_kernel::presence::{Activity, Availability, Presence};
use stratus_kernel::table::Table;
use stratus_kernel::{Guid, Kernel, OrganizationUnit, Settings, Tenant, User};
use stratus_provisioning::store::ProvisioningStore;
use stratus_services::distribution::DistributionSettings;
use stratus_services::store::ServiceStore;
use stratus_tasks::model::Modality;
use stratus_tasks::route::{route_service, PassReport};
use stratus_tasks::store::Writes;
use stratus_tasks::submit::{submit, NewTask};
use stratus_tasks::TaskError;
use stratus_tenant_admin::store::TenantAdminStore;

pub const AVAILABLE: Presence = Presence {
    availability: Availability::Available,
    activity: Activity::Available,
};

/// An audit record of the test application.
pub fn audit(tenant: &Guid, action: &str) -> AuditRecord {
    audit_record(
        tenant,
        "app:test",
        action,
        "test".into(),
        serde_json::json!({}),
    )
}

/// A tenant with `contact_center` Contact Center seats and a root unit.
pub async fn tenant(table: &Table, contact_center: u32) -> (Guid, OrganizationUnit) {
    let id = Guid::new_random();
    let root = OrganizationUnit::root(Guid::new_random(), "Root".into());
    let t = Tenant::new(id.clone(), "Contoso".into(), root.id.clone());
    assert!(table
        .create_tenant(&t, &root, &audit(&id, "tenant.create"))
        .await
        .unwrap());
    table
        .set_license_totals(
            &id,
            &[(LicenseType::ContactCenter, contact_center)],
            &audit(&id, "licenses"),
        )
        .await
        .unwrap();
    (id, root)
}

/// A service of the tenant under `root`, with a Contact Center seat, not stored yet.
pub fn service(
    root: &OrganizationUnit,
    assignment_type: stratus_services::AssignmentType,
) -> stratus_services::Service {
    stratus_services::Service {
        id: Guid::new_random(),
        name: "Support".into(),
        upn: format!("q-{}@contoso.com", Guid::new_random()),
        pstn: None,
        organization_unit_id: root.id.clone(),
        license_type: LicenseType::ContactCenter,
        assignment_type,
        region: "ch-01".into(),
        created_at: String::new(),
        team_id: None,
        distribution: None,
    }
}

pub struct Floor {
    pub kernel: Kernel,
    pub tenant: Guid,
    pub service: Guid,
    pub agents: Vec<Guid>,
}

impl Floor {
    /// The floor, its agents added `parallel` at a time.
    pub async fn open(
        table: &Table,
        agents: usize,
        distribution: DistributionSettings,
        parallel: usize,
    ) -> Floor {
        let (tenant, root) = tenant(table, agents as u32 + 2).await;
        let mut service = service(&root, stratus_services::AssignmentType::TeamsBased);
        service.distribution = Some(distribution);
        table
            .create_service(&tenant, &service, &audit(&tenant, "service.create"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for chunk in (0..agents).collect::<Vec<_>>().chunks(parallel.max(1)) {
            let added = chunk
                .iter()
                .map(|_| add_agent(table, &tenant, &root, &service.id));
            ids.extend(futures::future::join_all(added).await);
        }
        Floor {
            kernel: Kernel::new(
                table.clone(),
                Authenticator::new(AuthConfig::default()),
                Settings {
                    operator_tenant_id: Guid::new_random(),
                    rate_limit_max_delay_ms: 0,
                },
            ),
            tenant,
            service: service.id,
            agents: ids,
        }
    }

    pub async fn submit(&self) -> Guid {
        let new = NewTask {
            modality: Modality::Audio,
            caller: "+41445551234".into(),
            priority: 0,
            required_skills: Vec::new(),
            attributes: BTreeMap::new(),
            idempotency_key: None,
            scheduled_at_ms: None,
        };
        submit(&self.kernel, &self.tenant, &self.service, new)
            .await
            .unwrap()
            .id
    }

    pub async fn pass(&self, writes: &Writes) -> Result<PassReport, TaskError> {
        route_service(&self.kernel, &self.tenant, &self.service, writes).await
    }
}

/// A licensed user, a member of the service (retrying a membership that raced another on
/// the service's version), Active and available.
async fn add_agent(table: &Table, tenant: &Guid, root: &OrganizationUnit, service: &Guid) -> Guid {
    let mut user = User::empty(Guid::new_random(), root.id.clone());
    user.licenses = vec![LicenseType::ContactCenter];
    table
        .create_user(tenant, &user, &audit(tenant, "user.create"))
        .await
        .unwrap();
    let agent = stratus_services::Agent {
        service_id: service.clone(),
        o365_id: user.o365_id.clone(),
        active: true,
        added_at: String::new(),
        portal_role: None,
        active_since: None,
    };
    loop {
        let read_user = table.user(tenant, &user.o365_id).await.unwrap().unwrap();
        let read_service = table.service(tenant, service).await.unwrap().unwrap();
        match table
            .add_agent(
                tenant,
                &read_service,
                &read_user,
                &agent,
                &audit(tenant, "agent"),
            )
            .await
        {
            Ok(()) => break,
            Err(stratus_services::ServiceError::Kernel(
                stratus_kernel::Error::ConcurrentChange,
            )) => {}
            Err(e) => panic!("adding an agent: {e}"),
        }
    }
    table
        .record_presence(
            tenant,
            &user.o365_id,
            AVAILABLE,
            &stratus_kernel::clock::now_rfc3339(),
            "test",
        )
        .await
        .unwrap();
    user.o365_id
}

//! The services feature's storage seam: services in the tenant partition, a guard item per
//! UPN (unique per tenant), the service's licence seat and the tenant's data region on the
//! tenant item — each change one transaction with its audit record, over the kernel's table.

use stratus_kernel::audit::AuditRecord;
use stratus_kernel::table::{
    from_item, key, keys, n, not_exists, s, sort_key, to_item, version_is, version_of, Change,
    Item, Meaning, Table,
};
use stratus_kernel::{Error, Guid};

use crate::service::{AssignmentType, Service};
use crate::teams::{membership, new_user, Step};
use crate::{Agent, ServiceError};
use aws_sdk_dynamodb::types::AttributeValue;
use stratus_kernel::table::user_item;
use stratus_kernel::table::{
    agent_state_key, batches_of, AgentState, Expr, StateChange, VersionedUser,
};

mod items;

use items::*;

/// DynamoDB allows 100 items per transaction; the final one of a delete also holds the
/// service, its UPN guard, the tenant's seat and the audit record.
const MAX_MEMBERS_IN_FINAL: usize = 90;

/// A service together with the version its item had when read.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionedService {
    pub service: Service,
    pub version: u64,
}

/// One page of a tenant's services, in id order, and where the next one starts.
pub struct ServicePage {
    pub items: Vec<Service>,
    pub next_after: Option<Guid>,
}

// Implemented and called on the concrete `Table` only, so the futures' `Send` is known
// where they are awaited.
#[allow(async_fn_in_trait)]
pub trait ServiceStore {
    /// Stores a new service: its UPN must be free, a seat of its licence is taken, and the
    /// tenant's data region becomes (or must already be) the service's.
    async fn create_service(
        &self,
        tenant: &Guid,
        service: &Service,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    async fn service(&self, tenant: &Guid, id: &Guid) -> Result<Option<VersionedService>, Error>;

    /// Up to `limit` services after `after` (by id).
    async fn services(
        &self,
        tenant: &Guid,
        after: Option<&Guid>,
        limit: i32,
    ) -> Result<ServicePage, Error>;

    /// Replaces a service read at `before`: a new UPN's guard replaces the old one, a new
    /// licence's seat is taken and the old one freed.
    async fn replace_service(
        &self,
        tenant: &Guid,
        before: &VersionedService,
        after: &Service,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    /// Replaces a service read at `before` whose distribution settings changed; a policy's
    /// plugin version counts the services it is assigned to, in the same transaction.
    async fn replace_distribution(
        &self,
        tenant: &Guid,
        before: &VersionedService,
        after: &Service,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    async fn agent(
        &self,
        tenant: &Guid,
        service: &Guid,
        user: &Guid,
    ) -> Result<Option<Agent>, Error>;

    /// Replaces an agent's duty read as `before`, with its history entries.
    async fn set_duty(
        &self,
        tenant: &Guid,
        before: &AgentState,
        after: &AgentState,
        history: &[StateChange],
    ) -> Result<(), ServiceError>;

    /// Replaces a membership read as `before` (both sides), with its history entry.
    async fn set_member_active(
        &self,
        tenant: &Guid,
        before: &Agent,
        after: &Agent,
        entry: &StateChange,
    ) -> Result<(), ServiceError>;

    /// Stores a membership, both sides, if the service and the user are still as read (the
    /// service's version moves on, so a concurrent delete of the service sees the new agent).
    async fn add_agent(
        &self,
        tenant: &Guid,
        service: &VersionedService,
        user: &VersionedUser,
        agent: &Agent,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    /// Ends a membership, both sides; `NotAnAgent` when there is none.
    async fn remove_agent(
        &self,
        tenant: &Guid,
        service: &Guid,
        user: &Guid,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    /// Stores a new Teams-based service as [`ServiceStore::create_service`] does, entered in
    /// the registry the scheduled sync reads, with the first people of its roster.
    async fn create_teams_service(
        &self,
        tenant: &Guid,
        service: &Service,
        steps: &[Step],
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    /// Applies roster changes to a Teams-based service still at the version read, moving
    /// the version on (so a concurrent delete reads its members again).
    async fn apply_roster(
        &self,
        tenant: &Guid,
        service: &VersionedService,
        steps: &[Step],
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;

    /// Every membership of a service, across pages.
    async fn agents_of(&self, tenant: &Guid, service: &Guid) -> Result<Vec<Agent>, Error>;

    /// (tenant, service) of every Teams-based service, across pages.
    async fn teams_services(&self) -> Result<Vec<(Guid, Guid)>, Error>;

    /// Deletes a service read at `before`, its UPN guard and its memberships (both sides),
    /// and frees its seat.
    async fn delete_service(
        &self,
        tenant: &Guid,
        before: &VersionedService,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError>;
}

impl ServiceStore for Table {
    async fn create_teams_service(
        &self,
        tenant: &Guid,
        service: &Service,
        steps: &[Step],
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let mut c = Change::on(self);
        add_service_creation(&mut c, tenant, service)?;
        let mut entry = teams_registry_key(tenant, &service.id);
        entry.insert("tenantId".into(), s(tenant.as_str()));
        entry.insert("serviceId".into(), s(service.id.as_str()));
        c.put(entry, None, Meaning::Unconditional)?;
        add_roster_steps(&mut c, tenant, service, steps, audit)?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn apply_roster(
        &self,
        tenant: &Guid,
        service: &VersionedService,
        steps: &[Step],
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let mut c = Change::on(self);
        c.update(
            key(
                keys::tenant_pk(tenant),
                keys::service_sk(&service.service.id),
            ),
            "SET version = :next",
            "version = :v",
            Expr::new()
                .value(":v", n(service.version))
                .value(":next", n(service.version + 1)),
            Meaning::FailsUnless {
                absent: ServiceError::NotFound(service.service.id.to_string()),
                failed: Error::ConcurrentChange.into(),
            },
        )?;
        add_roster_steps(&mut c, tenant, &service.service, steps, audit)?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn agents_of(&self, tenant: &Guid, service: &Guid) -> Result<Vec<Agent>, Error> {
        self.query_prefix(keys::tenant_pk(tenant), &keys::members_prefix(service))
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn teams_services(&self) -> Result<Vec<(Guid, Guid)>, Error> {
        Ok(self
            .query_prefix(keys::TEAMS_SERVICES_PK.to_owned(), "")
            .await?
            .iter()
            .filter_map(|item| {
                let (tenant, service) = sort_key(item).split_once('#')?;
                Some((Guid::parse(tenant)?, Guid::parse(service)?))
            })
            .collect())
    }

    async fn create_service(
        &self,
        tenant: &Guid,
        service: &Service,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let mut c = Change::on(self);
        add_service_creation(&mut c, tenant, service)?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn service(&self, tenant: &Guid, id: &Guid) -> Result<Option<VersionedService>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::service_sk(id)))
            .await?
            .map(versioned)
            .transpose()
    }

    async fn services(
        &self,
        tenant: &Guid,
        after: Option<&Guid>,
        limit: i32,
    ) -> Result<ServicePage, Error> {
        let pk = keys::tenant_pk(tenant);
        let started = std::time::Instant::now();
        let out = self
            .client()
            .query()
            .table_name(self.name())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":prefix", s(keys::SERVICE_PREFIX))
            .set_exclusive_start_key(after.map(|id| key(pk.clone(), keys::service_sk(id))))
            .limit(limit)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| stratus_kernel::table::sdk_failure("query of services", e, started))?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<ServiceItem>(item).map(Service::from))
            .collect::<Result<Vec<_>, _>>()?;
        // DynamoDB says where it stopped; a page that ended exactly at the last service
        // answers a cursor whose next page is empty.
        let next_after = out
            .last_evaluated_key
            .as_ref()
            .map(sort_key)
            .and_then(|sk| sk.strip_prefix(keys::SERVICE_PREFIX))
            .and_then(Guid::parse);
        Ok(ServicePage { items, next_after })
    }

    async fn replace_service(
        &self,
        tenant: &Guid,
        before: &VersionedService,
        after: &Service,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let old = &before.service;
        let mut c = Change::on(self);
        c.put(
            service_item(tenant, after, before.version + 1)?,
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        if !old.upn.eq_ignore_ascii_case(&after.upn) {
            c.delete(
                key(keys::tenant_pk(tenant), keys::service_upn_sk(&old.upn)),
                None,
                Meaning::Unconditional,
            )?;
            c.put(
                upn_guard(tenant, after),
                Some(not_exists()),
                Meaning::Fails(ServiceError::UpnTaken(after.upn.clone())),
            )?;
        }
        if old.license_type != after.license_type {
            c.seats(tenant, &[after.license_type], &[old.license_type])?;
        }
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn replace_distribution(
        &self,
        tenant: &Guid,
        before: &VersionedService,
        after: &Service,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let mut c = Change::on(self);
        c.put(
            service_item(tenant, after, before.version + 1)?,
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        count_assignments(&mut c, tenant, Some(&before.service), Some(after))?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn agent(
        &self,
        tenant: &Guid,
        service: &Guid,
        user: &Guid,
    ) -> Result<Option<Agent>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::member_sk(service, user)))
            .await?
            .map(from_item)
            .transpose()
    }

    async fn set_duty(
        &self,
        tenant: &Guid,
        before: &AgentState,
        after: &AgentState,
        history: &[StateChange],
    ) -> Result<(), ServiceError> {
        let user = after
            .o365_id
            .as_ref()
            .ok_or_else(|| Error::internal("an agent state without its user"))?;
        let mut c = Change::on(self);
        let guid = |g: &Option<Guid>| {
            g.as_ref()
                .map_or(AttributeValue::Null(true), |g| s(g.as_str()))
        };
        let text = |t: &Option<String>| t.as_ref().map_or(AttributeValue::Null(true), |t| s(t));
        c.update(
            agent_state_key(tenant, user),
            "SET profileChosen = :chosen, activeProfileId = :profile, profileSince = :psince, \
             notAvailableReasonId = :reason, notAvailableSince = :rsince, version = :next",
            "version = :v",
            Expr::new()
                .value(":chosen", AttributeValue::Bool(after.profile_chosen))
                .value(":profile", guid(&after.active_profile_id))
                .value(":psince", text(&after.profile_since))
                .value(":reason", guid(&after.not_available_reason_id))
                .value(":rsince", text(&after.not_available_since))
                .value(":v", n(before.version))
                .value(":next", n(before.version + 1)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        for entry in history {
            c.state_change(tenant, entry)?;
        }
        self.commit(c).await
    }

    async fn set_member_active(
        &self,
        tenant: &Guid,
        before: &Agent,
        after: &Agent,
        entry: &StateChange,
    ) -> Result<(), ServiceError> {
        let pk = keys::tenant_pk(tenant);
        let mut c = Change::on(self);
        let condition = (
            "active = :was",
            Expr::new().value(":was", AttributeValue::Bool(before.active)),
        );
        put_membership(&mut c, &pk, after, Some(condition))?;
        c.state_change(tenant, entry)?;
        self.commit(c).await
    }

    async fn add_agent(
        &self,
        tenant: &Guid,
        service: &VersionedService,
        user: &VersionedUser,
        agent: &Agent,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let pk = keys::tenant_pk(tenant);
        let mut c = Change::on(self);
        put_membership(&mut c, &pk, agent, Some(not_exists()))?;
        c.update(
            key(pk.clone(), keys::service_sk(&agent.service_id)),
            "SET version = :next",
            "version = :v",
            Expr::new()
                .value(":v", n(service.version))
                .value(":next", n(service.version + 1)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.require(
            key(pk, keys::user_sk(&agent.o365_id)),
            version_is(user.version),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        register_presence_tenant(&mut c, tenant)?;
        c.ensure_agent_state(tenant, &agent.o365_id)?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn remove_agent(
        &self,
        tenant: &Guid,
        service: &Guid,
        user: &Guid,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let pk = keys::tenant_pk(tenant);
        let mut c = Change::on(self);
        c.delete(
            key(pk.clone(), keys::member_sk(service, user)),
            Some(("attribute_exists(PK)", Expr::new())),
            Meaning::Fails(ServiceError::NotAnAgent {
                service: service.to_string(),
                user: user.to_string(),
            }),
        )?;
        c.delete(
            key(pk, keys::user_membership_sk(user, service)),
            None,
            Meaning::Unconditional,
        )?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn delete_service(
        &self,
        tenant: &Guid,
        before: &VersionedService,
        audit: &AuditRecord,
    ) -> Result<(), ServiceError> {
        let service = &before.service;
        let pk = keys::tenant_pk(tenant);
        // Memberships first, each with its mirror; a crash between batches leaves the service
        // with fewer agents, and the retry finds the rest.
        let members = self
            .query_prefix(pk.clone(), &keys::members_prefix(&service.id))
            .await?;
        let groups = members
            .iter()
            .map(|item| {
                let agent: Agent = from_item(item.clone())?;
                Ok(vec![
                    sort_key(item).to_owned(),
                    keys::user_membership_sk(&agent.o365_id, &service.id),
                ])
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut batches = batches_of(groups, MAX_MEMBERS_IN_FINAL);
        let last = batches.pop().unwrap_or_default();
        for batch in batches {
            let mut c = Change::<ServiceError>::on(self);
            for sk in batch {
                c.delete(key(pk.clone(), sk), None, Meaning::Unconditional)?;
            }
            self.commit(c).await?;
        }
        let mut c = Change::on(self);
        // An agent added since the read moved the version on: read again, delete again.
        c.delete(
            key(pk.clone(), keys::service_sk(&service.id)),
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.delete(
            key(pk.clone(), keys::service_upn_sk(&service.upn)),
            None,
            Meaning::Unconditional,
        )?;
        for sk in last {
            c.delete(key(pk.clone(), sk), None, Meaning::Unconditional)?;
        }
        if service.assignment_type == AssignmentType::TeamsBased {
            c.delete(
                teams_registry_key(tenant, &service.id),
                None,
                Meaning::Unconditional,
            )?;
        }
        c.seats(tenant, &[], &[service.license_type])?;
        count_assignments(&mut c, tenant, Some(service), None)?;
        c.audit(audit)?;
        self.commit(c).await
    }
}

//! Duty configuration of the tenant (tenant admin): responsibility profiles — a name and the
//! services whose tasks an agent on that profile takes — and the not-available reasons agents
//! can give. Agents switch between them later; here they are defined and listed.

use serde::{Deserialize, Serialize};
use serde_json::json;
use stratus_kernel::audit::audit_record;
use stratus_kernel::fields::{guid_list, Fields};
use stratus_kernel::organization::validate_name;
use stratus_kernel::table::{from_item, keys, not_exists, to_item, Change, Meaning, Table};
use stratus_kernel::{Error, Guid, Incoming, Kernel};

use crate::service::AssignmentType;
use crate::ServiceError;

/// Services one profile may cover (a profile covers what an agent can serve at once).
const MAX_PROFILE_SERVICES: usize = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsibilityProfile {
    pub id: Guid,
    pub name: String,
    pub service_ids: Vec<Guid>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotAvailableReason {
    pub id: Guid,
    pub name: String,
}

/// A profile body: a name and the services it covers (a service named twice counts once).
fn profile_input(body: &Fields) -> Result<(String, Vec<Guid>), Error> {
    body.reject_unknown(&["name", "serviceIds"], "a responsibility profile")?;
    let name = validate_name("name", &body.required_string("name")?)?;
    let services = guid_list(
        "serviceIds",
        body.get("serviceIds")
            .ok_or_else(|| Error::field("serviceIds", "is required"))?,
    )?;
    if services.len() > MAX_PROFILE_SERVICES {
        return Err(Error::field(
            "serviceIds",
            &format!("may name at most {MAX_PROFILE_SERVICES} services"),
        ));
    }
    Ok((name, services))
}

/// Stores a configuration item of the tenant with its audit record; the tenant must exist.
async fn create_item<T: Serialize>(
    table: &Table,
    tenant: &Guid,
    sk: String,
    value: &T,
    audit: &stratus_kernel::audit::AuditRecord,
) -> Result<(), ServiceError> {
    let mut c = Change::on(table);
    c.put(
        to_item(keys::tenant_pk(tenant), sk, value)?,
        Some(not_exists()),
        Meaning::Fails(Error::ConcurrentChange.into()),
    )?;
    c.require_tenant(tenant)?;
    c.audit(audit)?;
    table.commit(c).await
}

async fn list_items<T: serde::de::DeserializeOwned>(
    table: &Table,
    tenant: &Guid,
    prefix: &str,
) -> Result<Vec<T>, Error> {
    table
        .query_prefix(keys::tenant_pk(tenant), prefix)
        .await?
        .into_iter()
        .map(from_item)
        .collect()
}

/// `POST /api/admin/responsibility-profiles`: `{"name", "serviceIds"}`; every service must
/// be one of the tenant's.
pub async fn create_responsibility_profile(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<ResponsibilityProfile, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let (name, service_ids) = profile_input(&incoming.body_fields()?)?;
    let table = kernel.table();
    let wanted = service_ids
        .iter()
        .map(|id| {
            stratus_kernel::table::key(keys::tenant_pk(&admin.tenant_id), keys::service_sk(id))
        })
        .collect::<Vec<_>>();
    let found = table.batch_get(wanted).await?;
    if let Some(missing) = service_ids.iter().find(|id| {
        !found
            .iter()
            .any(|item| stratus_kernel::table::sort_key(item) == keys::service_sk(id))
    }) {
        return Err(Error::BadRequest(format!(
            "\"serviceIds\" contains a service that is not one of this tenant's: {missing}"
        ))
        .into());
    }
    // The seed's feature matrix: duty profiles exist for skill-based services only.
    for item in &found {
        let kind = item
            .get("assignmentType")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .unwrap_or_default();
        if kind != AssignmentType::SkillBased.id() {
            let service = stratus_kernel::table::sort_key(item)
                .trim_start_matches(keys::SERVICE_PREFIX)
                .to_owned();
            return Err(ServiceError::ProfileOnSkillBasedOnly {
                service,
                current: kind.to_owned(),
            });
        }
    }
    let profile = ResponsibilityProfile {
        id: Guid::new_random(),
        name,
        service_ids,
    };
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "responsibilityProfile.create",
        format!("responsibilityProfile:{}", profile.id),
        json!({ "name": profile.name, "serviceIds": profile.service_ids }),
    );
    create_item(
        table,
        &admin.tenant_id,
        keys::profile_sk(&profile.id),
        &profile,
        &audit,
    )
    .await?;
    Ok(profile)
}

/// `GET /api/admin/responsibility-profiles`.
pub async fn list_responsibility_profiles(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Vec<ResponsibilityProfile>, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    Ok(list_items(kernel.table(), &admin.tenant_id, keys::PROFILE_PREFIX).await?)
}

/// `POST /api/admin/not-available-reasons`: `{"name"}`.
pub async fn create_not_available_reason(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<NotAvailableReason, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let body = incoming.body_fields()?;
    body.reject_unknown(&["name"], "a not-available reason")?;
    let reason = NotAvailableReason {
        id: Guid::new_random(),
        name: validate_name("name", &body.required_string("name")?)?,
    };
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "notAvailableReason.create",
        format!("notAvailableReason:{}", reason.id),
        json!({ "name": reason.name }),
    );
    create_item(
        kernel.table(),
        &admin.tenant_id,
        keys::na_reason_sk(&reason.id),
        &reason,
        &audit,
    )
    .await?;
    Ok(reason)
}

/// `GET /api/admin/not-available-reasons`.
pub async fn list_not_available_reasons(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Vec<NotAvailableReason>, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    Ok(list_items(kernel.table(), &admin.tenant_id, keys::NA_REASON_PREFIX).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn input(v: Value) -> Result<(String, Vec<Guid>), String> {
        profile_input(&Fields::from_value(v, "").unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_profile_covers_each_service_once() {
        let a = Guid::new_random();
        assert_eq!(
            input(json!({ "name": " Day ", "serviceIds": [a.as_str()] })),
            Ok(("Day".to_owned(), vec![a.clone()]))
        );
        assert_eq!(
            input(json!({ "name": "Day", "serviceIds": [a.as_str(), a.as_str()] })),
            Ok(("Day".to_owned(), vec![a.clone()]))
        );
        assert_eq!(
            input(json!({ "name": "Day" })),
            Err("\"serviceIds\" is required".to_owned())
        );
        assert_eq!(
            input(json!({ "name": "Day", "serviceIds": [], "shift": 1 })),
            Err("\"shift\" is not a field of a responsibility profile".to_owned())
        );
    }
}

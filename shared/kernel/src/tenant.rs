//! A tenant's configuration record: provisioning switch, licence contingents and the
//! applications allowed to use the public API with their organization-unit scopes. Kept
//! as one record so an operation reads all of it in one go.

use crate::license::{LicenseCount, LicenseType};
use crate::Guid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: Guid,
    pub name: String,
    /// Fixed when the first service is provisioned; never changes afterwards.
    pub region: Option<String>,
    pub public_api_enabled: bool,
    pub root_organization_unit_id: Guid,
    #[serde(default)]
    pub licenses: BTreeMap<LicenseType, LicenseCount>,
    /// Application id → organization units it may touch (descendants included).
    #[serde(default)]
    pub app_permissions: BTreeMap<String, Vec<Guid>>,
}

/// The tenant as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub id: Guid,
    pub name: String,
    pub region: Option<String>,
    pub public_api_enabled: bool,
    pub root_organization_unit_id: Guid,
}

impl Tenant {
    pub fn new(id: Guid, name: String, root_organization_unit_id: Guid) -> Tenant {
        Tenant {
            id,
            name,
            region: None,
            public_api_enabled: false,
            root_organization_unit_id,
            licenses: LicenseType::ALL
                .into_iter()
                .map(|t| (t, LicenseCount::default()))
                .collect(),
            app_permissions: BTreeMap::new(),
        }
    }

    pub fn view(&self) -> TenantView {
        TenantView {
            id: self.id.clone(),
            name: self.name.clone(),
            region: self.region.clone(),
            public_api_enabled: self.public_api_enabled,
            root_organization_unit_id: self.root_organization_unit_id.clone(),
        }
    }

    /// The scope registered for an application, if any.
    pub fn app_scope(&self, app_id: &str) -> Option<&[Guid]> {
        self.app_permissions
            .get(&app_id.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    /// The first licence among `needed` that has no free seat.
    pub fn first_exhausted(&self, needed: &[LicenseType]) -> Option<LicenseType> {
        needed.iter().copied().find(|t| {
            let c = self.licenses.get(t).copied().unwrap_or_default();
            c.in_use >= c.total
        })
    }
}

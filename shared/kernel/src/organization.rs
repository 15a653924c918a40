//! Organization units: a tree per tenant. A unit keeps its ancestor path, so "is this unit
//! inside that scope" is answered from the unit alone. Units are never moved, which is what
//! makes the path safe to keep (and to cache).

use crate::Guid;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationUnit {
    pub id: Guid,
    pub name: String,
    pub parent_id: Option<Guid>,
    /// Ancestor ids from the root down to and including this unit.
    pub path: Vec<Guid>,
}

impl OrganizationUnit {
    pub fn root(id: Guid, name: String) -> Self {
        OrganizationUnit {
            path: vec![id.clone()],
            id,
            name,
            parent_id: None,
        }
    }

    pub fn child_of(parent: &OrganizationUnit, id: Guid, name: String) -> Self {
        let mut path = parent.path.clone();
        path.push(id.clone());
        OrganizationUnit {
            id,
            name,
            parent_id: Some(parent.id.clone()),
            path,
        }
    }

    /// True when this unit is one of `scope` or lies below one of them.
    pub fn within(&self, scope: &[Guid]) -> bool {
        self.path.iter().any(|ancestor| scope.contains(ancestor))
    }
}

/// A unit's name: trimmed, 1..=128 characters.
pub fn validate_name(field: &str, name: &str) -> Result<String, crate::Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(crate::Error::field(field, "must not be empty"));
    }
    if name.chars().count() > 128 {
        return Err(crate::Error::field(field, "must be at most 128 characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_covers_descendants_but_not_ancestors_or_siblings() {
        let root = OrganizationUnit::root(Guid::new_random(), "Contoso".into());
        let sales = OrganizationUnit::child_of(&root, Guid::new_random(), "Sales".into());
        let emea = OrganizationUnit::child_of(&sales, Guid::new_random(), "EMEA".into());
        let support = OrganizationUnit::child_of(&root, Guid::new_random(), "Support".into());
        let scope = vec![sales.id.clone()];
        assert!(sales.within(&scope));
        assert!(emea.within(&scope));
        assert!(!root.within(&scope));
        assert!(!support.within(&scope));
        assert!(support.within(std::slice::from_ref(&root.id)));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("name", "  Sales ").unwrap(), "Sales");
        assert!(validate_name("name", "  ").is_err());
        assert!(validate_name("name", &"x".repeat(129)).is_err());
    }
}

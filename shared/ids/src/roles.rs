//! Application roles (the `roles` claim) that Stratus's operations ask for.

/// The platform operator; counts only in a token from the operator tenant (any customer
/// could grant itself a role of that name in its own directory).
pub const OPERATOR: &str = "Stratus.Operator";
/// A tenant's administrator, acting on the token's own tenant.
pub const TENANT_ADMIN: &str = "Tenant.Admin";
/// A routing application (the telephony or chat front end) submits and moves tasks.
pub const ROUTING_TASKS: &str = "Routing.Tasks";

/// The public provisioning API's four roles, as its seed names them.
pub const PROVISIONING_USER_CREATE: &str = "Provisioning.User.Create";
pub const PROVISIONING_USER_READ: &str = "Provisioning.User.Read";
pub const PROVISIONING_USER_DELETE: &str = "Provisioning.User.Delete";
pub const PROVISIONING_TENANT_READ: &str = "Provisioning.Tenant.Read";
pub const PROVISIONING: [&str; 4] = [
    PROVISIONING_USER_CREATE,
    PROVISIONING_USER_READ,
    PROVISIONING_USER_DELETE,
    PROVISIONING_TENANT_READ,
];

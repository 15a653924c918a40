//! A `PATCH /api/admin/tenant-settings` body and the rules of applying it: sections and
//! fields named case-insensitively, each value's type and range checked with the field
//! named, the operator-only toggles, and the features that cannot be on without their
//! connection string. Pure: no I/O, so every rule is unit-tested here.

use serde_json::Value;
use stratus_kernel::fields::Fields;
use stratus_kernel::settings::{
    Interact, InteractAuthorization, MinimumProvisioningRole, Outbound, TeamVisibility,
    TenantSettings,
};
use stratus_kernel::{Error, Guid};

use crate::SettingsError;

/// Longest connection string accepted (ACS ones are about 150 characters).
const MAX_CONNECTION_STRING_CHARS: usize = 1024;
/// Longest Graph `$filter` accepted (Graph itself takes URLs of a few KB).
const MAX_GRAPH_FILTER_CHARS: usize = 2048;
/// Longest presence account (a UPN).
const MAX_ACCOUNT_CHARS: usize = 256;

const SECTIONS: [&str; 6] = [
    "outbound",
    "interact",
    "assistant",
    "attendantConsole",
    "presenceTracking",
    "serviceProvisioning",
];

/// A change to a value that may be cleared: `Some(None)` clears it.
type Nullable<T> = Option<Option<T>>;

/// What a PATCH asks to change; `None` leaves a value as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsPatch {
    max_scheduled_tasks_per_service: Option<u32>,
    directly_invite_pstn: Option<bool>,
    directly_invite_upn: Option<bool>,
    interact_enabled: Option<bool>,
    interact_acs_connection_string: Nullable<String>,
    interact_o365_user_id: Nullable<Guid>,
    session_recovery_timeout_seconds: Option<u32>,
    interact_authorization: Option<InteractAuthorization>,
    own_acs_instance: Option<bool>,
    assistant_acs_connection_string: Nullable<String>,
    graph_filter: Nullable<String>,
    team_visibility: Option<TeamVisibility>,
    presence_tracking_enabled: Option<bool>,
    presence_account1: Nullable<String>,
    presence_account2: Nullable<String>,
    permissions_granted: Option<bool>,
    minimum_role: Option<MinimumProvisioningRole>,
}

impl SettingsPatch {
    pub fn parse(body: &Fields) -> Result<SettingsPatch, SettingsError> {
        body.reject_unknown(&SECTIONS, "the tenant settings")?;
        let mut patch = SettingsPatch::default();
        if let Some(outbound) = section(body, "outbound")? {
            outbound.reject_unknown(
                &[
                    "maxScheduledTasksPerService",
                    "directlyInvitePstn",
                    "directlyInviteUpn",
                ],
                "the outbound settings",
            )?;
            patch.max_scheduled_tasks_per_service = ranged(
                &outbound,
                "maxScheduledTasksPerService",
                Outbound::MAX_SCHEDULED_TASKS_RANGE,
            )?;
            patch.directly_invite_pstn = flag(&outbound, "directlyInvitePstn")?;
            patch.directly_invite_upn = flag(&outbound, "directlyInviteUpn")?;
        }
        if let Some(interact) = section(body, "interact")? {
            interact.reject_unknown(
                &[
                    "enabled",
                    "acsConnectionString",
                    "o365UserId",
                    "widgetKey",
                    "sessionRecoveryTimeoutSeconds",
                    "authorization",
                ],
                "the Interact settings",
            )?;
            if interact.has("widgetKey") {
                return Err(SettingsError::WidgetKeyNotSettable);
            }
            patch.interact_enabled = flag(&interact, "enabled")?;
            patch.interact_acs_connection_string =
                connection_string(&interact, "acsConnectionString")?;
            patch.interact_o365_user_id = nullable_guid(&interact, "o365UserId")?;
            patch.session_recovery_timeout_seconds = ranged(
                &interact,
                "sessionRecoveryTimeoutSeconds",
                Interact::SESSION_RECOVERY_TIMEOUT_RANGE,
            )?;
            patch.interact_authorization = choice(
                &interact,
                "authorization",
                &[
                    ("None", InteractAuthorization::None),
                    ("VerifyToken", InteractAuthorization::VerifyToken),
                    (
                        "VerifyTokenAndTenant",
                        InteractAuthorization::VerifyTokenAndTenant,
                    ),
                ],
            )?;
        }
        if let Some(assistant) = section(body, "assistant")? {
            assistant.reject_unknown(
                &["ownAcsInstance", "acsConnectionString"],
                "the Assistant settings",
            )?;
            patch.own_acs_instance = flag(&assistant, "ownAcsInstance")?;
            patch.assistant_acs_connection_string =
                connection_string(&assistant, "acsConnectionString")?;
        }
        if let Some(console) = section(body, "attendantConsole")? {
            console.reject_unknown(
                &["graphFilter", "teamVisibility"],
                "the Attendant Console settings",
            )?;
            // Graph checks the filter's syntax; the seed's field does not either.
            patch.graph_filter = nullable_text(&console, "graphFilter", MAX_GRAPH_FILTER_CHARS)?;
            patch.team_visibility = choice(
                &console,
                "teamVisibility",
                &[
                    ("None", TeamVisibility::None),
                    ("OwnMembers", TeamVisibility::OwnMembers),
                    ("AllMembers", TeamVisibility::AllMembers),
                ],
            )?;
        }
        if let Some(presence) = section(body, "presenceTracking")? {
            presence.reject_unknown(
                &[
                    "enabled",
                    "presenceAccount1",
                    "presenceAccount2",
                    "permissionsGranted",
                ],
                "the presence tracking settings",
            )?;
            patch.presence_tracking_enabled = flag(&presence, "enabled")?;
            patch.presence_account1 = account(&presence, "presenceAccount1")?;
            patch.presence_account2 = account(&presence, "presenceAccount2")?;
            patch.permissions_granted = flag(&presence, "permissionsGranted")?;
        }
        if let Some(provisioning) = section(body, "serviceProvisioning")? {
            provisioning.reject_unknown(&["minimumRole"], "the service provisioning settings")?;
            patch.minimum_role = choice(
                &provisioning,
                "minimumRole",
                &[
                    ("TeamOwner", MinimumProvisioningRole::TeamOwner),
                    ("TenantAdmin", MinimumProvisioningRole::TenantAdmin),
                    ("Disabled", MinimumProvisioningRole::Disabled),
                ],
            )?;
        }
        Ok(patch)
    }

    /// The settings after the patch, or the rule it breaks. Values of a disabled feature are
    /// kept and may be changed while it is off; they only stop being shown.
    pub fn apply(
        &self,
        current: &TenantSettings,
        by_operator: bool,
    ) -> Result<TenantSettings, SettingsError> {
        let outbound = &current.outbound;
        let operator_only = [
            (
                "outbound.directlyInvitePstn",
                self.directly_invite_pstn,
                outbound.directly_invite_pstn,
            ),
            (
                "outbound.directlyInviteUpn",
                self.directly_invite_upn,
                outbound.directly_invite_upn,
            ),
        ];
        // Naming the current value is no change, so a GET answer can be sent back as it is.
        if let Some((field, ..)) = operator_only
            .iter()
            .find(|(_, wanted, now)| !by_operator && wanted.is_some_and(|w| w != *now))
        {
            return Err(SettingsError::OperatorOnly(field));
        }

        let mut next = current.clone();
        set(
            &mut next.outbound.max_scheduled_tasks_per_service,
            self.max_scheduled_tasks_per_service,
        );
        set(
            &mut next.outbound.directly_invite_pstn,
            self.directly_invite_pstn,
        );
        set(
            &mut next.outbound.directly_invite_upn,
            self.directly_invite_upn,
        );

        let interact = &mut next.interact;
        set(&mut interact.enabled, self.interact_enabled);
        set(
            &mut interact.acs_connection_string,
            self.interact_acs_connection_string.clone(),
        );
        set(
            &mut interact.o365_user_id,
            self.interact_o365_user_id.clone(),
        );
        set(
            &mut interact.session_recovery_timeout_seconds,
            self.session_recovery_timeout_seconds,
        );
        set(&mut interact.authorization, self.interact_authorization);

        let assistant = &mut next.assistant;
        set(&mut assistant.own_acs_instance, self.own_acs_instance);
        set(
            &mut assistant.acs_connection_string,
            self.assistant_acs_connection_string.clone(),
        );

        let console = &mut next.attendant_console;
        set(&mut console.graph_filter, self.graph_filter.clone());
        set(&mut console.team_visibility, self.team_visibility);

        let presence = &mut next.presence_tracking;
        set(&mut presence.enabled, self.presence_tracking_enabled);
        set(
            &mut presence.presence_account1,
            self.presence_account1.clone(),
        );
        set(
            &mut presence.presence_account2,
            self.presence_account2.clone(),
        );
        set(&mut presence.permissions_granted, self.permissions_granted);

        set(
            &mut next.service_provisioning.minimum_role,
            self.minimum_role,
        );

        // The seed: "Enabling this requires you to fill in an ACS connection string."
        if next.interact.enabled && next.interact.acs_connection_string.is_none() {
            return Err(SettingsError::RequiredWhileEnabled {
                field: "interact.acsConnectionString",
                feature: "Interact",
            });
        }
        if next.assistant.own_acs_instance && next.assistant.acs_connection_string.is_none() {
            return Err(SettingsError::RequiredWhileEnabled {
                field: "assistant.acsConnectionString",
                feature: "Assistant's own ACS instance",
            });
        }
        Ok(next)
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// A section of the body, which must be an object when given.
fn section(body: &Fields, name: &str) -> Result<Option<Fields>, Error> {
    match body.get(name) {
        None if body.has(name) => Err(Error::field(name, "must be a JSON object")),
        None => Ok(None),
        Some(value) => Fields::from_value(value.clone(), &format!("{name}.")).map(Some),
    }
}

/// A field that is given with the value `null`, which only clearable fields take.
fn given_null(fields: &Fields, name: &str) -> bool {
    fields.has(name) && fields.get(name).is_none()
}

fn flag(fields: &Fields, name: &str) -> Result<Option<bool>, Error> {
    if given_null(fields, name) {
        return Err(Error::field(&fields.name(name), "must be true or false"));
    }
    fields.bool(name)
}

/// A whole number within `(min, max)`; anything else is refused naming the range.
fn ranged(fields: &Fields, name: &str, (min, max): (u32, u32)) -> Result<Option<u32>, Error> {
    if !fields.has(name) {
        return Ok(None);
    }
    fields
        .get(name)
        .and_then(Value::as_u64)
        .filter(|n| (u64::from(min)..=u64::from(max)).contains(n))
        .map(|n| Some(n as u32))
        .ok_or_else(|| {
            Error::field(
                &fields.name(name),
                &format!("must be a whole number from {min} to {max}"),
            )
        })
}

/// One of a fixed set of names, matched case-insensitively.
fn choice<T: Copy>(fields: &Fields, name: &str, options: &[(&str, T)]) -> Result<Option<T>, Error> {
    if !fields.has(name) {
        return Ok(None);
    }
    let wanted = fields.get(name).and_then(Value::as_str).unwrap_or_default();
    options
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(wanted))
        .map(|(_, value)| Some(*value))
        .ok_or_else(|| {
            let ids: Vec<&str> = options.iter().map(|(id, _)| *id).collect();
            Error::field(
                &fields.name(name),
                &format!("must be one of {}", ids.join(", ")),
            )
        })
}

/// Text that `null` or an empty string clears, trimmed, at most `max_chars` long.
fn nullable_text(fields: &Fields, name: &str, max_chars: usize) -> Result<Nullable<String>, Error> {
    if !fields.has(name) {
        return Ok(None);
    }
    match fields.get(name) {
        None => Ok(Some(None)),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(text)) if text.trim().chars().count() > max_chars => Err(Error::field(
            &fields.name(name),
            &format!("must be at most {max_chars} characters"),
        )),
        Some(Value::String(text)) => Ok(Some(Some(text.trim().to_owned()))),
        Some(_) => Err(Error::field(&fields.name(name), "must be a string or null")),
    }
}

/// A GUID that `null` or an empty string clears.
fn nullable_guid(fields: &Fields, name: &str) -> Result<Nullable<Guid>, Error> {
    match nullable_text(fields, name, MAX_ACCOUNT_CHARS)? {
        Some(Some(text)) => Guid::parse(&text)
            .map(|id| Some(Some(id)))
            .ok_or_else(|| Error::field(&fields.name(name), "must be a GUID")),
        Some(None) => Ok(Some(None)),
        None => Ok(None),
    }
}

/// A guest account's UPN (the seed's example: `svr_nimbus_guest@onmicrosoft.com`).
fn account(fields: &Fields, name: &str) -> Result<Nullable<String>, Error> {
    let value = nullable_text(fields, name, MAX_ACCOUNT_CHARS)?;
    if let Some(Some(upn)) = &value {
        let well_formed = upn
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
            && !upn.contains(char::is_whitespace);
        if !well_formed {
            return Err(Error::field(
                &fields.name(name),
                "must be a user principal name (user@domain)",
            ));
        }
    }
    Ok(value)
}

fn connection_string(fields: &Fields, name: &str) -> Result<Nullable<String>, Error> {
    let value = nullable_text(fields, name, MAX_CONNECTION_STRING_CHARS)?;
    if let Some(Some(text)) = &value {
        if AcsConnectionString::parse(text).is_none() {
            return Err(Error::field(
                &fields.name(name),
                "must be an Azure Communication Services connection string \
                 (endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>)",
            ));
        }
    }
    Ok(value)
}

/// The two parts of an Azure Communication Services connection string.
#[derive(Debug, PartialEq)]
pub struct AcsConnectionString<'a> {
    pub endpoint: &'a str,
    pub access_key: &'a str,
}

impl<'a> AcsConnectionString<'a> {
    /// `endpoint=https://<host>/;accesskey=<base64>`, parts in any order and case, a trailing
    /// `;` allowed; nothing else.
    pub fn parse(text: &'a str) -> Option<AcsConnectionString<'a>> {
        let mut endpoint = None;
        let mut access_key = None;
        for part in text.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=')?;
            let slot = match name.to_ascii_lowercase().as_str() {
                "endpoint" => &mut endpoint,
                "accesskey" => &mut access_key,
                _ => return None,
            };
            if slot.replace(value).is_some() {
                return None;
            }
        }
        let endpoint = endpoint.filter(|e| is_https_url(e))?;
        let access_key = access_key.filter(|k| is_base64(k))?;
        Some(AcsConnectionString {
            endpoint,
            access_key,
        })
    }
}

fn is_https_url(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn is_base64(text: &str) -> bool {
    let data = text.trim_end_matches('=');
    text.len() >= 4
        && text.len() % 4 == 0
        && text.len() - data.len() <= 2
        && data
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

#[cfg(test)]
mod tests;

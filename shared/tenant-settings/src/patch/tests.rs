use super::*;
use serde_json::json;

const ACS: &str =
    "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0LWtleS0xMjM0NQ==";

fn parse(body: Value) -> Result<SettingsPatch, SettingsError> {
    SettingsPatch::parse(&Fields::from_value(body, "").unwrap())
}

fn apply(body: Value, by_operator: bool) -> Result<TenantSettings, SettingsError> {
    parse(body)?.apply(&TenantSettings::default(), by_operator)
}

fn refusal(body: Value) -> String {
    match apply(body, false) {
        Err(e) => e.to_string(),
        Ok(s) => panic!("accepted: {s:?}"),
    }
}

#[test]
fn ranges_take_both_edges_and_refuse_one_past_naming_the_range() {
    for (section, field, min, max) in [
        ("outbound", "maxScheduledTasksPerService", 1, 50),
        ("interact", "sessionRecoveryTimeoutSeconds", 5, 60),
    ] {
        for ok in [min, max] {
            let s = apply(json!({ section: { field: ok } }), false).unwrap();
            let got = match section {
                "outbound" => s.outbound.max_scheduled_tasks_per_service,
                _ => s.interact.session_recovery_timeout_seconds,
            };
            assert_eq!(got, ok);
        }
        for bad in [
            json!(min - 1),
            json!(max + 1),
            json!(2.5),
            json!("20"),
            json!(null),
        ] {
            assert_eq!(
                refusal(json!({ section: { field: bad } })),
                format!("\"{section}.{field}\" must be a whole number from {min} to {max}")
            );
        }
    }
}

#[test]
fn unknown_sections_fields_and_wrong_types_are_named() {
    for (body, detail) in [
        (
            json!({"inbound": {}}),
            "\"inbound\" is not a field of the tenant settings",
        ),
        (
            json!({"outbound": {"maxTasks": 3}}),
            "\"outbound.maxTasks\" is not a field of the outbound settings",
        ),
        (
            json!({"interact": true}),
            "\"interact\" must be a JSON object",
        ),
        (
            json!({"assistant": null}),
            "\"assistant\" must be a JSON object",
        ),
        (
            json!({"interact": {"enabled": "yes"}}),
            "\"interact.enabled\" must be true or false",
        ),
        (
            json!({"presenceTracking": {"permissionsGranted": null}}),
            "\"presenceTracking.permissionsGranted\" must be true or false",
        ),
        (
            json!({"interact": {"authorization": "Always"}}),
            "\"interact.authorization\" must be one of None, VerifyToken, VerifyTokenAndTenant",
        ),
        (
            json!({"attendantConsole": {"teamVisibility": 2}}),
            "\"attendantConsole.teamVisibility\" must be one of None, OwnMembers, AllMembers",
        ),
        (
            json!({"serviceProvisioning": {"minimumRole": "Agent"}}),
            "\"serviceProvisioning.minimumRole\" must be one of TeamOwner, TenantAdmin, Disabled",
        ),
        (
            json!({"interact": {"o365UserId": "bob"}}),
            "\"interact.o365UserId\" must be a GUID",
        ),
        (
            json!({"attendantConsole": {"graphFilter": 3}}),
            "\"attendantConsole.graphFilter\" must be a string or null",
        ),
        (
            json!({"presenceTracking": {"presenceAccount1": "guest"}}),
            "\"presenceTracking.presenceAccount1\" must be a user principal name (user@domain)",
        ),
    ] {
        assert_eq!(refusal(body.clone()), detail, "{body}");
    }
    assert!(refusal(json!({"interact": {"widgetKey": "x"}})).contains("cannot be set"));
}

#[test]
fn names_match_case_insensitively() {
    let s = apply(
        json!({"Outbound": {"MAXSCHEDULEDTASKSPERSERVICE": 3},
               "attendantconsole": {"teamVisibility": "ownmembers"}}),
        false,
    )
    .unwrap();
    assert_eq!(s.outbound.max_scheduled_tasks_per_service, 3);
    assert_eq!(
        s.attendant_console.team_visibility,
        TeamVisibility::OwnMembers
    );
}

#[test]
fn connection_strings_are_checked_for_shape() {
    for good in [
        ACS,
        "AccessKey=c2VjcmV0;Endpoint=https://x.communication.azure.com;",
    ] {
        assert!(AcsConnectionString::parse(good).is_some(), "{good}");
    }
    for bad in [
        "secret",
        "endpoint=https://x.communication.azure.com/",
        "accesskey=c2VjcmV0",
        "endpoint=http://x.communication.azure.com/;accesskey=c2VjcmV0",
        "endpoint=https://x.communication.azure.com/;accesskey=not base64!",
        "endpoint=https://x/;accesskey=c2VjcmV0;accesskey=c2VjcmV0",
        "endpoint=https://x/;accesskey=c2VjcmV0;region=eu",
        "endpoint=https://x/;accesskey=c2V…MV0=",
    ] {
        assert!(AcsConnectionString::parse(bad).is_none(), "{bad}");
        assert!(refusal(json!({"assistant": {"acsConnectionString": bad}}))
            .starts_with("\"assistant.acsConnectionString\" must be an Azure Communication"));
    }
}

#[test]
fn a_feature_needing_a_connection_string_cannot_be_on_without_one() {
    assert_eq!(
        refusal(json!({"interact": {"enabled": true}})),
        "\"interact.acsConnectionString\" is required while Interact is enabled"
    );
    assert_eq!(
        refusal(json!({"assistant": {"ownAcsInstance": true, "acsConnectionString": ""}})),
        "\"assistant.acsConnectionString\" is required while Assistant's own ACS instance is enabled"
    );
    let on = apply(
        json!({"interact": {"enabled": true, "acsConnectionString": ACS}}),
        false,
    )
    .unwrap();
    assert_eq!(on.interact.acs_connection_string.as_deref(), Some(ACS));
    // Clearing it while on is refused; switching off first keeps it.
    let clear = parse(json!({"interact": {"acsConnectionString": null}})).unwrap();
    assert!(clear.apply(&on, false).is_err());
    let off = parse(json!({"interact": {"enabled": false}}))
        .unwrap()
        .apply(&on, false)
        .unwrap();
    assert!(!off.interact.enabled);
    assert_eq!(off.interact.acs_connection_string.as_deref(), Some(ACS));
}

#[test]
fn operator_only_toggles_refuse_tenant_admins_naming_the_field() {
    assert_eq!(
        refusal(json!({"outbound": {"directlyInviteUpn": true}})),
        "\"outbound.directlyInviteUpn\" can be changed by operators only"
    );
    assert_eq!(
        apply(json!({"outbound": {"directlyInvitePstn": true}}), false).unwrap_err(),
        SettingsError::OperatorOnly("outbound.directlyInvitePstn")
    );
    // The current value sent back is no change.
    assert!(apply(json!({"outbound": {"directlyInvitePstn": false}}), false).is_ok());
    let s = apply(
        json!({"outbound": {"directlyInvitePstn": true, "directlyInviteUpn": true}}),
        true,
    )
    .unwrap();
    assert!(s.outbound.directly_invite_pstn && s.outbound.directly_invite_upn);
}

#[test]
fn fields_left_out_keep_their_values_and_null_clears() {
    let mut current = TenantSettings::default();
    current.attendant_console.graph_filter = Some("preferredLanguage eq 'en-GB'".into());
    current.presence_tracking.presence_account1 = Some("guest1@contoso.com".into());
    let s = parse(json!({"attendantConsole": {"graphFilter": null},
                         "presenceTracking": {"presenceAccount2": " guest2@contoso.com "}}))
    .unwrap()
    .apply(&current, false)
    .unwrap();
    assert_eq!(s.attendant_console.graph_filter, None);
    assert_eq!(
        s.presence_tracking.presence_account1.as_deref(),
        Some("guest1@contoso.com")
    );
    assert_eq!(
        s.presence_tracking.presence_account2.as_deref(),
        Some("guest2@contoso.com")
    );
    assert_eq!(s.outbound, current.outbound);
}

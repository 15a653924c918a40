use super::*;
use serde_json::json;

fn fields(value: Value) -> Fields {
    Fields::from_value(value, "").unwrap()
}

#[test]
fn an_inbound_task_needs_a_modality_and_a_caller() {
    let task = NewTask::parse_inbound(&fields(json!({
        "modality": "chat", "caller": " sip:anna@example.com ", "priority": 7,
        "requiredSkills": [{"skill": "German", "minLevel": 40}],
        "attributes": {"language": "de"}, "idempotencyKey": "call-1"
    })))
    .unwrap();
    assert_eq!(task.modality, Modality::Chat);
    assert_eq!(task.caller, "sip:anna@example.com");
    assert_eq!(task.priority, 7);
    assert_eq!(task.required_skills[0].min_level, 40);
    assert_eq!(task.attributes["language"], "de");
    assert_eq!(task.idempotency_key.as_deref(), Some("call-1"));

    for (body, says) in [
        (json!({"caller": "+41"}), "\"modality\" is required"),
        (
            json!({"modality": "fax", "caller": "+41"}),
            "\"modality\" is \"fax\"",
        ),
        (json!({"modality": "audio"}), "\"caller\" is required"),
        (
            json!({"modality": "audio", "caller": "+41\u{7}"}),
            "\"caller\" must be",
        ),
        (
            json!({"modality": "audio", "caller": "+41", "priority": 256}),
            "\"priority\"",
        ),
        (
            json!({"modality": "audio", "caller": "+41", "requiredSkills": [{"skill": "x", "minLevel": 0}]}),
            "\"requiredSkills[0].minLevel\"",
        ),
        (
            json!({"modality": "audio", "caller": "+41", "attributes": {"a": 1}}),
            "\"attributes.a\"",
        ),
        (
            json!({"modality": "audio", "caller": "+41", "queue": 1}),
            "\"queue\" is not a field",
        ),
    ] {
        let err = NewTask::parse_inbound(&fields(body.clone()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{body}: {err}");
    }
}

#[test]
fn an_outbound_task_needs_a_time_and_a_callee() {
    let now = 1_800_000_000_000;
    let task = NewTask::parse_outbound(
        &fields(json!({"scheduledAt": "2027-01-15T08:00:00Z", "callee": "+4930123"})),
        now,
    )
    .unwrap();
    assert_eq!(task.modality, Modality::Audio);
    assert_eq!(task.caller, "+4930123");
    assert!(task.scheduled_at_ms.is_some());
    let err = NewTask::parse_outbound(
        &fields(json!({"scheduledAt": "soon", "callee": "+49"})),
        now,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("\"scheduledAt\" must be an RFC 3339 time"),
        "{err}"
    );
    let err = NewTask::parse_outbound(
        &fields(json!({"scheduledAt": "2099-01-01T00:00:00Z", "callee": "+49"})),
        now,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("days ahead"), "{err}");
}

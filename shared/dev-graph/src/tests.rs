use super::*;

fn call(port: u16, raw: String) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("null");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn req(method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn tokens_teams_pages_and_throttling() {
    let port = TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    serve(port).unwrap();
    let form = format!(
        "grant_type=client_credentials&client_id={DEV_CLIENT_ID}&client_secret={DEV_CLIENT_SECRET}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
    );
    let (status, body) = call(port, req("POST", "/t1/oauth2/v2.0/token", None, &form));
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = call(
        port,
        req(
            "POST",
            "/t1/oauth2/v2.0/token",
            None,
            "grant_type=client_credentials&client_id=x&client_secret=y",
        ),
    );
    assert_eq!(status, 401);

    let members: Vec<Value> = (0..7)
        .map(|i| {
            json!({ "userId": format!("u{i}"), "displayName": format!("User {i}"),
                         "email": format!("u{i}@contoso.com"), "roles": [] })
        })
        .collect();
    let team = json!({ "displayName": "Support", "members": members }).to_string();
    assert_eq!(
        call(
            port,
            req("PUT", "/_dev/tenants/t1/teams/team1", None, &team)
        )
        .0,
        204
    );

    let (status, body) = call(port, req("GET", "/v1.0/teams/team1", Some(&token), ""));
    assert_eq!(
        (status, body["displayName"].as_str()),
        (200, Some("Support"))
    );
    let mut path = "/v1.0/teams/team1/members".to_owned();
    let mut seen = 0;
    loop {
        let (status, body) = call(port, req("GET", &path, Some(&token), ""));
        assert_eq!(status, 200, "{body}");
        seen += body["value"].as_array().unwrap().len();
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                path = next
                    .strip_prefix(&format!("http://127.0.0.1:{port}"))
                    .unwrap()
                    .to_owned()
            }
            None => break,
        }
    }
    assert_eq!(seen, 7);

    call(
        port,
        req(
            "POST",
            "/_dev/tenants/t1/throttle",
            None,
            r#"{"requests":1}"#,
        ),
    );
    assert_eq!(
        call(port, req("GET", "/v1.0/teams/team1", Some(&token), "")).0,
        429
    );
    assert_eq!(
        call(port, req("GET", "/v1.0/teams/team1", Some(&token), "")).0,
        200
    );
    // Another tenant's token does not see the team.
    let (_, other) = call(port, req("POST", "/t2/oauth2/v2.0/token", None, &form));
    let other = other["access_token"].as_str().unwrap();
    assert_eq!(
        call(port, req("GET", "/v1.0/teams/team1", Some(other), "")).0,
        404
    );
    assert_eq!(call(port, req("GET", "/v1.0/teams/team1", None, "")).0, 401);
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
    assert_eq!(percent_decode("%"), "%");
    assert_eq!(percent_decode("%2"), "%2");
}

//! The demo tenant, set up over HTTP through the admin and provisioning APIs exactly as an
//! operator and a tenant admin would, so the seed also exercises the stack end to end.
//! Safe to repeat against the same database: existing things are found and reused.

use std::time::Duration;

use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::{json, Value};
use stratus_dev_issuer::{DevIssuer, TokenSpec};

use crate::stack;

pub const DEMO_TENANT_ID: &str = "5eed0000-0000-4000-8000-000000000001";
pub const DEMO_TENANT_NAME: &str = "Contoso Demo";
pub const DEMO_APP_ID: &str = "5eed0000-0000-4000-8000-0000000a0001";
pub const DEMO_USER_ID: &str = "5eed0000-0000-4000-8000-000000000101";
const SALES: &str = "Sales";
const SUPPORT: &str = "Support";
const DEMO_SKILL: &str = "English";
/// Lifetime of the tokens minted for printing: a working day.
pub const PRINTED_TOKEN_MINUTES: i64 = 12 * 60;

/// What the seed created or found.
#[derive(Debug)]
pub struct Seeded {
    pub tenant_id: String,
    pub root_ou_id: String,
    pub sales_ou_id: String,
    pub support_ou_id: String,
    pub app_id: String,
    pub skill_id: Option<String>,
    pub user_id: String,
}

/// Who calls the API during the seed.
struct Callers {
    operator: String,
    tenant_admin: String,
    provisioning_app: String,
}

impl Callers {
    fn mint(issuer: &DevIssuer, port: u16, operator_tenant: &str) -> anyhow::Result<Self> {
        Ok(Self {
            operator: issuer.token(&TokenSpec::operator(port).tenant(operator_tenant))?,
            tenant_admin: issuer.token(&TokenSpec::tenant_admin(port, DEMO_TENANT_ID))?,
            provisioning_app: issuer.token(&TokenSpec::provisioning_app(
                port,
                DEMO_TENANT_ID,
                DEMO_APP_ID,
            ))?,
        })
    }
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// Sends a request; answers with status and JSON body (Null when empty), failing unless
    /// the status is one of `accept`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        accept: &[u16],
    ) -> anyhow::Result<(u16, Value)> {
        let what = format!("{method} {path}");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| what.clone())?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        let json = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !accept.contains(&status) {
            bail!("{what} answered {status}: {json}");
        }
        println!("    {what} → {status}");
        Ok((status, json))
    }
}

fn string_field(value: &Value, field: &str, what: &str) -> anyhow::Result<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{what}: no \"{field}\" in {value}"))
}

/// Sets up the demo tenant on the stack at `api`.
pub async fn seed(
    api: &str,
    issuer: &DevIssuer,
    issuer_port: u16,
    operator_tenant: &str,
) -> anyhow::Result<Seeded> {
    println!("==> seeding the demo tenant {DEMO_TENANT_ID} at {api}");
    let callers = Callers::mint(issuer, issuer_port, operator_tenant)?;
    let api = Api {
        base: api.trim_end_matches('/').to_owned(),
        // Generous: watch may still be starting a function on its first request.
        client: stack::http_client(Duration::from_secs(300))?,
    };
    let tenant_path = format!("/api/admin/tenants/{DEMO_TENANT_ID}");

    // Operator: the tenant, its licences, provisioning on.
    let (_, tenant) = api
        .call(
            Method::PUT,
            &tenant_path,
            &callers.operator,
            Some(json!({ "name": DEMO_TENANT_NAME })),
            &[200, 201],
        )
        .await?;
    let root_ou_id = string_field(&tenant, "rootOrganizationUnitId", "PUT tenant")?;
    api.call(
        Method::PUT,
        &format!("{tenant_path}/licenses"),
        &callers.operator,
        Some(json!({
            "AdvancedRouting": 5,
            "EnterpriseRouting": 2,
            "ContactCenter": 10,
            "AttendantConsole": 3,
            "Interact": 2,
            "Assistant": 2,
            "Transcription": 2,
        })),
        &[200],
    )
    .await?;
    api.call(
        Method::PUT,
        &format!("{tenant_path}/provisioning"),
        &callers.operator,
        Some(json!({ "publicApiEnabled": true })),
        &[200],
    )
    .await?;

    // Tenant admin: two OUs under the root (reused when a rerun finds them).
    let (_, units) = api
        .call(
            Method::GET,
            "/api/admin/organization-units",
            &callers.tenant_admin,
            None,
            &[200],
        )
        .await?;
    let sales_ou_id = ensure_ou(&api, &callers, &units, SALES, &root_ou_id).await?;
    let support_ou_id = ensure_ou(&api, &callers, &units, SUPPORT, &root_ou_id).await?;

    // The demo provisioning app may manage users in Sales.
    api.call(
        Method::PUT,
        &format!("/api/admin/app-permissions/{DEMO_APP_ID}"),
        &callers.tenant_admin,
        Some(json!({ "organizationUnitIds": [sales_ou_id] })),
        &[200],
    )
    .await?;

    let (status, skill) = api
        .call(
            Method::POST,
            "/api/admin/skills",
            &callers.tenant_admin,
            Some(json!({ "name": DEMO_SKILL, "organizationUnitId": sales_ou_id })),
            &[201, 409],
        )
        .await?;
    let mut skill_id = if status == 201 {
        Some(string_field(&skill, "id", "POST skill")?)
    } else {
        None
    };

    // The template user: created through the provisioning API, completed by the admin.
    let (status, user) = api
        .call(
            Method::POST,
            "/api/public-api-next/user",
            &callers.provisioning_app,
            Some(json!({ "o365Id": DEMO_USER_ID, "organizationUnitId": sales_ou_id })),
            &[200, 409],
        )
        .await?;
    if status == 409 {
        let (_, existing) = api
            .call(
                Method::GET,
                &format!("/api/public-api-next/user/{DEMO_USER_ID}"),
                &callers.provisioning_app,
                None,
                &[200],
            )
            .await?;
        // The skill existed already (a rerun): take its id from the user holding it.
        if skill_id.is_none() {
            skill_id = existing["skills"][0]["skillId"].as_str().map(str::to_owned);
        }
    } else {
        string_field(&user, "o365Id", "POST user")?;
    }
    let mut patch = json!({ "licenses": ["ContactCenter"], "modalities": ["Audio", "Chat"] });
    if let Some(skill_id) = &skill_id {
        patch["skills"] = json!([{ "skillId": skill_id, "level": 80 }]);
    } else {
        println!("    (skill {DEMO_SKILL} existed and its id is unknown: not assigned)");
    }
    api.call(
        Method::PATCH,
        &format!("/api/admin/users/{DEMO_USER_ID}"),
        &callers.tenant_admin,
        Some(patch),
        &[200],
    )
    .await?;

    Ok(Seeded {
        tenant_id: DEMO_TENANT_ID.to_owned(),
        root_ou_id,
        sales_ou_id,
        support_ou_id,
        app_id: DEMO_APP_ID.to_owned(),
        skill_id,
        user_id: DEMO_USER_ID.to_owned(),
    })
}

async fn ensure_ou(
    api: &Api,
    callers: &Callers,
    existing: &Value,
    name: &str,
    root_ou_id: &str,
) -> anyhow::Result<String> {
    let found = existing.as_array().and_then(|units| {
        units.iter().find(|unit| {
            unit["name"].as_str() == Some(name) && unit["parentId"].as_str() == Some(root_ou_id)
        })
    });
    if let Some(unit) = found {
        return string_field(unit, "id", "GET organization-units");
    }
    let (_, unit) = api
        .call(
            Method::POST,
            "/api/admin/organization-units",
            &callers.tenant_admin,
            Some(json!({ "name": name, "parentId": root_ou_id })),
            &[201],
        )
        .await?;
    string_field(&unit, "id", "POST organization-units")
}

/// Prints the ids and curl examples with fresh tokens.
pub fn print_examples(
    api: &str,
    issuer: &DevIssuer,
    issuer_port: u16,
    operator_tenant: &str,
    seeded: &Seeded,
    policy_dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let minutes = PRINTED_TOKEN_MINUTES;
    let lifetime = minutes * 60;
    let operator = issuer.token(
        &TokenSpec::operator(issuer_port)
            .tenant(operator_tenant)
            .lifetime_secs(lifetime),
    )?;
    let admin = issuer
        .token(&TokenSpec::tenant_admin(issuer_port, &seeded.tenant_id).lifetime_secs(lifetime))?;
    let app = issuer.token(
        &TokenSpec::provisioning_app(issuer_port, &seeded.tenant_id, &seeded.app_id)
            .lifetime_secs(lifetime),
    )?;
    let new_user = uuid::Uuid::new_v4();
    let Seeded {
        tenant_id,
        root_ou_id,
        sales_ou_id,
        support_ou_id,
        app_id,
        skill_id,
        user_id,
    } = seeded;
    let skill = skill_id.as_deref().unwrap_or("(unknown)");
    println!(
        r#"
Demo tenant "{DEMO_TENANT_NAME}"
  tenant id            {tenant_id}
  root OU              {root_ou_id}
  OU Sales             {sales_ou_id}
  OU Support           {support_ou_id}
  provisioning app     {app_id}   (scope: Sales)
  skill "{DEMO_SKILL}"        {skill}
  template user        {user_id}   (Sales, ContactCenter licence, skill level 80)
  operator tenant      {operator_tenant}

Tokens (valid {minutes} minutes; new ones: cargo xtask token [--operator | --tenant-admin]):
export OPERATOR_TOKEN='{operator}'
export ADMIN_TOKEN='{admin}'
export APP_TOKEN='{app}'

Try:
curl -s {api}/api/public-api-next/user/license-usage -H "Authorization: Bearer $APP_TOKEN"
curl -s {api}/api/public-api-next/user/{user_id} -H "Authorization: Bearer $APP_TOKEN"
curl -s -X POST {api}/api/public-api-next/user/copy -H "Authorization: Bearer $APP_TOKEN" \
     -H 'Content-Type: application/json' -d '{{"newO365Id":"{new_user}","sourceO365Id":"{user_id}"}}'
curl -s -X POST {api}/api/public-api-next/user -H "Authorization: Bearer $APP_TOKEN" \
     -H 'Content-Type: application/json' -d '{{"o365Id":"'$(cat /proc/sys/kernel/random/uuid)'","organizationUnitId":"{sales_ou_id}"}}'
curl -s {api}/api/admin/organization-units -H "Authorization: Bearer $ADMIN_TOKEN"
curl -s -X PUT {api}/api/admin/tenants/{tenant_id}/licenses -H "Authorization: Bearer $OPERATOR_TOKEN" \
     -H 'Content-Type: application/json' -d '{{"ContactCenter":20}}'"#
    );
    if let Some(dir) = policy_dir {
        println!(
            "curl -s -X POST {api}/api/admin/plugins/skills/versions -H \"Authorization: Bearer $ADMIN_TOKEN\" \\\n     \
             -H 'Content-Type: application/wasm' --data-binary @{}",
            dir.join("skill_based.wasm").display()
        );
    }
    Ok(())
}

/// `cargo xtask seed`: seeds a running dev stack (`STRATUS_API_URL`, default port 9000) that
/// trusts the dev issuer (`STRATUS_DEV_ISSUER_PORT`, default 9010).
pub async fn command() -> anyhow::Result<()> {
    let api = std::env::var("STRATUS_API_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| stack::api_url(stack::DEV_API_PORT));
    let port = crate::token::issuer_port_from_env()?;
    let issuer = DevIssuer::load_or_create(&crate::paths::issuer_dir())?;
    let operator_tenant = stack::operator_tenant_id();
    let seeded = seed(&api, &issuer, port, &operator_tenant).await?;
    // The upload example only where the policies have been built.
    let policy_dir = crate::policies::dir(None)
        .ok()
        .filter(|dir| dir.join("skill_based.wasm").is_file());
    print_examples(
        &api,
        &issuer,
        port,
        &operator_tenant,
        &seeded,
        policy_dir.as_deref(),
    )
}

/// The demo team the Graph stand-in knows in the demo tenant (`cargo xtask dev`).
pub const DEMO_TEAM_ID: &str = "7e1f3b9a-5c2d-4e8f-9a0b-1c2d3e4f5a6b";

/// Sets the demo team and its roster in the Graph stand-in on `graph_port`.
pub async fn seed_demo_team(graph_port: u16, tenant_id: &str) -> anyhow::Result<()> {
    let people = [
        (
            "3a1b2c3d-0000-4000-8000-000000000001",
            "Megan Bowen",
            "owner",
        ),
        ("3a1b2c3d-0000-4000-8000-000000000002", "Alex Wilber", ""),
        ("3a1b2c3d-0000-4000-8000-000000000003", "Lynne Robbins", ""),
        (
            "3a1b2c3d-0000-4000-8000-000000000004",
            "Diego Siciliani",
            "",
        ),
    ];
    let members: Vec<Value> = people
        .iter()
        .map(|(id, name, role)| {
            let email = format!(
                "{}@contoso.com",
                name.split(' ').next().unwrap_or("x").to_lowercase()
            );
            let roles: Vec<&str> = Some(*role).filter(|r| !r.is_empty()).into_iter().collect();
            json!({ "userId": id, "displayName": name, "email": email, "roles": roles })
        })
        .collect();
    let url = format!(
        "{}/_dev/tenants/{tenant_id}/teams/{DEMO_TEAM_ID}",
        stack::api_url(graph_port)
    );
    let response = stack::http_client(std::time::Duration::from_secs(10))?
        .put(&url)
        .json(&json!({ "displayName": "Customer Care", "members": members }))
        .send()
        .await
        .with_context(|| format!("PUT {url}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "PUT {url} answered {}",
        response.status()
    );
    Ok(())
}

/// How to try Teams-based services against the demo team.
pub fn print_team_examples(api: &str, seeded: &Seeded) {
    println!(
        r#"
Teams-based services (the Graph stand-in knows the team "Customer Care", {DEMO_TEAM_ID}):
curl -s -X POST {api}/api/admin/services/from-team -H "Authorization: Bearer $ADMIN_TOKEN" \
     -H 'Content-Type: application/json' \
     -d '{{"teamId":"{DEMO_TEAM_ID}","organizationUnitId":"{}","upn":"care@contoso.com","region":"ch-01"}}'
curl -s -X POST {api}/api/admin/services/<serviceId>/sync -H "Authorization: Bearer $ADMIN_TOKEN""#,
        seeded.support_ou_id
    );
}

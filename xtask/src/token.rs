//! `cargo xtask token`: prints a dev token signed with the key in `.stratus/dev-issuer/`.

use anyhow::{bail, Context};
use stratus_dev_issuer::{
    DevIssuer, TokenSpec, DEV_ISSUER_PORT, PROVISIONING_ROLES, ROLE_OPERATOR, ROLE_TENANT_ADMIN,
};

use crate::seed::{DEMO_APP_ID, DEMO_TENANT_ID};
use crate::{paths, stack};

pub const USAGE: &str = "\
cargo xtask token [--tenant GUID] [--app GUID] [--oid GUID] [--roles a,b] [--minutes N]
                  [--operator] [--tenant-admin] [--port N]
  Prints a token of the dev issuer (key in .stratus/dev-issuer/) on stdout.
  Without options: a token of the demo provisioning app with all four Provisioning.* roles,
  valid 60 minutes (tenant {DEMO_TENANT}, app {DEMO_APP}).
  --operator      tenant = the operator tenant (STRATUS_OPERATOR_TENANT_ID), role Stratus.Operator
  --tenant-admin  role Tenant.Admin (tenant: --tenant or the demo tenant), no app
  --roles a,b     exactly these roles (added to those of --operator / --tenant-admin)
  --port N        issuer port in `iss` (default STRATUS_DEV_ISSUER_PORT or 9010)";

#[derive(Debug, Default, PartialEq)]
struct Options {
    tenant: Option<String>,
    app: Option<String>,
    oid: Option<String>,
    roles: Option<Vec<String>>,
    minutes: Option<i64>,
    operator: bool,
    tenant_admin: bool,
    port: Option<u16>,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || -> anyhow::Result<String> {
            match &inline {
                Some(value) => Ok(value.clone()),
                None => args
                    .next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value")),
            }
        };
        match flag {
            "--tenant" => options.tenant = Some(guid(&value()?, flag)?),
            "--app" => options.app = Some(guid(&value()?, flag)?),
            "--oid" => options.oid = Some(guid(&value()?, flag)?),
            "--roles" => {
                options.roles = Some(
                    value()?
                        .split(',')
                        .map(str::trim)
                        .filter(|role| !role.is_empty())
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "--minutes" => {
                let text = value()?;
                options.minutes = Some(
                    text.parse()
                        .ok()
                        .filter(|minutes: &i64| *minutes > 0)
                        .with_context(|| {
                            format!("--minutes must be a positive number, not {text}")
                        })?,
                );
            }
            "--port" => {
                let text = value()?;
                options.port = Some(
                    text.parse()
                        .with_context(|| format!("--port must be a port number, not {text}"))?,
                );
            }
            "--operator" => options.operator = true,
            "--tenant-admin" => options.tenant_admin = true,
            _ => bail!("unknown option {arg}\n\n{}", usage()),
        }
    }
    Ok(options)
}

fn guid(text: &str, flag: &str) -> anyhow::Result<String> {
    uuid::Uuid::parse_str(text)
        .map(|id| id.hyphenated().to_string())
        .with_context(|| format!("{flag} must be a GUID, not {text}"))
}

pub fn usage() -> String {
    USAGE
        .replace("{DEMO_TENANT}", DEMO_TENANT_ID)
        .replace("{DEMO_APP}", DEMO_APP_ID)
}

/// The token spec for `options`.
fn spec(options: &Options, port: u16, operator_tenant: &str) -> TokenSpec {
    let mut spec = TokenSpec::new(port).lifetime_secs(options.minutes.unwrap_or(60) * 60);
    let mut roles: Vec<String> = Vec::new();
    let privileged = options.operator || options.tenant_admin;
    if options.operator {
        spec = spec.tenant(operator_tenant);
        roles.push(ROLE_OPERATOR.to_owned());
    } else {
        spec = spec.tenant(DEMO_TENANT_ID);
    }
    if options.tenant_admin {
        roles.push(ROLE_TENANT_ADMIN.to_owned());
    }
    if !privileged {
        spec = spec.app(DEMO_APP_ID);
        if options.roles.is_none() {
            roles.extend(PROVISIONING_ROLES.iter().map(|role| (*role).to_owned()));
        }
    }
    if let Some(extra) = &options.roles {
        roles.extend(extra.iter().cloned());
    }
    if let Some(tenant) = &options.tenant {
        spec = spec.tenant(tenant.clone());
    }
    if let Some(app) = &options.app {
        spec = spec.app(app.clone());
    }
    if let Some(oid) = &options.oid {
        spec = spec.object_id(oid.clone());
    }
    spec.roles = roles;
    spec
}

/// `STRATUS_DEV_ISSUER_PORT`, or 9010.
pub fn issuer_port_from_env() -> anyhow::Result<u16> {
    match std::env::var("STRATUS_DEV_ISSUER_PORT") {
        Ok(text) if !text.is_empty() => text
            .parse()
            .with_context(|| format!("STRATUS_DEV_ISSUER_PORT must be a port number, not {text}")),
        _ => Ok(DEV_ISSUER_PORT),
    }
}

pub fn command(args: &[String]) -> anyhow::Result<()> {
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{}", usage());
        return Ok(());
    }
    let options = parse(args)?;
    let port = match options.port {
        Some(port) => port,
        None => issuer_port_from_env()?,
    };
    let issuer = DevIssuer::load_or_create(&paths::issuer_dir())?;
    let token = issuer.token(&spec(&options, port, &stack::operator_tenant_id()))?;
    println!("{token}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn default_is_the_demo_provisioning_app() {
        let claims = spec(&parse(&[]).unwrap(), 9010, "op").claims();
        assert_eq!(claims["tid"], DEMO_TENANT_ID);
        assert_eq!(claims["appid"], DEMO_APP_ID);
        assert_eq!(claims["roles"].as_array().unwrap().len(), 4);
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 3600);
    }

    #[test]
    fn operator_and_tenant_admin() {
        let claims = spec(&parse(&args(&["--operator"])).unwrap(), 9010, "op").claims();
        assert_eq!(claims["tid"], "op");
        assert_eq!(claims["roles"], serde_json::json!(["Stratus.Operator"]));
        assert!(claims.get("appid").is_none());

        let tenant = "6f9619ff-8b86-4011-b42d-00cf4fc964ff";
        let options = parse(&args(&[
            "--tenant-admin",
            "--tenant",
            tenant,
            "--minutes=5",
        ]))
        .unwrap();
        let claims = spec(&options, 9010, "op").claims();
        assert_eq!(claims["tid"], tenant);
        assert_eq!(claims["roles"], serde_json::json!(["Tenant.Admin"]));
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert_eq!(lifetime, 300);
    }

    #[test]
    fn explicit_roles_replace_the_provisioning_set() {
        let options = parse(&args(&["--roles", "Provisioning.User.Read, X"])).unwrap();
        let claims = spec(&options, 9010, "op").claims();
        assert_eq!(
            claims["roles"],
            serde_json::json!(["Provisioning.User.Read", "X"])
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&args(&["--tenant", "nope"])).is_err());
        assert!(parse(&args(&["--minutes", "-1"])).is_err());
        assert!(parse(&args(&["--app"])).is_err());
        assert!(parse(&args(&["--what"])).is_err());
    }
}

//! `sila-vpc show`: every resource of an environment, grouped by metanetwork.

use crate::environment::{self, Target};
use clap::Args;
use serde::Serialize;
use sila_cli::Settings;
use sila_core::net::Metanetwork;
use sila_core::vpc_plan::Key;
use std::collections::BTreeMap;

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Serialize)]
struct Zone {
    zone: String,
    subnet: Option<String>,
    route_table: Option<String>,
    route_table_associated: bool,
    nat_gateway: Option<String>,
    routes: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Meta {
    security_group: Option<String>,
    ingress_rules: usize,
    zones: Vec<Zone>,
}

#[derive(Serialize)]
struct View {
    name: String,
    vpc_type: String,
    vpc_id: String,
    cidr: String,
    internet_gateway: Option<String>,
    dhcp_options: Option<String>,
    s3_endpoint: bool,
    metanetworks: BTreeMap<Metanetwork, Meta>,
}

/// Shows the environment as it is in AWS.
pub async fn run(settings: &Settings, args: &ShowArgs) -> anyhow::Result<()> {
    let clients = settings.clients().await?;
    let vpc = environment::find(clients, &args.target).await?;
    let name = vpc.name.clone().unwrap_or_default();
    let live = clients.read_environment(&name, Some(&vpc.vpc_id)).await?;
    let mut metanetworks: BTreeMap<Metanetwork, Meta> = BTreeMap::new();
    for key in live.ids.keys() {
        let (meta, zone) = match key {
            Key::SecurityGroup { meta } => (*meta, None),
            Key::Subnet { meta, zone } | Key::RouteTable { meta, zone } | Key::NatGateway { meta, zone } => {
                (*meta, Some(zone))
            }
            _ => continue,
        };
        let entry = metanetworks.entry(meta).or_insert_with(|| Meta {
            security_group: live.ids.get(&Key::SecurityGroup { meta }).cloned(),
            ingress_rules: live.rules.get(&meta).map_or(0, |r| r.len()),
            zones: Vec::new(),
        });
        if let Some(zone) = zone {
            if entry.zones.iter().any(|z| &z.zone == zone) {
                continue;
            }
            let at = |k: Key| live.ids.get(&k).cloned();
            entry.zones.push(Zone {
                zone: zone.clone(),
                subnet: at(Key::Subnet { meta, zone: zone.clone() }),
                route_table: at(Key::RouteTable { meta, zone: zone.clone() }),
                route_table_associated: live.associated.contains(&(meta, zone.clone())),
                nat_gateway: at(Key::NatGateway { meta, zone: zone.clone() }),
                routes: live.routes.get(&(meta, zone.clone())).cloned().unwrap_or_default(),
            });
        }
    }
    for m in metanetworks.values_mut() {
        m.zones.sort_by(|a, b| a.zone.cmp(&b.zone));
    }
    let view = View {
        name,
        vpc_type: vpc.vpc_type.clone().unwrap_or_default(),
        vpc_id: vpc.vpc_id.clone(),
        cidr: vpc.cidr.clone(),
        internet_gateway: live.ids.get(&Key::InternetGatewayAttachment).cloned(),
        dhcp_options: live.vpc_dhcp_options.clone(),
        s3_endpoint: live.s3_endpoint,
        metanetworks,
    };
    let printer = settings.printer();
    if printer.json() {
        return Ok(printer.print_json(&view)?);
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut out = format!(
        "environment {} (type {}) {} {}\n  internet gateway {}\n  DHCP options {}\n  S3 endpoint {}\n",
        view.name,
        view.vpc_type,
        view.vpc_id,
        view.cidr,
        dash(&view.internet_gateway),
        dash(&view.dhcp_options),
        if view.s3_endpoint { "yes" } else { "no" }
    );
    for (meta, m) in &view.metanetworks {
        out.push_str(&format!(
            "{meta}: security group {} ({} ingress rules)\n",
            dash(&m.security_group),
            m.ingress_rules
        ));
        for z in &m.zones {
            let routes: Vec<String> = z.routes.iter().map(|(d, t)| format!("{d}->{t}")).collect();
            out.push_str(&format!(
                "  {}  subnet {}  route table {}{}  NAT {}  routes {}\n",
                z.zone,
                dash(&z.subnet),
                dash(&z.route_table),
                if z.route_table_associated { "" } else { " (not associated)" },
                dash(&z.nat_gateway),
                if routes.is_empty() { "-".to_string() } else { routes.join(" ") }
            ));
        }
    }
    Ok(printer.line(out.trim_end())?)
}

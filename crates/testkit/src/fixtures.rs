//! What end-to-end tests build in the emulator before running a tool, made through the SDK directly
//! (never through `sila-cloud`), tagged the way Sila's own tools tag them: an environment's VPC,
//! subnets and security groups, an image, and a launched instance.

use crate::block_on;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;

/// A tag specification for `kind` with `tags`.
pub fn tag_spec(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    let tags = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

/// An environment as `sila-vpc` tags it: a VPC `Name=name, type=vpc_type` over `cidr`, a subnet per
/// `(metanetwork, cidr, zone)` tagged `meta_network`, and a security group `<name>_<metanetwork>`
/// per metanetwork. Returns the VPC id.
pub fn environment(ec2: &Client, name: &str, vpc_type: &str, cidr: &str, subnets: &[(&str, &str, &str)]) -> String {
    let vpc = block_on(
        ec2.create_vpc()
            .cidr_block(cidr)
            .tag_specifications(tag_spec(ResourceType::Vpc, &[("Name", name), ("type", vpc_type)]))
            .send(),
    )
    .expect("create vpc");
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_string();
    let mut metanetworks: Vec<&str> = Vec::new();
    for (meta, cidr, zone) in subnets {
        block_on(
            ec2.create_subnet()
                .vpc_id(&vpc)
                .cidr_block(*cidr)
                .availability_zone(*zone)
                .tag_specifications(tag_spec(ResourceType::Subnet, &[("meta_network", meta)]))
                .send(),
        )
        .expect("create subnet");
        if !metanetworks.contains(meta) {
            metanetworks.push(meta);
        }
    }
    for meta in metanetworks {
        block_on(
            ec2.create_security_group()
                .vpc_id(&vpc)
                .group_name(format!("{name}_{meta}"))
                .description(meta)
                .tag_specifications(tag_spec(ResourceType::SecurityGroup, &[("meta_network", meta)]))
                .send(),
        )
        .expect("create security group");
    }
    vpc
}

/// An image named `name` (e.g. `mhcweb 0000000100`) with `tags` (none: untagged), made from a
/// throwaway instance.
/// Returns the image id.
pub fn image(ec2: &Client, name: &str, tags: &[(&str, &str)]) -> String {
    let run = block_on(ec2.run_instances().image_id("ami-0000000000000de12").min_count(1).max_count(1).send())
        .expect("run instance");
    let instance = run.instances()[0].instance_id().expect("instance id").to_string();
    let mut request = ec2.create_image().instance_id(&instance).name(name);
    if !tags.is_empty() {
        request = request.tag_specifications(tag_spec(ResourceType::Image, tags));
    }
    let made = block_on(request.send()).expect("create image");
    block_on(ec2.terminate_instances().instance_ids(&instance).send()).expect("terminate instance");
    made.image_id().expect("image id").to_string()
}

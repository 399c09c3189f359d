//! Tests of `pipeline/mod.rs`.

use super::*;
use crate::diag::Severity;
use std::collections::BTreeMap;

fn path() -> &'static Path {
    Path::new("pipelines/test.csv")
}

fn parse(text: &str) -> Pipeline {
    Pipeline::parse(path(), text).unwrap_or_else(|e| panic!("{e}"))
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match Pipeline::parse(path(), text) {
        Ok(p) => panic!("expected errors, got {p:?}"),
        Err(Diagnostics(d)) => d.into_iter().filter(Diagnostic::is_error).collect(),
    }
}

fn lines(diags: &[Diagnostic]) -> Vec<Option<usize>> {
    diags.iter().map(|d| d.line).collect()
}

#[test]
fn sample_ci_csv() {
    let p = parse(
        "sequence,hostclass,min_size,desired_size,max_size,instance_type,extra_disk,iops,smoke_test,integration_test,deployable\n\
         1,mhczookeeper,1,1,1,m3.medium,,,yes,,yes\n\
         1,mhcntp,1,1,1,t2.micro,,,no,,yes\n\
         1,mhcadminproxy,1,1,1,t2.micro,,,no,,yes\n",
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.path, path());
    let hostclasses: Vec<&str> = p.rows.iter().map(|r| r.hostclass.as_str()).collect();
    assert_eq!(hostclasses, ["mhczookeeper", "mhcntp", "mhcadminproxy"]);
    let zk = &p.rows[0];
    assert_eq!(zk.line, 2);
    assert_eq!(zk.sequence, Some(1));
    assert_eq!(zk.min_size, Size::Constant(1));
    assert_eq!(zk.instance_type.as_deref(), Some("m3.medium"));
    assert!(zk.smoke_test && zk.deployable);
    assert_eq!(zk.extra_disk, None);
    assert_eq!(zk.iops, None);
    assert_eq!(zk.integration_test, None);
    assert_eq!(zk.chaos, None);
    assert!(!p.rows[1].smoke_test);
    assert_eq!(p.rows[2].line, 4);
}

#[test]
fn columns_in_any_order_and_missing_columns_unset() {
    // minimal.csv: desired before min, no max_size.
    let p = parse("sequence,hostclass,desired_size,min_size,instance_type,extra_disk,iops,smoke_test\n1,mhcbanana,2,1,t2.nano,,,yes\n");
    let row = &p.rows[0];
    assert_eq!(row.hostclass, "mhcbanana");
    assert_eq!(row.desired_size, Size::Constant(2));
    assert_eq!(row.min_size, Size::Constant(1));
    assert_eq!(row.max_size, Size::Unset);
    assert!(row.smoke_test);
    assert_eq!(new_group_sizes(row.wanted_sizes()), GroupSizes { min: 1, desired: 2, max: 2 });
}

#[test]
fn header_names_are_trimmed_and_lower_cased() {
    let p = parse(" HostClass , Min_Size ,Sequence\nmhcfoo,2,3\n");
    assert_eq!(p.rows[0].hostclass, "mhcfoo");
    assert_eq!(p.rows[0].min_size, Size::Constant(2));
    assert_eq!(p.rows[0].sequence, Some(3));
}

#[test]
fn every_column_is_read() {
    let p = parse(
        "sequence,hostclass,min_size,desired_size,max_size,instance_type,extra_space,extra_disk,iops,smoke_test,ami,\
         termination_policies,chaos,spotinst,spotinst_reserve,deployable,integration_test\n\
         2,mhcweb,1@0 8 * * 1-5:0@0 20 * * 1-5,2,4,m4.large:c4.large,10,100,1000,Y,ami-0123abcd,\
         OldestInstance  NewestInstance,no,true,10%,aye,smoke_web\n",
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let expected = PipelineRow {
        line: 2,
        sequence: Some(2),
        hostclass: "mhcweb".into(),
        min_size: Size::Schedule(BTreeMap::from([("0 8 * * 1-5".into(), 1), ("0 20 * * 1-5".into(), 0)])),
        desired_size: Size::Constant(2),
        max_size: Size::Constant(4),
        instance_type: Some("m4.large:c4.large".into()),
        extra_space: Some(10),
        extra_disk: Some(100),
        iops: Some(1000),
        smoke_test: true,
        ami: Some("ami-0123abcd".into()),
        termination_policies: vec!["OldestInstance".into(), "NewestInstance".into()],
        chaos: Some(false),
        spotinst: true,
        spotinst_reserve: Some("10%".into()),
        deployable: true,
        integration_test: Some("smoke_web".into()),
    };
    assert_eq!(p.rows[0], expected);
    let row = &p.rows[0];
    assert_eq!(row.first_instance_type(), Some("m4.large"));
    assert_eq!(row.instance_types(), ["m4.large", "c4.large"]);
    assert_eq!(row.wanted_sizes(), WantedSizes { min: Some(0), desired: Some(2), max: Some(4) });
    assert_eq!(row.scheduled_actions().len(), 2);
}

#[test]
fn chaos_is_none_only_when_empty() {
    let p = parse("hostclass,chaos\na,\nb,yes\nc,no\nd,on\ne,\n");
    let chaos: Vec<Option<bool>> = p.rows.iter().map(|r| r.chaos).collect();
    assert_eq!(chaos, [None, Some(true), Some(false), Some(false), None]);
}

#[test]
fn empty_trailing_cells_and_blank_lines() {
    let p = parse("sequence,hostclass,min_size,max_size\n\n1,mhca,,\n\n\n2,mhcb,1,\n,,,\n  \n");
    assert_eq!(p.rows.len(), 2);
    assert_eq!(p.rows[0].line, 3);
    assert_eq!(p.rows[0].min_size, Size::Unset);
    assert_eq!(p.rows[1].line, 6);
    assert_eq!(p.rows[1].min_size, Size::Constant(1));
    assert_eq!(p.rows[1].max_size, Size::Unset);
}

#[test]
fn a_row_shorter_than_the_header_is_an_error_naming_its_line() {
    // Asiaq read missing trailing cells as unset (§3.3): a row cut short by an editor then spun a
    // running hostclass down to the defaults. Here it is an error, with the file and line.
    let text = "sequence,hostclass,min_size,desired_size,max_size,instance_type\n\
                1,mhca,1,1,1,m4.large\n\
                1,mhcb,2\n\
                \n\
                2,mhcc,1,1,1,\n\
                2,mhcd,1,1,1\n";
    let errs = errors(text);
    assert_eq!(lines(&errs), [Some(3), Some(6)]);
    assert!(errs[0].message.contains("3 cells") && errs[0].message.contains("names 6"), "{}", errs[0]);
    assert!(errs[0].to_string().starts_with("pipelines/test.csv:3: error: "), "{}", errs[0]);
    // Empty header cells at the end name no column: a row need not fill them.
    assert_eq!(parse("hostclass,min_size,,\nmhca,1\n").rows.len(), 1);
}

#[test]
fn sizes_aws_would_refuse_are_errors_not_clamped() {
    let header = "hostclass,min_size,desired_size,max_size,extra_space,extra_disk,iops\n";
    for bad in [
        "mhca,2147483648,,,,,",
        "mhca,,4000000000,,,,",
        "mhca,,,1@0 1 * * *:2147483648@0 2 * * *,,,",
        "mhca,,,,16377,,",
        "mhca,,,,,16385,",
        "mhca,,,,,0,",
        "mhca,,,,,,64001",
        "mhca,,,,,,99",
        "mhca,,,,,10,1000",
    ] {
        let errs = errors(&format!("{header}{bad}\n"));
        assert_eq!(lines(&errs), [Some(2)], "{bad}");
    }
    let p = parse(&format!("{header}mhca,2147483647,0,2147483647,16376,16384,64000\nmhcb,,,,,,100\n"));
    assert_eq!(p.rows[0].extra_space, Some(16376));
    assert_eq!(p.rows[0].max_size, Size::Constant(2_147_483_647));
    assert_eq!(p.rows[1].iops, Some(100));
}

#[test]
fn line_numbers_count_blank_lines() {
    // The csv crate's own line counter skips blank lines; the reported lines must not.
    let errs = errors("\n\nsequence,hostclass\n\nx,a\n\n\n2,\n");
    assert_eq!(lines(&errs), [Some(5), Some(8)]);
    let errs = errors("\r\nhostclass,iops\r\n\r\nmhca,x\r\n");
    assert_eq!(lines(&errs), [Some(4)]);
    let p = parse("\n  \n,\nhostclass\n\n");
    assert!(p.rows.is_empty());
    assert_eq!(lines(&p.warnings), [Some(4)]);
    assert!(p.warnings[0].message.contains("no hostclass"), "{}", p.warnings[0]);
}

#[test]
fn crlf_bom_and_quoted_cells() {
    let p = parse("\u{feff}hostclass,min_size,termination_policies\r\nmhca,\"1@0 1 * * *:2@0 2 * * *\",\"OldestInstance Default\"\r\n");
    assert_eq!(p.rows[0].hostclass, "mhca");
    assert_eq!(p.rows[0].min_size.min_value(), Some(1));
    assert_eq!(p.rows[0].termination_policies, ["OldestInstance", "Default"]);
}

#[test]
fn missing_hostclass_column_is_an_error_on_line_1() {
    let errs = errors("sequence,host_class,min_size\n1,mhcfoo,1\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(1));
    assert!(errs[0].message.contains("hostclass"), "{}", errs[0]);
    assert_eq!(errors("").len(), 1);
    assert_eq!(errors("")[0].line, Some(1));
}

#[test]
fn all_problems_are_reported_with_their_lines() {
    let text = "sequence,hostclass,min_size,desired_size,max_size,iops,extra_space,extra_disk,ami,spotinst_reserve,instance_type\n\
                1,mhcok,1,1,1,,,,,,\n\
                x,mhcbadseq,1,1,1,,,,,,\n\
                1,,1,1,1,,,,,,\n\
                1,mhcbadsize,1@61 * * * *,1,1,,,,,,\n\
                1,mhcbadiops,1,1,1,fast,-1,1.5,,,\n\
                1,mhcbadami,,,,,,,ami-xyz,110%,m4.large:\n";
    let errs = errors(text);
    assert_eq!(lines(&errs), [Some(3), Some(4), Some(5), Some(6), Some(6), Some(6), Some(7), Some(7), Some(7)]);
    assert!(errs[0].message.contains("sequence"));
    assert!(errs[1].message.contains("empty hostclass"));
    assert!(errs[2].message.contains("min_size") && errs[2].message.contains("61 * * * *"));
    assert!(errs.iter().all(|d| d.path == path()));
    let shown = errs[0].to_string();
    assert!(shown.starts_with("pipelines/test.csv:3: error: "), "{shown}");
}

#[test]
fn warnings_do_not_fail_the_parse() {
    let p = parse(
        "hostclass,min_size,max_size,colour,hostclass,termination_policies\n\
         ignored,5,3,red,mhca,Sometimes\n\
         x,1,2,,mhca,,surplus\n",
    );
    assert_eq!(p.rows.len(), 2);
    // The later `hostclass` column wins.
    assert_eq!(p.rows[0].hostclass, "mhca");
    let messages: Vec<(Option<usize>, &str)> = p.warnings.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert!(p.warnings.iter().all(|d| d.severity == Severity::Warning));
    assert!(messages.iter().any(|(l, m)| *l == Some(1) && m.contains("unknown column `colour`")));
    assert!(messages.iter().any(|(l, m)| *l == Some(1) && m.contains("more than once")));
    assert!(messages.iter().any(|(l, m)| *l == Some(2) && m.contains("min_size (5) is greater than max_size (3)")));
    assert!(messages.iter().any(|(l, m)| *l == Some(2) && m.contains("`Sometimes`")));
    assert!(messages.iter().any(|(l, m)| *l == Some(3) && m.contains("extra cells")));
    assert!(messages.iter().any(|(l, m)| *l == Some(3) && m.contains("already listed on line 2")));
}

#[test]
fn errors_carry_the_warnings_too() {
    let Err(Diagnostics(diags)) = Pipeline::parse(path(), "hostclass,colour\n,blue\n") else {
        panic!("expected an error");
    };
    assert_eq!(diags.len(), 2);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!(diags[1].severity, Severity::Error);
    assert_eq!(diags[1].line, Some(2));
}

#[test]
fn multi_line_quoted_cell_keeps_the_row_start_line() {
    let errs = errors("hostclass,iops\n\"mhc\nfoo\",x\nmhcbar,y\n");
    assert_eq!(lines(&errs), [Some(2), Some(4)]);
}

#[test]
fn spotinst_reserve_forms() {
    for ok in ["10%", "100%", "3", "0"] {
        assert_eq!(
            parse(&format!("hostclass,spotinst_reserve\na,{ok}\n")).rows[0].spotinst_reserve.as_deref(),
            Some(ok)
        );
    }
    for bad in ["101%", "%", "ten", "-1", "1.5%"] {
        assert_eq!(errors(&format!("hostclass,spotinst_reserve\na,{bad}\n")).len(), 1, "{bad}");
    }
}

#[test]
fn sequence_batches_in_ascending_order_and_file_order() {
    let p = parse("sequence,hostclass\n2,c\n1,a\n10,e\n2,d\n1,b\n");
    let batches: Vec<(u32, Vec<&str>)> = p
        .sequence_batches()
        .unwrap()
        .into_iter()
        .map(|(s, rows)| (s, rows.iter().map(|r| r.hostclass.as_str()).collect()))
        .collect();
    assert_eq!(batches, [(1, vec!["a", "b"]), (2, vec!["c", "d"]), (10, vec!["e"])]);
    let p = parse("hostclass,sequence\na,1\nb,\n");
    let Err(Diagnostics(errs)) = p.sequence_batches() else { panic!("missing sequence accepted") };
    assert_eq!(lines(&errs), [Some(3)]);
    assert_eq!(p.rows_for("b").count(), 1);
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ci.csv");
    std::fs::write(&file, "hostclass\nmhcntp\n").unwrap();
    assert_eq!(Pipeline::load(&file).unwrap().rows[0].hostclass, "mhcntp");
    let Err(Diagnostics(errs)) = Pipeline::load(&dir.path().join("absent.csv")) else { panic!() };
    assert_eq!(errs[0].line, None);
}

#[test]
fn sample_pipelines_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/asiaq-sample-config/pipelines");
    if !dir.is_dir() {
        eprintln!("skipping: sample pipelines not found at {}", dir.display());
        return;
    }
    for name in ["build.csv", "ci.csv", "minimal.csv"] {
        let p = Pipeline::load(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
        assert!(!p.rows.is_empty());
        assert!(p.sequence_batches().is_ok());
    }
    let build = Pipeline::load(&dir.join("build.csv")).unwrap();
    let jenkins = build.rows_for("mhcdiscojenkins").next().unwrap();
    assert_eq!((jenkins.iops, jenkins.extra_disk), (Some(1000), None));
}

#[test]
fn group_names_vector_51() {
    assert_eq!(group_name("us-moon-1", "mhcfoo", 1_457_000_000), "us-moon-1_mhcfoo_1457000000");
    assert_eq!(hostclass_from_group_name("us-moon-1_mhcfoo_1457000000", "us-moon-1").as_deref(), Some("mhcfoo"));
    assert_eq!(hostclass_from_group_name("ci_mhc_x_y_123", "ci").as_deref(), Some("mhc_x_y"));
    assert_eq!(hostclass_from_group_name("my_env_mhcfoo_1", "my_env").as_deref(), Some("mhcfoo"));
    for (name, env) in [
        ("foo-mhcnoncomformist-123141231123", "us-moon-1"),
        ("ci_mhcfoo_1457000000", "us-moon-1"),
        ("cix_mhcfoo_1", "ci"),
        ("ci_mhcfoo_12a", "ci"),
        ("ci_mhcfoo_", "ci"),
        ("ci_mhcfoo", "ci"),
        ("ci__1", "ci"),
        ("ci_1", "ci"),
    ] {
        assert_eq!(hostclass_from_group_name(name, env), None, "{name} in {env}");
    }
}

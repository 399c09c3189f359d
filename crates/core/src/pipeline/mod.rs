//! Pipeline CSV files (`pipelines/*.csv`): which hostclasses an environment runs, in which order and at
//! what size (reference §3.3, §4.10.1, §6.3).
//!
//! Spinup, provision and deploy all start from a pipeline, so it is read once here, header-driven like
//! Asiaq's `csv.DictReader`, and every problem in the file is reported with its line before anything is
//! asked of AWS. Also holds the group naming rules that tie a hostclass to its autoscaling group.

mod sizing;

pub use sizing::{
    new_group_sizes, scheduled_action_name, scheduled_actions, updated_group_sizes, validate_cron, GroupSizes,
    ScheduledAction, Size, WantedSizes,
};

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::{Diagnostic, Diagnostics};
use crate::truth::truthy;

/// The columns Sila understands; any other column is ignored with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Sequence,
    Hostclass,
    MinSize,
    DesiredSize,
    MaxSize,
    InstanceType,
    ExtraSpace,
    ExtraDisk,
    Iops,
    SmokeTest,
    Ami,
    TerminationPolicies,
    Chaos,
    Spotinst,
    SpotinstReserve,
    Deployable,
    IntegrationTest,
}

impl Column {
    const ALL: [Self; 17] = [
        Self::Sequence,
        Self::Hostclass,
        Self::MinSize,
        Self::DesiredSize,
        Self::MaxSize,
        Self::InstanceType,
        Self::ExtraSpace,
        Self::ExtraDisk,
        Self::Iops,
        Self::SmokeTest,
        Self::Ami,
        Self::TerminationPolicies,
        Self::Chaos,
        Self::Spotinst,
        Self::SpotinstReserve,
        Self::Deployable,
        Self::IntegrationTest,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Sequence => "sequence",
            Self::Hostclass => "hostclass",
            Self::MinSize => "min_size",
            Self::DesiredSize => "desired_size",
            Self::MaxSize => "max_size",
            Self::InstanceType => "instance_type",
            Self::ExtraSpace => "extra_space",
            Self::ExtraDisk => "extra_disk",
            Self::Iops => "iops",
            Self::SmokeTest => "smoke_test",
            Self::Ami => "ami",
            Self::TerminationPolicies => "termination_policies",
            Self::Chaos => "chaos",
            Self::Spotinst => "spotinst",
            Self::SpotinstReserve => "spotinst_reserve",
            Self::Deployable => "deployable",
            Self::IntegrationTest => "integration_test",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Termination policies AWS Auto Scaling knows by name (custom Lambda policies are given as ARNs).
const TERMINATION_POLICIES: [&str; 7] = [
    "Default",
    "AllocationStrategy",
    "OldestLaunchTemplate",
    "OldestLaunchConfiguration",
    "ClosestToNextInstanceHour",
    "NewestInstance",
    "OldestInstance",
];

/// One row of a pipeline: one hostclass to run. Empty cells are unset (`None`, `false`, empty list).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PipelineRow {
    /// 1-based line of the row in the CSV file.
    pub line: usize,
    /// Start order; required by spinup (see [`Pipeline::sequence_batches`]).
    pub sequence: Option<u32>,
    /// The hostclass, e.g. `mhcntp`.
    pub hostclass: String,
    /// `min_size` cell.
    pub min_size: Size,
    /// `desired_size` cell.
    pub desired_size: Size,
    /// `max_size` cell.
    pub max_size: Size,
    /// `instance_type` cell as written; may list several types `t1:t2` (Spotinst), groups use the first.
    pub instance_type: Option<String>,
    /// GB added to the 8 GB root volume.
    pub extra_space: Option<u32>,
    /// GB of an extra EBS volume.
    pub extra_disk: Option<u32>,
    /// Provisioned IOPS (io1) for the extra disk and the snapshot volume.
    pub iops: Option<u32>,
    /// Wait for the smoke test after this row's sequence starts.
    pub smoke_test: bool,
    /// A pinned AMI id.
    pub ami: Option<String>,
    /// Termination policies, in the order written.
    pub termination_policies: Vec<String>,
    /// Chaos opt-in/out; `None` leaves the decision to the hostclass option.
    pub chaos: Option<bool>,
    /// Run as a Spotinst elastigroup.
    pub spotinst: bool,
    /// Spotinst on-demand reserve, `N%` or `N`.
    pub spotinst_reserve: Option<String>,
    /// May be deployed by the deploy tool.
    pub deployable: bool,
    /// Name of the integration test to run; `None` means no integration test.
    pub integration_test: Option<String>,
}

impl PipelineRow {
    /// The instance types listed in `instance_type` (`t1:t2` → `[t1, t2]`), empty when unset.
    pub fn instance_types(&self) -> Vec<&str> {
        self.instance_type.as_deref().map(|t| t.split(':').map(str::trim).collect()).unwrap_or_default()
    }

    /// The instance type a plain autoscaling group uses: the first listed.
    pub fn first_instance_type(&self) -> Option<&str> {
        self.instance_types().first().copied()
    }

    /// The effective min/desired/max of the row (§4.10.2).
    pub fn wanted_sizes(&self) -> WantedSizes {
        WantedSizes::from_sizes(&self.min_size, &self.desired_size, &self.max_size)
    }

    /// The recurring scheduled actions of the row, sorted by cron.
    pub fn scheduled_actions(&self) -> Vec<ScheduledAction> {
        scheduled_actions(&self.min_size, &self.desired_size, &self.max_size)
    }
}

/// A parsed pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    /// The file the pipeline was read from (used in diagnostics).
    pub path: PathBuf,
    /// The rows, in file order.
    pub rows: Vec<PipelineRow>,
    /// Problems that do not stop the pipeline from being used (unknown columns, odd sizes, ...).
    pub warnings: Vec<Diagnostic>,
}

impl Pipeline {
    /// Reads and parses a pipeline file; an unreadable file is one error without a line.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostics(vec![Diagnostic::error(path, None, format!("cannot read pipeline: {e}"))]))?;
        Self::parse(path, &text)
    }

    /// Parses pipeline CSV text. Columns are found by header name (trimmed, lower-cased; any order;
    /// unknown ones ignored with a warning); `hostclass` is mandatory. Every problem is collected; the
    /// `Err` side holds all of them (warnings included) when at least one is an error.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Diagnostics> {
        let (pipeline, diags) = Self::parse_all(path, text);
        if diags.iter().any(Diagnostic::is_error) {
            return Err(Diagnostics(diags));
        }
        Ok(Self { warnings: diags, ..pipeline })
    }

    /// Like [`Pipeline::parse`], but never stops: the rows that parsed, and every diagnostic (errors
    /// and warnings, sorted by line), so a checker can go on to look at the good rows too.
    pub fn parse_all(path: &Path, text: &str) -> (Self, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let rows = parse_rows(path, text, &mut diags);
        diags.sort_by_key(|d| d.line);
        (Self { path: path.to_path_buf(), rows, warnings: Vec::new() }, diags)
    }

    /// The rows grouped by `sequence`, ascending, each group in file order — the order spinup starts
    /// them in (§4.10.1). Every row must have a sequence.
    pub fn sequence_batches(&self) -> Result<Vec<(u32, Vec<&PipelineRow>)>, Diagnostics> {
        let mut batches: BTreeMap<u32, Vec<&PipelineRow>> = BTreeMap::new();
        let mut errors = Vec::new();
        for row in &self.rows {
            match row.sequence {
                Some(seq) => batches.entry(seq).or_default().push(row),
                None => errors.push(Diagnostic::error(
                    &self.path,
                    Some(row.line),
                    format!("hostclass `{}` has no sequence; spinup needs one on every row", row.hostclass),
                )),
            }
        }
        if errors.is_empty() {
            Ok(batches.into_iter().collect())
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// The rows of `hostclass`, in file order (usually one).
    pub fn rows_for<'a>(&'a self, hostclass: &'a str) -> impl Iterator<Item = &'a PipelineRow> + 'a {
        self.rows.iter().filter(move |r| r.hostclass == hostclass)
    }
}

fn parse_rows(path: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<PipelineRow> {
    // Spreadsheets like to start their CSV exports with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let lines = Lines::new(text);

    // Lines of blanks before the header are blank lines too.
    let header = match records.find(|r| r.as_ref().map_or(true, |r| !r.iter().all(|c| c.trim().is_empty()))) {
        None => {
            diags.push(Diagnostic::error(path, Some(1), "empty pipeline: no header row"));
            return Vec::new();
        }
        Some(Err(e)) => {
            diags.push(lines.error(path, &e));
            return Vec::new();
        }
        Some(Ok(header)) => header,
    };
    let header_line = lines.of_record(&header);
    let columns = read_header(path, header_line, &header, diags);
    if !columns.contains(&Some(Column::Hostclass)) {
        diags.push(Diagnostic::error(path, Some(header_line), "the header has no `hostclass` column"));
        return Vec::new();
    }

    let named = columns.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    let mut rows = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                // The reader cannot resynchronise reliably after a CSV syntax error.
                diags.push(lines.error(path, &e));
                break;
            }
        };
        let line = lines.of_record(&record);
        // A row of nothing but separators is what spreadsheets leave below the data: treat it as blank.
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        // A row cut short (an editor dropping trailing commas, a truncated copy) must not leave its
        // last columns to defaults: Asiaq read them as unset (§3.3) and moved a running hostclass to
        // m3.large. Header cells without a name at the end need no cell.
        if record.len() < named {
            diags.push(Diagnostic::error(
                path,
                Some(line),
                format!(
                    "the row has {} cells but the header names {named}; write the empty cells out (`,,`)",
                    record.len()
                ),
            ));
            continue;
        }
        if record.iter().skip(columns.len()).any(|cell| !cell.trim().is_empty()) {
            diags.push(Diagnostic::warning(
                path,
                Some(line),
                format!(
                    "the row has {} cells but the header names {}; the extra cells are ignored",
                    record.len(),
                    columns.len()
                ),
            ));
        }
        // Later duplicate columns win, as with Asiaq's DictReader.
        let mut cells: HashMap<Column, &str> = HashMap::new();
        for (column, cell) in columns.iter().zip(record.iter()) {
            if let Some(column) = column {
                cells.insert(*column, cell.trim());
            }
        }
        let row = RowParser { path, line, cells, diags: &mut *diags }.parse();
        if let Some(row) = row {
            if let Some(first) = first_line_of.get(&row.hostclass) {
                diags.push(Diagnostic::warning(
                    path,
                    Some(line),
                    format!("hostclass `{}` is already listed on line {first}", row.hostclass),
                ));
            } else {
                first_line_of.insert(row.hostclass.clone(), line);
            }
            rows.push(row);
        }
    }
    if rows.is_empty() && !diags.iter().any(Diagnostic::is_error) {
        diags.push(Diagnostic::warning(path, Some(header_line), "the pipeline lists no hostclass"));
    }
    rows
}

/// Finds the line of a record from its byte offset. The csv crate's own line counter leaves out blank
/// lines, and its byte offset points at the blank lines that precede a record, so both are corrected here.
struct Lines<'a> {
    text: &'a str,
    /// Byte offset where each line starts (`\n`, `\r\n` and a lone `\r` end a line, as for the csv reader).
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, b) in bytes.iter().enumerate() {
            let ends_line = *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if ends_line {
                starts.push(i + 1);
            }
        }
        Self { text, starts }
    }

    /// 1-based line of the first non-blank-line byte at or after `byte`.
    fn line_at(&self, byte: u64) -> usize {
        let mut pos = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        while matches!(self.text.as_bytes().get(pos), Some(b'\r' | b'\n')) {
            pos += 1;
        }
        self.starts.partition_point(|&start| start <= pos).max(1)
    }

    fn of_record(&self, record: &csv::StringRecord) -> usize {
        record.position().map_or(1, |p| self.line_at(p.byte()))
    }

    fn error(&self, path: &Path, error: &csv::Error) -> Diagnostic {
        let line = error.position().map(|p| self.line_at(p.byte()));
        Diagnostic::error(path, line, format!("malformed CSV: {error}"))
    }
}

/// Maps each header cell to the column it names (`None` for unknown or empty names).
fn read_header(
    path: &Path,
    line: usize,
    header: &csv::StringRecord,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Option<Column>> {
    let mut seen = Vec::new();
    header
        .iter()
        .map(|name| {
            let name = name.trim().to_lowercase();
            if name.is_empty() {
                return None;
            }
            let column = Column::from_name(&name);
            match column {
                None => {
                    diags.push(Diagnostic::warning(path, Some(line), format!("unknown column `{name}` is ignored")));
                }
                Some(c) if seen.contains(&c) => diags.push(Diagnostic::warning(
                    path,
                    Some(line),
                    format!("column `{name}` appears more than once; the last one is used"),
                )),
                Some(c) => seen.push(c),
            }
            column
        })
        .collect()
}

/// Turns the cells of one row into a [`PipelineRow`], reporting every bad cell.
struct RowParser<'a> {
    path: &'a Path,
    line: usize,
    cells: HashMap<Column, &'a str>,
    diags: &'a mut Vec<Diagnostic>,
}

impl RowParser<'_> {
    fn parse(mut self) -> Option<PipelineRow> {
        let errors_before = self.error_count();
        let hostclass = self.text(Column::Hostclass);
        if hostclass.is_none() {
            self.error("empty hostclass".to_string());
        }
        let row = PipelineRow {
            line: self.line,
            sequence: self.number(Column::Sequence),
            hostclass: hostclass.unwrap_or_default(),
            min_size: self.size(Column::MinSize),
            desired_size: self.size(Column::DesiredSize),
            max_size: self.size(Column::MaxSize),
            instance_type: self.instance_type(),
            extra_space: self.number(Column::ExtraSpace),
            extra_disk: self.number(Column::ExtraDisk),
            iops: self.number(Column::Iops),
            smoke_test: self.flag(Column::SmokeTest),
            ami: self.ami(),
            termination_policies: self.termination_policies(),
            chaos: self.text(Column::Chaos).map(|v| truthy(&v)),
            spotinst: self.flag(Column::Spotinst),
            spotinst_reserve: self.spotinst_reserve(),
            deployable: self.flag(Column::Deployable),
            integration_test: self.text(Column::IntegrationTest),
        };
        for (column, problem) in crate::limits::check_volumes(row.extra_space, row.extra_disk, row.iops, None) {
            self.error(format!("column `{column}`: {problem}"));
        }
        if self.error_count() > errors_before {
            return None;
        }
        self.check_size_order(&row);
        Some(row)
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    fn error(&mut self, message: String) {
        self.diags.push(Diagnostic::error(self.path, Some(self.line), message));
    }

    fn warning(&mut self, message: String) {
        self.diags.push(Diagnostic::warning(self.path, Some(self.line), message));
    }

    /// The trimmed cell, `None` when empty or absent.
    fn cell(&self, column: Column) -> Option<&str> {
        self.cells.get(&column).copied().filter(|v| !v.is_empty())
    }

    fn text(&self, column: Column) -> Option<String> {
        self.cell(column).map(str::to_string)
    }

    fn flag(&self, column: Column) -> bool {
        self.cell(column).is_some_and(truthy)
    }

    fn number(&mut self, column: Column) -> Option<u32> {
        let value = self.cell(column)?;
        let parsed = if value.bytes().all(|b| b.is_ascii_digit()) {
            sizing::parse_count(value)
        } else {
            Err(format!("`{value}` is not a non-negative integer"))
        };
        match parsed {
            Ok(n) => Some(n),
            Err(e) => {
                self.error(format!("column `{}`: {e}", column.name()));
                None
            }
        }
    }

    fn size(&mut self, column: Column) -> Size {
        match Size::parse(self.cell(column).unwrap_or("")) {
            Ok(size) => size,
            Err(e) => {
                self.error(format!("column `{}`: {e}", column.name()));
                Size::Unset
            }
        }
    }

    fn instance_type(&mut self) -> Option<String> {
        let value = self.text(Column::InstanceType)?;
        if value.split(':').any(|t| t.trim().is_empty()) {
            self.error(format!("column `instance_type`: `{value}` has an empty entry in its `:`-separated list"));
        }
        Some(value)
    }

    fn ami(&mut self) -> Option<String> {
        let value = self.text(Column::Ami)?;
        let valid =
            value.strip_prefix("ami-").is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            self.error(format!("column `ami`: `{value}` is not an AMI id (ami-<hex>)"));
        }
        Some(value)
    }

    fn termination_policies(&mut self) -> Vec<String> {
        let policies: Vec<String> = self
            .cell(Column::TerminationPolicies)
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        for policy in &policies {
            if !TERMINATION_POLICIES.contains(&policy.as_str()) && !policy.starts_with("arn:") {
                let message =
                    format!("column `termination_policies`: `{policy}` is not a termination policy AWS knows");
                self.warning(message);
            }
        }
        policies
    }

    fn spotinst_reserve(&mut self) -> Option<String> {
        let value = self.text(Column::SpotinstReserve)?;
        let (digits, percent) = match value.strip_suffix('%') {
            Some(digits) => (digits.trim(), true),
            None => (value.as_str(), false),
        };
        let valid = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.parse::<u32>().is_ok_and(|n| !percent || n <= 100);
        if !valid {
            self.error(format!("column `spotinst_reserve`: `{value}` is neither `N` nor `N%` (N at most 100)"));
        }
        Some(value)
    }

    /// Warns about sizes AWS would refuse as written (new groups and updates adjust them, see
    /// [`new_group_sizes`] and [`updated_group_sizes`]).
    fn check_size_order(&mut self, row: &PipelineRow) {
        let wanted = row.wanted_sizes();
        let pairs = [
            ("min_size", wanted.min, "max_size", wanted.max),
            ("min_size", wanted.min, "desired_size", wanted.desired),
            ("desired_size", wanted.desired, "max_size", wanted.max),
        ];
        for (low_name, low, high_name, high) in pairs {
            if let (Some(low), Some(high)) = (low, high) {
                if low > high {
                    self.warning(format!("{low_name} ({low}) is greater than {high_name} ({high})"));
                }
            }
        }
    }
}

/// Name of the autoscaling group (or elastigroup) of `hostclass` in `env`: `<env>_<hostclass>_<epoch>`.
pub fn group_name(env: &str, hostclass: &str, epoch: u64) -> String {
    format!("{env}_{hostclass}_{epoch}")
}

/// The hostclass of a group of `env`, or `None` when the name is not `<env>_<hostclass>_<digits>`
/// (vector 51). Only the `<env>_` prefix and the last field are dropped, so hostclasses may contain `_`
/// (`ci_mhc_x_y_123` → `mhc_x_y`), and so may environment names.
pub fn hostclass_from_group_name(name: &str, env: &str) -> Option<String> {
    let rest = name.strip_prefix(env)?.strip_prefix('_')?;
    let (hostclass, epoch) = rest.rsplit_once('_')?;
    let epoch_ok = !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit());
    (epoch_ok && !hostclass.is_empty()).then(|| hostclass.to_string())
}

#[cfg(test)]
mod tests;

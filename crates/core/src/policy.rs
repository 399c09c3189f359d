//! IAM policy documents as found in `iam/`: read leniently, validated strictly.
//!
//! Asiaq's own sample has a policy with a trailing comma, which strict JSON (and AWS) rejects. Sila
//! reads such a file (and warns), and always sends AWS the re-serialized, normalized document, so a
//! file that only differs in layout never causes a change.

use serde_json::Value;

/// A policy document read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// The parsed JSON.
    pub json: Value,
    /// True when trailing commas had to be dropped to read it.
    pub had_trailing_commas: bool,
}

/// What kind of document a file holds: identity policies grant actions on resources; trust policies
/// say who may assume a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// `user_policies/*.iam`, `instance_policies/*.iam`.
    Identity,
    /// `*.tr`, `federation/AssumeRolePolicyDocument.iam`.
    Trust,
}

/// A problem in a policy: error, or warning (usable as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// True for errors.
    pub is_error: bool,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Parses `text` as JSON, dropping trailing commas before `]` or `}` (outside strings) when strict
/// parsing fails. The error carries the line of the syntax error.
pub fn parse_lenient(text: &str) -> Result<PolicyDocument, (usize, String)> {
    match serde_json::from_str(text) {
        Ok(json) => Ok(PolicyDocument { json, had_trailing_commas: false }),
        Err(strict) => {
            let (cleaned, changed) = strip_trailing_commas(text);
            if changed {
                if let Ok(json) = serde_json::from_str(&cleaned) {
                    return Ok(PolicyDocument { json, had_trailing_commas: true });
                }
            }
            Err((strict.line(), format!("not valid JSON: {strict}")))
        }
    }
}

/// Removes commas that are followed (after blanks) by `]` or `}`, leaving string contents alone.
fn strip_trailing_commas(text: &str) -> (String, bool) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if c == ',' && chars[i + 1..].iter().find(|c| !c.is_whitespace()).is_some_and(|n| *n == ']' || *n == '}')
        {
            changed = true;
            continue;
        }
        out.push(c);
    }
    (out, changed)
}

/// Checks the shape AWS expects: an object with `Statement` (an object or a list of them), each with
/// `Effect` Allow/Deny; identity statements need `Action`/`NotAction` and `Resource`/`NotResource`;
/// trust statements need `Principal` and an action.
pub fn validate(doc: &PolicyDocument, kind: PolicyKind) -> Vec<PolicyProblem> {
    let mut problems = Vec::new();
    let error = |m: String| PolicyProblem { is_error: true, line: None, message: m };
    if doc.had_trailing_commas {
        problems.push(PolicyProblem {
            is_error: false,
            line: None,
            message: "trailing comma: not strict JSON (Sila reads it and sends AWS normalized JSON)".into(),
        });
    }
    let Some(object) = doc.json.as_object() else {
        problems.push(error("a policy must be a JSON object".into()));
        return problems;
    };
    match object.get("Version").and_then(Value::as_str) {
        None => problems.push(PolicyProblem {
            is_error: false,
            line: None,
            message: "no \"Version\": AWS reads it as 2008-10-17, without policy variables (sila-iam sends 2012-10-17 when the policy uses none); add \"Version\": \"2012-10-17\"".into(),
        }),
        Some("2012-10-17" | "2008-10-17") => {}
        Some(other) => problems.push(error(format!("unknown policy Version {other:?} (use \"2012-10-17\")"))),
    }
    let statements: Vec<&Value> = match object.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(_) => {
            problems.push(error("\"Statement\" must be an object or a list of objects".into()));
            return problems;
        }
        None => {
            problems.push(error("no \"Statement\"".into()));
            return problems;
        }
    };
    if statements.is_empty() {
        problems.push(error("\"Statement\" is empty".into()));
    }
    for (i, statement) in statements.iter().enumerate() {
        let n = i + 1;
        let Some(s) = statement.as_object() else {
            problems.push(error(format!("statement {n} is not an object")));
            continue;
        };
        match s.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => problems.push(error(format!("statement {n}: \"Effect\" must be \"Allow\" or \"Deny\""))),
        }
        if !s.contains_key("Action") && !s.contains_key("NotAction") {
            problems.push(error(format!("statement {n}: no \"Action\" or \"NotAction\"")));
        }
        match kind {
            PolicyKind::Identity => {
                if !s.contains_key("Resource") && !s.contains_key("NotResource") {
                    problems.push(error(format!("statement {n}: no \"Resource\" or \"NotResource\"")));
                }
                if s.contains_key("Principal") {
                    problems
                        .push(error(format!("statement {n}: \"Principal\" belongs in trust policies (.tr), not here")));
                }
            }
            PolicyKind::Trust => {
                if !s.contains_key("Principal") && !s.contains_key("NotPrincipal") {
                    problems.push(error(format!("statement {n}: a trust policy needs a \"Principal\"")));
                }
            }
        }
    }
    problems
}

/// The form two documents are compared in: `Statement` always a list, and the values of `Action`,
/// `NotAction`, `Resource`, `NotResource` and of each `Principal` kind always sorted lists without
/// duplicates. Those are sets to IAM, so documents that differ only in that layout mean the same and
/// an unchanged policy is never rewritten.
pub fn normalized(document: &Value) -> Value {
    let mut doc = document.clone();
    let Some(object) = doc.as_object_mut() else { return doc };
    if let Some(single @ Value::Object(_)) = object.get("Statement") {
        let list = Value::Array(vec![single.clone()]);
        object.insert("Statement".into(), list);
    }
    if let Some(Value::Array(statements)) = object.get_mut("Statement") {
        for statement in statements.iter_mut().filter_map(Value::as_object_mut) {
            for key in ["Action", "NotAction", "Resource", "NotResource"] {
                if let Some(value) = statement.get_mut(key) {
                    *value = as_set(value);
                }
            }
            for key in ["Principal", "NotPrincipal"] {
                if let Some(Value::Object(kinds)) = statement.get_mut(key) {
                    kinds.values_mut().for_each(|v| *v = as_set(v));
                }
            }
        }
    }
    doc
}

/// A string or list of strings as a sorted list without duplicates; anything else unchanged.
fn as_set(value: &Value) -> Value {
    let mut items: Vec<Value> = match value {
        Value::String(_) => vec![value.clone()],
        Value::Array(list) if list.iter().all(Value::is_string) => list.clone(),
        _ => return value.clone(),
    };
    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    items.dedup();
    Value::Array(items)
}

/// True when two documents mean the same to IAM (see [`normalized`]).
pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalized(a) == normalized(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_differences_are_the_same_policy() {
        let file = serde_json::json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:Put*","s3:Get*","s3:Get*"],"Resource":"*","Principal":{"AWS":"arn:x"}}});
        let live = serde_json::json!({"Statement":[{"Resource":["*"],"Principal":{"AWS":["arn:x"]},"Action":["s3:Get*","s3:Put*"],"Effect":"Allow"}],"Version":"2012-10-17"});
        assert!(same_policy(&file, &live));
        let other =
            serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]});
        assert!(!same_policy(&file, &other));
    }

    #[test]
    fn trailing_commas_are_read_and_reported() {
        let doc = parse_lenient("{\"a\": [\"x,\", \"y\",\n ],}").unwrap();
        assert!(doc.had_trailing_commas);
        assert_eq!(doc.json["a"][0], "x,");
        assert!(!parse_lenient("{\"a\": 1}").unwrap().had_trailing_commas);
    }

    #[test]
    fn syntax_errors_have_lines() {
        let (line, message) = parse_lenient("{\n\"a\": \n}").unwrap_err();
        assert_eq!(line, 3);
        assert!(message.starts_with("not valid JSON"));
    }

    #[test]
    fn shape_checks() {
        let good = parse_lenient(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .unwrap();
        assert!(validate(&good, PolicyKind::Identity).is_empty());
        let no_version = parse_lenient(r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#).unwrap();
        let p = validate(&no_version, PolicyKind::Identity);
        assert_eq!(p.len(), 1);
        assert!(!p[0].is_error);
        let bad =
            parse_lenient(r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*"}]}"#).unwrap();
        let errors: Vec<_> = validate(&bad, PolicyKind::Identity).into_iter().filter(|p| p.is_error).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let trust = parse_lenient(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"ec2.amazonaws.com"}}]}"#).unwrap();
        assert!(validate(&trust, PolicyKind::Trust).is_empty());
        assert!(validate(&parse_lenient("[]").unwrap(), PolicyKind::Identity)[0].is_error);
    }
}

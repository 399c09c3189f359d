//! The plan kernel: the one shape of every command that changes AWS.
//!
//! A tool reads what exists, decides in a pure function of core what to change, and gets a
//! [`Plan`]: steps, each with the steps it must wait for (`after`), whether it is destructive
//! (deletes or replaces something, and so needs `--allow-destructive`) and why it is there. The same
//! plan is printed by `--dry-run` ([`Plan::render`]), refused when it holds destructive steps that
//! were not allowed, and run by [`execute`]: each step starts as soon as the steps it waits for are
//! done (a graph, not levels that wait for their slowest step), at most a bound at once, and the
//! first failure stops new starts. The flow around it (dry run, refusal, apply, report) is
//! `sila_cli::converge`.
//!
//! Levels are only how a plan is read: a step's level is one more than the deepest step it waits
//! for, counted from 1, so the steps of a level could all run at once.

mod execute;

pub use execute::{execute, Executed};

use serde::Serialize;

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned<S> {
    /// Position in the plan; the steps a step waits for always come before it.
    pub id: usize,
    /// 1 for a step that waits for nothing, else one more than the deepest step it waits for.
    pub level: usize,
    /// The change.
    #[serde(flatten)]
    pub step: S,
    /// The ids of the steps that must be done before this one starts.
    pub after: Vec<usize>,
    /// Deletes or replaces something: refused unless the operator allows destructive steps.
    pub destructive: bool,
    /// Why the step is there (the config file or rule behind it); empty when the step says it all.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl<S> Planned<S> {
    /// Marks the step destructive (or not).
    pub fn destructive(&mut self, destructive: bool) -> &mut Self {
        self.destructive = destructive;
        self
    }

    /// Says why the step is there.
    pub fn because(&mut self, reason: impl Into<String>) -> &mut Self {
        self.reason = reason.into();
        self
    }
}

/// The steps that bring something in line with its config, and notes that change nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan<S> {
    /// The steps, each after the steps it waits for.
    pub steps: Vec<Planned<S>>,
    /// Things the operator should know that are not steps.
    pub notes: Vec<String>,
}

impl<S> Default for Plan<S> {
    fn default() -> Self {
        Plan { steps: Vec::new(), notes: Vec::new() }
    }
}

impl<S> Plan<S> {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `step`, to start once the steps `after` are done; returns it to mark (destructive,
    /// reason). Its id is `steps.len()` before the call.
    ///
    /// # Panics
    /// When `after` names a step not yet in the plan: a planner must add what is waited for first.
    pub fn add(&mut self, step: S, after: impl IntoIterator<Item = usize>) -> &mut Planned<S> {
        let id = self.steps.len();
        let mut after: Vec<usize> = after.into_iter().collect();
        after.sort_unstable();
        after.dedup();
        assert!(after.iter().all(|&a| a < id), "step {id} waits for a step that is not planned before it: {after:?}");
        let level = after.iter().map(|&a| self.steps[a].level + 1).max().unwrap_or(1);
        self.steps.push(Planned { id, level, step, after, destructive: false, reason: String::new() });
        self.steps.last_mut().expect("just pushed")
    }

    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The destructive steps.
    pub fn destructive(&self) -> Vec<&Planned<S>> {
        self.steps.iter().filter(|s| s.destructive).collect()
    }

    /// The number of levels: the longest chain of steps that must follow one another.
    pub fn depth(&self) -> usize {
        self.steps.iter().map(|s| s.level).max().unwrap_or(0)
    }

    /// The steps of each level, levels from 1, steps in plan order.
    pub fn levels(&self) -> Vec<Vec<&Planned<S>>> {
        let mut levels = vec![Vec::new(); self.depth()];
        for s in &self.steps {
            levels[s.level - 1].push(s);
        }
        levels
    }

    /// The plan as people read it: `plan: N step(s) in L level(s)`, then each level and its steps,
    /// `+` for a step that adds or changes, `!` for a destructive one, the reason in parentheses;
    /// `nothing to change` for an empty plan. `describe` says what a step does.
    pub fn render(&self, describe: impl Fn(&S) -> String) -> String {
        if self.is_empty() {
            return "nothing to change\n".to_string();
        }
        let mut out = format!("plan: {} step(s) in {} level(s)\n", self.steps.len(), self.depth());
        for (n, level) in self.levels().iter().enumerate() {
            out.push_str(&format!("  level {}:\n", n + 1));
            for s in level {
                let mark = if s.destructive { "!" } else { "+" };
                match s.reason.as_str() {
                    "" => out.push_str(&format!("    {mark} {}\n", describe(&s.step))),
                    reason => out.push_str(&format!("    {mark} {}  ({reason})\n", describe(&s.step))),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
    struct Act {
        action: &'static str,
    }

    fn act(action: &'static str) -> Act {
        Act { action }
    }

    fn sample() -> Plan<Act> {
        let mut plan = Plan::new();
        let vpc = plan.add(act("create vpc"), []).id;
        let subnet = plan.add(act("create subnet"), [vpc]).id;
        plan.add(act("create group"), [vpc]).because("metanetwork intranet");
        plan.add(act("delete old subnet"), [subnet, vpc, subnet]).destructive(true);
        plan.notes.push("a note".into());
        plan
    }

    #[test]
    fn levels_count_from_one_and_follow_the_deepest_wait() {
        let plan = sample();
        assert_eq!(plan.steps.iter().map(|s| s.level).collect::<Vec<_>>(), [1, 2, 2, 3]);
        assert_eq!(plan.steps[3].after, [0, 1], "sorted, without repeats");
        assert_eq!(plan.depth(), 3);
        assert_eq!(plan.levels().iter().map(Vec::len).collect::<Vec<_>>(), [1, 2, 1]);
        assert_eq!(plan.destructive().len(), 1);
    }

    #[test]
    fn the_rendering_marks_destructive_steps_and_gives_reasons() {
        let text = sample().render(|s| s.action.to_string());
        assert_eq!(
            text,
            "plan: 4 step(s) in 3 level(s)\n  level 1:\n    + create vpc\n  level 2:\n    + create subnet\n    \
             + create group  (metanetwork intranet)\n  level 3:\n    ! delete old subnet\n"
        );
        assert_eq!(Plan::<Act>::new().render(|s| s.action.to_string()), "nothing to change\n");
    }

    #[test]
    fn json_has_each_steps_place_marks_and_reason() {
        let json = serde_json::to_value(sample()).unwrap();
        let expected = serde_json::json!({
            "id": 2, "level": 2, "action": "create group", "after": [0], "destructive": false,
            "reason": "metanetwork intranet"
        });
        assert_eq!(json["steps"][2], expected);
        assert_eq!(json["steps"][3]["destructive"], true);
        assert!(json["steps"][0].get("reason").is_none(), "no empty reason");
        assert_eq!(json["notes"][0], "a note");
    }

    #[test]
    #[should_panic(expected = "not planned before it")]
    fn waiting_for_a_later_step_is_a_planner_bug() {
        let mut plan = Plan::new();
        plan.add(act("a"), [3]);
    }
}

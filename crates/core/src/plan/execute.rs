//! Running a plan as a graph: a step starts as soon as every step it waits for is done, at most
//! `limit` at once, the lowest id first among those ready. The first failure stops new starts; the steps
//! already running finish (a call sent cannot be taken back), so the result says exactly what
//! was done. Nothing here talks to AWS: the tool's `start` does, so this is tested with plain
//! futures.

use super::{Plan, Planned};
use futures::stream::{FuturesUnordered, StreamExt as _};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

/// What running a plan came to.
#[derive(Debug)]
pub struct Executed<O, E> {
    /// The output of every step that succeeded, by id.
    pub done: BTreeMap<usize, O>,
    /// The steps that failed, with their errors, in the order they failed.
    pub failed: Vec<(usize, E)>,
    /// The steps never started (empty when the plan completed).
    pub not_started: Vec<usize>,
}

impl<O, E> Executed<O, E> {
    /// True when every step succeeded.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }
}

/// Runs `plan`: `start(step)` begins a step's work, once every step it waits for has succeeded;
/// at most `limit` (at least 1) run at once.
pub async fn execute<'p, S, O, E, F, Fut>(plan: &'p Plan<S>, limit: usize, mut start: F) -> Executed<O, E>
where
    F: FnMut(&'p Planned<S>) -> Fut,
    Fut: Future<Output = Result<O, E>>,
{
    let mut waiting: Vec<usize> = plan.steps.iter().map(|s| s.after.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); plan.steps.len()];
    for s in &plan.steps {
        for &a in &s.after {
            dependents[a].push(s.id);
        }
    }
    let mut ready: BTreeSet<usize> = plan.steps.iter().filter(|s| s.after.is_empty()).map(|s| s.id).collect();
    let mut started = vec![false; plan.steps.len()];
    let mut running = FuturesUnordered::new();
    let mut done = BTreeMap::new();
    let mut failed = Vec::new();
    loop {
        while failed.is_empty() && running.len() < limit.max(1) {
            let Some(id) = ready.pop_first() else { break };
            started[id] = true;
            let work = start(&plan.steps[id]);
            running.push(async move { (id, work.await) });
        }
        match running.next().await {
            None => break,
            Some((id, Ok(output))) => {
                done.insert(id, output);
                for &d in &dependents[id] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 {
                        ready.insert(d);
                    }
                }
            }
            Some((id, Err(e))) => failed.push((id, e)),
        }
    }
    let not_started = (0..plan.steps.len()).filter(|&id| !started[id]).collect();
    Executed { done, failed, not_started }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::oneshot;
    use futures::executor::block_on;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// a(0) → b(1), a → c(2), b → d(3); e(4) waits for nothing.
    fn diamond() -> Plan<&'static str> {
        let mut plan = Plan::new();
        plan.add("a", []);
        plan.add("b", [0]);
        plan.add("c", [0]);
        plan.add("d", [1]);
        plan.add("e", []);
        plan
    }

    #[test]
    fn a_step_starts_when_its_own_waits_are_done_not_its_level() {
        // c is slow: d (level 3) must start while c (level 2) still runs.
        let plan = diamond();
        let log = Rc::new(RefCell::new(Vec::new()));
        let (release_c, c_released) = oneshot::channel::<()>();
        let mut c_gate = Some(c_released);
        let mut release = Some(release_c);
        let run = execute(&plan, 8, |s| {
            let log = log.clone();
            let gate = if s.step == "c" { c_gate.take() } else { None };
            let release = if s.step == "d" { release.take() } else { None };
            async move {
                log.borrow_mut().push(format!("start {}", s.step));
                if let Some(gate) = gate {
                    gate.await.expect("released");
                }
                if let Some(release) = release {
                    release.send(()).expect("c waits");
                }
                log.borrow_mut().push(format!("end {}", s.step));
                Ok::<_, String>(s.id * 10)
            }
        });
        let run = block_on(run);
        assert!(run.is_complete());
        assert_eq!(run.done.values().copied().collect::<Vec<_>>(), [0, 10, 20, 30, 40]);
        let log = log.borrow();
        let at = |e: &str| log.iter().position(|l| l == e).unwrap_or_else(|| panic!("{e} in {log:?}"));
        assert!(at("start d") < at("end c"), "{log:?}");
        assert!(at("end a") < at("start b") && at("end b") < at("start d"), "{log:?}");
    }

    #[test]
    fn no_more_than_the_limit_run_at_once() {
        let mut plan = Plan::new();
        for _ in 0..10 {
            plan.add((), []);
        }
        let (now, most) = (Rc::new(RefCell::new(0)), Rc::new(RefCell::new(0)));
        let run = block_on(execute(&plan, 3, |_| {
            let (now, most) = (now.clone(), most.clone());
            async move {
                *now.borrow_mut() += 1;
                let n = *now.borrow();
                let m = (*most.borrow()).max(n);
                *most.borrow_mut() = m;
                futures::future::ready(()).await;
                *now.borrow_mut() -= 1;
                Ok::<_, ()>(())
            }
        }));
        assert!(run.is_complete());
        assert!(*most.borrow() <= 3, "{}", most.borrow());
    }

    #[test]
    fn a_failure_stops_new_starts_and_says_what_was_done() {
        let plan = diamond();
        let run = block_on(execute(&plan, 1, |s| async move {
            match s.step {
                "b" => Err(format!("{} failed", s.step)),
                _ => Ok(s.id),
            }
        }));
        assert!(!run.is_complete());
        assert_eq!(run.failed, [(1, "b failed".to_string())]);
        // One at a time in plan order: a, b (fails); c, d and e are never started.
        assert_eq!(run.done.keys().copied().collect::<Vec<_>>(), [0]);
        assert_eq!(run.not_started, [2, 3, 4]);
    }
}

//! (d) Timer futures piling up.
//!
//! The bug: a timer (or an async block that sleeps) is pushed into a `Vec`,
//! `VecDeque` or `FuturesUnordered`, or spawned into a `JoinSet`, on every
//! iteration, and nothing ever polls, drains or clears the collection: each
//! iteration adds a live timer (or a finished task's output) freed only when
//! the collection is dropped.
//!
//! Fine and alike: a collection that is drained anywhere (polled in the
//! `select!`, `join_next`, `clear`, iterated), one made on this iteration
//! (dropped at its end), and a collection passed in by the caller.

use super::*;
impl<'a> Walker<'a, '_> {
    /// `timers.push(sleep(d))`, `set.spawn(async { sleep(d).await; .. })` in a
    /// loop, into a collection nothing drains.
    pub(super) fn check_piled_timer(&mut self, call: &'a ExprMethodCall, spawned: bool) {
        let value = &call.args[0];
        let peeled = peel_future(value, Some(self.bodies));
        let direct_timer = (!spawned).then(|| timer_call(peeled)).flatten();
        let timer = match (&direct_timer, peeled) {
            (Some(_), _) => peeled,
            (None, Expr::Async(block)) => match first_sleep(&block.block.stmts) {
                Some(sleep) => sleep,
                None => return,
            },
            (None, _) => return,
        };
        let Some(collection) = Collection::of(&call.receiver) else {
            return;
        };
        if self.frame().binding(collection.name()).is_some()
            && matches!(collection, Collection::Local(_))
        {
            return; // made on this iteration: dropped at its end
        }
        if !self.declared_here(&collection, spawned) || self.is_drained(&collection) {
            return;
        }
        let name = collection.display();
        let duration = sleep_duration(timer).map_or("a while".to_string(), describe_duration);
        let what = match &direct_timer {
            Some(call) => format!("a `{}` timer of {duration}", call.display),
            None => format!("a future that sleeps {duration}"),
        };
        let message = if spawned {
            format!(
                "timers pile up: a task that sleeps {duration} is spawned into `{name}` on every \
                 iteration of this loop and `{name}` is never joined, drained or aborted: every \
                 finished task's output stays in the set, so it grows for as long as the loop runs"
            )
        } else {
            format!(
                "timers pile up: {what} is pushed into `{name}` on every \
                 iteration of this loop and `{name}` is never polled, drained or cleared: each \
                 iteration adds a live timer that is freed only when `{name}` is dropped, so \
                 memory grows for as long as the loop runs"
            )
        };
        let help = "drain the collection in the same loop (race `FuturesUnordered::next()` / \
                    `select_next_some()`, or `JoinSet::join_next()`, in the `select!`), or keep \
                    one timer instead of one per iteration (`tokio_util::time::DelayQueue` for \
                    many deadlines)";
        let keyword = self.frame().keyword;
        self.report(
            Finding::new(&INFO, call, message, help)
                .with_label(timer, "a new timer on every iteration")
                .with_label(keyword, "this loop adds one per iteration"),
        );
    }

    /// A local declared in this function (a `JoinSet` for `spawn`), or a field of `self`.
    pub(super) fn declared_here(&self, collection: &Collection, join_set: bool) -> bool {
        let Collection::Local(name) = collection else {
            return !join_set;
        };
        let mut found = false;
        let mut is_join_set = false;
        find_locals(self.function_body, self.bodies, &mut |local: &Local| {
            if pattern_names(&local.pat).iter().any(|n| n == name) {
                found = true;
                is_join_set |= local.to_token_stream().to_string().contains("JoinSet");
            }
        });
        found && (!join_set || is_join_set)
    }

    /// Whether the collection is used for anything but adding to it and
    /// asking its size — in this function for a local, in the file for a field.
    pub(super) fn is_drained(&self, collection: &Collection) -> bool {
        let mut uses = OtherUses {
            collection,
            bodies: self.bodies,
            found: false,
        };
        match collection {
            Collection::Local(_) => uses.visit_block(self.function_body),
            Collection::Field(_) => uses.visit_file(self.cx.file),
        }
        uses.found
    }
}

// ---- (d) collections ----

pub(super) enum Collection {
    /// A local variable.
    Local(String),
    /// A field of `self`.
    Field(String),
}

impl Collection {
    pub(super) fn of(receiver: &Expr) -> Option<Collection> {
        match peel_future(receiver, None) {
            Expr::Field(f) if matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) => {
                match &f.member {
                    syn::Member::Named(name) => Some(Collection::Field(name.to_string())),
                    syn::Member::Unnamed(_) => None,
                }
            }
            other => variable(other).map(Collection::Local),
        }
    }

    pub(super) fn name(&self) -> &str {
        match self {
            Collection::Local(name) | Collection::Field(name) => name,
        }
    }

    pub(super) fn display(&self) -> String {
        match self {
            Collection::Local(name) => name.clone(),
            Collection::Field(name) => format!("self.{name}"),
        }
    }

    pub(super) fn is(&self, expr: &Expr) -> bool {
        match (self, peel_future(expr, None)) {
            (Collection::Local(name), e) => variable(e).as_deref() == Some(name),
            (Collection::Field(name), Expr::Field(f)) => {
                matches!(&f.member, syn::Member::Named(m) if m == name)
            }
            _ => false,
        }
    }
}

/// Finds a use of a collection other than adding to it or asking its size.
pub(super) struct OtherUses<'c, 'a> {
    pub(super) collection: &'c Collection,
    pub(super) bodies: &'a MacroBodies,
    pub(super) found: bool,
}

pub(super) const ADDING_OR_SIZING: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "spawn",
    "len",
    "is_empty",
    "capacity",
    "reserve",
];

impl<'a> Visit<'a> for OtherUses<'_, 'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found {
            return;
        }
        if let Expr::MethodCall(m) = expr {
            if self.collection.is(&m.receiver)
                && ADDING_OR_SIZING.contains(&m.method.to_string().as_str())
            {
                m.args.iter().for_each(|a| self.visit_expr(a));
                return;
            }
        }
        if self.collection.is(expr) {
            self.found = true;
            return;
        }
        visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, mac: &'a Macro) {
        crate::macro_bodies::walk_macro(self, self.bodies, mac);
    }
}

pub(super) fn find_locals<'a>(
    block: &'a Block,
    bodies: &'a MacroBodies,
    on_local: &mut dyn FnMut(&Local),
) {
    struct Locals<'f, 'a> {
        bodies: &'a MacroBodies,
        on_local: &'f mut dyn FnMut(&Local),
    }
    impl<'a> Visit<'a> for Locals<'_, 'a> {
        fn visit_local(&mut self, local: &'a Local) {
            (self.on_local)(local);
            visit::visit_local(self, local);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
        fn visit_macro(&mut self, mac: &'a Macro) {
            crate::macro_bodies::walk_macro(self, self.bodies, mac);
        }
    }
    Locals { bodies, on_local }.visit_block(block);
}

//! `silent_early_return`: a silent `return` that loses something on its
//! path — a cleanup the function runs later, the rest of a batch, or the
//! one-shot trigger that was the only thing that would have come back.
//!
//! One file per shape: [`skipped_cleanup`], [`abandoned_batch`],
//! [`consumed_trigger`]; [`common`] finds the silent returns and where they
//! sit.

use std::collections::HashSet;

use syn::ExprReturn;

use crate::engine::Context;
use crate::finding::Finding;
use crate::prefilter::{Needs, Trigger::*};
use crate::vocabulary::Word;

mod abandoned_batch;
mod common;
mod consumed_trigger;
mod skipped_cleanup;

declare_rule! {
    /// ## What it flags
    ///
    /// A silent early return — `return;`, `return ()`, `return Ok(())`,
    /// from a let-else, an `if`, or a `None =>`/`Err(_) =>` arm — that
    /// loses something on its path. Three shapes:
    ///
    /// 1. **Skipped cleanup.** The return sits in a loop that also has a
    ///    `break`, and after the loop the function removes, unsubscribes,
    ///    releases, commits or flushes; the return jumps over that cleanup
    ///    (typically `return` where `break` was meant). Inside an async
    ///    block handed to `spawn`, the return ends the task, so the cleanup
    ///    after its loop never runs. Also, outside loops: a branch that
    ///    records the same completion as the finishing path further down
    ///    (`self.busy = None`) but returns before the removal from a shared
    ///    set that path does.
    /// 2. **Abandoned batch.** In a `for` or `while let` loop over items, a
    ///    pure guard (the branch holds nothing but the return) about the
    ///    current item — it tests the item, or a value the loop derived
    ///    from it — returns instead of skipping that item, dropping the rest
    ///    of the batch, when the loop itself says one item was meant:
    ///    another guard of the same loop skips its item with `continue` on
    ///    the same kind of absence test (`let Some(..) = f(item) else {
    ///    continue }`, `if x.is_none() { continue }`), or the guard asks
    ///    whether the item is already stored (`if store.has(&item)? {
    ///    return Ok(()) }`) and the function does work after the loop (a
    ///    write, a commit) that the return skips.
    /// 3. **Consumed one-shot trigger.** A function a one-shot timer, an
    ///    expiry or an inactivity check calls (by its name, a delete or
    ///    proposal in its body, or `#[quorum_gated_delete]`) returns without
    ///    logging, deleting or re-arming because the handle its delete goes
    ///    through is missing: the cluster, the metalayer, the raft group,
    ///    the leader, or the value it later calls the delete or proposal on.
    ///    And a tick handler (`on_*_tick`, `*_timer`, `*_timeout`) that
    ///    re-arms its own tick by name at its end
    ///    (`self.schedule_tick(Tick::Resync)`) but returns early on a
    ///    condition without re-arming, when no other function of the file
    ///    arms that tick and no other early return of the handler re-arms.
    ///
    /// It does not flag guard clauses that mean *nothing to do*: outside a
    /// loop, an entry that is absent, taken, looked up by key or chosen by
    /// the caller, a feature that is off or not configured, state not
    /// initialised, a plain boolean guard; a return that tells the caller
    /// (`Err`, `None`, `false`, `?`, any value). A function an interval or
    /// a ticker calls is run again by the next tick, so a missing handle
    /// there is only reported when the return leaves the loop that ticks.
    /// In loops it leaves alone: a return whose branch logs (it is not
    /// silent), a return on success (`Ok(_) =>`, `if let Some(..)`), a guard
    /// about shutting down, cancellation or a closed channel, a failed send
    /// or spawn (the receiver or the runtime is gone), a branch that runs
    /// part of the after-loop path itself, validation and search loops
    /// (a per-item guard with no sibling `continue` and no already-there
    /// test), counter loops (`for _ in 0..n`), and loops over a channel or
    /// a stream (`while let Some(m) = rx.recv().await`), which are
    /// listeners, not batches.
    ///
    /// ## Why it is a bug
    ///
    /// Each shape loses something nobody will come back for. The skipped
    /// cleanup leaves entries the loop already took in a pending set, or a
    /// subscription and its map entry alive after the task that owned them
    /// ended. The abandoned batch drops every item after the first that
    /// needed skipping, and the function still looks successful (later
    /// on-time data never aggregated, hashes left in flight with nothing to
    /// fetch them, a staged write batch never committed). The consumed
    /// trigger ran once: the inactivity timer fired, the lease expired, the
    /// tick was spent. Returning without a re-arm leaves the consumer or
    /// lease alive as a ghost that nothing retries, and with no log line
    /// the operator has nothing to go on until a restart.
    ///
    /// ## Example
    ///
    /// ```rust,ignore
    /// fn fill_request(&mut self, request: &mut Vec<Hash>, mut budget: usize) {
    ///     for hash in self.pending.iter() {
    ///         request.push(*hash);
    ///         if request.len() >= MAX { break; }
    ///         budget -= 1;
    ///         if budget == 0 { return; } // skips the removal below
    ///     }
    ///     for hash in request.iter() { self.pending.remove(hash); }
    /// }
    ///
    /// fn buffer(&mut self, hashes: Vec<Hash>) {
    ///     for hash in hashes {
    ///         if self.evicted(&hash) { continue; }
    ///         let Some(meta) = self.meta.get_mut(&hash) else { return }; // drops the rest
    ///         meta.retries += 1;
    ///     }
    /// }
    ///
    /// fn delete_not_active(&self) {
    ///     let Some(cc) = self.server.cluster() else { return };
    ///     let Some(meta) = cc.meta() else { return };
    ///     meta.forward_proposal(self.delete_proposal());
    /// }
    /// ```
    ///
    /// ## Fix
    ///
    /// `break` instead of `return` so the cleanup after the loop runs (or
    /// run it in the branch); `continue` to skip one item of a batch; for a
    /// trigger, say why the function gives up and make sure somebody
    /// retries: re-arm the check, or delete locally when that is safe.
    ///
    /// ```rust,ignore
    /// fn delete_not_active(&self) {
    ///     let Some(cc) = self.server.cluster() else {
    ///         tracing::warn!(consumer = %self.key(), "no cluster yet, will retry inactivity check");
    ///         self.schedule_inactivity_check(RETRY_DELAY);
    ///         return;
    ///     };
    ///     // ...
    /// }
    /// ```
    INFO = "silent_early_return", Warn,
    "a silent early return loses something: a cleanup run later, the rest of a batch, or a one-shot trigger nothing re-arms"
}

/// The rewrites the shapes offer (see `--explain silent_early_return`, *Fixes*).
pub const FIXES: &str = "\
- Abandoned batch: `return` becomes `continue`, skipping just the item.
  **Maybe-incorrect** (`--fix --unsafe-fixes`): the rest of the batch and
  the work after the loop then run on this path.
- Skipped cleanup, `return` where `break` was meant: `return` becomes
  `break` (or `break 'label` for an outer labelled loop; none for an
  outer loop without a label). **Maybe-incorrect**: everything after the
  loop runs on this path, not only the cleanup. Half a finish: none (the
  missing bookkeeping has to be written).
- Consumed one-shot trigger, a missing handle: a warning logged before the
  return, naming what is left behind, with a placeholder for its key
  (`tracing::warn!(consumer = ?/* the consumer's key */, \"..\")`, or
  `log::warn!` in a file that uses `log`; `tracing` in a file that uses
  neither, which then needs the dependency). **Has placeholders**: never
  applied by the tool, offered to editors; re-arming or retrying is still
  to be written. A tick handler that does not re-arm: none.
";

/// A `return` with nothing or `()`/`Ok(())` to return (all the rule
/// reports), and one of: a lifecycle function (by name, a delete or a
/// proposal, `#[quorum_gated_delete]`), a loop, or a re-arm (by the
/// vocabulary, or by the verbs a tick handler's re-arm is named with).
pub const NEEDS: Needs = Needs(&[
    &[Regex(
        r"\breturn\s*(?:[;},)\]]|\(\s*\)|Ok\s*(?:::\s*<[^>]*>\s*)?\(\s*\(\s*\)\s*\))",
    )],
    &[
        Vocabulary(Word::Lifecycle),
        Vocabulary(Word::Delete),
        Vocabulary(Word::Propose),
        Vocabulary(Word::Rearm),
        Word("quorum_gated_delete"),
        Word("for"),
        Word("while"),
        Word("break"),
        // The verbs a tick handler re-arms with, whatever the vocabulary
        // says (see `consumed_trigger::is_rearm_call`).
        Word("register"),
        Word("schedule"),
        Word("arm"),
        Word("rearm"),
        Word("reschedule"),
    ],
]);

pub fn check(cx: &Context<'_>, findings: &mut Vec<Finding>) {
    let mut reported: HashSet<usize> = HashSet::new();
    consumed_trigger::check_missing_handles(cx, findings, &mut reported);
    for function in &cx.functions {
        let name = function.name().to_string();
        for (scope, exits) in common::all_exits(cx, function.body) {
            for exit in &exits {
                if !reported.insert(exit.ret as *const ExprReturn as usize) {
                    continue;
                }
                let finding = skipped_cleanup::check(cx, &name, scope, exit)
                    .or_else(|| abandoned_batch::check(cx, &name, exit))
                    .or_else(|| {
                        if scope.nested {
                            None
                        } else {
                            consumed_trigger::check_tick_not_rearmed(cx, function, exit, &exits)
                        }
                    });
                findings.extend(finding);
            }
        }
    }
}

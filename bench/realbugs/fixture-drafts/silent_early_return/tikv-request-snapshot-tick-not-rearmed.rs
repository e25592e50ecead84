// A replica that still lacks its data asks for a full copy on a tick that
// re-registers itself at the end of each run until the copy arrives. While
// the replica leads, the handler returns without re-registering, so the tick
// is used up and the copy is never asked for again.
pub enum Tick { AskForCopy }

pub struct Replica {
    awaiting_copy: bool,
    leading: bool,
    asked_at: u64,
    last_index: u64,
}

impl Replica {
    fn on_ask_for_copy_tick(&mut self) {
        if !self.awaiting_copy || self.leading {
            return; //~ silent_early_return
        }
        self.asked_at = self.last_index;
        if let Err(e) = self.ask_for_copy() {
            eprintln!("asking for a copy failed: {e}");
        }
        // Asking can fail: keep the tick alive until the copy lands.
        self.register(Tick::AskForCopy);
    }

    fn ask_for_copy(&mut self) -> Result<(), String> { Ok(()) }
    fn register(&mut self, _t: Tick) {}
}

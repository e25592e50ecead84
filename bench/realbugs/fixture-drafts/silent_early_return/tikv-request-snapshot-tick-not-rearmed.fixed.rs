// A replica that still lacks its data asks for a full copy on a tick that
// re-registers itself at the end of each run until the copy arrives. While
// the replica leads or a copy is already on its way, the handler re-registers
// the tick before returning.
pub enum Tick { AskForCopy }

pub struct Replica {
    awaiting_copy: bool,
    leading: bool,
    copy_in_flight: bool,
    asked_at: u64,
    last_index: u64,
}

impl Replica {
    fn on_ask_for_copy_tick(&mut self) {
        if !self.awaiting_copy {
            return;
        }
        if self.leading || self.copy_in_flight {
            self.register(Tick::AskForCopy);
            return;
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

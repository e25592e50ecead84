// Drains a session's outbox: fire-and-forget messages are written straight
// out, acknowledged ones take a slot id. Writing one fire-and-forget message
// returns, so the rest of the outbox stays unsent.
use std::collections::VecDeque;

pub enum Level { Once, AtLeastOnce }
pub struct Msg { level: Level, slot: usize }

pub struct Session {
    outbox: VecDeque<Msg>,
    slots: Vec<Option<Msg>>,
    parked: Option<Msg>,
    wire: Vec<u8>,
}

impl Session {
    pub fn flush_outbox(&mut self) -> Result<(), String> {
        while let Some(mut msg) = self.outbox.pop_front() {
            if let Level::Once = msg.level {
                self.wire.push(0);
                return Ok(()); //~ silent_early_return
            }
            if msg.slot == 0 {
                msg.slot = self.free_slot();
            }
            let slot = msg.slot;
            match self.slots[slot] {
                Some(_) => {
                    // Slot still unacknowledged: park it and resume on the ack.
                    self.parked = Some(msg);
                    return Ok(());
                }
                None => {
                    self.wire.push(1);
                    self.slots[slot] = Some(msg);
                }
            }
        }
        Ok(())
    }

    fn free_slot(&self) -> usize { 1 }
}

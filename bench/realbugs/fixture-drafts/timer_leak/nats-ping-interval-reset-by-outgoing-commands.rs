// A client connection driver sends a keepalive PING whenever its keepalive
// interval elapses. It restarts that interval on every outgoing command as
// well as on every incoming frame, so a client that keeps publishing never
// lets it elapse and never notices a peer that stopped answering.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc::Receiver;
use tokio::time::Interval;

pub enum Outgoing {
    Publish(Vec<u8>),
    Subscribe(u64),
}

pub enum Incoming {
    Msg(Vec<u8>),
    Pong,
}

pub struct Driver {
    keepalive: Interval,
    outgoing: Receiver<Outgoing>,
}

impl Driver {
    fn on_incoming(&mut self, frame: Incoming) {
        self.keepalive.reset();
        match frame {
            Incoming::Msg(_) => {}
            Incoming::Pong => {}
        }
    }

    fn on_outgoing(&mut self, cmd: Outgoing) {
        self.keepalive.reset(); //~ timer_leak
        match cmd {
            Outgoing::Publish(_) => {}
            Outgoing::Subscribe(_) => {}
        }
    }

    fn send_ping(&mut self) {}
    fn read_frame(&mut self, _cx: &mut Context<'_>) -> Poll<Incoming> { Poll::Pending }
}

impl Future for Driver {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        while self.keepalive.poll_tick(cx).is_ready() {
            self.send_ping();
        }
        while let Poll::Ready(frame) = self.read_frame(cx) {
            self.on_incoming(frame);
        }
        while let Poll::Ready(Some(cmd)) = self.outgoing.poll_recv(cx) {
            self.on_outgoing(cmd);
        }
        Poll::Pending
    }
}

//! A player's queue of validated inputs, from their connection's reader to their room.
//!
//! Bounded: a player who sends faster than the room ticks loses the excess (counted by the
//! reader), never the room's memory. The room drains it once per tick without waiting and
//! nobody is woken when an input arrives, because the room only looks at the tick; that is
//! why this is a plain locked queue and not an async channel, whose wake-up bookkeeping
//! cost more than everything else an input does. Dropping the sender closes the queue,
//! which is how the room learns that a player left or lost their connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::game::ValidInput;

#[derive(Debug)]
struct Queue {
    inputs: VecDeque<ValidInput>,
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    cap: usize,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // The queue is plain data, valid even if a holder panicked.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The reader's end.
#[derive(Debug)]
pub struct InputSender(Arc<Shared>);

/// The room's end.
#[derive(Debug)]
pub struct InputReceiver(Arc<Shared>);

/// A queue holding at most `cap` (at least 1) inputs.
pub fn input_queue(cap: usize) -> (InputSender, InputReceiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            inputs: VecDeque::with_capacity(cap.clamp(1, 64)),
            closed: false,
        }),
        cap: cap.max(1),
    });
    (InputSender(Arc::clone(&shared)), InputReceiver(shared))
}

impl InputSender {
    /// Queues `input`; false when the queue is full and the input was dropped.
    pub fn push(&self, input: ValidInput) -> bool {
        let mut queue = self.0.queue();
        if queue.inputs.len() >= self.0.cap {
            return false;
        }
        queue.inputs.push_back(input);
        true
    }
}

impl Drop for InputSender {
    fn drop(&mut self) {
        self.0.queue().closed = true;
    }
}

impl InputReceiver {
    /// Moves every queued input into `out`, oldest first; false once the sender is gone
    /// (the inputs it left are still delivered).
    pub fn drain_into(&self, out: &mut Vec<ValidInput>) -> bool {
        let mut queue = self.0.queue();
        out.extend(queue.inputs.drain(..));
        !queue.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec2;

    fn input(seq: u32) -> ValidInput {
        ValidInput {
            seq,
            dir: Vec2::ZERO,
            facing: 0.0,
            buttons: 0,
        }
    }

    #[test]
    fn keeps_order_and_drops_beyond_capacity() {
        let (tx, rx) = input_queue(2);
        assert!(tx.push(input(1)));
        assert!(tx.push(input(2)));
        assert!(!tx.push(input(3)), "full");
        let mut out = Vec::new();
        assert!(rx.drain_into(&mut out));
        assert_eq!(out.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(tx.push(input(4)), "room again after a drain");
    }

    #[test]
    fn dropping_the_sender_closes_after_delivering_what_is_left() {
        let (tx, rx) = input_queue(4);
        tx.push(input(1));
        drop(tx);
        let mut out = Vec::new();
        assert!(!rx.drain_into(&mut out));
        assert_eq!(out.len(), 1);
    }
}

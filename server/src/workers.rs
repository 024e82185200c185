//! The room workers: threads that each run rooms on a runtime of their own, so that every
//! core ticks rooms and nothing of a room crosses threads within a tick.
//!
//! A room's members' sockets are polled by the room itself (`socket.rs`), so a room needs
//! no reactor and can run on any thread; its worker is chosen once, when it opens, as the
//! one with the fewest members in its rooms ([`WorkerLoad`]). The accept loop, the
//! handshakes, the lobby and the admin endpoint stay on the caller's runtime (the front),
//! which [`lower_front_priority`] puts behind the workers: under a connection flood the
//! kernel gives the rooms their ticks first, and accepting slows down instead.
//!
//! Only the listener uses this module; it stays the one place that starts tasks.

use std::future::Future;
use std::thread::JoinHandle;

use anyhow::Context as _;
use prometheus_client::metrics::gauge::Gauge;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::metrics::Metrics;

/// How many members the rooms of one worker hold; rooms add and take away their own. It
/// is the worker's `tickwire_room_thread_members` gauge, so the operator sees the same
/// count the placement uses.
#[derive(Debug, Clone, Default)]
pub struct WorkerLoad(Gauge);

impl WorkerLoad {
    /// The members in this worker's rooms.
    pub fn get(&self) -> usize {
        usize::try_from(self.0.get()).unwrap_or(0)
    }

    /// A share of this load for one room, starting at zero.
    pub fn share(&self) -> RoomLoad {
        RoomLoad {
            worker: self.clone(),
            members: 0,
        }
    }
}

/// One room's part of its worker's load; given back when the room ends.
#[derive(Debug, Default)]
pub struct RoomLoad {
    worker: WorkerLoad,
    members: usize,
}

impl RoomLoad {
    /// The room now has `members` members.
    pub fn set(&mut self, members: usize) {
        // Called after every tick; most ticks change nothing.
        if members == self.members {
            return;
        }
        // Member counts are bounded by the connection limit, far below `i64::MAX`.
        self.worker.0.inc_by(members as i64 - self.members as i64);
        self.members = members;
    }
}

impl Drop for RoomLoad {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// One worker thread and the handle to start rooms on it.
#[derive(Debug)]
struct Worker {
    handle: Handle,
    load: WorkerLoad,
    /// Sent (or dropped) to let the thread's runtime end.
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The room workers.
#[derive(Debug)]
pub struct Workers {
    workers: Vec<Worker>,
}

impl Workers {
    /// Starts `count` worker threads (at least one), each with a runtime of one thread and
    /// its load shown in `metrics`.
    ///
    /// # Errors
    /// A runtime or a thread cannot be started.
    pub fn start(count: usize, metrics: &Metrics) -> anyhow::Result<Self> {
        let workers = (0..count.max(1))
            .map(|index| Worker::start(index, WorkerLoad(metrics.thread_members(index))))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { workers })
    }

    /// Runs the room `start` makes on the worker with the fewest members (the first at a
    /// tie), handing it that worker's load to keep up to date.
    pub fn run_room<F>(&self, start: impl FnOnce(RoomLoad) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // `start` always holds at least one worker.
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.load.get())
            .expect("at least one worker");
        worker.handle.spawn(start(worker.load.share()));
    }

    /// The members on each worker (the operator sees them as a gauge).
    #[cfg(test)]
    fn loads(&self) -> Vec<usize> {
        self.workers.iter().map(|w| w.load.get()).collect()
    }

    /// Lets every worker's runtime end (dropping whatever still runs there) and waits for
    /// the threads. Call once the rooms have finished.
    pub fn stop(mut self) {
        for worker in &mut self.workers {
            drop(worker.stop.take());
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take()
                && thread.join().is_err()
            {
                tracing::warn!("a room worker panicked");
            }
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Without `stop`, the threads still end once their stop sender is gone.
        for worker in &mut self.workers {
            drop(worker.stop.take());
        }
    }
}

impl Worker {
    fn start(index: usize, load: WorkerLoad) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            // Rooms sleep to their deadlines; their sockets are polled, not registered, but
            // a worker's tasks may still use tokio's I/O types (channels need neither).
            .enable_all()
            .build()
            .context("cannot start a room worker's runtime")?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("tickwire-rooms-{index}"))
            .spawn(move || {
                // Either a stop or a dropped sender ends it.
                let _ = runtime.block_on(stopped);
            })
            .context("cannot start a room worker's thread")?;
        Ok(Self {
            handle,
            load,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Puts the calling thread's scheduling priority at nice value `nice` unless it is
/// already lower (Linux applies it to this thread alone; at 10 a thread gets about a tenth
/// of a busy core beside one at 0, and all of an idle one). Threads started afterwards by
/// this thread inherit it, so call it after [`Workers::start`]. Does nothing elsewhere or
/// when `nice` is 0.
pub fn lower_front_priority(nice: u8) {
    if nice == 0 {
        return;
    }
    let nice = i32::from(nice);
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
    #[cfg(target_os = "linux")]
    {
        let tid = Some(rustix::thread::gettid());
        let lowered = rustix::process::getpriority_process(tid).and_then(|now| {
            if now >= nice {
                return Ok(());
            }
            rustix::process::setpriority_process(tid, nice)
        });
        if let Err(err) = lowered {
            tracing::warn!(
                cause = %err,
                "cannot lower the front thread's priority; a connection flood may slow rooms"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_goes_to_the_worker_with_the_fewest_members() {
        let workers = Workers::start(3, &Metrics::new()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut held = Vec::new();
        let mut chosen = Vec::new();
        for members in [5, 3, 4, 1] {
            let tx = tx.clone();
            let before = workers.loads();
            workers.run_room(move |mut load| async move {
                load.set(members);
                // Holds its share until the test is done with it.
                tx.send(load).unwrap();
            });
            held.push(rx.recv().unwrap());
            let after = workers.loads();
            chosen.push((0..3).find(|&i| after[i] != before[i]).unwrap());
        }
        // 5 → worker 0; 3 → worker 1; 4 → worker 2; then 1 → worker 1 (3 members).
        assert_eq!(chosen, [0, 1, 2, 1]);
        assert_eq!(workers.loads(), [5, 4, 4]);
        workers.stop();
    }

    #[test]
    fn a_room_that_ends_gives_its_members_back() {
        let workers = Workers::start(1, &Metrics::new()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        workers.run_room(move |mut load| async move {
            load.set(7);
            load.set(2);
            tx.send(load).unwrap();
        });
        let load = rx.recv().unwrap();
        assert_eq!(workers.loads(), [2]);
        drop(load);
        assert_eq!(workers.loads(), [0]);
        workers.stop();
    }
}

//! The one thread that writes recordings to disk, so that no room ever waits on a file.
//!
//! Rooms hand their chunks over a bounded queue ([`RecordSink::send`] never blocks; a full
//! queue drops the chunk and the room starts a new segment, see [`super::Tape`]). Each
//! segment is a file `<room>-<opened ms>-<nnnn>.twr` in the recording directory; of each
//! room's files the newest `keep` stay, the older are deleted. Files are flushed when the
//! queue is idle for a second, when a segment ends and when the room closes.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use super::Chunk;

/// Chunks that may wait for the writer: a room sends one a tick, so a few seconds of a few
/// dozen rooms.
const QUEUE: usize = 4096;

/// What a room sends the writer.
#[derive(Debug)]
enum ToWriter {
    /// More of the room's recording.
    Chunk(Arc<str>, Chunk),
    /// The room closed: its last file is complete.
    Done(Arc<str>),
}

/// The rooms' side of the writer's queue.
#[derive(Debug, Clone)]
pub struct RecordSink {
    tx: SyncSender<ToWriter>,
}

/// The writer's side of the queue, for the thread that runs [`run`].
#[derive(Debug)]
pub struct RecordQueue {
    rx: Receiver<ToWriter>,
}

/// A new queue between the rooms and the writer.
pub fn queue() -> (RecordSink, RecordQueue) {
    let (tx, rx) = sync_channel(QUEUE);
    (RecordSink { tx }, RecordQueue { rx })
}

impl RecordSink {
    /// Hands a chunk of the recording named `stem` to the writer; false when it was
    /// dropped (the writer is behind, or gone), and the room must start a new segment.
    pub fn send(&self, stem: &Arc<str>, chunk: Chunk) -> bool {
        match self.tx.try_send(ToWriter::Chunk(Arc::clone(stem), chunk)) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// The room whose recording is named `stem` closed.
    pub fn done(&self, stem: &Arc<str>) {
        // A full queue loses only the early flush: the writer flushes when idle anyway.
        let _ = self.tx.try_send(ToWriter::Done(Arc::clone(stem)));
    }
}

/// One room's files.
#[derive(Debug)]
struct RoomFiles {
    /// The segment being written, if one is open.
    file: Option<BufWriter<File>>,
    /// The number of the last segment opened.
    segments: u32,
    /// The files kept, oldest first.
    kept: VecDeque<PathBuf>,
}

/// Writes what the rooms send into `dir`, keeping `keep` files per room, until every sink
/// is gone.
pub fn run(queue: RecordQueue, dir: &Path, keep: usize) {
    let mut rooms: HashMap<Arc<str>, RoomFiles> = HashMap::new();
    loop {
        match queue.rx.recv_timeout(Duration::from_secs(1)) {
            Ok(ToWriter::Chunk(stem, chunk)) => {
                let room = rooms.entry(Arc::clone(&stem)).or_insert(RoomFiles {
                    file: None,
                    segments: 0,
                    kept: VecDeque::new(),
                });
                write_chunk(dir, keep, &stem, room, chunk);
            }
            Ok(ToWriter::Done(stem)) => {
                if let Some(mut room) = rooms.remove(&stem) {
                    close(&mut room);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                for room in rooms.values_mut() {
                    if let Some(Err(err)) = room.file.as_mut().map(Write::flush) {
                        tracing::warn!(cause = %err, "cannot flush a recording");
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    for room in rooms.values_mut() {
        close(room);
    }
}

/// Writes one chunk: into a new file when it starts a segment (retiring the oldest file
/// beyond `keep`), else onto the open one.
fn write_chunk(dir: &Path, keep: usize, stem: &str, room: &mut RoomFiles, chunk: Chunk) {
    if chunk.new_segment {
        close(room);
        room.segments += 1;
        let path = dir.join(format!("{stem}-{:04}.twr", room.segments));
        match File::create(&path) {
            Ok(file) => {
                room.file = Some(BufWriter::new(file));
                room.kept.push_back(path);
            }
            Err(err) => {
                tracing::warn!(path = %path.display(), cause = %err, "cannot create a recording");
            }
        }
        while room.kept.len() > keep.max(1) {
            if let Some(old) = room.kept.pop_front()
                && let Err(err) = std::fs::remove_file(&old)
            {
                tracing::warn!(path = %old.display(), cause = %err, "cannot delete an old recording");
            }
        }
    }
    // Without an open file (it could not be created, or a write failed) the segment is
    // lost until the room starts the next one.
    let Some(file) = &mut room.file else {
        return;
    };
    if let Err(err) = file.write_all(&chunk.bytes) {
        tracing::warn!(cause = %err, "cannot write a recording; its segment ends here");
        room.file = None;
    }
}

/// Flushes and closes the room's open file.
fn close(room: &mut RoomFiles) {
    if let Some(mut file) = room.file.take()
        && let Err(err) = file.flush()
    {
        tracing::warn!(cause = %err, "cannot flush a recording");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(new_segment: bool, bytes: &[u8]) -> Chunk {
        Chunk {
            new_segment,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn segments_go_to_their_own_files_and_only_the_newest_are_kept() {
        let dir = std::env::temp_dir().join(format!("tickwire-writer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (sink, queue) = queue();
        let stem: Arc<str> = Arc::from("r-1");
        for i in 0..4u8 {
            assert!(sink.send(&stem, chunk(true, &[i])));
            assert!(sink.send(&stem, chunk(false, &[i, i])));
        }
        sink.done(&stem);
        drop(sink);
        run(queue, &dir, 2);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["r-1-0003.twr", "r-1-0004.twr"]);
        assert_eq!(std::fs::read(dir.join("r-1-0004.twr")).unwrap(), [3, 3, 3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! What a light bot reads of a server message without decoding it: its type, and of a
//! snapshot its tick.
//!
//! The protocol promises every server message starts `92 TT` (a 2-element array, then the
//! type as a positive fixint; PROTOCOL.md section 2), and a snapshot's body is an array
//! whose first field is its tick. A tick is all a light bot's inputs need of a snapshot
//! (their `view_tick`), and reading it costs a few byte tests where decoding the whole body,
//! applying it and hashing the result cost microseconds.

/// The server's snapshot type number (PROTOCOL.md section 5).
pub(crate) const SNAPSHOT: u8 = 2;

/// The type number of the server message `payload` holds, or `None` when it does not start
/// like one.
pub(crate) fn kind(payload: &[u8]) -> Option<u8> {
    match payload {
        [0x92, kind, ..] if *kind < 0x80 => Some(*kind),
        _ => None,
    }
}

/// The tick of the snapshot `payload` holds (whose [`kind`] is [`SNAPSHOT`]), or `None`
/// when its body does not start with an array and an unsigned integer.
pub(crate) fn snapshot_tick(payload: &[u8]) -> Option<u64> {
    let body = payload.get(2..)?;
    let fields = match body.first()? {
        0x90..=0x9F => body.get(1..)?,
        0xDC => body.get(3..)?,
        0xDD => body.get(5..)?,
        _ => return None,
    };
    let (&tag, rest) = fields.split_first()?;
    let be = |n: usize| -> Option<u64> {
        let bytes = rest.get(..n)?;
        Some(bytes.iter().fold(0, |acc, &b| acc << 8 | u64::from(b)))
    };
    match tag {
        0x00..=0x7F => Some(u64::from(tag)),
        0xCC => be(1),
        0xCD => be(2),
        0xCE => be(4),
        0xCF => be(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::{Pong, ServerMsg, Snapshot, encode_server};

    use super::*;

    fn snapshot(tick: u64) -> Vec<u8> {
        encode_server(&ServerMsg::Snapshot(Snapshot {
            tick,
            base_tick: Some(tick.saturating_sub(1)),
            server_time_ms: 99,
            state_hash: 7,
            ack: 3,
            removed: vec![],
            added: vec![],
            changes: vec![],
        }))
        .to_vec()
    }

    #[test]
    fn a_snapshot_is_known_by_its_type_and_its_tick_read_at_every_width() {
        for tick in [0, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 33, u64::MAX] {
            let frame = snapshot(tick);
            assert_eq!(kind(&frame), Some(SNAPSHOT));
            assert_eq!(snapshot_tick(&frame), Some(tick), "{tick}");
        }
    }

    #[test]
    fn other_messages_are_known_by_their_type() {
        let pong = encode_server(&ServerMsg::Pong(Pong {
            client_time: 1.5,
            server_tick: 9,
        }));
        assert_eq!(kind(&pong), Some(3));
    }

    #[test]
    fn bytes_that_are_no_message_are_not_read() {
        assert_eq!(kind(&[]), None);
        assert_eq!(kind(&[0x92]), None);
        assert_eq!(kind(&[0x93, 2]), None);
        assert_eq!(kind(&[0x92, 0xCC]), None);
        // Cut anywhere, a snapshot's tick is not made up.
        let frame = snapshot(1 << 40);
        for cut in 0..4 + 8 {
            assert_eq!(snapshot_tick(&frame[..cut]), None, "{cut}");
        }
        assert_eq!(snapshot_tick(&[0x92, 2, 0x98, 0xC0]), None, "nil tick");
        assert_eq!(snapshot_tick(&[0x92, 2, 0xA1, 0x01]), None, "no array");
        assert_eq!(snapshot_tick(&[0x92, 2, 0xDC, 0, 8, 0x05]), Some(5));
        assert_eq!(
            snapshot_tick(&[0x92, 2, 0xDD, 0, 0, 0, 8, 0xCC, 200]),
            Some(200)
        );
    }
}

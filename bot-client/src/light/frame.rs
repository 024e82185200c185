//! The few bits of WebSocket framing (RFC 6455, section 5) a light bot needs: the head of
//! a frame from the server (unmasked, never fragmented by this server) and a masked frame
//! of the client's, both through tungstenite's frame header.
//!
//! Pure functions over byte slices, so that every case is tested without a socket. A light
//! bot reads tens of thousands of frames a second, and what it wants to know of most of them
//! is their length and opcode; tungstenite's reader would also copy each payload into a
//! message of its own, so only its header parser is used, over the bot's own buffer.

use std::io::Cursor;

use thiserror::Error;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;

/// A frame's opcodes (RFC 6455, section 5.2).
pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

/// Control frames carry at most this many payload bytes (RFC 6455, section 5.5).
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// What the first bytes of a server frame say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) opcode: u8,
    /// Bytes before the payload: 2, 4 or 10.
    pub(crate) header_len: usize,
    pub(crate) payload_len: usize,
}

impl Head {
    /// The frame's bytes, header and payload.
    pub(crate) fn total_len(&self) -> usize {
        self.header_len + self.payload_len
    }
}

/// Why a server frame cannot be read. Each ends the connection: the stream's framing is
/// lost after any of them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum FrameError {
    #[error("a server frame must not be masked")]
    Masked,
    #[error("reserved bits set ({0:#04x}) without an extension that defines them")]
    Reserved(u8),
    #[error("fragmented message (opcode {opcode:#x}, fin {fin}): this server never fragments")]
    Fragmented { opcode: u8, fin: bool },
    #[error("unknown opcode {0:#x}")]
    Opcode(u8),
    #[error("control frame of {0} bytes, more than 125")]
    ControlTooLong(u64),
    #[error("frame of {len} bytes, more than the {max} a light bot accepts")]
    TooLong { len: u64, max: usize },
}

/// Reads the head of the frame at the start of `buf`, with tungstenite's header parser:
/// `None` while `buf` does not hold the whole header yet. The payload may still be
/// incomplete; see [`Head::total_len`].
///
/// # Errors
/// [`FrameError`] for a frame this server would never send: masked, fragmented, with
/// reserved bits or opcodes, or longer than `max_payload`.
pub(crate) fn head(buf: &[u8], max_payload: usize) -> Result<Option<Head>, FrameError> {
    // The parser has read the first byte whenever it answers more than `None`.
    let first = buf.first().copied().unwrap_or_default();
    let (header, len) = match FrameHeader::parse(&mut Cursor::new(buf)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return Ok(None),
        // The only error a parse over bytes in memory can meet is a reserved opcode.
        Err(_) => return Err(FrameError::Opcode(first & 0x0F)),
    };
    let reserved = first & 0x70;
    if reserved != 0 {
        return Err(FrameError::Reserved(reserved));
    }
    if header.mask.is_some() {
        return Err(FrameError::Masked);
    }
    let opcode = u8::from(header.opcode);
    if opcode == CONTINUATION || !header.is_final {
        return Err(FrameError::Fragmented {
            opcode,
            fin: header.is_final,
        });
    }
    if matches!(header.opcode, OpCode::Control(_)) && len > MAX_CONTROL_PAYLOAD {
        return Err(FrameError::ControlTooLong(len));
    }
    let payload_len = usize::try_from(len)
        .ok()
        .filter(|&n| n <= max_payload)
        .ok_or(FrameError::TooLong {
            len,
            max: max_payload,
        })?;
    Ok(Some(Head {
        opcode,
        header_len: header.len(len),
        payload_len,
    }))
}

/// Appends one whole client frame (FIN set, masked with `mask` as RFC 6455 requires of
/// every client frame) carrying `payload` to `out`.
pub(crate) fn write_client_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    let header = FrameHeader {
        opcode: OpCode::from(opcode),
        mask: Some(mask),
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail.
    let _ = header.format(payload.len() as u64, out);
    out.extend(
        payload
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key),
    );
}

/// What a close frame's payload says, in words: its code and reason, as the full bots'
/// reports word it.
pub(crate) fn close_reason(payload: &[u8]) -> String {
    match payload {
        [] => "close without a code".to_owned(),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            let reason = String::from_utf8_lossy(reason);
            if reason.is_empty() {
                format!("close code {code}")
            } else {
                format!("close code {code}: {reason}")
            }
        }
        [_] => "close frame with a one-byte payload".to_owned(),
    }
}

/// The payload of a close frame with `code` and `reason`, cut to fit a control frame.
pub(crate) fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    let room = MAX_CONTROL_PAYLOAD as usize - payload.len();
    // Cut at a character boundary: the reason must stay UTF-8.
    let mut end = reason.len().min(room);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    /// A server frame as tungstenite writes it: FIN, unmasked.
    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => out.push(n as u8),
            n if n <= 0xFFFF => {
                out.push(126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    /// Undoes a client frame's masking, as a server does: (opcode, payload).
    fn unmask(frame: &[u8]) -> (u8, Vec<u8>) {
        assert_eq!(frame[0] & 0x80, 0x80, "FIN");
        assert_eq!(frame[1] & 0x80, 0x80, "masked");
        let (len, at) = match frame[1] & 0x7F {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let mask = &frame[at..at + 4];
        let payload = &frame[at + 4..];
        assert_eq!(payload.len(), len);
        let clear = payload
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        (frame[0] & 0x0F, clear)
    }

    #[test]
    fn heads_of_every_length_form_are_read() {
        for len in [0, 1, 125, 126, 300, 65_535, 65_536, 70_000] {
            let frame = server_frame(BINARY, &vec![7; len]);
            let head = head(&frame, MAX).unwrap().unwrap();
            assert_eq!(head.opcode, BINARY);
            assert_eq!(head.payload_len, len);
            assert_eq!(head.total_len(), frame.len(), "{len}");
        }
    }

    #[test]
    fn a_partial_header_is_not_yet_a_head() {
        let frame = server_frame(BINARY, &[1; 70_000]);
        for cut in 0..10 {
            assert_eq!(head(&frame[..cut], MAX), Ok(None), "{cut}");
        }
        assert!(head(&frame[..10], MAX).unwrap().is_some());
        // A head is known before its payload is all there.
        let small = server_frame(BINARY, &[1; 300]);
        assert_eq!(head(&small[..4], MAX).unwrap().unwrap().payload_len, 300);
    }

    #[test]
    fn frames_this_server_never_sends_are_refused() {
        let masked = [0x82, 0x81, 1, 2, 3, 4, 5];
        assert_eq!(head(&masked, MAX), Err(FrameError::Masked));
        assert_eq!(head(&[0xC2, 0x00], MAX), Err(FrameError::Reserved(0x40)));
        assert!(matches!(
            head(&[0x02, 0x01, 9], MAX),
            Err(FrameError::Fragmented { .. })
        ));
        assert!(matches!(
            head(&[0x80, 0x01, 9], MAX),
            Err(FrameError::Fragmented { .. })
        ));
        assert_eq!(head(&[0x83, 0x00], MAX), Err(FrameError::Opcode(3)));
        assert_eq!(
            head(&[0x89, 126, 0, 200], MAX),
            Err(FrameError::ControlTooLong(200))
        );
        let huge = server_frame(BINARY, &[0; 2000]);
        assert_eq!(
            head(&huge, 1000),
            Err(FrameError::TooLong {
                len: 2000,
                max: 1000
            })
        );
        let absurd = [0x82, 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(
            head(&absurd, MAX),
            Err(FrameError::TooLong { .. })
        ));
    }

    #[test]
    fn control_frames_are_read() {
        for opcode in [CLOSE, PING, PONG] {
            let frame = server_frame(opcode, b"abc");
            let head = head(&frame, MAX).unwrap().unwrap();
            assert_eq!((head.opcode, head.payload_len), (opcode, 3));
        }
    }

    #[test]
    fn client_frames_are_masked_and_unmask_to_their_payload() {
        for len in [0, 5, 125, 126, 1000, 65_535, 65_536] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut out = Vec::new();
            write_client_frame(&mut out, BINARY, &payload, [0xA1, 0x00, 0x5C, 0xFF]);
            let (opcode, clear) = unmask(&out);
            assert_eq!(opcode, BINARY);
            assert_eq!(clear, payload, "{len}");
        }
    }

    #[test]
    fn masking_matches_the_rfc_example() {
        // RFC 6455, section 5.7: a masked "Hello".
        let mut out = Vec::new();
        write_client_frame(&mut out, TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(
            out,
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
    }

    #[test]
    fn close_payloads_read_and_write() {
        assert_eq!(close_reason(&[]), "close without a code");
        assert_eq!(close_reason(&[0x03, 0xE8]), "close code 1000");
        assert_eq!(
            close_reason(&close_payload(1008, "idle timeout")),
            "close code 1008: idle timeout"
        );
        assert_eq!(close_reason(&[3]), "close frame with a one-byte payload");
        // Invalid UTF-8 in a reason is shown, not a failure.
        assert!(close_reason(&[0x03, 0xE8, 0xFF]).starts_with("close code 1000: "));
        let long = close_payload(1000, &"é".repeat(100));
        assert!(long.len() <= 125);
        assert!(std::str::from_utf8(&long[2..]).is_ok());
    }
}

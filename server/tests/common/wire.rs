//! WebSocket frames written by hand, for tests that must send what no client library will:
//! unmasked frames, reserved bits and opcodes, fragmented or oversize control frames.

/// The mask key of every masked frame built here.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame: `head` is the first byte as sent (FIN, RSV1-3, opcode), then the payload
/// length, and the payload masked with [`MASK`] when `masked` (as a client must) or sent
/// in the clear when not.
pub fn client_frame(head: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask_bit = if masked { 0x80 } else { 0 };
    let mut frame = vec![head];
    match u16::try_from(payload.len()) {
        Ok(len @ 0..=125) => frame.push(mask_bit | len as u8),
        Ok(len) => {
            frame.push(mask_bit | 126);
            frame.extend_from_slice(&len.to_be_bytes());
        }
        Err(_) => {
            frame.push(mask_bit | 127);
            frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    if masked {
        frame.extend_from_slice(&MASK);
        frame.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    } else {
        frame.extend_from_slice(payload);
    }
    frame
}

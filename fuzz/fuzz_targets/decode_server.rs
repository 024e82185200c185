//! Feeds arbitrary bytes to `ServerMsg::decode`, the bots' reader of server frames.
//!
//! Invariant (the same as `shared/tests/decode_props.rs`): decoding never panics, and a
//! frame that decodes re-encodes to bytes that decode to the same message. The bytes are
//! compared, not only the messages, so NaN fields (never equal under `PartialEq`) are
//! checked bit for bit too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::{ServerMsg, encode_server};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = ServerMsg::decode(data) else {
        return;
    };
    let frame = encode_server(&msg);
    let again = match ServerMsg::decode(&frame) {
        Ok(again) => again,
        Err(err) => panic!("{msg:?} re-encodes to {frame:02x?}, which fails: {err}"),
    };
    assert_eq!(
        encode_server(&again),
        frame,
        "second encoding of {msg:?} differs"
    );
    // Skipped for messages with a NaN field, which are not equal to themselves.
    if msg.clone() == msg {
        assert_eq!(again, msg);
    }
});

//! Who a connection is: the user the handshake's token named, or nobody in particular when
//! the server runs without authentication.

/// Who a connection is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// The token's subject; `None` without authentication (the server then calls the user
    /// `anon-<player id>`).
    pub user_id: Option<String>,
    /// The token's display name, which then wins over the one in `Hello`.
    pub name: Option<String>,
    /// Private rooms the token lets this user join without a key.
    pub rooms: Vec<String>,
}

impl Identity {
    /// True when the token names `room` among the rooms this user may join.
    pub fn may_join(&self, room: &str) -> bool {
        self.rooms.iter().any(|r| r == room)
    }
}

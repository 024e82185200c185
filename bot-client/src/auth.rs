//! Tokens for a server that authenticates (`--auth-secret`): each bot mints its own HS256
//! JWT with the server's secret and presents it in the URL's query, as `token=`.
//!
//! Bot `i` is user `bot-<i>`, so each bot is its own user (the server's takeover of a seat
//! by a second connection of the same user never meets two bots), and a bot that joins
//! afresh after a refused resume is the same user again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

/// How long a token outlives the run: a reconnect near the end still presents a valid
/// token, and a server whose clock is a little ahead does not refuse it.
pub(crate) const TOKEN_SLACK: Duration = Duration::from_secs(600);

/// What a bot's token says about it; the server's claims, less the optional `rooms`.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    /// The user id.
    sub: &'a str,
    /// The display name the server shows instead of the hello's.
    name: &'a str,
    /// Issued at, seconds since the Unix epoch.
    iat: u64,
    /// Expires at, seconds since the Unix epoch.
    exp: u64,
}

/// The user id of bot `index`, honest or misbehaving.
pub(crate) fn subject(index: usize) -> String {
    format!("bot-{index}")
}

/// An HS256 token for user `sub` shown as `name`, signed with `secret`, issued at `now`
/// and valid for `ttl`.
///
/// # Errors
/// Only when the claims cannot be encoded, which HS256 with string claims never does; the
/// caller counts it as a failed connect all the same.
pub(crate) fn mint(
    secret: &str,
    sub: &str,
    name: &str,
    now: SystemTime,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    // A clock before 1970 is not worth a failure: such a token is merely expired.
    let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims = Claims {
        sub,
        name,
        iat,
        exp: iat.saturating_add(ttl.as_secs()),
    };
    // The default header is HS256, the one algorithm the server accepts.
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// `url` with `token=<token>` added to its query: after `&` when it has one already, after
/// `?` otherwise, and after a `/` when the URL has no path at all, so that the request
/// target is always `/...?token=`. A JWT is URL-safe (base64url and dots), so it goes in
/// as it is.
pub(crate) fn with_token(url: &str, token: &str) -> String {
    // The fragment, never sent to a server, stays at the end.
    let (base, fragment) = match url.find('#') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let authority_at = base.find("://").map_or(0, |at| at + 3);
    let (mut out, query) = match base.find('?') {
        Some(at) => (base[..at].to_owned(), Some(&base[at + 1..])),
        None => (base.to_owned(), None),
    };
    if !out[authority_at..].contains('/') {
        out.push('/');
    }
    match query {
        Some(query) if !query.is_empty() => {
            out.push('?');
            out.push_str(query);
            out.push('&');
        }
        _ => out.push('?'),
    }
    out.push_str("token=");
    out.push_str(token);
    out.push_str(fragment);
    out
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Read {
        sub: String,
        name: String,
        iat: u64,
        exp: u64,
    }

    #[test]
    fn a_minted_token_verifies_with_the_secret_and_carries_the_claims() {
        let now = SystemTime::now();
        let token = mint(
            "s3cret",
            &subject(7),
            "bot-7",
            now,
            Duration::from_secs(70) + TOKEN_SLACK,
        )
        .expect("mint");
        let read = jsonwebtoken::decode::<Read>(
            &token,
            &DecodingKey::from_secret(b"s3cret"),
            &Validation::new(Algorithm::HS256),
        )
        .expect("the server's check passes")
        .claims;
        assert_eq!(read.sub, "bot-7");
        assert_eq!(read.name, "bot-7");
        assert_eq!(read.exp - read.iat, 670);
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);

        let wrong = jsonwebtoken::decode::<Read>(
            &token,
            &DecodingKey::from_secret(b"other"),
            &Validation::new(Algorithm::HS256),
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let long_ago = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = mint("k", "bot-0", "bot-0", long_ago, Duration::from_secs(60)).expect("mint");
        let read = jsonwebtoken::decode::<Read>(
            &token,
            &DecodingKey::from_secret(b"k"),
            &Validation::new(Algorithm::HS256),
        );
        assert!(read.is_err());
    }

    #[test]
    fn the_token_joins_the_query_or_starts_one() {
        assert_eq!(with_token("ws://h:1", "T"), "ws://h:1/?token=T");
        assert_eq!(with_token("ws://h:1/", "T"), "ws://h:1/?token=T");
        assert_eq!(with_token("ws://h:1/play", "T"), "ws://h:1/play?token=T");
        assert_eq!(with_token("ws://h:1/?x=1", "T"), "ws://h:1/?x=1&token=T");
        assert_eq!(with_token("ws://h:1?x=1", "T"), "ws://h:1/?x=1&token=T");
        assert_eq!(with_token("ws://h:1/p?", "T"), "ws://h:1/p?token=T");
        assert_eq!(
            with_token("wss://h/p?a=b#f", "T"),
            "wss://h/p?a=b&token=T#f"
        );
    }
}

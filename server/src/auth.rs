//! Authentication at the WebSocket handshake: a JWT signed with the server's shared
//! secret (HS256 only) names the user, before any frame is read.
//!
//! The token travels as the query parameter `token` of the upgrade request
//! (`ws://host:port/?token=…`, for browsers, which cannot set headers on a WebSocket) or as
//! `Authorization: Bearer …`. Its claims: `sub` (required, the user id), `exp` (required,
//! with [`LEEWAY_SECS`] of slack for clock skew), `name` (optional display name), `iat`
//! (optional, not checked) and `rooms` (optional, private rooms the user may join without
//! a key). Anything wrong with the token is an [`AuthError`], which the handshake turns
//! into an HTTP 401 with the error's text as the body.
//!
//! The same secret mints tokens ([`Auth::mint`]), for the `token` subcommand and tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::http::{Request, header};

use crate::identity::Identity;

/// Seconds a token is still accepted after its `exp`, for clocks that disagree a little.
pub const LEEWAY_SECS: u64 = 30;

/// Longest user id (`sub`) accepted, in characters: it is echoed in every `Welcome` and
/// chat message, so a huge one would cost every peer.
pub const MAX_USER_ID_CHARS: usize = 128;

/// Longest display name, in characters (as for `Hello`'s name).
pub const MAX_NAME_CHARS: usize = 32;

/// Why a handshake's token was refused. Every variant is answered with HTTP 401 and its
/// text as the body; the client should get a new token (or fix how it sends it) and
/// connect again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `token` query parameter and no `Authorization` header.
    #[error("missing token: pass it as ?token= or Authorization: Bearer")]
    Missing,
    /// An `Authorization` header of another scheme than `Bearer`.
    #[error("the authorization header is not a bearer token")]
    NotBearer,
    /// The token's `exp` is past (by more than the leeway).
    #[error("token expired")]
    Expired,
    /// The token was not signed with this server's secret (or was altered).
    #[error("bad token signature")]
    BadSignature,
    /// The token is signed with another algorithm than HS256.
    #[error("wrong token algorithm: only HS256 is accepted")]
    WrongAlgorithm,
    /// A claim the server needs (`sub` or `exp`) is absent.
    #[error("token lacks the `{0}` claim")]
    MissingClaim(String),
    /// Anything else: not three base64url parts, not JSON, a claim of the wrong type, an
    /// algorithm the library does not know (such as `none`), or a `sub` the server will
    /// not use as a user id.
    #[error("malformed token: {0}")]
    Malformed(String),
}

/// What a token says, as signed and as read. Every field is optional here so that a
/// missing `sub` or `exp` is reported as such by the validation, not as a JSON error.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rooms: Option<Vec<String>>,
}

/// Checks and mints tokens with the server's secret.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

// By hand, so the keys (the secret) never reach a log through `{:?}`.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    /// Tokens signed (HS256) with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Tokens are minted for this server only; an `aud` claim some issuer adds is no
        // reason to refuse one.
        validation.validate_aud = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Who the upgrade `request` says it is: the token in its `token` query parameter, or
    /// else in its `Authorization: Bearer` header.
    ///
    /// # Errors
    /// The token is missing, expired, badly signed, of another algorithm, or malformed.
    pub fn verify<B>(&self, request: &Request<B>) -> Result<Identity, AuthError> {
        self.verify_token(token_of(request)?)
    }

    /// Who `token` says it is.
    ///
    /// # Errors
    /// As [`Auth::verify`], except `Missing`.
    pub fn verify_token(&self, token: &str) -> Result<Identity, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| match err.into_kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    AuthError::WrongAlgorithm
                }
                ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim),
                ErrorKind::InvalidClaimFormat(claim) => {
                    AuthError::Malformed(format!("`{claim}` has the wrong type"))
                }
                ErrorKind::Json(err) => AuthError::Malformed(format!("bad JSON: {err}")),
                ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
                    AuthError::Malformed("bad base64url".into())
                }
                other => AuthError::Malformed(format!("{other:?}")),
            })?;
        let claims = data.claims;
        let sub = claims
            .sub
            .ok_or_else(|| AuthError::MissingClaim("sub".into()))?;
        if !valid_user_id(&sub) {
            return Err(AuthError::Malformed(format!(
                "`sub` must be 1 to {MAX_USER_ID_CHARS} characters with no control characters"
            )));
        }
        // A bad display name is the issuer's slip, not the user's: fall back to the id
        // rather than lock the user out.
        let name = match claims.name {
            Some(name) if valid_display_name(&name) => name,
            _ => sub.chars().take(MAX_NAME_CHARS).collect(),
        };
        Ok(Identity {
            user_id: Some(sub),
            name: Some(name),
            rooms: claims.rooms.unwrap_or_default(),
        })
    }

    /// A token for user `sub`, shown as `name` (the id when `None`), valid for `ttl` from
    /// now, letting the user into the private rooms `rooms`.
    pub fn mint(&self, sub: &str, name: Option<&str>, ttl: Duration, rooms: &[String]) -> String {
        let now = unix_now();
        self.sign(&Claims {
            sub: Some(sub.to_owned()),
            exp: Some(now.saturating_add(ttl.as_secs())),
            iat: Some(now),
            name: name.map(str::to_owned),
            rooms: (!rooms.is_empty()).then(|| rooms.to_vec()),
        })
    }

    fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HMAC signing of plain string and number claims cannot fail")
    }
}

/// True for a `sub` the server takes as a user id: 1 to 128 characters, none of them
/// control characters.
pub fn valid_user_id(sub: &str) -> bool {
    let chars = sub.chars().count();
    (1..=MAX_USER_ID_CHARS).contains(&chars) && !sub.chars().any(char::is_control)
}

/// True for a name a player may be shown as: 1 to 32 characters, none of them control
/// characters.
pub fn valid_display_name(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control)
}

/// The token a request carries: the first `token` query parameter, else the bearer token
/// of the `Authorization` header.
fn token_of<B>(request: &Request<B>) -> Result<&str, AuthError> {
    // A JWT is base64url and dots, which need no percent-encoding, so none is undone.
    let in_query = request
        .uri()
        .query()
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("token="));
    if let Some(token) = in_query {
        return Ok(token);
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value.to_str().map_err(|_| AuthError::NotBearer)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(AuthError::NotBearer),
    }
}

fn unix_now() -> u64 {
    // A clock before 1970 is a broken host; every token then reads as expired.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SECRET: &[u8] = b"test secret, at least long enough";

    fn request(uri: &str, authorization: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().uri(uri);
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        builder.body(()).unwrap()
    }

    fn claims(sub: &str, exp_from_now: i64) -> Claims {
        Claims {
            sub: Some(sub.into()),
            exp: Some(unix_now().saturating_add_signed(exp_from_now)),
            ..Claims::default()
        }
    }

    #[test]
    fn a_minted_token_verifies_from_the_query() {
        let auth = Auth::new(SECRET);
        let token = auth.mint(
            "alice",
            Some("Alice"),
            Duration::from_secs(60),
            &["den".into()],
        );
        let identity = auth
            .verify(&request(&format!("/?x=1&token={token}"), None))
            .unwrap();
        assert_eq!(
            identity,
            Identity {
                user_id: Some("alice".into()),
                name: Some("Alice".into()),
                rooms: vec!["den".into()],
            }
        );
    }

    #[test]
    fn a_bearer_header_is_read_when_the_query_has_none() {
        let auth = Auth::new(SECRET);
        let token = auth.mint("bob", None, Duration::from_secs(60), &[]);
        let identity = auth
            .verify(&request("/", Some(&format!("Bearer {token}"))))
            .unwrap();
        assert_eq!(identity.user_id.as_deref(), Some("bob"));
        assert_eq!(identity.name.as_deref(), Some("bob"));
        assert!(identity.rooms.is_empty());
    }

    #[test]
    fn no_token_is_missing() {
        let auth = Auth::new(SECRET);
        assert_eq!(auth.verify(&request("/", None)), Err(AuthError::Missing));
        assert_eq!(
            auth.verify(&request("/?tokens=x", None)),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn another_authorization_scheme_is_not_bearer() {
        let auth = Auth::new(SECRET);
        assert_eq!(
            auth.verify(&request("/", Some("Basic YWxpY2U6eA=="))),
            Err(AuthError::NotBearer)
        );
    }

    #[test]
    fn expiry_is_checked_with_the_leeway() {
        let auth = Auth::new(SECRET);
        let stale = auth.sign(&claims("alice", -(LEEWAY_SECS as i64) - 60));
        assert_eq!(auth.verify_token(&stale), Err(AuthError::Expired));
        let within_leeway = auth.sign(&claims("alice", -5));
        assert!(auth.verify_token(&within_leeway).is_ok());
    }

    #[test]
    fn another_secret_is_a_bad_signature() {
        let token = Auth::new(b"another secret").mint("alice", None, Duration::from_secs(60), &[]);
        assert_eq!(
            Auth::new(SECRET).verify_token(&token),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn an_altered_payload_is_a_bad_signature() {
        let auth = Auth::new(SECRET);
        let alice = auth.mint("alice", None, Duration::from_secs(60), &[]);
        let mallory = auth.mint("mallory", None, Duration::from_secs(60), &[]);
        let a: Vec<&str> = alice.split('.').collect();
        let m: Vec<&str> = mallory.split('.').collect();
        let forged = format!("{}.{}.{}", a[0], m[1], a[2]);
        assert_eq!(auth.verify_token(&forged), Err(AuthError::BadSignature));
    }

    #[test]
    fn another_algorithm_is_refused() {
        let auth = Auth::new(SECRET);
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims("alice", 60),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(auth.verify_token(&hs512), Err(AuthError::WrongAlgorithm));
    }

    #[test]
    fn the_none_algorithm_is_refused() {
        let auth = Auth::new(SECRET);
        let real = auth.mint("alice", None, Duration::from_secs(60), &[]);
        let payload = real.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}, unsigned.
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(
            auth.verify_token(&unsigned),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        let auth = Auth::new(SECRET);
        for token in ["", "abc", "a.b", "a.b.c", "!!.??.**"] {
            assert!(
                matches!(auth.verify_token(token), Err(AuthError::Malformed(_))),
                "{token:?}"
            );
        }
    }

    #[test]
    fn a_token_without_sub_or_exp_lacks_a_claim() {
        let auth = Auth::new(SECRET);
        let no_sub = auth.sign(&Claims {
            exp: Some(unix_now() + 60),
            ..Claims::default()
        });
        assert_eq!(
            auth.verify_token(&no_sub),
            Err(AuthError::MissingClaim("sub".into()))
        );
        let no_exp = auth.sign(&Claims {
            sub: Some("alice".into()),
            ..Claims::default()
        });
        assert_eq!(
            auth.verify_token(&no_exp),
            Err(AuthError::MissingClaim("exp".into()))
        );
    }

    #[test]
    fn claims_of_the_wrong_type_are_malformed() {
        #[derive(Serialize)]
        struct Odd {
            sub: u32,
            exp: u64,
        }
        let auth = Auth::new(SECRET);
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Odd {
                sub: 7,
                exp: unix_now() + 60,
            },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(matches!(
            auth.verify_token(&token),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn an_unusable_sub_is_malformed() {
        let auth = Auth::new(SECRET);
        let long = "x".repeat(MAX_USER_ID_CHARS + 1);
        for sub in ["", "al\nice", long.as_str()] {
            let token = auth.sign(&claims(sub, 60));
            assert!(
                matches!(auth.verify_token(&token), Err(AuthError::Malformed(_))),
                "{sub:?}"
            );
        }
    }

    #[test]
    fn a_bad_name_falls_back_to_the_truncated_sub() {
        let auth = Auth::new(SECRET);
        let sub = "a-user-id-that-is-longer-than-thirty-two-characters";
        for name in ["", "bad\u{7}name", &"n".repeat(MAX_NAME_CHARS + 1)] {
            let token = auth.mint(sub, Some(name), Duration::from_secs(60), &[]);
            let identity = auth.verify_token(&token).unwrap();
            assert_eq!(identity.name.as_deref(), Some(&sub[..MAX_NAME_CHARS]));
            assert_eq!(identity.user_id.as_deref(), Some(sub));
        }
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let debug = format!("{:?}", Auth::new(b"hunter2-hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn display_names_follow_the_rule() {
        for ok in ["a", "Ana María", "忍者", &"x".repeat(32)] {
            assert!(valid_display_name(ok), "{ok}");
        }
        for bad in ["", "a\nb", "\u{7}", &"x".repeat(33)] {
            assert!(!valid_display_name(bad), "{bad:?}");
        }
    }
}

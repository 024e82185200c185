//! Authentication at the handshake, against a real listener: with `--auth-secret` every
//! upgrade without a valid HS256 token (missing, expired, badly signed, of another
//! algorithm, malformed) is refused with HTTP 401 before any frame, and counted; a valid
//! one, in the query or as a bearer header, names the player. The `token` subcommand of
//! the real binary mints tokens the server accepts.

#![allow(clippy::unwrap_used)] // test set-up: a failure should panic the test

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Client, TestServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tickwire_server::Config;
use tickwire_server::auth::Auth;
use tickwire_shared::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{StatusCode, header};

const SECRET: &str = "integration-test-secret-of-some-length";

const UNAUTHORIZED: &str = r#"tickwire_connections_refused_total{reason="unauthorized"}"#;

async fn server() -> TestServer {
    TestServer::start(Config {
        auth_secret: Some(SECRET.into()),
        ..Config::default()
    })
    .await
}

fn auth() -> Auth {
    Auth::new(SECRET.as_bytes())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token with these claims, signed with `secret` by `alg`.
fn signed(alg: Algorithm, secret: &str, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Connects with `token` in the query (if any) and `authorization` as a header (if any).
async fn connect(
    server: &TestServer,
    token: Option<&str>,
    authorization: Option<&str>,
) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    let url = match token {
        Some(token) => format!("{}?token={token}", server.url()),
        None => server.url(),
    };
    let mut request = url.into_client_request().unwrap();
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, value.parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(Client::over(ws))
}

/// Connects expecting a 401; returns its plain-text body.
async fn refused(server: &TestServer, token: Option<&str>, authorization: Option<&str>) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match connect(server, token, authorization).await {
        Err(Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
                "Bearer"
            );
            String::from_utf8(response.body().clone().unwrap_or_default()).unwrap()
        }
        Err(other) => panic!("expected a 401, got {other}"),
        Ok(_) => panic!("expected a 401, got upgraded"),
    }
}

/// Says hello (with a name the token should override) and returns the welcome.
async fn welcome(client: &mut Client) -> Welcome {
    client
        .send(ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: "from-hello".into(),
        }))
        .await;
    match client.recv().await {
        ServerMsg::Welcome(w) => {
            client.id = w.player_id;
            w
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_token_is_refused() {
    let server = server().await;
    let body = refused(&server, None, None).await;
    assert!(body.contains("missing token"), "{body}");
    let body = refused(&server, None, Some("Basic YWxpY2U6c2VjcmV0")).await;
    assert!(body.contains("bearer"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let server = server().await;
    let stale = signed(
        Algorithm::HS256,
        SECRET,
        &serde_json::json!({ "sub": "alice", "exp": unix_now() - 120 }),
    );
    let body = refused(&server, Some(&stale), None).await;
    assert!(body.contains("expired"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let server = server().await;
    let forged =
        Auth::new(b"not the server's secret").mint("alice", None, Duration::from_secs(600), &[]);
    let body = refused(&server, Some(&forged), None).await;
    assert!(body.contains("signature"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn tokens_of_other_algorithms_are_refused() {
    let server = server().await;
    let claims = serde_json::json!({ "sub": "alice", "exp": unix_now() + 600 });
    let hs512 = signed(Algorithm::HS512, SECRET, &claims);
    let body = refused(&server, Some(&hs512), None).await;
    assert!(body.contains("algorithm"), "{body}");

    // `{"alg":"none","typ":"JWT"}` over real claims, with no signature.
    let payload = hs512.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    refused(&server, Some(&unsigned), None).await;
    server.stop().await;
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let server = server().await;
    for token in ["", "garbage", "a.b.c"] {
        let body = refused(&server, Some(token), None).await;
        assert!(body.contains("malformed"), "{token:?}: {body}");
    }
    let no_sub = signed(
        Algorithm::HS256,
        SECRET,
        &serde_json::json!({ "exp": unix_now() + 600 }),
    );
    let body = refused(&server, Some(&no_sub), None).await;
    assert!(body.contains("`sub`"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn refusals_are_counted_as_unauthorized() {
    let server = server().await;
    assert_eq!(server.metric(UNAUTHORIZED).await, 0.0);
    refused(&server, None, None).await;
    refused(&server, Some("garbage"), None).await;
    // Counted after the response is written: give the server's task a moment.
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while server.metric(UNAUTHORIZED).await < 2.0 {
        assert!(tokio::time::Instant::now() < deadline, "not counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.metric(UNAUTHORIZED).await, 2.0);
    let accepted = "tickwire_connections_accepted_total";
    assert_eq!(
        server.metric(accepted).await,
        0.0,
        "no connection was accepted"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_valid_token_in_the_query_names_the_player() {
    let server = server().await;
    let token = auth().mint("alice", Some("Alice"), Duration::from_secs(600), &[]);
    let mut alice = connect(&server, Some(&token), None).await.unwrap();
    let w = welcome(&mut alice).await;
    assert_eq!(w.user_id, "alice");
    assert!(!w.resume_token.is_empty());

    // Others see the token's name, not the one in the hello.
    alice
        .send(ClientMsg::Join(Join {
            room: Some("hall".into()),
            key: None,
        }))
        .await;
    alice
        .recv_where(|m| matches!(m, ServerMsg::Joined(_)))
        .await;
    let token = auth().mint("bob", None, Duration::from_secs(600), &[]);
    let mut bob = connect(&server, Some(&token), None).await.unwrap();
    assert_eq!(welcome(&mut bob).await.user_id, "bob");
    bob.send(ClientMsg::Join(Join {
        room: Some("hall".into()),
        key: None,
    }))
    .await;
    let ServerMsg::Joined(joined) = bob.recv_where(|m| matches!(m, ServerMsg::Joined(_))).await
    else {
        unreachable!()
    };
    let names: Vec<&str> = joined.players.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Alice"]);
    let ServerMsg::PlayerJoined(arrived) = alice
        .recv_where(|m| matches!(m, ServerMsg::PlayerJoined(_)))
        .await
    else {
        unreachable!()
    };
    // Without a name claim the name is the user id.
    assert_eq!(arrived.name, "bob");
    server.stop().await;
}

#[tokio::test]
async fn a_valid_bearer_header_is_accepted() {
    let server = server().await;
    let token = auth().mint("carol", None, Duration::from_secs(600), &[]);
    let mut carol = connect(&server, None, Some(&format!("Bearer {token}")))
        .await
        .unwrap();
    assert_eq!(welcome(&mut carol).await.user_id, "carol");
    server.stop().await;
}

#[tokio::test]
async fn without_a_secret_players_are_anonymous() {
    let server = TestServer::start(Config::default()).await;
    // A token is not needed, and not looked at.
    let mut client = connect(&server, Some("garbage"), None).await.unwrap();
    let w = welcome(&mut client).await;
    assert_eq!(w.user_id, format!("anon-{}", w.player_id));
    server.stop().await;
}

#[tokio::test]
async fn the_token_subcommand_mints_a_token_the_server_accepts() {
    let server = server().await;
    let output = Command::new(env!("CARGO_BIN_EXE_tickwire-server"))
        .args(["token", "--sub", "dave", "--name", "Dave", "--ttl", "5m"])
        .args(["--rooms", "den,attic", "--auth-secret", SECRET])
        .env_remove("TICKWIRE_AUTH_SECRET")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    let token = token.trim();

    let identity = auth().verify_token(token).unwrap();
    assert_eq!(identity.name.as_deref(), Some("Dave"));
    assert_eq!(identity.rooms, ["den", "attic"]);

    let mut dave = connect(&server, Some(token), None).await.unwrap();
    assert_eq!(welcome(&mut dave).await.user_id, "dave");
    server.stop().await;
}

#[tokio::test]
async fn the_token_subcommand_needs_the_secret() {
    let output = Command::new(env!("CARGO_BIN_EXE_tickwire-server"))
        .args(["token", "--sub", "dave"])
        .env_remove("TICKWIRE_AUTH_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--auth-secret"), "{stderr}");
}

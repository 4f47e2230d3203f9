//! The JS SDK's protocol types are generated from `proto::signal`, and the
//! generated file is checked in (`sdk/js/src/protocol.ts`) so the SDK builds
//! without Rust. This test fails when the two differ; run it with
//! `UPDATE_TS=1` to rewrite the file.

use proto::sfu::{LayerSpec, ParticipantInfo, Role, Sdp, Source, TrackInfo, TrackSpec, Want};
use proto::signal::{
    CallEnd, CallStatus, ClientMessage, ClosedReason, ErrorCode, IceServer, LeftReason,
    ServerMessage, SignalError, Welcome,
};
use ts_rs::{Config, TS};

fn generate() -> String {
    // Coins and balances are JSON numbers, which JavaScript reads as
    // numbers, not bigints.
    let cfg = Config::new().with_large_int("number");
    let decls = [
        ClientMessage::decl(&cfg),
        ServerMessage::decl(&cfg),
        Welcome::decl(&cfg),
        IceServer::decl(&cfg),
        LeftReason::decl(&cfg),
        ClosedReason::decl(&cfg),
        CallStatus::decl(&cfg),
        CallEnd::decl(&cfg),
        SignalError::decl(&cfg),
        ErrorCode::decl(&cfg),
        Role::decl(&cfg),
        Source::decl(&cfg),
        Want::decl(&cfg),
        LayerSpec::decl(&cfg),
        TrackSpec::decl(&cfg),
        Sdp::decl(&cfg),
        TrackInfo::decl(&cfg),
        ParticipantInfo::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from proto/src/signal.rs and proto/src/sfu.rs by\n\
         // `UPDATE_TS=1 cargo test -p proto --test typescript`. Do not edit.\n",
    );
    for decl in decls {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn the_sdk_protocol_types_are_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/js/src/protocol.ts");
    let generated = generate();
    if std::env::var_os("UPDATE_TS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "sdk/js/src/protocol.ts is out of date: run UPDATE_TS=1 cargo test -p proto --test typescript"
    );
}

//! `simpeer-join`: one simulated participant joining through signalling,
//! for trying a room by hand and for the browser tests that put a Rust
//! client next to Chromium. It publishes H.264 (320x180) and Opus, stays
//! for the given time, then prints what it decoded as JSON on stdout.
//!
//! simpeer-join <ws-url> <room> <token> [seconds] [--receive-only]

use std::time::Duration;

use simpeer::signal::Client;
use simpeer::{Options, Size};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let receive_only = args.iter().any(|a| a == "--receive-only");
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(url), Some(room), Some(token)) =
        (positional.first(), positional.get(1), positional.get(2))
    else {
        eprintln!("usage: simpeer-join <ws-url> <room> <token> [seconds] [--receive-only]");
        return std::process::ExitCode::from(2);
    };
    let seconds: u64 = match positional.get(3).map(|s| s.parse()) {
        None => 20,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            eprintln!("simpeer-join: seconds must be a whole number");
            return std::process::ExitCode::from(2);
        }
    };
    let options = match receive_only {
        true => Options {
            camera: Vec::new(),
            microphone: false,
            ..Options::default()
        },
        false => Options {
            camera: vec![(
                "",
                Size {
                    width: 320,
                    height: 180,
                },
            )],
            microphone: true,
            ..Options::default()
        },
    };
    let client = match Client::join(url, room, token, options).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("simpeer-join: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    eprintln!(
        "simpeer-join: joined {room} as {} for {seconds} s",
        client.welcome.participant
    );
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let stats = client.peer.stats();
    let tracks: serde_json::Map<String, serde_json::Value> = stats
        .tracks
        .iter()
        .map(|(track, r)| {
            (
                track.to_string(),
                serde_json::json!({
                    "video_frames": r.video_frames,
                    "decode_errors": r.decode_errors,
                    "width": r.size.map(|s| s.width),
                    "height": r.size.map(|s| s.height),
                    "audio_frames": r.audio_frames,
                }),
            )
        })
        .collect();
    let report = serde_json::json!({
        "connected": stats.connected,
        "video_frames_sent": stats.video_frames_sent,
        "audio_frames_sent": stats.audio_frames_sent,
        "tracks": tracks,
    });
    println!("{report}");
    std::process::ExitCode::SUCCESS
}

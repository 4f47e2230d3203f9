//! Email over SMTP, against a local server that speaks enough of RFC 5321 to
//! accept one message at a time and hand it to the test.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::common::{readable, token_in, Backend, Server};

async fn smtp_sink() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            tx.send(data.take().unwrap()).unwrap();
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_email_goes_out_over_smtp_and_its_link_works() {
    let (url, mut inbox) = smtp_sink().await;
    let s = Server::start_with(Backend::Sqlite, |c| c.mail.smtp_url = Some(url)).await;
    s.signup("smtp@example.tn").await.expect(201);
    let message = readable(&inbox.recv().await.unwrap());
    assert!(
        message.contains("To: \"Amira Ben Salah\" <smtp@example.tn>"),
        "{message}"
    );
    assert!(
        message.contains("Subject: Confirmez votre adresse email"),
        "French by default: {message}"
    );
    assert!(
        !s.outbox().exists(),
        "with SMTP configured nothing goes to the outbox"
    );
    let token = token_in(&message, "/api/v1/auth/verify-email").unwrap();
    s.get(&format!("/api/v1/auth/verify-email?token={token}"), None)
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_does_not_fail_the_sign_up() {
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let s = Server::start_with(Backend::Sqlite, |c| {
        c.mail.smtp_url = Some(format!("smtp://{dead}"))
    })
    .await;
    s.signup("later@example.tn").await.expect(201);
    s.signup("later@example.tn")
        .await
        .expect_problem(409, "email_taken");
}

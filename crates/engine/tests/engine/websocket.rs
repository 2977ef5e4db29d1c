//! A WebSocket through the real edge to a real deployed application: it stays up while another
//! service redeploys, and on its own service's redeploy it is drained (kept until the drain timeout,
//! then closed with 1001 between messages), never cut.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use slipway_model::ServiceType;
use slipway_model::deployment::{DeploymentAction, DeploymentStatus};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{AppRepo, Harness};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket echo server for one connection on stdin/stdout, run by `nc -ll -e` in a `FROM scratch`
/// image with the static busybox: answers the handshake, then echoes each short message (under 120
/// bytes) prefixed with the deployed version.
const ECHO_SCRIPT: &str = r#"#!/bin/sh
version=$(cat /version)
key=
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  case "$line" in
    [Ss]ec-[Ww]eb[Ss]ocket-[Kk]ey:*) key=$(printf '%s' "${line#*:}" | tr -d ' ') ;;
  esac
done
[ -n "$key" ] || exit 0
accept=$(printf '%s' "${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11" | sha1sum | cut -d' ' -f1 | xxd -r -p | base64)
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n' "$accept"
prefix="$version:"
while :; do
  set -- $(dd bs=1 count=2 2>/dev/null | od -An -tu1)
  [ $# -eq 2 ] || exit 0
  op=$(( $1 & 15 )); len=$(( $2 & 127 ))
  set -- $(dd bs=1 count=4 2>/dev/null | od -An -tu1)
  k0=$1; k1=$2; k2=$3; k3=$4
  out=; i=0
  for b in $(dd bs=1 count=$len 2>/dev/null | od -An -tu1 -v); do
    case $((i % 4)) in 0) k=$k0 ;; 1) k=$k1 ;; 2) k=$k2 ;; *) k=$k3 ;; esac
    out="$out$(printf '\\x%02x' $((b ^ k)))"
    i=$((i + 1))
  done
  if [ $op -eq 8 ]; then printf "\\x88\\x$(printf %02x $len)$out"; exit 0; fi
  if [ $op -eq 9 ]; then printf "\\x8a\\x$(printf %02x $len)$out"; continue; fi
  total=$(( ${#prefix} + len ))
  printf "\\x8${op}\\x$(printf %02x $total)"; printf '%s' "$prefix"; printf "$out"
done
"#;

/// A git repository of the echo server; each commit changes the version it prefixes replies with.
struct EchoRepo(AppRepo);

impl EchoRepo {
    fn new(version: &str) -> Self {
        let repo = AppRepo::new(version);
        let root = repo.dir.path();
        for applet in ["cat", "tr", "cut", "sha1sum", "xxd", "base64", "dd", "od"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        std::fs::write(root.join("ws.sh"), ECHO_SCRIPT).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("ws.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            root.join("Dockerfile"),
            "FROM scratch\nCOPY bin /bin\nCOPY ws.sh /ws.sh\nCOPY www/index.html /version\n\
             ENTRYPOINT [\"/bin/busybox\", \"nc\", \"-ll\", \"-p\", \"8080\", \"-e\", \"/ws.sh\"]\n",
        )
        .unwrap();
        let this = EchoRepo(repo);
        this.commit(version);
        this
    }

    /// Commits everything with `version` in `www/index.html`, which the image holds as `/version`.
    fn commit(&self, version: &str) {
        self.0.commit_version(version, true);
    }

    /// An application from this repository: readiness is its port accepting connections.
    fn application(&self, name: &str) -> Value {
        let mut body = self.0.application(name);
        body.as_object_mut().unwrap().remove("healthchecks");
        body["ports"] = json!([{"internal_port": 8080, "publicly_accessible": true}]);
        body
    }
}

async fn connect(edge: SocketAddr, host: &str) -> Socket {
    let stream = TcpStream::connect(edge).await.expect("connect to the edge");
    let (socket, response) = tokio_tungstenite::client_async(format!("ws://{host}/"), MaybeTlsStream::Plain(stream))
        .await
        .expect("websocket handshake through the edge");
    assert_eq!(response.status(), 101);
    socket
}

/// What one message brought back.
#[derive(Debug)]
enum Echo {
    Text(String),
    Closed(Option<CloseCode>),
}

async fn echo(socket: &mut Socket, text: &str) -> Echo {
    socket.send(Message::text(text)).await.expect("send");
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next()).await.expect("an answer in time") {
            Some(Ok(Message::Text(reply))) => return Echo::Text(reply.to_string()),
            Some(Ok(Message::Close(frame))) => return Echo::Closed(frame.map(|f| f.code)),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("the websocket was cut instead of closed: {error}"),
            None => panic!("the websocket ended without a close frame"),
        }
    }
}

#[tokio::test]
async fn a_websocket_survives_other_redeploys_and_is_drained_on_its_own() {
    let h = Harness::new().await;
    let chat_repo = EchoRepo::new("v1");
    let web_repo = AppRepo::new("web-v1");
    let chat = h.add_service(ServiceType::Application, chat_repo.application("chat")).await;
    let web = h.add_service(ServiceType::Application, web_repo.application("web")).await;
    assert_eq!(h.deploy(vec![]).await.status, DeploymentStatus::Succeeded);

    let mut socket = connect(h.edge_addr, &h.host(&chat)).await;
    assert!(matches!(echo(&mut socket, "hello").await, Echo::Text(t) if t == "v1:hello"));

    // Another service redeploys: the websocket keeps echoing all along.
    web_repo.commit_version("web-v2", true);
    let d = h.submit(DeploymentAction::Deploy, vec![(web.id, None)]).await;
    let mut during = 0;
    let finished = h.finish(&d);
    tokio::pin!(finished);
    let d = loop {
        tokio::select! {
            d = &mut finished => break d,
            () = tokio::time::sleep(Duration::from_millis(300)) => {
                let reply = echo(&mut socket, &format!("m{during}")).await;
                assert!(matches!(&reply, Echo::Text(t) if *t == format!("v1:m{during}")), "{reply:?}");
                during += 1;
            }
        }
    };
    assert_eq!(d.status, DeploymentStatus::Succeeded);
    assert!(during >= 1, "messages went through during the other deploy");
    assert_eq!(h.get(&h.host(&web), "/").await.unwrap().1.trim(), "web-v2");
    assert!(matches!(echo(&mut socket, "still").await, Echo::Text(t) if t == "v1:still"));

    // Its own service redeploys: the open websocket stays on v1 until the drain timeout, then gets a
    // clean close (1001); new connections reach v2.
    chat_repo.commit("v2");
    let d = h.submit(DeploymentAction::Deploy, vec![(chat.id, None)]).await;
    let started = Instant::now();
    let mut echoed_on_v1 = 0;
    let close = loop {
        match echo(&mut socket, &format!("d{echoed_on_v1}")).await {
            Echo::Text(t) => {
                assert_eq!(t, format!("v1:d{echoed_on_v1}"), "a whole echo from the old revision");
                echoed_on_v1 += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Echo::Closed(code) => break code,
        }
        assert!(started.elapsed() < Duration::from_secs(180), "the websocket was never drained");
    };
    assert_eq!(close, Some(CloseCode::Away), "closed as going away");
    assert!(echoed_on_v1 >= 3, "the websocket stayed up while its service redeployed: {echoed_on_v1} echoes");
    assert_eq!(h.finish(&d).await.status, DeploymentStatus::Succeeded);
    let mut fresh = connect(h.edge_addr, &h.host(&chat)).await;
    assert!(matches!(echo(&mut fresh, "new").await, Echo::Text(t) if t == "v2:new"));
}

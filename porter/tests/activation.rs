//! Serving on sockets bound elsewhere: a `TcpListener` handed over as an
//! `OwnedFd` (several workers accepting on it), sockets that are not listening
//! TCP sockets (refused at build), and real systemd socket activation through
//! `systemd-socket-activate`, which binds a port and execs this very test
//! binary (running only [`activated_child`]) with the socket as fd 3.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{require_tool, wait_until, Client};
use porter::{ListenOptions, Request, Response, Server};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

fn thread_name(_req: Request) -> Response {
    Response::text(std::thread::current().name().unwrap_or("?").to_string())
}

#[test]
fn a_handed_over_listener_serves_many_clients_with_two_workers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        Server::builder().listen_fd(OwnedFd::from(listener)).threads(2).build(thread_name).unwrap().spawn().unwrap();
    assert_eq!(server.local_addrs(), [addr], "local_addrs reports the inherited address");
    // Many clients at once, each kept open, so both workers' loops are exercised.
    let mut clients: Vec<Client> = (0..16).map(|_| Client::connect(addr)).collect();
    for client in &mut clients {
        client.send(GET);
    }
    for client in &mut clients {
        let reply = client.read_reply();
        assert_eq!(reply.status, 200);
        assert!(reply.text().starts_with("porter-"), "served by a worker: {}", reply.text());
    }
    for client in &mut clients {
        assert_eq!(client.round_trip(GET).status, 200, "keep-alive on the shared socket");
    }
}

#[test]
fn a_handed_over_listener_beside_a_bound_one_with_options() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let inherited = listener.local_addr().unwrap();
    let server = Server::builder()
        .listen("127.0.0.1:0")
        .listen_fd_with(OwnedFd::from(listener), ListenOptions::new().proxy_protocol(true))
        .threads(2)
        .build(|req: Request| Response::text(format!("{:?}", req.peer_addr())))
        .unwrap()
        .spawn()
        .unwrap();
    assert_eq!(server.local_addrs()[1], inherited);
    let mut client = Client::connect(inherited);
    client.send([&b"PROXY TCP4 192.0.2.3 198.51.100.2 777 80\r\n"[..], GET].concat());
    assert_eq!(client.read_reply().text(), "Some(192.0.2.3:777)");
    let mut plain = Client::connect(server.local_addrs()[0]);
    assert_eq!(plain.round_trip(GET).status, 200);
}

#[test]
fn sockets_that_are_not_listening_tcp_are_refused() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let connected = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    for (fd, what) in [(OwnedFd::from(udp), "a UDP socket"), (OwnedFd::from(connected), "a connected TCP socket")] {
        let err = Server::builder().listen_fd(fd).threads(1).build(thread_name).err();
        let err = err.unwrap_or_else(|| panic!("{what} must be refused"));
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{what}: {err}");
    }
}

/// Set in the environment of the socket-activated child.
const CHILD: &str = "PORTER_ACTIVATION_CHILD";

/// The socket-activated server: ignored in a normal test run; run by
/// [`systemd_socket_activation`] under `systemd-socket-activate`, it serves on
/// the passed socket with two workers until asked to stop.
#[test]
#[ignore = "the child of systemd_socket_activation"]
fn activated_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let (stop_tx, stop_rx) = mpsc::sync_channel::<()>(1);
    let handler = move |req: Request| {
        if req.path() == "/stop" {
            let _ = stop_tx.try_send(());
        }
        let unset = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"].iter().all(|v| std::env::var_os(v).is_none());
        Response::text(format!("pid={} unset={unset}", std::process::id()))
    };
    let builder = Server::builder().listen_systemd().threads(2);
    let again = porter::systemd_sockets().expect("a second call is not an error");
    assert!(again.is_empty(), "the sockets are handed out once");
    let server = builder.build(handler).expect("serves on the socket systemd passed").spawn().unwrap();
    stop_rx.recv().unwrap();
    server.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn systemd_socket_activation() {
    require_tool("systemd-socket-activate");
    // systemd-socket-activate needs a real port; take a free one.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new("systemd-socket-activate")
        // The child gets a clean environment: only LISTEN_* and what -E sets.
        .args(["-l", &addr.to_string(), "--fdname=web", "-E", &format!("{CHILD}=1")])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "activated_child", "--ignored", "--test-threads=1"])
        .stdin(Stdio::null())
        .spawn()
        .expect("start systemd-socket-activate");
    let mut child = KillOnDrop(child);
    // A first connection makes systemd-socket-activate exec the server; the
    // server then accepts it from the backlog (and sees it close).
    wait_until(|| TcpStream::connect(addr).is_ok(), "the socket is bound");
    let mut client = Client::connect(addr);
    let reply = client.round_trip(GET);
    assert_eq!(reply.text(), format!("pid={} unset=true", child.0.id()), "served by the activated child");
    assert_eq!(client.round_trip(b"GET /stop HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
    let mut status = None;
    wait_until(
        || {
            status = child.0.try_wait().unwrap();
            status.is_some()
        },
        "the activated child exits",
    );
    let status = status.unwrap_or_else(|| unreachable!());
    assert!(status.success(), "the activated child failed: {status}");
}

/// Kills the child process if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

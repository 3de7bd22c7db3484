//! Shared helpers for the tests of the `porter` binary: a scratch directory,
//! the binary started and its address read from its startup line, a free
//! port, and requests over a plain `TcpStream`.
//!
//! Timeouts here are safety nets against hangs, never a synchronisation: a test
//! that hits one fails with a message naming what it waited for. The one sleep
//! is in [`wait_for`], which polls for what no process can tell the test (a line
//! another process's writer thread flushes, a port another process opens).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The safety net against a hung process: no wait lasts longer than this.
pub const SAFETY: Duration = Duration::from_secs(60);

/// The `porter` binary under test.
pub const PORTER: &str = env!("CARGO_BIN_EXE_porter");

/// A scratch directory, unique to this test process and `tag`, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// An empty directory (whatever an earlier run left there is removed first).
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("porter-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes the file `name` (creating its directories); returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
        std::fs::write(&path, contents).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `porter` with stdin and stdout closed and `RUST_LOG` unset, so the first line
/// on its stderr is its startup line.
pub fn porter_command() -> Command {
    let mut command = Command::new(PORTER);
    command.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null());
    command
}

/// A running process serving HTTP on `addr`, killed and reaped when dropped.
pub struct Porter {
    pub child: Child,
    pub addr: SocketAddr,
    /// Its stderr lines after the startup line (empty for an adopted process).
    lines: Receiver<String>,
}

impl Porter {
    /// Spawns `command` (usually from [`porter_command`]) with its stderr piped
    /// here, and returns once the startup line names the plain-HTTP address.
    /// Its stderr is read to the end, so porter never blocks on a full pipe.
    pub fn spawn(command: &mut Command) -> Porter {
        let mut child = command.stderr(Stdio::piped()).spawn().expect("start porter");
        let stderr = child.stderr.take().expect("porter's stderr");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = send.send(line); // once the test has stopped listening, only drained
            }
        });
        let startup = lines.recv_timeout(SAFETY).expect("porter's startup line");
        let url = startup.split_whitespace().find(|w| w.starts_with("http://"));
        let url = url.unwrap_or_else(|| panic!("no http:// address in {startup:?}"));
        let addr = url.trim_start_matches("http://").trim_end_matches(',').parse().expect("an address");
        Porter { child, addr, lines }
    }

    /// Takes charge of `child`, already serving on `addr` (e.g. a porter that
    /// systemd-socket-activate runs).
    pub fn adopt(child: Child, addr: SocketAddr) -> Porter {
        Porter { child, addr, lines: mpsc::channel().1 }
    }

    /// The base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next line porter writes to stderr (its access log, when that goes there).
    pub fn next_line(&self) -> String {
        self.lines.recv_timeout(SAFETY).expect("a line on porter's stderr")
    }

    /// Every line porter wrote to stderr after the startup line and not yet
    /// read: call it once the process has exited (it waits for the end of the pipe).
    pub fn rest_of_stderr(&self) -> Vec<String> {
        self.lines.iter().collect()
    }

    /// Sends the signal `name` (`TERM`, `INT`, `USR1`) to the process.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args([&format!("-{name}"), &pid]).status().expect("kill");
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        self.child.wait().expect("porter exits")
    }

    /// Waits for the process to exit, failing the test after [`SAFETY`]: for a
    /// porter told to stop at once while its grace period is far longer.
    pub fn wait_exit_within_safety(&mut self) -> ExitStatus {
        wait_for(|| self.child.try_wait().expect("porter's status"), "porter exits")
    }
}

impl Drop for Porter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `len` bytes of a known pattern, for checking that a download arrived intact.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A loopback port nothing listens on (just now).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Polls `poll` every 10 ms until it gives a value; fails the test, naming
/// `what`, after [`SAFETY`].
pub fn wait_for<T>(mut poll: impl FnMut() -> Option<T>, what: &str) -> T {
    let give_up = Instant::now() + SAFETY;
    loop {
        if let Some(value) = poll() {
            return value;
        }
        assert!(Instant::now() < give_up, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `done` until it holds (see [`wait_for`]).
pub fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    wait_for(|| done().then_some(()), what)
}

/// Waits until something accepts connections on `addr`.
pub fn wait_listening(addr: SocketAddr) {
    wait_until(|| TcpStream::connect(addr).is_ok(), &format!("something listens on {addr}"));
}

/// A connection to `addr` whose reads give up after [`SAFETY`].
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(SAFETY)).expect("read timeout");
    stream
}

/// Sends `request` on a new connection to `addr` and reads until the server
/// closes (the request should say `Connection: close`). A read error ends the
/// reply: a refusal may close while part of a body is unsent; what was answered is kept.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).expect("send request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    raw
}

/// Reads a reply head, up to and with its empty line; the body is left in the socket.
pub fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).expect("head"), 1, "closed inside the head");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

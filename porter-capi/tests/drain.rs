//! A graceful shutdown through the C API: the lame-duck period set with
//! `porter_config_shutdown_delay` keeps the server accepting and serving
//! while `porter_request_is_draining` says 1, so a health check answers 503.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::raw::c_void;
use std::time::Duration;

use porter_capi::config::*;
use porter_capi::reply::porter_request_respond;
use porter_capi::request::{porter_request_is_draining, PorterRequest};
use porter_capi::response::porter_response_new;
use porter_capi::server::*;
use porter_capi::PORTER_OK;

/// `/health`: 503 while draining, else 200.
extern "C" fn health(request: &mut PorterRequest, _user_data: *mut c_void) {
    let status = if porter_request_is_draining(Some(request)) == 1 { 503 } else { 200 };
    assert_eq!(porter_request_respond(Some(request), porter_response_new(status)), PORTER_OK);
}

/// The status and whether the reply says `Connection: close`.
fn get_health(addr: SocketAddr) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("a reply");
    let status = reply.split(' ').nth(1).unwrap_or_default().to_string();
    (status, reply.contains("\r\nConnection: close\r\n"))
}

#[test]
fn the_lame_duck_period_is_set_from_c_and_handlers_see_it() {
    let mut config = porter_config_new();
    assert_eq!(porter_config_listen(config.as_deref_mut(), c"127.0.0.1:0".as_ptr()), PORTER_OK);
    assert_eq!(porter_config_threads(config.as_deref_mut(), 1), PORTER_OK);
    assert_eq!(porter_config_shutdown_delay(config.as_deref_mut(), 600_000), PORTER_OK);
    assert_ne!(porter_config_shutdown_delay(None, 1), PORTER_OK);
    assert_ne!(porter_request_is_draining(None), PORTER_OK);
    let route = porter_config_route(
        config.as_deref_mut(),
        c"GET".as_ptr(),
        c"/health".as_ptr(),
        Some(health),
        std::ptr::null_mut(),
    );
    assert_eq!(route, PORTER_OK);
    let mut server = std::ptr::null_mut();
    assert_eq!(porter_server_new(config, Some(&mut server)), PORTER_OK);
    // SAFETY: porter_server_new succeeded: `server` points at a live server until freed.
    let server = unsafe { Box::from_raw(server) };
    let mut port = 0;
    assert_eq!(porter_server_port(Some(&server), 0, Some(&mut port)), PORTER_OK);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(porter_server_start(Some(&server)), PORTER_OK);

    assert_eq!(get_health(addr).0, "200");
    assert_eq!(porter_server_shutdown(Some(&server), 30_000), PORTER_OK);
    // The lame duck still accepts; its handlers see the drain.
    assert_eq!(get_health(addr), ("503".to_string(), true));

    assert_eq!(porter_server_stop(Some(&server)), PORTER_OK);
    assert_eq!(porter_server_wait(Some(&server)), PORTER_OK);
    porter_server_free(Some(server));
}

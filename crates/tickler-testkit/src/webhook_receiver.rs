//! A real HTTP server on a free port that records every POST it gets, for the webhook
//! tests: it answers 204, or what the test scripted (a 500, a long silence, a refusal to
//! listen at all while "down").

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// One request as received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the receiver answered (None: it kept silent until the client gave up).
    pub answered: Option<u16>,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// How the receiver answers the next request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Says nothing for this long, then closes the connection.
    Silence(Duration),
}

#[derive(Default)]
struct State {
    requests: Vec<ReceivedRequest>,
    script: VecDeque<Reply>,
}

pub struct WebhookReceiver {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl WebhookReceiver {
    /// Listens on a free port of 127.0.0.1 until the test process ends.
    pub fn start() -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        Self::serve(listener)
    }

    /// Listens on `port`: a receiver that comes back on the address it was down at.
    pub fn start_on(port: u16) -> WebhookReceiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the port");
        Self::serve(listener)
    }

    fn serve(listener: TcpListener) -> WebhookReceiver {
        let port = listener.local_addr().expect("local address").port();
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || handle(stream, &state));
            }
        });
        WebhookReceiver { port, state }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/tickler", self.port)
    }

    /// The answers to the next requests, in order; after them, 204 again.
    pub fn script(&self, replies: &[Reply]) {
        let mut state = self.state.lock().expect("receiver state");
        state.script = replies.iter().copied().collect();
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.state.lock().expect("receiver state").requests.clone()
    }

    /// Waits until at least `count` requests came (at most `within`); returns them all.
    pub fn wait_for(&self, count: usize, within: Duration) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + within;
        loop {
            let requests = self.requests();
            if requests.len() >= count || Instant::now() > deadline {
                return requests;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = state
        .lock()
        .expect("receiver state")
        .script
        .pop_front()
        .unwrap_or(Reply::Status(204));
    let answered = match reply {
        Reply::Status(code) => Some(code),
        Reply::Silence(_) => None,
    };
    state
        .lock()
        .expect("receiver state")
        .requests
        .push(ReceivedRequest {
            path,
            headers,
            body,
            answered,
        });
    let mut stream = stream;
    match reply {
        Reply::Status(code) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {code} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Reply::Silence(how_long) => std::thread::sleep(how_long),
    }
}

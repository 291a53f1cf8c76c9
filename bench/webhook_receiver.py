#!/usr/bin/env python3
"""A webhook receiver for bench/webhooks.sh: answers every POST 204 at once, keeps
connections alive, and when it has received COUNT posts prints how many it got, the seconds
between the first and the last, and the rate, then exits.

    webhook_receiver.py PORT COUNT
"""

import http.server
import sys
import threading
import time

expected = int(sys.argv[2])
lock = threading.Lock()
times = []
done = threading.Event()


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with lock:
            times.append(time.monotonic())
            if len(times) >= expected:
                done.set()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
done.wait()
span = times[-1] - times[0]
print(f"{len(times)} deliveries in {span:.2f} s: {len(times) / span:.0f} per second", flush=True)

#!/usr/bin/env python3
"""A counting HTTP proxy for bench/run: measures "upstream calls per query".

The simulators have no HTTP endpoint that exposes their request counts, so bench/run points a
second, unmeasured instance of each gateway at this proxy, sends it a fixed number of queries
one at a time, and reads how many requests reached each vendor. Never in the path while
latency or throughput is measured.

    countproxy.py CONTROL_PORT NAME=LISTEN_PORT=TARGET_URL ...

GET  http://127.0.0.1:CONTROL_PORT/counts  -> {"pim": {"data": 3, "token": 1}, ...}
POST http://127.0.0.1:CONTROL_PORT/reset
"""
import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()
COUNTS = {}
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


def is_token(path):
    p = path.split("?", 1)[0]
    return p.endswith("/token") or "/oauth" in p or p.endswith("/services/oauth2/token")


def make_handler(name, target):
    t = urlsplit(target)
    local = threading.local()

    def conn():
        c = getattr(local, "c", None)
        if c is None:
            c = http.client.HTTPConnection(t.hostname, t.port, timeout=60)
            local.c = c
        return c

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def forward(self):
            kind = "token" if is_token(self.path) else "data"
            with LOCK:
                COUNTS.setdefault(name, {"data": 0, "token": 0})[kind] += 1
            n = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(n) if n else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            for attempt in (0, 1):
                c = conn()
                try:
                    c.request(self.command, self.path, body=body, headers=headers)
                    r = c.getresponse()
                    data = r.read()
                    break
                except (ConnectionError, http.client.HTTPException, OSError):
                    c.close()
                    local.c = None
                    if attempt:
                        self.send_error(502)
                        return
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    return Proxy


class Server(ThreadingHTTPServer):
    # A gateway opens one connection per concurrent upstream call (Mesh: dozens per listing);
    # the default listen backlog of 5 would drop their SYNs.
    request_queue_size = 1024
    daemon_threads = True


class Control(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        with LOCK:
            body = json.dumps(COUNTS).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        with LOCK:
            COUNTS.clear()
        self.send_response(204)
        self.end_headers()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    servers = [Server(("127.0.0.1", int(sys.argv[1])), Control)]
    for spec in sys.argv[2:]:
        name, port, target = spec.split("=", 2)
        servers.append(Server(("127.0.0.1", int(port)), make_handler(name, target)))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("countproxy ready", flush=True)
    servers[0].serve_forever()


if __name__ == "__main__":
    main()

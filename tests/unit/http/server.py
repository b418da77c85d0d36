#!/usr/bin/env python3
"""An HTTP/1.1 server on 127.0.0.1 for the http client's tests, with misbehaviours on demand.
Binds a free port and writes it to PORTFILE once listening.

  GET  /data/N                 N bytes (byte i is i % 251), honours Range
  GET  /flaky/KEY/F/data/N     503 for the first F requests of KEY, then /data/N
  GET  /limit/KEY/data/N       429 with Retry-After: 1 the first time, then /data/N
  GET  /drop/KEY/N             the first time half the body, then the connection closes;
                               later requests get /data/N (Range honoured)
  GET  /drop-norange/KEY/N     the same, but later requests ignore Range (200, whole body)
  GET  /auth/data/N            401 with a Bearer challenge unless "Authorization: Bearer good"
  GET  /redirect/PATH          302 to /PATH
  GET  /status/CODE            that status with a JSON error body
  GET  /count/KEY              how many requests KEY has seen
  GET  /ports                  how many client ports (connections) have been seen
  PUT|POST|PATCH /echo         201 with Body-Length and Body-Sum (sum of the bytes) headers
"""
import http.server
import os
import re
import sys
import threading

counts = {}
ports = set()
lock = threading.Lock()


def data(n, start=0):
    return bytes(i % 251 for i in range(start, n))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def count(self, key):
        with lock:
            counts[key] = counts.get(key, 0) + 1
            return counts[key]

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def serve_data(self, n, ranged=True):
        m = re.match(r"bytes=(\d+)-", self.headers.get("Range", "")) if ranged else None
        if m:
            start = int(m.group(1))
            self.reply(206, data(n, start), [("Content-Range", "bytes %d-%d/%d" % (start, n - 1, n))])
        else:
            self.reply(200, data(n), [("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT")])

    def do_GET(self):
        with lock:
            ports.add(self.client_address[1])
        p = self.path
        if m := re.fullmatch(r"/data/(\d+)", p):
            return self.serve_data(int(m.group(1)))
        if m := re.fullmatch(r"/flaky/(\w+)/(\d+)/data/(\d+)", p):
            if self.count(m.group(1)) <= int(m.group(2)):
                return self.reply(503, b"try later")
            return self.serve_data(int(m.group(3)))
        if m := re.fullmatch(r"/limit/(\w+)/data/(\d+)", p):
            if self.count(m.group(1)) == 1:
                return self.reply(429, b"slow down", [("Retry-After", "1")])
            return self.serve_data(int(m.group(2)))
        if m := re.fullmatch(r"/drop(-norange)?/(\w+)/(\d+)", p):
            n = int(m.group(3))
            if self.count(m.group(2)) == 1:
                self.send_response(200)
                self.send_header("Content-Length", str(n))
                self.end_headers()
                self.wfile.write(data(n)[: n // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            return self.serve_data(n, ranged=not m.group(1))
        if m := re.fullmatch(r"/auth/data/(\d+)", p):
            if self.headers.get("Authorization") != "Bearer good":
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                  [("WWW-Authenticate", 'Bearer realm="http://x/token",service="t"')])
            return self.serve_data(int(m.group(1)))
        if p.startswith("/redirect/"):
            return self.reply(302, b"", [("Location", "/" + p[len("/redirect/"):])])
        if m := re.fullmatch(r"/status/(\d+)", p):
            return self.reply(int(m.group(1)), b'{"errors":[{"code":"X","message":"status"}]}')
        if m := re.fullmatch(r"/count/(\w+)", p):
            with lock:
                return self.reply(200, str(counts.get(m.group(1), 0)).encode())
        if p == "/ports":
            with lock:
                return self.reply(200, str(len(ports)).encode())
        self.reply(404, b"no such path")

    do_HEAD = do_GET

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else b""
        if self.path != "/echo":
            return self.reply(404)
        self.reply(201, b"", [("Body-Length", str(len(body))), ("Body-Sum", str(sum(body)))])

    do_POST = do_PUT
    do_PATCH = do_PUT

    def log_message(self, *args):
        pass


portfile = sys.argv[1]
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()

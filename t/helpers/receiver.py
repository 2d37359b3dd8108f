#!/usr/bin/env python3
"""receiver.py - a scriptable HTTP server for the webhook-send tests.

    receiver.py --log FILE --port-file FILE [--script FILE]

Listens on 127.0.0.1, on a port the kernel picks, and writes that port to
--port-file once it listens (a temporary file renamed into place, so a
reader never sees half of it).  HTTP/1.1 with keep-alive; any method.

Every request appends one NDJSON line to --log, before it is answered:

    {"t": 1700000000.123, "method": "POST", "path": "/a", "query": "x=1",
     "headers": {"content-type": "application/json", ...},
     "body": "...", "conn": 1, "n": 1}

t is the Unix time the request finished arriving; path is without the
query; header names are lower-cased (repeated headers joined with ", ");
body is decoded as UTF-8 with errors replaced (Content-Length or chunked);
conn numbers the TCP connections 1, 2, 3... in the order they were
accepted; n counts the requests to that path, from 1.

--script names a JSON object mapping a path to a list of actions, used in
order by the requests to that path; once the list is used up its last
action repeats.  Other paths, and every path without --script, answer 200
"ok".  The file is read again when it changes (mtime, size or inode), and
a new script starts every path's list from its beginning again.  Actions
are objects, every key optional:

    status       int, default 200
    delay        seconds (float) to wait before answering, default 0
    retry_after  string, sent as Retry-After
    body         string, default "ok"
    close        true: close the connection without answering
    headers      object of extra response headers

A response always has Content-Length (0, without a body, for 1xx, 204 and
304; the would-be length, without a body, for HEAD).  An action header
named Content-Length replaces the computed one.

--tls FILE serves HTTPS instead: FILE is one PEM file holding the
certificate and its private key.  A client that rejects the certificate
never gets as far as a request, so nothing is logged for it.

Nothing is written to stderr per request.  SIGTERM or SIGINT: exit 0.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DEFAULT_ACTION = {}


class ScriptError(Exception):
    pass


def check_script(doc):
    """doc as {path: [action, ...]}, or ScriptError."""
    if not isinstance(doc, dict):
        raise ScriptError("the script must be a JSON object")
    out = {}
    known = {"status", "delay", "retry_after", "body", "close", "headers"}
    for path, actions in doc.items():
        if isinstance(actions, dict):
            actions = [actions]
        if not isinstance(actions, list):
            raise ScriptError(f"{path}: a list of actions expected")
        for i, a in enumerate(actions):
            where = f"{path}[{i}]"
            if not isinstance(a, dict):
                raise ScriptError(f"{where}: an object expected")
            extra = set(a) - known
            if extra:
                raise ScriptError(f"{where}: unknown keys {sorted(extra)}")
            if "status" in a and (not isinstance(a["status"], int)
                                  or isinstance(a["status"], bool)
                                  or not 100 <= a["status"] <= 999):
                raise ScriptError(f"{where}: status must be an int 100-999")
            if "delay" in a and (not isinstance(a["delay"], (int, float))
                                 or isinstance(a["delay"], bool)
                                 or a["delay"] < 0):
                raise ScriptError(f"{where}: delay must be a number >= 0")
            for k in ("retry_after", "body"):
                if k in a and not isinstance(a[k], str):
                    raise ScriptError(f"{where}: {k} must be a string")
            if "headers" in a and not (
                    isinstance(a["headers"], dict)
                    and all(isinstance(v, str) for v in a["headers"].values())):
                raise ScriptError(f"{where}: headers must map names to strings")
        if actions:
            out[path] = actions
    return out


class Script:
    """The --script file, read again whenever it changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.actions = {}
        self.cursor = {}	# path -> index of its next action
        if path is not None:
            self.reload(strict=True)

    def reload(self, strict=False):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self.stamp:
                return
            with open(self.path, encoding="utf-8") as f:
                actions = check_script(json.load(f))
        except (OSError, ValueError, ScriptError) as e:
            if strict:
                raise
            # Half written, say: keep the old script, try again next time.
            print(f"receiver: {self.path}: {e}; script kept", file=sys.stderr)
            return
        self.stamp, self.actions, self.cursor = stamp, actions, {}

    def next_action(self, path):
        """The action for the next request to path (caller holds the lock)."""
        if self.path is None:
            return DEFAULT_ACTION
        self.reload()
        actions = self.actions.get(path)
        if not actions:
            return DEFAULT_ACTION
        i = self.cursor.get(path, 0)
        self.cursor[path] = i + 1
        return actions[min(i, len(actions) - 1)]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, log_path, script):
        self.lock = threading.Lock()
        self.log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.script = script
        self.connections = 0		# TCP connections accepted
        self.conn_ids = {}		# socket -> its number
        self.per_path = {}		# path -> requests so far
        super().__init__(addr, Handler)

    def get_request(self):
        # Runs in the serving thread, so numbers follow the accept order.
        sock, addr = super().get_request()
        with self.lock:
            self.connections += 1
            self.conn_ids[sock] = self.connections
        return sock, addr

    def shutdown_request(self, request):
        with self.lock:
            self.conn_ids.pop(request, None)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, reset) is normal here; say
        # nothing about it.  Anything else is a bug worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def record(self, entry):
        """Count the request, pick its action, log it: one step, locked."""
        with self.lock:
            n = self.per_path.get(entry["path"], 0) + 1
            self.per_path[entry["path"]] = n
            entry["n"] = n
            action = self.script.next_action(entry["path"])
            line = (json.dumps(entry) + "\n").encode()
            while line:
                line = line[os.write(self.log_fd, line):]
        return action


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "receiver"

    def log_message(self, format, *args):
        pass

    def __getattr__(self, name):
        # Every method, whatever its name, is handled by respond.
        if name.startswith("do_"):
            return self.respond
        raise AttributeError(name)

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ConnectionError("eof in a chunked body")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)	# the CRLF after the data
            while True:				# trailers, up to a blank line
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def respond(self):
        try:
            body = self.read_body()
        except (ValueError, ConnectionError):
            self.close_connection = True
            self.send_error(400, "bad body")
            return
        t = time.time()
        target = self.path
        if not target.startswith("/"):		# absolute form
            u = urlsplit(target)
            target = (u.path or "/") + ("?" + u.query if u.query else "")
        path, _, query = target.partition("?")
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        action = self.server.record({
            "t": t,
            "method": self.command,
            "path": path,
            "query": query,
            "headers": headers,
            "body": body.decode("utf-8", errors="replace"),
            "conn": self.server.conn_ids.get(self.request, 0),
        })

        delay = action.get("delay", 0)
        if delay:
            time.sleep(delay)
        if action.get("close"):
            # No answer at all: the client sees the connection end.
            self.close_connection = True
            return

        status = action.get("status", 200)
        payload = action.get("body", "ok").encode()
        no_body = status < 200 or status in (204, 304)
        if no_body:
            payload = b""
        extra = action.get("headers", {})
        self.send_response(status)
        if "retry_after" in action:
            self.send_header("Retry-After", action["retry_after"])
        if not any(k.lower() == "content-length" for k in extra):
            self.send_header("Content-Length", str(len(payload)))
        if payload and not any(k.lower() == "content-type" for k in extra):
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        for k, v in extra.items():
            self.send_header(k, v)	# "Connection: close" closes after
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)


def main():
    ap = argparse.ArgumentParser(description="scriptable HTTP test server")
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--script")
    ap.add_argument("--tls")
    args = ap.parse_args()

    try:
        script = Script(args.script)
    except (OSError, ValueError, ScriptError) as e:
        print(f"receiver: {args.script}: {e}", file=sys.stderr)
        return 2

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    server = Server(("127.0.0.1", 0), args.log, script)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    try:
        tmp = f"{args.port_file}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{server.server_address[1]}\n")
        os.replace(tmp, args.port_file)
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

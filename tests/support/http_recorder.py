#!/usr/bin/python3
"""A local HTTP server for connector tests: records every request and answers from a script.

Each request is appended to DIR/requests.jsonl as {"method","path","headers","body"} (headers as sent, body as
text). The answer to the Nth request (0-based, all paths, counted from the script's `start`) is the script's Nth
answer when that exists, else its last, else 200 "{}". DIR/script.json is {"start": N, "answers": [...]}. An entry is {"status", "headers": {...}, "body", "delay_ms"}; a delay makes a
slow provider (requests are served on threads, so one slow answer does not hold up others)."""
import argparse
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    lock = threading.Lock()
    count = 0
    directory = '.'

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8', 'replace') if length else ''
        with Recorder.lock:
            index = Recorder.count
            Recorder.count += 1
            with open(os.path.join(Recorder.directory, 'requests.jsonl'), 'a') as f:
                f.write(json.dumps({'method': self.command, 'path': self.path,
                                    'headers': dict(self.headers.items()), 'body': body}) + '\n')
        answer = {'status': 200, 'body': '{}'}
        script_file = os.path.join(Recorder.directory, 'script.json')
        if os.path.exists(script_file):
            with open(script_file) as f:
                script = json.load(f)
            if isinstance(script, dict):  # {"start": N, "answers": [...]}: counted from request N
                index -= script.get('start', 0)
                script = script.get('answers', [])
            if script:
                answer = script[max(0, min(index, len(script) - 1))]
        if answer.get('delay_ms'):
            time.sleep(answer['delay_ms'] / 1000.0)
        payload = answer.get('body', '').encode()
        self.send_response(answer.get('status', 200))
        for name, value in answer.get('headers', {}).items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--dir', required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    Recorder.directory = args.dir
    server = ThreadingHTTPServer(('127.0.0.1', args.port), Recorder)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == '__main__':
    main()

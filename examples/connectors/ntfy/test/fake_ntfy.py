#!/usr/bin/python3
"""A stand-in ntfy server for the plugin's test: records each publish (path, headers, body) as a JSON line in FILE
and answers like ntfy does. Usage: fake_ntfy.py PORT FILE"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Ntfy(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode()
        with open(sys.argv[2], 'a') as f:
            f.write(json.dumps({'path': self.path, 'title': self.headers.get('Title'),
                                'priority': self.headers.get('Priority'),
                                'action': self.headers.get('X-Nurture-Action'), 'body': body}) + '\n')
        answer = json.dumps({'id': 'msg1', 'event': 'message', 'topic': self.path.strip('/'), 'message': body})
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())


HTTPServer(('127.0.0.1', int(sys.argv[1])), Ntfy).serve_forever()

#!/usr/bin/python3
"""A real SMTP server for tests (Debian's python3-aiosmtpd). Each accepted message is written to
DIR/NNNNNN.eml exactly as received, with DIR/NNNNNN.json holding the envelope and the session (client port, so
tests can count connections; whether STARTTLS was used; the AUTH login). Recipients named nosuchuser@... are
refused with 550 5.1.1, busy@... with 451 4.3.0, so tests can see reply codes. --tls-cert/--tls-key offer
STARTTLS (--require-tls insists on it); --auth USER:PASSWORD requires AUTH."""
import argparse
import json
import os
import signal
import threading

import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def login_of(session):
    data = getattr(session, 'auth_data', None)
    if isinstance(data, bytes):
        return data.decode()
    return data if isinstance(data, str) else None


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@', 1)[0]
        if local == 'nosuchuser':
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        if local == 'busy':
            return '451 4.3.0 Try again later'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            base = os.path.join(self.directory, '%06d' % self.count)
        with open(base + '.json', 'w') as f:
            json.dump({'mail_from': envelope.mail_from, 'rcpt_to': envelope.rcpt_tos,
                       'client_port': session.peer[1] if session.peer else 0,
                       'tls': session.ssl is not None and bool(session.ssl),
                       'auth': login_of(session)}, f)
        with open(base + '.eml.tmp', 'wb') as f:
            f.write(envelope.original_content)
        os.rename(base + '.eml.tmp', base + '.eml')
        return '250 2.0.0 OK queued as %06d' % self.count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--dir', required=True)
    parser.add_argument('--tls-cert')
    parser.add_argument('--tls-key')
    parser.add_argument('--require-tls', action='store_true')
    parser.add_argument('--auth')
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    options = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options['tls_context'] = context
        options['require_starttls'] = args.require_tls
    if args.auth:
        user, password = args.auth.split(':', 1)

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

        options['authenticator'] = authenticate
        options['auth_required'] = True
        options['auth_require_tls'] = bool(args.tls_cert)
    controller = Controller(Recorder(args.dir), hostname='127.0.0.1', port=args.port, **options)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Verifies the DKIM signature of a message with dkimpy (Debian's python3-dkim), an implementation independent of
ours. The public key is served from a file in place of DNS. Usage: dkim_verify.py MESSAGE PUBLIC_KEY.pem SELECTOR
DOMAIN. Exit 0: valid; 1: invalid (the reason on stderr)."""
import base64
import subprocess
import sys

import dkim


def dns_record(public_pem):
    der = subprocess.run(['openssl', 'pkey', '-pubin', '-in', public_pem, '-outform', 'DER'],
                         check=True, capture_output=True).stdout
    text = subprocess.run(['openssl', 'pkey', '-pubin', '-in', public_pem, '-noout', '-text'],
                          check=True, capture_output=True, text=True).stdout
    if 'ED25519' in text.upper():
        return b'v=DKIM1; k=ed25519; p=' + base64.b64encode(der[-32:])  # RFC 8463: the raw 32-byte key
    return b'v=DKIM1; k=rsa; p=' + base64.b64encode(der)


def main():
    message_file, public_pem, selector, domain = sys.argv[1:5]
    record = dns_record(public_pem)
    expected_name = ('%s._domainkey.%s.' % (selector, domain)).encode()
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return record if name == expected_name else None

    with open(message_file, 'rb') as f:
        message = f.read()
    verifier = dkim.DKIM(message)
    ok = verifier.verify(dnsfunc=dnsfunc)
    if not ok:
        sys.stderr.write('DKIM verification failed (asked %r)\n' % asked)
        sys.exit(1)
    print('DKIM ok: %s' % expected_name.decode())


if __name__ == '__main__':
    main()

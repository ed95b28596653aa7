"""POSTs a body over HTTPS from the host (a native client for the TLS
server tests): post.py URL CAFILE BODY [CERT KEY]. Prints the response
body, or `error TYPE: TEXT` and exits 1."""

import http.client
import ssl
import sys


def main():
    url, cafile, body = sys.argv[1:4]
    ctx = ssl.create_default_context(cafile=cafile)
    if len(sys.argv) > 5:
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    host, port = url.split("/")[2].split(":")
    try:
        c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
        c.request("POST", "/", body=body.encode())
        print(c.getresponse().read().decode())
    except Exception as e:  # noqa: BLE001 - reported to the test
        print(f"error {type(e).__name__}: {e}")
        sys.exit(1)


main()

"""A TLS-terminating proxy for the tests: tls_proxy.py LISTEN_PORT BACKEND_PORT CERT KEY
(LISTEN_PORT 0: a free one, printed as "listening on PORT").

Accepts TLS on 127.0.0.1:LISTEN_PORT with CERT/KEY and relays the plain bytes both ways to
127.0.0.1:BACKEND_PORT, as a reverse proxy in front of relief serve would (no HTTP parsing)."""
import socket, ssl, sys, threading

listen_port, backend_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(conn):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        conn.close()  # a client that does not trust the certificate hangs up here
        return
    back = socket.create_connection(("127.0.0.1", backend_port))
    threading.Thread(target=pump, args=(back, tls), daemon=True).start()
    pump(tls, back)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
print("listening on", srv.getsockname()[1], flush=True)  # (LISTEN_PORT 0: the system's choice)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()

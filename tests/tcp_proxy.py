"""A TCP forwarder on loopback in front of a real server, which a test can cut off.

Point a client at ``127.0.0.1:proxy.port`` instead of the server. :meth:`TCPProxy.cut`
is the server going away: every open connection is closed and new ones are refused
(accepted and closed at once, as a stopped server behind a load balancer looks), or
with ``hang=True`` held open without an answer (a firewall dropping packets, which
only a connect timeout ends). :meth:`TCPProxy.restore` lets connections through again.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

CHUNK = 65536


class TCPProxy:
    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # both ends of every forwarded connection
        self._held: list[socket.socket] = []  # accepted while hanging, never answered
        self._up = True
        self._hang = False
        self._stopped = False
        self.accepted = 0  # connections that reached the proxy
        self.refused = 0  # ... and were turned away (or held) because it was cut
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def cut(self, *, hang: bool = False) -> None:
        """The server goes away: close every connection, turn away (or hold) new ones."""
        with self._lock:
            self._up, self._hang = False, hang
            doomed = list(self._open)
            self._open.clear()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        """The server is back: new connections reach it again."""
        with self._lock:
            self._up, self._hang = True, False
            held, self._held = self._held, []
        for sock in held:
            _close(sock)

    def close(self) -> None:
        self._stopped = True
        self.cut()
        self.restore()
        _close(self._listener)
        self._thread.join(timeout=5)

    def __enter__(self) -> TCPProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                up, hang = self._up, self._hang
                if not up:
                    self.refused += 1
                    if hang:
                        self._held.append(client)
                        continue
            if not up:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                if not self._up:  # cut while connecting
                    _close(client)
                    _close(server)
                    continue
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()

"""A TCP proxy in front of PostgreSQL that counts network round trips (issue 17).

Why a proxy: psycopg has no counter, and counting `execute` calls says nothing in pipeline mode
(many statements, one flush). What the database thread waits on is the client sending and then
the server answering; the proxy counts exactly that — a *turn* is the server starting to answer
after the client has sent something — per connection, whatever the driver does inside.

Use: `with TurnCounter(dsn) as proxy:` then build stores from `proxy.dsn`; `proxy.turns` is the
running total (take differences around the work to count). Scripts and tests only.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from types import TracebackType

from psycopg.conninfo import conninfo_to_dict, make_conninfo

_CLIENT, _SERVER = "client", "server"


class TurnCounter:
    """Listen on 127.0.0.1:<ephemeral>, forward every connection to the DSN's server."""

    def __init__(self, dsn: str) -> None:
        params = conninfo_to_dict(dsn)
        self._upstream = (str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        self.dsn = make_conninfo(dsn, host="127.0.0.1", port=port)
        self._lock = threading.Lock()
        self.turns = 0
        self.connections = 0
        self._closing = False
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="pg-turns", daemon=True)

    def __enter__(self) -> TurnCounter:
        self._accepter.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._pump, args=(client, server), daemon=True)
            thread.start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        """Both directions on one thread, so the order of arrivals is the order seen."""
        last = _SERVER
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        server.sendall(data)
                        last = _CLIENT
                    else:
                        if last == _CLIENT:
                            with self._lock:
                                self.turns += 1
                        client.sendall(data)
                        last = _SERVER
        except OSError:
            return
        finally:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.close()

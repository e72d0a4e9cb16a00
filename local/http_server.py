"""The threaded loopback HTTP server under the offline stand-ins (Runtime API, ResponseURL).

A client that goes away in the middle of an exchange is normal here: the local Lambda kills a
function process that timed out or is being closed, possibly while it waits for its next
invocation or sends a response. The server then meets a reset connection; that is not a server
error, so it is not printed as one. Any other error still is.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with daemon request threads, quiet about clients that hung up."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Called from inside the ``except`` block that caught the request's error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # BrokenPipe, ConnectionReset, ConnectionAborted: the other side is gone
        super().handle_error(request, client_address)

"""pyroute2's AsyncIPRoute on any asyncio loop, uvloop included.

AsyncIPRoute (pyroute2 0.9) receives through `loop.create_datagram_endpoint`,
which uvloop refuses for AF_NETLINK sockets ("cannot open a UDP handle,
invalid family 16"; pyroute2 issue #1335, uvloop issue #676).  `IPRoute`
here replaces only that endpoint: a reader callback on the socket's fd
(`loop.add_reader`, which every loop supports) drains the socket and hands
each datagram to pyroute2's own protocol object, exactly as the datagram
transport would.  Requests, parsing, sequence numbers and errors stay
pyroute2's.  Sends are the plain non-blocking `send()` pyroute2 already
uses.
"""

import errno

from pyroute2.iproute.linux import AsyncIPRoute      # not the package: its __init__ loads all of pyroute2
from pyroute2.netlink.core import CoreDatagramProtocol

# asyncio's datagram transport reads up to 256 KiB per datagram; a netlink
# dump datagram is at most a few pages, so this never truncates.
RECV_SIZE = 256 * 1024
# Datagrams handled per readiness callback before yielding to the loop.
BURST = 64


class ReaderTransport:
    """The minimum of an asyncio transport pyroute2 uses: abort() and close()."""

    def __init__(self, loop, sock, protocol):
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self.closed = False
        sock.setblocking(False)
        loop.add_reader(self._fd, self._readable)

    def _readable(self):
        for _ in range(BURST):
            try:
                data, addr = self._sock.recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # ENOBUFS: the kernel dropped messages (the receive buffer
                # overflowed).  pyroute2 marks the socket failed; the owner
                # must reopen and resynchronise.
                self.close()
                self._protocol.error_received(exc)
                return
            self._protocol.datagram_received(data, addr)

    def abort(self):
        self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self._loop.remove_reader(self._fd)
            except (OSError, ValueError, RuntimeError):
                pass  # loop already closed, or fd already gone


class ReaderEndpoint:
    """Mixin for a pyroute2 async socket class: receive through ReaderTransport
    (see the module docstring); used by IPRoute and firewall's NFTables."""

    async def setup_endpoint(self):
        if getattr(self.local, "transport", None) is not None:
            return
        protocol = CoreDatagramProtocol(self.connection_lost, self.enqueue,
                                        self._error_event, self.status)
        transport = ReaderTransport(self.event_loop, self.socket, protocol)
        protocol.connection_made(transport)
        self.local.transport, self.local.protocol = transport, protocol


class IPRoute(ReaderEndpoint, AsyncIPRoute):
    """AsyncIPRoute receiving through ReaderTransport (see the module docstring)."""


def error_code(exc):
    """The errno of a NetlinkError/OSError (ECOMM when it has none)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code:
        return abs(code)
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code:
        return abs(code)
    return errno.ECOMM

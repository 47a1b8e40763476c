"""A tiny reader for classic pcap files (what `tcpdump -w` writes).

Enough for the lab: microsecond and nanosecond files in either byte order,
Ethernet (with 802.1Q tags) and Linux cooked (SLL) link types.  A file still
being written may end in a partial record: that record is left out, the rest
is returned.  scapy is a test-only dependency, so nothing here imports it.
"""

import struct
from dataclasses import dataclass

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_VLAN_TPIDS = (0x8100, 0x88A8)


class PcapError(ValueError):
    """The data is not a pcap file this reader understands."""


def _mac(raw):
    return ":".join("%02x" % b for b in raw)


@dataclass(frozen=True)
class Frame:
    """One captured frame: timestamp (s), link type, the bytes, the wire length."""

    ts: float
    linktype: int
    data: bytes
    orig_len: int

    def _ether(self):
        if self.linktype != LINKTYPE_ETHERNET:
            raise PcapError("link type %d has no Ethernet header" % self.linktype)
        if len(self.data) < 14:
            raise PcapError("frame of %d bytes is shorter than an Ethernet header" % len(self.data))
        offset = 12
        (ethertype,) = struct.unpack_from("!H", self.data, offset)
        while ethertype in _VLAN_TPIDS and len(self.data) >= offset + 6:
            offset += 4
            (ethertype,) = struct.unpack_from("!H", self.data, offset)
        return ethertype, offset + 2

    @property
    def eth_dst(self):
        self._ether()
        return _mac(self.data[0:6])

    @property
    def eth_src(self):
        self._ether()
        return _mac(self.data[6:12])

    @property
    def ethertype(self):
        if self.linktype == LINKTYPE_LINUX_SLL:
            return struct.unpack_from("!H", self.data, 14)[0]
        return self._ether()[0]

    @property
    def payload(self):
        """The network-layer packet: the frame without its link-layer header."""
        if self.linktype == LINKTYPE_LINUX_SLL:
            if len(self.data) < 16:
                raise PcapError("SLL frame shorter than its 16-byte header")
            return self.data[16:]
        return self.data[self._ether()[1]:]


def parse_pcap(blob):
    """Frames in a pcap file's bytes (a trailing partial record is ignored)."""
    if len(blob) < 24:
        if not blob or blob[:4] in _MAGIC:
            return []  # empty or header not yet complete
        raise PcapError("not a pcap file (%d bytes)" % len(blob))
    try:
        order, unit = _MAGIC[bytes(blob[:4])]
    except KeyError:
        raise PcapError("not a pcap file: magic %s" % bytes(blob[:4]).hex()) from None
    _vmaj, _vmin, _zone, _sig, _snap, linktype = struct.unpack_from(order + "HHiIII", blob, 4)
    record = struct.Struct(order + "IIII")
    frames = []
    offset = 24
    while offset + record.size <= len(blob):
        sec, frac, incl, orig = record.unpack_from(blob, offset)
        start = offset + record.size
        if start + incl > len(blob):
            break  # record still being written
        frames.append(Frame(sec + frac * unit, linktype & 0x0FFFFFFF,
                            bytes(blob[start:start + incl]), orig))
        offset = start + incl
    return frames


def read_pcap(path):
    """Frames in the pcap file at `path`."""
    with open(path, "rb") as fh:
        return parse_pcap(fh.read())

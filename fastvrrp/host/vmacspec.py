"""What describes a VMAC (keepalived's `use_vmac`): its MAC, its name, its spec, our mark.

    virtual_mac(51)                      # RFC 5798 §7.3: "00:00:5e:00:01:33"
    vmac_name("vrrp", 51, taken=...)     # keepalived's create_vmac_name: "vrrp.51", ...
    spec = VmacSpec("eth0", 51, instance="VI_1")
    VmacMark(...).encode() / VmacMark.decode(alias)   # the IFLA_IFALIAS that proves it ours

vmac.py creates, adopts and deletes the interfaces; its docstring describes
the mark and the ownership rules.
"""

import ipaddress
import socket
from dataclasses import dataclass

from .values import IFNAMSIZ, check_ifname

VMAC_PREFIX = "vrrp"
ALIAS_TAG = "fastvrrp:"
IFALIASZ = 256                  # the kernel's limit, NUL included
_MARK_KEYS = ("arp_ignore", "arp_filter", "rp_filter", "all.rp_filter", "default.rp_filter")


def virtual_mac(vrid, family=4):
    """RFC 5798 §7.3: 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6)."""
    # RFC 5798 §7.3 Virtual Router MAC Address
    vrid = _vrid(vrid)
    return "00:00:5e:00:%02x:%02x" % (1 if _family(family) == 4 else 2, vrid)


def _vrid(vrid):
    if isinstance(vrid, bool) or not isinstance(vrid, int) or not 1 <= vrid <= 255:
        raise ValueError("VRID must be 1..255, got %r" % (vrid,))
    return vrid


def _family(family):
    table = {4: 4, 6: 6, socket.AF_INET: 4, socket.AF_INET6: 6}
    if isinstance(family, bool) or family not in table:
        raise ValueError("family must be 4, 6, AF_INET or AF_INET6, got %r" % (family,))
    return table[family]


def _fit(prefix, tail):
    """prefix + tail, the prefix cut so the name fits IFNAMSIZ - 1 (keepalived)."""
    room = IFNAMSIZ - 1 - len(tail)
    return prefix[:max(room, 0)] + tail


def vmac_name(prefix, vrid, family=4, taken=()):
    """keepalived's create_vmac_name: the first free name of the sequence.

    `<prefix>.<vrid>`, then `<prefix><n>.<vrid>` for n = 1, 2, ... (IPv6 tries
    6 first and then skips it), the prefix shortened to fit 15 bytes.
    """
    vrid, family = _vrid(vrid), _family(family)
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "/: \t\n"):
        raise ValueError("bad VMAC name prefix %r" % (prefix,))
    taken = set(taken)
    name = _fit(prefix, ".%d" % vrid)
    num = 0
    for _ in range(100000):
        if name not in taken:
            return name
        if family == 6:
            num = 6 if num == 0 else (1 if num == 6 else num + 1 + (num + 1 == 6))
        else:
            num += 1
        name = _fit(prefix, "%d.%d" % (num, vrid))
    raise ValueError("no free VMAC name for prefix %r, VRID %d" % (prefix, vrid))


def _mac(text, vrid, what):
    """A unicast MAC "aa:bb:cc:dd:ee:ff"; five octets take the VRID as the sixth."""
    if not isinstance(text, str):
        raise ValueError("%s: MAC must be a string, got %r" % (what, text))
    parts = text.strip(":").split(":")
    try:
        octets = [int(p, 16) for p in parts]
        if not all(1 <= len(p) <= 2 for p in parts):
            raise ValueError
    except ValueError:
        raise ValueError("%s: invalid MAC address %r" % (what, text)) from None
    if len(octets) == 5:
        octets.append(vrid)
    if len(octets) != 6:
        raise ValueError("%s: a MAC has 6 octets (5 to use the VRID), got %r" % (what, text))
    if octets[0] & 1:
        raise ValueError("%s: MAC %s is multicast" % (what, text))
    if octets[:4] == [0, 0, 0x5E, 0] and octets[4] in (1, 2):
        raise ValueError("%s: MAC %s is an RFC 5798 virtual MAC; leave mac unset to use it"
                         % (what, text))
    return ":".join("%02x" % o for o in octets)


def eui64_linklocal(mac):
    """fe80::/64 address derived from a MAC (modified EUI-64, RFC 4291 App. A)."""
    octets = [int(p, 16) for p in mac.split(":")]
    iid = bytes([octets[0] ^ 0x02, octets[1], octets[2], 0xFF, 0xFE, octets[3], octets[4],
                 octets[5]])
    return ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + iid)


@dataclass(frozen=True)
class VmacSpec:
    """One VMAC: keepalived's `use_vmac [NAME] [MAC]` (+ `vmac_xmit_base`) of an instance."""

    base_ifname: str
    vrid: int
    family: int = 4             # the instance's family (4/6 or AF_INET/AF_INET6)
    name: str = None            # None: vmac_name(prefix, vrid, family)
    mac: str = None             # None: the RFC 5798 virtual MAC
    xmit_base: bool = False     # adverts leave through the base: no link-local on the VMAC
    instance: str = ""          # for the mark and the log
    prefix: str = VMAC_PREFIX   # global_defs vmac_prefix
    source: object = None       # IPv6: the link-local for the VMAC (default: the base's)
    other_family: bool = False  # IPv4 instance with IPv6 eVIPs: keep IPv6 on

    def __post_init__(self):
        set_ = object.__setattr__
        check_ifname(self.base_ifname, "VMAC base interface")
        _vrid(self.vrid)
        set_(self, "family", _family(self.family))
        what = "VMAC for VRID %d on %s" % (self.vrid, self.base_ifname)
        if self.name is not None:
            check_ifname(self.name, what)
        if self.mac is not None:
            set_(self, "mac", _mac(self.mac, self.vrid, what))
        for flag in ("xmit_base", "other_family"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError("%s: %s must be True or False" % (what, flag))
        if not isinstance(self.instance, str) or not self.instance.isprintable():
            raise ValueError("%s: instance must be a printable name, got %r" % (what, self.instance))
        vmac_name(self.prefix, self.vrid, self.family)      # validates the prefix
        if self.source is not None:
            try:
                source = ipaddress.IPv6Address(str(self.source))
            except ValueError:
                raise ValueError("%s: source %r is not an IPv6 address" % (what, self.source)) \
                    from None
            if self.family != 6:
                raise ValueError("%s: source is for IPv6 VMACs" % what)
            set_(self, "source", source)

    @property
    def virtual_mac(self):
        """The MAC the VMAC gets."""
        return self.mac or virtual_mac(self.vrid, self.family)

    def default_name(self, taken=()):
        return self.name or vmac_name(self.prefix, self.vrid, self.family, taken)


@dataclass(frozen=True)
class VmacMark:
    """What IFLA_IFALIAS of a VMAC we created says; see the module docstring."""

    instance: str
    pid: int
    family: int
    saved: tuple = ()           # ((key, original value), ...) of the sysctls we changed

    def encode(self):
        fields = ["pid=%d" % self.pid, "family=%d" % self.family]
        fields += ["%s=%d" % kv for kv in self.saved]
        tail = " " + " ".join(fields)
        name = (self.instance or "-").replace(" ", "_")
        room = IFALIASZ - 1 - len(ALIAS_TAG.encode()) - len(tail.encode())
        while len(name.encode()) > room:
            name = name[:-1]
        return ALIAS_TAG + name + tail

    @classmethod
    def decode(cls, text):
        """The mark in an alias, or None if the alias is not ours."""
        if not isinstance(text, str) or not text.startswith(ALIAS_TAG):
            return None
        words = text[len(ALIAS_TAG):].split(" ")
        values = {}
        for word in words[1:]:
            key, eq, value = word.partition("=")
            if not eq or not value.isdigit():
                return None
            values[key] = int(value)
        if "pid" not in values or values.get("family") not in (4, 6):
            return None
        saved = tuple((k, values[k]) for k in _MARK_KEYS if k in values)
        return cls(words[0], values["pid"], values["family"], saved)

    def saved_value(self, key):
        return dict(self.saved).get(key)


__all__ = ["ALIAS_TAG", "IFALIASZ", "VMAC_PREFIX", "VmacMark", "VmacSpec", "eui64_linklocal",
           "virtual_mac", "vmac_name"]

"""Record adverts live from the installed keepalived and check their invariant fields.

Runs three scenarios of fastvrrp.bench.kavectors at once (VRRPv2 PASS, VRRPv3
IPv4 at 50 cs, VRRPv3 IPv6) with whatever keepalived is installed, and checks
every captured advert against what was configured: version, VRID, priority,
address count and list, interval, TTL/hop limit 255, TOS/traffic class 0xc0,
source, destination, and a checksum valid in the form keepalived is known to
use.  A newer keepalived that changes any of these fails here with the field
named.  Where the installed version has stored vectors, the IPv4 adverts must
also match them byte for byte.
"""

import json
import os
from pathlib import Path

import pytest

from fastvrrp.bench import kavectors
from fastvrrp.bench.keepalived_proc import keepalived_version

pytestmark = pytest.mark.interop
VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@pytest.fixture(scope="module")
def recordings():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    return kavectors.record(kavectors.LIVE_SUBSET, adverts=2, shutdown=True)


@pytest.mark.parametrize("name", kavectors.LIVE_SUBSET)
def test_adverts_carry_the_configured_fields(recordings, name):
    rec = recordings[name]
    assert len(rec.adverts) == 2, "keepalived %s sent %d advert(s) for %s" % (
        rec.keepalived_version, len(rec.adverts), name)
    for i, advert in enumerate(rec.adverts):
        problems = kavectors.check_advert(rec.scenario, advert, src=rec.src, dst=rec.dst)
        assert not problems, "keepalived %s, %s advert %d:\n  %s" % (
            rec.keepalived_version, name, i, "\n  ".join(problems))


@pytest.mark.parametrize("name", kavectors.LIVE_SUBSET)
def test_shutdown_sends_priority_zero(recordings, name):
    rec = recordings[name]
    assert rec.shutdown is not None, "no priority-0 advert after SIGTERM:\n" + rec.log[-2000:]
    problems = kavectors.check_advert(rec.scenario, rec.shutdown, src=rec.src, dst=rec.dst,
                                      priority=0)
    assert not problems, "keepalived %s, %s shutdown advert:\n  %s" % (
        rec.keepalived_version, name, "\n  ".join(problems))


@pytest.mark.parametrize("name", [n for n in kavectors.LIVE_SUBSET
                                  if kavectors.SCENARIOS[n].family == "ipv4"])
def test_ipv4_adverts_match_the_stored_vectors_of_this_version(recordings, name):
    stored = VECTORS / ("keepalived-%s" % keepalived_version()) / (name + ".json")
    if not stored.exists():
        pytest.skip("no vectors stored for keepalived %s (record them with "
                    "scripts/record-keepalived-vectors)" % keepalived_version())
    vec = json.loads(stored.read_text())
    first = recordings[name].adverts[0]
    # The first advert of a fresh keepalived: same IP ID, same bytes.  (IPv6
    # differs per run: the link-local source comes from the lab's MAC.)
    assert first.ip_packet.hex() == vec["ip_packet_hex"]
    assert first.vrrp.hex() == vec["vrrp_hex"]

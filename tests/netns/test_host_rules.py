"""Policy rules over real netlink in a lab namespace (reference §2.3, §3.1, §3.14, §3.17).

Every option is read back from the kernel with a rule dump.
"""

import errno
import socket

import pytest

from fastvrrp.host.netlink import ABSENT, DONE, EXISTS, FAILED, Netlink
from fastvrrp.host.rules import (FIB_RULE_INVERT, FR_ACT_BLACKHOLE, FR_ACT_GOTO, FR_ACT_NOP,
                                 FR_ACT_PROHIBIT, FR_ACT_TO_TBL, FR_ACT_UNREACHABLE,
                                 PreferenceAllocator, RuleSet, RuleSpec, add_rule,
                                 cleanup_stale_rules)

from hostlab import dump_rules, remove_only_ours, run_in

pytestmark = pytest.mark.netns


def by_pref(rules, family=socket.AF_INET):
    out = {}
    for r in rules:
        if r["family"] == family:
            out.setdefault(r.get_attr("FRA_PRIORITY"), []).append(r)
    return out


EVERY_OPTION = (
    RuleSpec(from_="10.1.0.0/16", to="10.2.0.0/24", table=100, preference=100, tos="0x10",
             fwmark="0x10/0xff", iif="eth0", oif="lo", realms="1/2"),
    RuleSpec(not_=True, from_="10.3.0.0/16", table=1000, preference=101,
             suppress_prefixlength=0, suppress_ifgroup=0),
    RuleSpec(uidrange="1000-2000", ipproto="tcp", sport=80, dport="1024-2048", table="main",
             preference=102, protocol="static"),
    RuleSpec(to="10.4.0.0/16", type="blackhole", preference=103),
    RuleSpec(to="10.5.0.0/16", type="unreachable", preference=104),
    RuleSpec(to="10.6.0.0/16", type="prohibit", preference=105),
    RuleSpec(fwmark=7, nop=True, preference=106),
    RuleSpec(fwmark=8, goto=200, preference=107),
    RuleSpec(tunnel_id=42, table=7, preference=108),
    RuleSpec(from_="fd00:1::/48", table=100, preference=100, fwmark=3),
    RuleSpec(to="fd00:2::/48", type="prohibit", preference=101),
)


def test_add_every_option_and_read_it_back(lab):
    links = lab.star(("a", "b"))
    a = links["a"][0]

    async def main():
        async with Netlink() as nl:
            rules = RuleSet(nl, EVERY_OPTION, name="VI_1")
            outcomes = await rules.add_all()
            got = await dump_rules()
            again = await rules.add_all()
            return outcomes, got, again

    outcomes, got, again = run_in(a.ns, main)
    assert [o.status for o in outcomes] == [DONE] * len(EVERY_OPTION), [str(o) for o in outcomes]
    assert again == []
    v4, v6 = by_pref(got), by_pref(got, socket.AF_INET6)
    r = v4[100][0]
    assert r["action"] == FR_ACT_TO_TBL and r["table"] == 100 and r["tos"] == 0x10
    assert (r.get_attr("FRA_SRC"), r["src_len"]) == ("10.1.0.0", 16)
    assert (r.get_attr("FRA_DST"), r["dst_len"]) == ("10.2.0.0", 24)
    assert (r.get_attr("FRA_FWMARK"), r.get_attr("FRA_FWMASK")) == (0x10, 0xff)
    assert r.get_attr("FRA_IIFNAME") == "eth0" and r.get_attr("FRA_OIFNAME") == "lo"
    assert r.get_attr("FRA_FLOW") == (1 << 16) | 2
    assert r.get_attr("FRA_PROTOCOL") == 18
    r = v4[101][0]
    assert r["flags"] & FIB_RULE_INVERT and r.get_attr("FRA_TABLE") == 1000
    assert r.get_attr("FRA_SUPPRESS_PREFIXLEN") == 0
    assert r.get_attr("FRA_SUPPRESS_IFGROUP") == 0
    r = v4[102][0]
    assert r.get_attr("FRA_UID_RANGE") == "1000:2000" and r.get_attr("FRA_IP_PROTO") == 6
    assert r.get_attr("FRA_SPORT_RANGE") == "80:80"
    assert r.get_attr("FRA_DPORT_RANGE") == "1024:2048"
    assert r.get_attr("FRA_PROTOCOL") == 4 and r["table"] == 254
    assert [v4[p][0]["action"] for p in (103, 104, 105, 106, 107)] == \
        [FR_ACT_BLACKHOLE, FR_ACT_UNREACHABLE, FR_ACT_PROHIBIT, FR_ACT_NOP, FR_ACT_GOTO]
    assert v4[107][0].get_attr("FRA_GOTO") == 200
    assert v4[108][0].get_attr("FRA_TUN_ID") == 42
    r = v6[100][0]
    assert (r.get_attr("FRA_SRC"), r["src_len"], r.get_attr("FRA_FWMARK")) == ("fd00:1::", 48, 3)
    assert v6[101][0]["action"] == FR_ACT_PROHIBIT


def test_remove_only_ours_and_absent_is_not_an_error(lab):
    links = lab.star(("a", "b"))
    a = links["a"][0]
    admin_same = RuleSpec(from_="10.7.0.0/16", table=70, preference=700)
    admin_other = RuleSpec(from_="10.8.0.0/16", table=80, preference=800, protocol="boot")
    mine = (admin_same, RuleSpec(from_="10.8.0.0/16", table=81, preference=800),
            RuleSpec(to="fd00:8::/48", table=80, preference=800))

    async def main():
        async with Netlink() as nl:
            for spec in (admin_same, admin_other):
                assert (await add_rule(nl, spec.to_netlink())).changed
            return await remove_only_ours(RuleSet(nl, mine, name="VI_1"), mine, dump_rules)

    added, held, removed, after_remove, removed_again, forced, after_force = run_in(a.ns, main)
    assert [o.status for o in added] == [EXISTS, DONE, DONE]
    assert added[0].errno == errno.EEXIST
    assert held == [False, True, True]
    assert [o.status for o in removed] == [DONE, DONE]
    assert len(by_pref(after_remove)[700]) == 1                     # not ours: stays
    assert [r["table"] for r in by_pref(after_remove)[800]] == [80]  # the admin's one
    assert 800 not in by_pref(after_remove, socket.AF_INET6)
    assert removed_again == []
    assert [o.status for o in forced] == [DONE, ABSENT, ABSENT]      # configured: removed
    assert 700 not in by_pref(after_force)
    assert [r["table"] for r in by_pref(after_force)[800]] == [80]


def test_preferences_are_allocated_like_keepalived(lab):
    links = lab.star(("a",))
    a = links["a"][0]
    shared = PreferenceAllocator()

    async def main():
        async with Netlink() as nl:
            first = RuleSet(nl, [RuleSpec(from_="10.9.0.0/16", table=9),
                                 RuleSpec(from_="fd09::/48", table=9)], name="VI_1",
                            allocator=shared)
            second = RuleSet(nl, [RuleSpec(from_="10.10.0.0/16", table=10)], name="VI_2",
                             allocator=shared)
            outcomes = await first.add_all() + await second.add_all()
            return outcomes, await dump_rules()

    outcomes, got = run_in(a.ns, main)
    assert all(o.status == DONE for o in outcomes)
    assert by_pref(got)[16384][0].get_attr("FRA_SRC") == "10.9.0.0"
    assert by_pref(got)[16383][0].get_attr("FRA_SRC") == "10.10.0.0"
    assert by_pref(got, socket.AF_INET6)[16384][0].get_attr("FRA_SRC") == "fd09::"


def test_crash_leftovers_reload_and_refusals(lab):
    links = lab.star(("a",))
    a = links["a"][0]
    keep = RuleSpec(from_="10.11.0.0/16", table=11, preference=1100)
    drop = RuleSpec(from_="10.12.0.0/16", table=12, preference=1200)
    new = RuleSpec(from_="10.13.0.0/16", table=13, preference=1300)

    async def main():
        async with Netlink() as nl:
            crashed = RuleSet(nl, [keep, drop], name="VI_1")
            await crashed.add_all()
            del crashed                                         # kill -9
            first = await cleanup_stale_rules(nl, [keep, drop])
            second = await cleanup_stale_rules(nl, [keep, drop])
            after_cleanup = await dump_rules()
            rules = RuleSet(nl, [keep, drop], name="VI_1")
            await rules.add_all()
            kept = rules.added[0]
            dropped = await rules.update([keep, new])
            added = await rules.add_all()
            held = rules.added
            # a TOS with the low (ECN/MBZ) bit set: the kernel refuses it (EINVAL)
            bad = await add_rule(nl, RuleSpec(tos=1, table=5, preference=4).to_netlink())
            return first, second, after_cleanup, kept, dropped, added, held, bad, \
                await dump_rules()

    first, second, after_cleanup, kept, dropped, added, held, bad, got = run_in(a.ns, main)
    assert [o.status for o in first] == [DONE, DONE]
    assert [o.status for o in second] == [ABSENT, ABSENT]
    assert not {1100, 1200} & set(by_pref(after_cleanup))
    assert [o.request.attr("FRA_PRIORITY") for o in dropped] == [1200]
    assert [o.request.attr("FRA_PRIORITY") for o in added] == [1300]
    assert held[0] is kept
    assert {1100, 1300} <= set(by_pref(got)) and 1200 not in by_pref(got)
    assert bad.status == FAILED and bad.errno == errno.EINVAL and "4: from all tos" in str(bad)
    assert 4 not in by_pref(got)

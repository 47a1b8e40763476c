"""Real configurations: the upstream keepalived samples in the shared corpus,
the seed scenario's config (Chinese comments), and the fast path agreeing
with the general path on all of them."""

import re
from pathlib import Path

import pytest

from fastvrrp.config.ast import Diagnostics
from fastvrrp.config.preprocess import Preprocessor
from fastvrrp.config.reader import read_config

from paths import CORPUS, SEED
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "INDEX.md")
TOP_LINE = re.compile(r"^([A-Za-z_][^{#!]*?)\s*\{")


def corpus_ids():
    return [str(p.relative_to(CORPUS)) for p in CORPUS_FILES]


def dump(nodes, indent=""):
    out = []
    for n in nodes:
        out.append(indent + " ".join("%s@%d:%d" % (w.text, w.pos.line, w.pos.col) for w in n.words)
                   + (" {" if n.children is not None else ""))
        if n.children is not None:
            out.extend(dump(n.children, indent + "  "))
            out.append(indent + ("}@%d:%d" % (n.close.line, n.close.col) if n.close else "} (none)"))
    return out


@pytest.mark.parametrize("path", CORPUS_FILES, ids=corpus_ids())
def test_corpus_file_reads_cleanly_with_its_top_level_blocks(path):
    diags = Diagnostics()
    nodes = read_config(str(path), diags, config_id="high")
    assert [str(d) for d in diags] == []
    # independent oracle: in these files every top-level block starts in column 1
    expected = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = TOP_LINE.match(line)
        if m:
            expected.append((number, m.group(1).split()))
    blocks = [(n.pos.line, [w.text for w in n.words]) for n in nodes if n.children is not None]
    assert blocks == expected
    assert all(n.close is not None for n in nodes if n.children is not None)


def test_corpus_vrrp_sample_block_exactly():
    diags = Diagnostics()
    nodes = read_config(str(CORPUS / "keepalived.conf.vrrp"), diags)
    vi_1 = next(n for n in nodes if [w.text for w in n.words] == ["vrrp_instance", "VI_1"])
    assert dump([vi_1]) == [
        "vrrp_instance@13:1 VI_1@13:15 {",
        "  state@14:5 MASTER@14:11",
        "  interface@15:5 eth0@15:15",
        "  garp_master_delay@16:5 10@16:23",
        "  smtp_alert@17:5",
        "  virtual_router_id@18:5 51@18:23",
        "  priority@19:5 100@19:14",
        "  advert_int@20:5 1@20:16",
        "  authentication@21:5 {",
        "    auth_type@22:9 PASS@22:19",
        "    auth_pass@23:9 1111@23:19",
        "  }@24:5",
        "  virtual_ipaddress@25:5 {",
        "    192.168.200.16@26:9",
        "    192.168.200.17@27:9",
        "    192.168.200.18@28:9",
        "    192.168.200.18@32:9 label@32:24 eth0:1@32:30",
        "  }@33:5",
        "}@34:1",
    ]


@pytest.mark.parametrize("config_id, namespace, script, priority", [
    ("high", ["net_namespace@3:7", "high@3:21"], "/etc/keepalived/scripts/check_high_VI_0.sh", "170"),
    ("low", ["net_namespace@4:6", "low@4:20"], "/etc/keepalived/scripts/check_low_VI_0.sh", "85"),
    (None, None, None, None),
])
def test_conditional_conf(config_id, namespace, script, priority, monkeypatch):
    monkeypatch.setattr("fastvrrp.config.reader.default_config_id", lambda: "testhost")
    diags = Diagnostics()
    nodes = read_config(str(CORPUS / "keepalived.conf.conditional_conf"), diags, config_id=config_id)
    assert not diags
    keywords = [n.keyword for n in nodes]
    if namespace:
        assert ["%s@%d:%d" % (w.text, w.pos.line, w.pos.col) for w in nodes[0].words] == namespace
        assert keywords == ["net_namespace", "vrrp_script", "vrrp_instance"]
    else:
        assert keywords == ["vrrp_script", "vrrp_instance"]
    script_node, instance = nodes[-2], nodes[-1]
    scripts = [[w.text for w in n.words] for n in script_node.children if n.keyword == "script"]
    assert scripts == ([["script", script]] if script else [])
    prios = [[w.text for w in n.words] for n in instance.children if n.keyword == "priority"]
    assert prios == ([["priority", priority]] if priority else [])
    assert [n.keyword for n in instance.children] == (
        ["state", "interface", "virtual_router_id"] + (["priority"] if priority else [])
        + ["advert_int", "version", "use_vmac", "track_script", "track_interface", "virtual_ipaddress"])


def test_seed_config_is_the_documents_config():
    doc = SEED / "seed-document.txt"
    conf = (SEED / "keepalived.conf").read_bytes()
    assert conf.startswith("#检测脚本\nvrrp_script chk_http_port {\n".encode())
    assert conf in doc.read_bytes()
    assert (SEED / "keepalived-backup.conf").read_bytes() in doc.read_bytes()
    assert (SEED / "check_nginx_pid.sh").read_bytes() in doc.read_bytes()


def test_seed_config_tree():
    diags = Diagnostics()
    nodes = read_config(str(SEED / "keepalived.conf"), diags, config_id="seed")
    assert [str(d) for d in diags] == []
    assert dump(nodes) == [
        "vrrp_script@2:1 chk_http_port@2:13 {",
        "  script@3:5 /usr/local/src/check_nginx_pid.sh@3:12",
        "  interval@4:5 2@4:14",
        "  weight@5:5 2@5:12",
        "}@6:1",
        "vrrp_instance@8:1 VI_1@8:15 {",
        "  state@9:5 MASTER@9:11",
        "  interface@10:5 ens33@10:15",
        "  virtual_router_id@11:5 66@11:23",
        "  priority@12:5 100@12:14",
        "  advert_int@13:5 1@13:16",
        "  authentication@15:5 {",
        "    auth_type@16:9 PASS@16:19",
        "    auth_pass@17:9 1111@17:19",
        "  }@18:5",
        "  track_script@19:5 {",
        "    chk_http_port@20:9",
        "  }@21:5",
        "  virtual_ipaddress@22:5 {",
        "    192.168.16.130@23:9",
        "  }@24:5",
        "}@25:1",
    ]
    assert nodes[0].children[0].words[1].quoted


def test_seed_backup_config_differs_only_in_role():
    diags = Diagnostics()
    master = read_config(str(SEED / "keepalived.conf"), diags)
    backup = read_config(str(SEED / "keepalived-backup.conf"), diags)
    assert not diags
    flat = lambda nodes: [l.split("@")[0] + " " + " ".join(w.split("@")[0] for w in l.split()[1:])
                          for l in dump(nodes)]
    changed = [(a, b) for a, b in zip(flat(master), flat(backup)) if a != b]
    assert changed == [("  state MASTER", "  state BACKUP"), ("  priority 100", "  priority 99")]


def generated_config(instances):
    out = ["global_defs {", "  router_id gen", "}"]
    for i in range(instances):
        out += ["vrrp_script chk_%d {" % i, '  script "/bin/true"', "  interval 2", "}",
                "vrrp_instance VI_%d {" % i, "  interface veth%d" % (i % 7), "  virtual_router_id %d" % (i % 255 + 1),
                "  track_script {", "    chk_%d weight 2" % i, "  }",
                "  virtual_ipaddress {", "    10.%d.%d.1/24 dev veth%d" % (i // 256, i % 256, i % 7), "  }", "}"]
    return "\n".join(out) + "\n"


def deep(nodes):
    return [(n.words, n.text, n.close, None if n.children is None else deep(n.children)) for n in nodes]


def both_paths(path):
    results = []
    for fast in (True, False):
        diags = Diagnostics()
        pp = Preprocessor(diags, "high", fast_path=fast)
        pp.read_files([str(path)])
        results.append((deep(pp.finish()), [str(d) for d in diags]))
    return results


@pytest.mark.parametrize("path", CORPUS_FILES + [SEED / "keepalived.conf", SEED / "keepalived-backup.conf"],
                         ids=corpus_ids() + ["seed", "seed-backup"])
def test_fast_path_equals_general_path_on_real_files(path):
    fast, slow = both_paths(path)
    assert fast == slow


def test_fast_path_equals_general_path_on_a_generated_config(tmp_path):
    path = tmp_path / "gen.conf"
    path.write_text(generated_config(50))
    fast, slow = both_paths(path)
    assert fast == slow
    assert len(fast[0]) == 101

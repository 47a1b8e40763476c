"""The C-level API (ext/packet.pxd) works from another extension, as the fast
path will use it: `from fastvrrp._packet cimport ...`, compiled against the
installed fastvrrp._packet, calling through Cython's C-API capsule."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "ext"

USER = textwrap.dedent("""
    # cython: language_level=3
    from libc.stdint cimport uint8_t, uint32_t
    from fastvrrp._packet cimport (
        vrrp_advert, vrrp_build_spec, vrrp_build, vrrp_parse_ipv4, vrrp_parse_batch_ipv4,
        vrrp_check_instance, vrrp_checksum, VRRP_DROP_OK, VRRP_CSUM_PSEUDO_HEADER,
        VRRP_DROP_AUTH_FAILURE, Advert)

    def roundtrip():
        cdef uint8_t addr[4]
        cdef uint8_t out[64]
        cdef vrrp_build_spec spec
        cdef vrrp_advert adv
        cdef Py_ssize_t n
        addr[:] = [10, 0, 0, 1]
        spec.family = 4; spec.version = 3; spec.vrid = 9; spec.priority = 200
        spec.auth_type = 0; spec.checksum_form = VRRP_CSUM_PSEUDO_HEADER; spec.ttl = 255
        spec.ip_header = 1; spec.adver_int = 100; spec.ident = 5; spec.count = 1
        spec.addresses = addr
        spec.src[:4] = [10, 0, 0, 2]
        spec.dst[:4] = [224, 0, 0, 18]
        with nogil:
            n = vrrp_build(&spec, out, sizeof(out))
            reason = vrrp_parse_ipv4(out, n, True, &adv)
        return n, reason, adv.vrid, adv.priority, adv.checksum_form, vrrp_checksum(out, 20)

    def check(Advert a, bytes password):
        return vrrp_check_instance(&a.rec, NULL, 2, 1, password)
""")

SETUP = textwrap.dedent("""
    from setuptools import setup, Extension
    from Cython.Build import cythonize
    setup(ext_modules=cythonize([Extension("capi_user", ["capi_user.pyx"])],
                                include_path=[%r], quiet=True))
""") % str(EXT)


def test_another_extension_can_cimport_the_c_api(tmp_path):
    pytest.importorskip("Cython", reason="Cython (a build requirement) is not installed")
    (tmp_path / "capi_user.pyx").write_text(USER)
    (tmp_path / "setup.py").write_text(SETUP)
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import capi_user, fastvrrp._packet as P
            print(capi_user.roundtrip())
            a = P.parse_ipv4(P.build_advert(2, 1, 100, 1, ['10.0.0.1'], auth_type=1,
                                            auth_pass=b'pw', src='10.0.0.2', ip_header=True))
            print(capi_user.check(a, b'pw' + bytes(6)) == P.DROP_AUTH_FAILURE)
        """)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    n, reason, vrid, priority, form, header_sum = eval(run.stdout.splitlines()[0])
    assert (n, reason, vrid, priority, form, header_sum) == (32, 0, 9, 200, 3, 0)
    # NULL auth data (the caller had no packet) never passes PASS authentication
    assert run.stdout.splitlines()[1] == "True"

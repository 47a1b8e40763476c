"""The compiled core is not optional: a build without Cython or without a
working C compiler must fail with a clear message, never produce a package
that silently runs on the reference twins."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def src_copy(tmp_path):
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "ext", tmp_path / "ext", symlinks=True,
                    ignore=shutil.ignore_patterns("*.c", "*.html"))
    (tmp_path / "fastvrrp").mkdir()
    (tmp_path / "fastvrrp" / "__init__.py").write_text("")
    return tmp_path


def _build(cwd, env=None, prelude=""):
    code = prelude + "import sys; sys.argv = ['setup.py', 'build_ext', '--inplace']; " \
        "exec(compile(open('setup.py').read(), 'setup.py', 'exec'))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=240)


def test_build_without_cython_fails_clearly(src_copy):
    prelude = "import sys; sys.modules['Cython'] = None; sys.modules['Cython.Build'] = None; "
    proc = _build(src_copy, prelude=prelude)
    assert proc.returncode != 0
    assert "Cython 3 is required" in proc.stderr
    assert not list(src_copy.glob("fastvrrp/*.so"))


def test_build_without_c_compiler_fails_clearly(src_copy):
    env = dict(os.environ, CC="/nonexistent/cc", LDSHARED="/nonexistent/cc -shared",
               FASTVRRP_MODULES="wheel")
    proc = _build(src_copy, env=env)
    assert proc.returncode != 0
    assert "building the compiled core failed" in proc.stderr
    assert "C compiler" in proc.stderr
    assert not list(src_copy.glob("fastvrrp/*.so"))

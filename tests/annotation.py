"""`cython -a` scores for the compiled core: which lines touch the Python C-API.

    scores = annotate(tmp_dir, "packet.pyx")             # {source line: score}
    spans = definitions(source, C_FUNCTION, top_level)   # {name: (first line, last line)}

`cython -a` scores each source line of an ext/*.pyx by the Python C-API it
generates (the "yellow" of the annotated HTML).  The annotation tests hold
the hot code to a score of 0 line by line.
"""

import re
import subprocess
import sys

from paths import ROOT

EXT = ROOT / "ext"
LINE = re.compile(r'<pre class="cython line score-(\d+)"[^>]*>(?:\+|&#xA0;)?'
                  r'<span class="">(\d+)</span>:')


def annotate(out_dir, pyx, directives=()):
    """Compile a copy of ext/`pyx` with `cython -a` in `out_dir` (with `-X`
    `directives`) -> {line number: score}; asserts that cython ran and scored."""
    stem = pyx[:-len(".pyx")]
    (out_dir / pyx).write_text((EXT / pyx).read_text())
    options = [word for d in directives for word in ("-X", d)]
    proc = subprocess.run([sys.executable, "-m", "cython", "-3", "-a", "-I", str(EXT), *options,
                           pyx, "-o", stem + ".c"], cwd=out_dir, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    html = (out_dir / (stem + ".html")).read_text()
    scores = {int(n): int(s) for s, n in LINE.findall(html)}
    assert scores, "no annotated lines found: has cython -a changed its HTML?"
    return scores


def source_lines(pyx):
    return (EXT / pyx).read_text().splitlines()


def definitions(source_lines, header, ends):
    """{name: (first line, last line)} (1-based) of the definitions whose first
    line `header` matches (group 1: the name).  A definition ends at its last
    code line before the next line `ends(line)` accepts."""
    spans, current, last_code = {}, None, 0
    for number, line in enumerate(source_lines, 1):
        if ends(line) and current:
            spans[current[0]] = (current[1], last_code)
            current = None
        match = header.match(line)
        if match:
            current = (match.group(1), number)
        if line.strip() and not line.lstrip().startswith("#"):
            last_code = number
    if current:
        spans[current[0]] = (current[1], last_code)
    return spans


def top_level(line):
    """A module-level line: a new definition, or the end of the one before."""
    return bool(line) and not line[0].isspace() and not line.startswith("#")

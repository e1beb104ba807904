#!/usr/bin/env python3
"""Dependencies point one way: no file of a lower library includes a header of a higher one.

  tests/check-layers.py [SOURCE_DIR]      check the product sources (default: this checkout)
  tests/check-layers.py --self-test       show that a back edge is caught (a throw-away tree)

Reads every #include line of collector/, exporter/, config/ and service/ (quoted or angled,
project paths or paths relative to the including file) and checks it against the table below.
Prints each back edge as FILE:LINE with the two libraries, and exits 1 if there is any.
"""
import os
import re
import sys
import tempfile

# Library of a file, by path prefix: the first match wins (longest prefixes first).
LIBRARY_OF_PREFIX = [
    ("service/settings.h", "thx_service_settings"),
    ("collector/model/", "thx_model"),
    ("collector/aggregate/", "thx_aggregate"),
    ("collector/", "thx_collector"),
    ("exporter/", "thx_exporter"),
    ("config/", "thx_config"),
    ("service/", "thx_service"),
]

# What each library may include (itself included). thx_collector and thx_aggregate stand side by
# side above thx_model and never include each other; service/settings.h is an interface library
# below config/ so that config/ can read JSON into it.
MAY_INCLUDE = {
    "thx_model": {"thx_model"},
    "thx_collector": {"thx_model", "thx_collector"},
    "thx_aggregate": {"thx_model", "thx_aggregate"},
    "thx_exporter": {"thx_model", "thx_aggregate", "thx_exporter"},
    "thx_service_settings": {"thx_service_settings"},
    "thx_config": {"thx_model", "thx_aggregate", "thx_exporter", "thx_service_settings",
                   "thx_config"},
    "thx_service": {"thx_model", "thx_collector", "thx_aggregate", "thx_exporter",
                    "thx_service_settings", "thx_config", "thx_service"},
}

ROOTS = ("collector", "exporter", "config", "service")
SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".c", ".inl")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def library_of(path):
    for prefix, library in LIBRARY_OF_PREFIX:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return library
    return None


def resolve(source_dir, including, target):
    """The project path an include names, or None for a system or third-party header."""
    relative = os.path.normpath(os.path.join(os.path.dirname(including), target))
    if not relative.startswith("..") and os.path.isfile(os.path.join(source_dir, relative)):
        return relative.replace(os.sep, "/")
    if target.split("/")[0] in ROOTS:
        return os.path.normpath(target).replace(os.sep, "/")
    return None


def check(source_dir):
    """Returns (files checked, list of back-edge messages)."""
    problems = []
    checked = 0
    for root in ROOTS:
        for folder, _, names in sorted(os.walk(os.path.join(source_dir, root))):
            for name in sorted(names):
                if not name.endswith(SUFFIXES):
                    continue
                full = os.path.join(folder, name)
                path = os.path.relpath(full, source_dir).replace(os.sep, "/")
                library = library_of(path)
                if library is None:
                    continue
                checked += 1
                with open(full, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        target = resolve(source_dir, path, match.group(2))
                        if target is None:
                            continue
                        included = library_of(target)
                        if included is None or included in MAY_INCLUDE[library]:
                            continue
                        problems.append(
                            "%s:%d: %s includes %s of %s (%s may include only %s)"
                            % (path, number, library, target, included, library,
                               ", ".join(sorted(MAY_INCLUDE[library]))))
    return checked, problems


def self_test():
    """A tree with one allowed include and three back edges: each must be named."""
    files = {
        "collector/model/snapshot.h": "#pragma once\n",
        "collector/aggregate/aggregator.h": '#include "collector/model/snapshot.h"\n'
                                            '#include "config/config.h"\n',
        "collector/linux/procfs_source.cpp": '#include <vector>\n\n'
                                             '#include "collector/aggregate/aggregator.h"\n',
        "exporter/metrics.h": '#include "../service/run_loop.h"\n',
        "config/config.h": '#include "service/settings.h"\n',
        "service/settings.h": "#pragma once\n",
        "service/run_loop.h": '#include "config/config.h"\n',
    }
    expected = [
        "collector/aggregate/aggregator.h:2: thx_aggregate includes config/config.h of thx_config",
        "collector/linux/procfs_source.cpp:3: thx_collector includes "
        "collector/aggregate/aggregator.h of thx_aggregate",
        "exporter/metrics.h:1: thx_exporter includes service/run_loop.h of thx_service",
    ]
    with tempfile.TemporaryDirectory() as tree:
        for path, text in files.items():
            os.makedirs(os.path.join(tree, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(tree, path), "w", encoding="utf-8") as f:
                f.write(text)
        _, problems = check(tree)
    found = [p.split(" (")[0] for p in problems]
    if found != expected:
        print("self-test failed: expected\n  %s\ngot\n  %s"
              % ("\n  ".join(expected), "\n  ".join(problems) or "(nothing)"))
        return 1
    print("self-test passed: %d back edges named with file and line" % len(expected))
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    source_dir = argv[1] if len(argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    checked, problems = check(source_dir)
    for problem in problems:
        print(problem)
    if problems:
        print("%d include(s) point up the layers (see the picture in CMakeLists.txt)"
              % len(problems))
        return 1
    print("layers: %d files, every include points down" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

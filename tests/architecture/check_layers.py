#!/usr/bin/python3
"""Module dependencies point one way, and engine/core does no I/O.

For every source file the build compiles, asks the compiler for every header it reaches (directly or through other
headers) and checks them against the rules below. Usage:

    check_layers.py BUILD_DIR SOURCE_DIR                   check the tree
    check_layers.py BUILD_DIR SOURCE_DIR --as MODULE FILE  check FILE as if it were in MODULE (the self-test)

Exits 1 (2 when a file does not compile) and names each file, the header it must not reach and the rule, when a rule is broken.
"""
import json
import os
import shlex
import subprocess
import sys

# Project modules, most specific first; each may reach itself and the modules listed.
MODULES = [
    ("error/", []),  # the one error type: a leaf every module may use
    ("text/", ["error/"]),
    ("process/", ["error/"]),
    ("templates/", ["error/", "text/"]),
    ("workflows/", ["error/", "text/", "templates/"]),  # a campaign's loader checks its templates
    ("connectors/sdk/", ["error/"]),  # installed for plugin authors with the error type, nothing else of ours
    ("connectors/plugin/", ["error/", "connectors/sdk/"]),
    ("connectors/", ["error/", "text/", "templates/", "connectors/sdk/"]),
    ("engine/core/", ["error/", "text/", "templates/", "workflows/"]),
    ("engine/store/", ["error/", "text/", "templates/", "workflows/", "engine/core/", "process/"]),
    ("engine/runtime/", ["error/", "text/", "workflows/", "templates/", "connectors/sdk/", "connectors/plugin/",
                         "engine/core/", "engine/store/", "process/"]),
    ("engine/http/", ["error/", "text/", "workflows/", "templates/", "connectors/sdk/", "connectors/plugin/",
                      "engine/core/", "engine/store/", "engine/runtime/", "process/"]),
    ("engine/cli/", None),  # the top: it wires everything
]

# Headers of libraries that do I/O, by path fragment: the core reaches none of them.
IO_HEADERS = ["/hiredis/", "/boost/asio", "/boost/beast", "/curl/", "/openssl/", "/prometheus/", "/spdlog/",
              "/sys/socket.h", "/netinet/", "/fstream"]
# Where Asio and Beast may appear: only inside the HTTP server's .cpp (public headers stay small).
ASIO_ALLOWED = ["engine/http/status_server.cpp"]


def module_of(path):
    for prefix, allowed in MODULES:
        if path.startswith(prefix):
            return prefix, allowed
    return None, None


def headers_reached(entry):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    cleaned = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if arg in ("-c", "-MD", "-MMD"):
            continue
        cleaned.append(arg)
    out = subprocess.run(cleaned + ["-M", "-MF", "/dev/stdout", "-w"], cwd=entry["directory"], capture_output=True,
                         text=True)
    if out.returncode != 0:
        sys.stderr.write(f"{entry['file']}: the compiler could not list its headers:\n{out.stderr}")
        sys.exit(2)
    text = out.stdout.replace("\\\n", " ")
    deps = text.split(":", 1)[1].split()
    return [os.path.realpath(os.path.join(entry["directory"], d)) for d in deps]


def check(relative, headers, source_dir, as_module=None):
    prefix, allowed = (as_module, dict(MODULES)[as_module]) if as_module else module_of(relative)
    problems = []
    if prefix is None:
        return problems
    for header in headers:
        inside = header.startswith(source_dir + os.sep)
        rel = os.path.relpath(header, source_dir) if inside else header
        if inside and not rel.startswith("build"):
            if rel == relative:
                continue
            target, _ = module_of(rel)
            if target is None and not rel.startswith(("tests/", "bench/", "examples/")):
                problems.append(f"{relative}: reaches {rel}, which is in no module (add its folder to MODULES)")
            if allowed is not None and target is not None and target != prefix and target not in allowed:
                problems.append(f"{relative}: reaches {rel}, but {prefix} may use only {', '.join(allowed) or 'itself'}")
        if prefix == "engine/core/" and any(fragment in header for fragment in IO_HEADERS):
            problems.append(f"{relative}: reaches {header}: engine/core does no I/O (no Redis, sockets, HTTP, "
                            "crypto, logging)")
        if ("/boost/asio" in header or "/boost/beast" in header) and relative not in ASIO_ALLOWED:
            problems.append(f"{relative}: reaches {header}: Asio and Beast stay inside {', '.join(ASIO_ALLOWED)}")
    return problems


def main():
    build_dir, source_dir = sys.argv[1], os.path.realpath(sys.argv[2])
    entries = json.load(open(os.path.join(build_dir, "compile_commands.json")))
    problems = []
    if len(sys.argv) == 6 and sys.argv[3] == "--as":
        module, path = sys.argv[4], os.path.realpath(sys.argv[5])
        template = next(e for e in entries if os.path.relpath(e["file"], source_dir).startswith(module))
        entry = dict(template)
        entry["command"] = shlex.join(shlex.split(template["command"])[:-1] + [path]) \
            if "command" in template else None
        if entry["command"] is None:
            entry["arguments"] = template["arguments"][:-1] + [path]
            del entry["command"]
        entry["file"] = path
        problems = check(module + os.path.basename(path), headers_reached(entry), source_dir, module)
    else:
        seen = 0
        for entry in entries:
            relative = os.path.relpath(os.path.realpath(entry["file"]), source_dir)
            if relative.startswith(("tests/", "bench/", "examples/", "build")) or module_of(relative)[0] is None:
                continue
            seen += 1
            problems += check(relative, headers_reached(entry), source_dir)
        if seen == 0:
            problems.append("no source of the project found in compile_commands.json")
        print(f"{seen} source files checked")
    for problem in sorted(set(problems)):
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Reads a Containerfile and prints what tools/image-check/test.sh needs about one runtime
stage, one record a line (fields separated by tabs):

  runtime_stage.py CONTAINERFILE [STAGE]      STAGE: a stage name; default the last stage

  stage     NAME                  every named stage of the file, in order
  base      IMAGE                 the selected stage's base image
  copy      SRC  DEST             one file the stage copies from the build stage
  user      USER
  expose    PORT
  label     KEY  VALUE
  entrypoint  JSON
  build     TEXT                  one RUN instruction of the build stage (joined lines)
  error     MESSAGE               anything the check cannot reproduce exactly

The build stage is the first stage. The selected stage may only contain instructions the
check reproduces: COPY --from=<the build stage> (files, not directories), USER, EXPOSE, LABEL, ARG, ENV, ENTRYPOINT, CMD, WORKDIR.
Anything else (RUN, ADD, COPY from the context, ...) is an error, so a file the image
would contain can never be missing from the check's root filesystem.
"""
import json
import shlex
import sys


def logical_lines(text):
    """Joins continuation lines and drops comments and blank lines (Dockerfile rules)."""
    out, cur = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not cur and (not stripped or stripped.startswith("#")):
            continue
        if cur and stripped.startswith("#"):
            continue  # comment lines inside a continuation are ignored
        if stripped.endswith("\\"):
            cur += stripped[:-1].rstrip() + " "
            continue
        cur += stripped
        out.append(cur.strip())
        cur = ""
    if cur.strip():
        out.append(cur.strip())
    return out


def emit(*fields):
    print("\t".join(str(f) for f in fields))


def main(path, wanted=None):
    with open(path, encoding="utf-8") as f:
        lines = logical_lines(f.read())
    stages = []  # [name, base, [instructions]]
    for line in lines:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            parts = rest.split()
            parts = [p for p in parts if not p.startswith("--platform")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append([name, parts[0] if parts else "", []])
        elif stages:
            stages[-1][2].append((word, rest.strip()))
        elif word not in ("ARG",):
            emit("error", f"instruction before the first FROM: {line}")
    if len(stages) < 2:
        emit("error", "expected a build stage and a runtime stage")
        return
    for s in stages:
        if s[0]:
            emit("stage", s[0])
    if wanted is None:
        selected = stages[-1]
    else:
        named = [s for s in stages if s[0] == wanted]
        if not named:
            emit("error", f"no stage named {wanted}")
            return
        selected = named[0]
    if selected is stages[0]:
        emit("error", f"stage {wanted} is the build stage, not a runtime stage")
        return
    # Only the build stage's files are reproduced (this checkout and this Debian 12).
    build_names = {stages[0][0]} if stages[0][0] else set()
    for word, rest in stages[0][2]:
        if word == "RUN":
            emit("build", rest)
    _, base, instructions = selected
    emit("base", base)
    for word, rest in instructions:
        if word == "COPY":
            try:
                args = shlex.split(rest)
            except ValueError as e:
                emit("error", f"cannot parse COPY {rest}: {e}")
                continue
            opts = [a for a in args if a.startswith("--")]
            paths = [a for a in args if not a.startswith("--")]
            source = None
            for o in opts:
                if o.startswith("--from="):
                    source = o.split("=", 1)[1]
                elif o.startswith("--chmod=") or o.startswith("--chown=") or o == "--link":
                    pass
                else:
                    emit("error", f"COPY option the check does not reproduce: {o}")
            if source not in build_names:
                emit("error", f"runtime COPY must copy from a build stage ({', '.join(sorted(build_names))}): COPY {rest}")
                continue
            if len(paths) < 2:
                emit("error", f"COPY needs a source and a destination: COPY {rest}")
                continue
            *srcs, dest = paths
            if len(srcs) > 1 and not dest.endswith("/"):
                emit("error", f"COPY with several sources needs a directory destination ending in /: COPY {rest}")
                continue
            for s in srcs:
                if any(c in s for c in "*?[") or s.endswith("/"):
                    emit("error", f"COPY source must be one file, no wildcard or directory: {s}")
                    continue
                d = dest + s.rsplit("/", 1)[-1] if dest.endswith("/") else dest
                emit("copy", s, d)
        elif word == "USER":
            emit("user", rest)
        elif word == "EXPOSE":
            for p in rest.split():
                emit("expose", p)
        elif word == "LABEL":
            try:
                for item in shlex.split(rest):
                    k, sep, v = item.partition("=")
                    if sep:
                        emit("label", k, v)
                    else:
                        emit("error", f"LABEL without '=': {item}")
            except ValueError as e:
                emit("error", f"cannot parse LABEL {rest}: {e}")
        elif word == "ENTRYPOINT":
            try:
                json.loads(rest)
                emit("entrypoint", rest)
            except json.JSONDecodeError:
                emit("error", f"ENTRYPOINT must be exec (JSON) form: distroless has no shell: {rest}")
        elif word in ("ARG", "ENV", "CMD", "WORKDIR"):
            pass
        else:
            emit("error", f"runtime stage instruction the check does not reproduce: {word} {rest}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Containerfile", sys.argv[2] if len(sys.argv) > 2 else None)

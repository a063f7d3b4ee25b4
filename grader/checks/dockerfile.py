"""A Dockerfile read the way Docker reads it: pure functions from its text to what the image does.

Parser directives (`# escape=`), comments, line continuations and heredocs; instructions in any
case; build stages (`FROM ... AS name`, a stage built on an earlier one inherits its ENV, CMD and
ENTRYPOINT); ARG and ENV substitution (`$NAME`, `${NAME}`, `${NAME:-default}`) where Docker does
it; ENTRYPOINT and CMD joined, exec and shell form, the last of each winning; SHELL.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

DEFAULT_SHELL = ("/bin/sh", "-c")
PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
SUBSTITUTED = {
    "ADD",
    "COPY",
    "ENV",
    "EXPOSE",
    "FROM",
    "LABEL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
    "ONBUILD",
}


class DockerfileError(ValueError):
    """The text is not a Dockerfile Docker would build; the message says why, with the line."""


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str  # continuation lines joined, comments left out; a heredoc's body after a newline
    line: int  # where it starts, counting from 1


@dataclass(frozen=True)
class Form:
    """A CMD, ENTRYPOINT or RUN: a list of words (exec form), or one string for the shell."""

    words: tuple[str, ...]
    exec_form: bool

    def argv(self, shell: tuple[str, ...] = DEFAULT_SHELL) -> list[str]:
        return list(self.words) if self.exec_form else [*shell, *self.words]


@dataclass
class Stage:
    base: str  # the image (or earlier stage) named by FROM, variables substituted
    name: str  # the AS name, lower case ("" without one)
    parent: Stage | None = None  # the earlier stage it is built on
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    shell: tuple[str, ...] = DEFAULT_SHELL
    cmd: Form | None = None
    entrypoint: Form | None = None
    runs: list[Form] = field(default_factory=list)
    cmd_set_here: bool = False

    def image(self) -> str:
        """The registry image this stage finally rests on."""
        return self.parent.image() if self.parent else self.base

    def start(self) -> list[str]:
        """The argv a container of this stage runs, as Docker joins ENTRYPOINT and CMD."""
        if self.entrypoint is not None:
            if not self.entrypoint.exec_form:
                return self.entrypoint.argv(self.shell)
            tail = self.cmd.argv(self.shell) if self.cmd is not None else []
            return [*self.entrypoint.words, *tail]
        return self.cmd.argv(self.shell) if self.cmd is not None else []


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile's text."""
    lines = text.lstrip("\ufeff").splitlines()
    escape, start = _directives(lines)
    found: list[Instruction] = []
    index = start
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        first = index
        parts: list[str] = []
        while index < len(lines):
            current = lines[index].strip()
            index += 1
            if parts and (not current or current.startswith("#")):
                continue  # blank and comment lines inside a continuation are left out
            if current.endswith(escape):
                parts.append(current[: -len(escape)])
                continue
            parts.append(current)
            break
        keyword, _, arguments = " ".join(p for p in parts if p).strip().partition(" ")
        arguments = arguments.strip()
        heredoc = _HEREDOC.search(arguments) if keyword.upper() in ("RUN", "COPY") else None
        if heredoc:
            body, index = _heredoc_body(
                lines, index, heredoc.group(3), heredoc.group(1) == "-", first
            )
            arguments = f"{arguments}\n{body}"
        found.append(Instruction(keyword.upper(), arguments, first + 1))
    return found


def _directives(lines: list[str]) -> tuple[str, int]:
    """The escape character and the index of the first line after the parser directives."""
    escape = "\\"
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line.strip())
        if not match:
            return escape, index
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise DockerfileError(
                    f"line {index + 1}: the escape directive takes \\ or `, not {match.group(2)!r}"
                )
            escape = match.group(2)
    return escape, len(lines)


def _heredoc_body(
    lines: list[str], index: int, end: str, strip_tabs: bool, first: int
) -> tuple[str, int]:
    body: list[str] = []
    while index < len(lines):
        line = lines[index].lstrip("\t") if strip_tabs else lines[index]
        index += 1
        if line.strip() == end:
            return "\n".join(body), index
        body.append(line)
    raise DockerfileError(f"line {first + 1}: the heredoc is never closed by a line {end}")


def substitute(text: str, variables: dict[str, str]) -> str:
    """`text` with $NAME, ${NAME}, ${NAME:-default} and ${NAME:+other} replaced, as Docker does."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3) or ""
        current = variables.get(name)
        if operator in (":-", "-"):
            empty = current is None or (operator == ":-" and current == "")
            return word if empty else str(current)
        if operator in (":+", "+"):
            present = current is not None and (operator == "+" or current != "")
            return word if present else ""
        return current or ""

    return _VARIABLE.sub(value, text)


def commands(script: str, env: dict[str, str]) -> list[list[str]]:
    """The simple commands of a shell script, in order, with variables substituted."""
    lexer = shlex.shlex(
        substitute(script, env).replace("\n", " ; "), posix=True, punctuation_chars=True
    )
    lexer.whitespace_split = True
    found: list[list[str]] = [[]]
    try:
        for token in lexer:
            if token and set(token) <= set(";&|()"):
                found.append([])
            else:
                found[-1].append(token)
    except ValueError as error:
        raise DockerfileError(f"the shell cannot read `{script}`: {error}") from None
    return [command for command in found if command]


def program(words: list[str], env: dict[str, str]) -> tuple[str, list[str], dict[str, str]]:
    """(the program a shell command runs, its arguments, its environment), through `exec`, `env`,
    NAME=value prefixes and `python -m`; ("", [], env) when the words name no program.
    A Python script is named "python FILE"."""
    env = dict(env)
    while words and (
        words[0] in ("exec", "env", "/usr/bin/env", "command") or ASSIGNMENT.match(words[0])
    ):
        if "=" in words[0] and words[0] not in ("exec", "env", "command"):
            name, _, value = words[0].partition("=")
            env[name] = value
        words = words[1:]
    if not words:
        return "", [], env
    name = words[0].rsplit("/", 1)[-1]
    if PYTHON.match(name):
        rest = [w for w in words[1:] if w not in ("-u", "-O", "-B", "-I", "-P")]
        if len(rest) >= 2 and rest[0] == "-m":
            return rest[1], rest[2:], env
        return "python " + " ".join(rest[:1]), rest[1:], env
    return name, words[1:], env


def split_flags(arguments: str) -> tuple[dict[str, str], str]:
    """Leading `--name=value` flags (`--platform`, `--mount`, `--from`, `--chmod`...) and the rest."""
    flags: dict[str, str] = {}
    rest = arguments
    while rest.startswith("--"):
        word, _, after = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        flags[name.lower()] = value
        rest = after.lstrip()
    return flags, rest


def form(arguments: str) -> Form:
    """Exec form when the arguments are a JSON list of strings; else the shell form."""
    if arguments.startswith("["):
        try:
            words = json.loads(arguments)
        except ValueError:
            words = None
        if isinstance(words, list) and all(isinstance(w, str) for w in words):
            return Form(tuple(words), exec_form=True)
    return Form((arguments,), exec_form=False)


def settings(keyword: str, arguments: str) -> list[tuple[str, str | None]]:
    """(name, value) for each setting of an ENV or ARG; an ARG without a default has None."""
    try:
        parts = shlex.split(arguments, posix=True)
    except ValueError:
        parts = arguments.split()
    if keyword == "ENV" and parts and "=" not in parts[0]:  # the legacy `ENV NAME value`
        return [(parts[0], " ".join(parts[1:]))]
    found: list[tuple[str, str | None]] = []
    for part in parts:
        name, equals, value = part.partition("=")
        found.append((name, value if equals else None))
    return found


def stages(instructions: list[Instruction]) -> list[Stage]:
    """The build stages, each with what it inherits; DockerfileError when there is no FROM."""
    global_args: dict[str, str] = {}
    built: list[Stage] = []
    for instruction in instructions:
        keyword, arguments = instruction.keyword, instruction.arguments
        if keyword == "FROM":
            built.append(_stage(arguments, global_args, built))
            continue
        if not built:
            if keyword == "ARG":
                global_args.update({n: v or "" for n, v in settings("ARG", arguments)})
                continue
            raise DockerfileError(f"line {instruction.line}: {keyword} comes before the first FROM")
        _apply(built[-1], keyword, arguments, global_args)
    if not built:
        raise DockerfileError("there is no FROM instruction")
    return built


def _stage(arguments: str, global_args: dict[str, str], built: list[Stage]) -> Stage:
    _, rest = split_flags(arguments)
    words = substitute(rest, global_args).split()
    base = words[0] if words else ""
    name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
    parent = next((s for s in reversed(built) if s.name and s.name == base.lower()), None)
    stage = Stage(base=base, name=name, parent=parent)
    if parent is not None:
        stage.env = dict(parent.env)
        stage.shell, stage.cmd, stage.entrypoint = parent.shell, parent.cmd, parent.entrypoint
    return stage


def _apply(stage: Stage, keyword: str, arguments: str, global_args: dict[str, str]) -> None:
    variables = {**stage.args, **stage.env}
    if keyword == "ARG":
        for name, value in settings("ARG", arguments):
            default = global_args.get(name, "") if value is None else substitute(value, variables)
            stage.args[name] = default
    elif keyword == "ENV":
        for name, value in settings("ENV", substitute(arguments, variables)):
            stage.env[name] = value or ""
    elif keyword == "SHELL":
        shell = form(arguments)
        if shell.exec_form and shell.words:
            stage.shell = shell.words
    elif keyword == "CMD":
        stage.cmd, stage.cmd_set_here = form(arguments), True
    elif keyword == "ENTRYPOINT":
        stage.entrypoint = form(arguments)
        if not stage.cmd_set_here:  # Docker resets a CMD inherited from the base
            stage.cmd = None
    elif keyword == "RUN":
        stage.runs.append(form(split_flags(arguments)[1]))


def ignored(dockerignore: str, name: str) -> bool:
    """Whether `name` (a path in the build context) is left out by this .dockerignore text."""
    verdict = False
    for raw in dockerignore.splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip().lstrip("/")
        pattern = pattern.removeprefix("./")
        if _matches(pattern.rstrip("/"), name):
            verdict = not negate
    return verdict


def _matches(pattern: str, name: str) -> bool:
    regex = ""
    for index, part in enumerate(re.split(r"(\*\*/?|\*|\?)", pattern)):
        if index % 2 == 0:
            regex += re.escape(part)
        else:
            regex += {"*": "[^/]*", "?": "[^/]"}.get(part, "(.*/)?" if part == "**/" else ".*")
    return re.fullmatch(regex, name) is not None

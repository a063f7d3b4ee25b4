"""Dockerfiles and requirements.txt read as Docker and pip read them: real-world shapes, correct
ones accepted, wrong ones refused with a reason a student can act on."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from grader.check import run_checks
from grader.checks.baked_in import baked_in
from grader.checks.dockerfile import DockerfileError, Form, ignored, parse, stages, substitute
from grader.checks.image import check_dockerfile, check_requirements, distributions_of, image_server
from grader.checks.requirements import imported_modules, pip_requirement_files
from grader.checks.requirements import parse as parse_requirements
from grader.checks.server_command import NotAServer, read_server, runnable_here
from grader.course import SOLUTIONS, Course
from grader.feedback import CheckFailure
from tests.checks.variants import CORRECT_STYLES, Variant

S11 = SOLUTIONS / "11-ship-it"
SLIM = "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
CMD = 'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]\n'
DIGEST = "a" * 64

ACCEPTED = {
    "reference": SLIM + CMD,
    "shell-form": SLIM + "CMD uvicorn main:app --host 0.0.0.0 --port 8000\n",
    "host-equals": SLIM + 'CMD ["uvicorn", "main:app", "--host=0.0.0.0", "--port=8000"]\n',
    "ipv6-any": SLIM + 'CMD ["uvicorn", "main:app", "--host", "::"]\n',
    "platform-and-stage-name": SLIM.replace(
        "FROM python:3.12-slim", "FROM --platform=linux/amd64 python:3.12-slim AS runtime"
    )
    + CMD,
    "lower-case-bookworm": SLIM.replace(
        "FROM python:3.12-slim", "from python:3.12-slim-bookworm"
    ).replace("RUN", "run")
    + CMD.replace("CMD", "cmd"),
    "digest-and-registry": SLIM.replace(
        "python:3.12-slim", f"docker.io/library/python:3.12-slim@sha256:{DIGEST}"
    )
    + CMD,
    "pip3": SLIM.replace("pip install", "pip3 install") + CMD,
    "python-m-pip": SLIM.replace("pip install", "python -m pip install") + CMD,
    "requirement-long": SLIM.replace("-r requirements.txt", "--requirement requirements.txt") + CMD,
    "requirement-equals": SLIM.replace("-r requirements.txt", "--requirement=./requirements.txt")
    + CMD,
    "r-attached-absolute": SLIM.replace("-r requirements.txt", "-r/app/requirements.txt") + CMD,
    "continuations-and-comments": (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN apt-get update \\\n    # the driver's wheels need nothing else\n    && pip install \\\n"
        "        --no-cache-dir \\\n\n        -r requirements.txt\nCOPY . .\n" + CMD
    ),
    "cache-mount": SLIM.replace("RUN pip", "RUN --mount=type=cache,target=/root/.cache/pip pip")
    + CMD,
    "uv": SLIM.replace(
        "RUN pip install --no-cache-dir", "RUN pip install uv && uv pip install --system"
    )
    + CMD,
    "heredoc": SLIM.replace(
        "RUN pip install --no-cache-dir -r requirements.txt\n",
        "RUN <<EOF\nset -e\npip install --no-cache-dir -r requirements.txt\nEOF\n",
    )
    + CMD,
    "escape-backtick": "# escape=`\n"
    + SLIM.replace("RUN pip install --no-cache-dir", "RUN pip install `\n    --no-cache-dir")
    + CMD,
    "arg-and-env": (
        "ARG PYTHON_VERSION=3.12\nFROM python:${PYTHON_VERSION}-slim\nENV HOST=0.0.0.0 \\\n    PORT=8000\n"
        + SLIM.split("\n", 1)[1]
        + "CMD uvicorn main:app --host $HOST --port ${PORT}\n"
    ),
    "legacy-env": SLIM + "ENV HOST 0.0.0.0\nCMD uvicorn main:app --host ${HOST:-127.0.0.1}\n",
    "uvicorn-host-from-env": SLIM + 'ENV UVICORN_HOST=0.0.0.0\nCMD ["uvicorn", "main:app"]\n',
    "sh-c": SLIM + 'CMD ["sh", "-c", "uvicorn main:app --host 0.0.0.0 --port ${PORT:-8000}"]\n',
    "exec-in-shell-form": SLIM + "CMD exec uvicorn main:app --host 0.0.0.0 --port 8000\n",
    "migrate-then-serve": SLIM
    + "CMD python migrations.py && exec uvicorn main:app --host 0.0.0.0\n",
    "alembic-then-serve": SLIM
    + 'CMD ["sh", "-c", "alembic upgrade head && exec uvicorn main:app --host 0.0.0.0"]\n',
    "entrypoint-and-cmd": SLIM
    + 'ENTRYPOINT ["uvicorn", "main:app"]\nCMD ["--host", "0.0.0.0", "--port", "8000"]\n',
    "python-m-uvicorn-entrypoint": SLIM
    + 'ENTRYPOINT ["python", "-m", "uvicorn"]\nCMD ["main:app", "--host", "0.0.0.0"]\n',
    "last-cmd-wins": SLIM + 'CMD ["uvicorn", "main:app", "--reload"]\n' + CMD,
    "shell-options-with-c": SLIM + 'CMD ["sh", "-ec", "alembic upgrade head; exec uvicorn main:app --host 0.0.0.0"]\n',
    "bash-login-shell": SLIM + 'CMD ["/bin/bash", "-lc", "exec uvicorn main:app --host 0.0.0.0"]\n',
    "pipefail-shell": SLIM + 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD exec uvicorn main:app --host 0.0.0.0\n',
    "fastapi-run": SLIM + 'CMD ["fastapi", "run", "main.py", "--port", "8000"]\n',
    "fastapi-run-shell": SLIM + "CMD fastapi run --port 80 --proxy-headers\n",
    "gunicorn": SLIM
    + 'CMD ["gunicorn", "main:app", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:8000", "-w", "2"]\n',
    "gunicorn-long-options": SLIM
    + "CMD gunicorn --worker-class=uvicorn.workers.UvicornWorker --bind=0.0.0.0:8000 main:app\n",
    "gunicorn-uvicorn-worker-package": SLIM
    + "CMD gunicorn -k uvicorn_worker.UvicornWorker -b :8000 main:app\n",
    "multi-stage-wheels": (
        "FROM python:3.12-slim AS build\nCOPY requirements.txt .\nRUN pip wheel --wheel-dir /wheels -r requirements.txt\n"
        "FROM python:3.12-slim\nCOPY --from=build /wheels /wheels\nRUN pip install --no-index /wheels/*\nCOPY . .\n"
        + CMD
    ),
    "inherits-cmd-from-stage": "FROM python:3.12-slim AS base\n"
    + SLIM.split("\n", 1)[1]
    + CMD
    + "FROM base AS final\nUSER nobody\n",
}

REFUSED = {
    "no-from": ("RUN pip install -r requirements.txt\n" + CMD, "before the first FROM"),
    "full-image": (SLIM.replace("-slim", "") + CMD, "slim Python image"),
    "ubuntu": (SLIM.replace("python:3.12-slim", "ubuntu:24.04") + CMD, "ubuntu:24.04"),
    "packages-by-name": (
        SLIM.replace("-r requirements.txt", "fastapi uvicorn sqlalchemy") + CMD,
        "never runs",
    ),
    "other-requirements-file": (
        SLIM.replace("-r requirements.txt", "-r requirements-dev.txt") + CMD,
        "never runs",
    ),
    "pip-install-in-a-comment": (SLIM.replace("RUN pip", "# RUN pip") + CMD, "never runs"),
    "reload": (SLIM + CMD.replace('"8000"]', '"8000", "--reload"]'), "--reload"),
    "fastapi-dev": (
        SLIM + 'CMD ["fastapi", "dev", "main.py", "--host", "0.0.0.0"]\n',
        "fastapi dev",
    ),
    "no-host": (SLIM + 'CMD ["uvicorn", "main:app", "--port", "8000"]\n', "listens on 127.0.0.1"),
    "localhost": (SLIM + "CMD uvicorn main:app --host 127.0.0.1\n", "listens on 127.0.0.1"),
    "fastapi-run-localhost": (
        SLIM + "CMD fastapi run main.py --host 127.0.0.1\n",
        "listens on 127.0.0.1",
    ),
    "gunicorn-sync-worker": (SLIM + "CMD gunicorn -b 0.0.0.0:8000 main:app\n", "WSGI"),
    "gunicorn-no-bind": (
        SLIM + "CMD gunicorn -k uvicorn.workers.UvicornWorker main:app\n",
        "127.0.0.1",
    ),
    "exec-form-variable": (
        SLIM + 'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "$PORT"]\n',
        "exec form",
    ),
    "python-main": (SLIM + 'CMD ["python", "main.py"]\n', "python main.py"),
    "no-cmd": (SLIM, "no CMD or ENTRYPOINT"),
    "shell-entrypoint-wins": (SLIM + "ENTRYPOINT echo starting\n" + CMD, "echo starting"),
    "last-cmd-reloads": (
        SLIM + CMD + 'CMD ["uvicorn", "main:app", "--host", "0.0.0.0", "--reload"]\n',
        "--reload",
    ),
    "new-stage-drops-cmd": (
        "FROM python:3.12-slim AS build\n"
        + SLIM.split("\n", 1)[1]
        + CMD
        + "FROM python:3.12-slim\nCOPY --from=build /app /app\n",
        "no CMD",
    ),
    "entrypoint-resets-inherited-cmd": (
        "FROM python:3.12-slim AS base\n"
        + SLIM.split("\n", 1)[1]
        + CMD
        + 'FROM base\nENTRYPOINT ["uvicorn", "main:app"]\n',
        "listens on 127.0.0.1",
    ),
    "hypercorn": (SLIM + "CMD hypercorn main:app --bind 0.0.0.0:8000\n", "not uvicorn"),
    "heredoc-never-closed": (SLIM.replace("RUN pip", "RUN <<EOF\npip") + CMD, "heredoc"),
}


def _folder(tmp_path: Path, dockerfile: str, ignore: str = "*.db\n__pycache__/\n") -> Path:
    folder = tmp_path / "step"
    shutil.copytree(S11, folder, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    (folder / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    (folder / ".dockerignore").write_text(ignore, encoding="utf-8")
    return folder


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_correct_dockerfiles_are_accepted(tmp_path: Path, text: str) -> None:
    folder = _folder(tmp_path, text)
    check_dockerfile(folder)
    server = image_server(folder)
    assert server.app == "main:app"
    command = runnable_here(server, sys.executable)
    assert command[command.index(sys.executable):][:4] == [
        sys.executable,
        "-m",
        "uvicorn",
        "main:app",
    ]


def test_what_a_start_command_chains_before_its_server_runs_first() -> None:
    server = read_server(
        ["sh", "-c", "cd /app && alembic upgrade head && exec uvicorn main:app --host 0.0.0.0"], {}
    )
    assert server.before == (("alembic", "upgrade", "head"),)  # the step folder is the WORKDIR
    assert runnable_here(server, "python") == [
        "sh", "-c", 'alembic upgrade head && exec "$@"', "sh", "python", "-m", "uvicorn", "main:app",
    ]
    plain = read_server(["uvicorn", "main:app", "--host", "0.0.0.0"], {})
    assert plain.before == () and runnable_here(plain, "python")[0] == "python"


def test_a_chain_in_exec_form_is_refused_with_the_reason() -> None:
    with pytest.raises(NotAServer, match="no shell reads `&&`"):
        read_server(["alembic", "upgrade", "head", "&&", "uvicorn", "main:app"], {})


def test_a_tool_the_start_command_runs_must_be_required(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SLIM + 'CMD ["sh", "-c", "alembic upgrade head && exec uvicorn main:app --host 0.0.0.0"]\n')
    requirements = folder / "requirements.txt"
    requirements.write_text(
        "".join(line for line in requirements.read_text().splitlines(True) if "alembic" not in line)
    )
    with pytest.raises(CheckFailure, match="does not list alembic, and the image's start command runs alembic"):
        check_requirements(folder)


@pytest.mark.parametrize(("text", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_wrong_dockerfiles_are_refused_with_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    with pytest.raises(CheckFailure) as refused:
        check_dockerfile(_folder(tmp_path, text))
    assert reason in refused.value.message
    assert refused.value.hint


def test_gunicorn_settings_from_its_config_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SLIM + 'CMD ["gunicorn", "main:app"]\n')
    with pytest.raises(CheckFailure, match="WSGI"):
        check_dockerfile(folder)
    (folder / "gunicorn.conf.py").write_text(
        'bind = "0.0.0.0:8000"\nworker_class = "uvicorn.workers.UvicornWorker"\nworkers = 2\n',
        encoding="utf-8-sig",  # saved with a BOM, as some editors do
    )
    check_dockerfile(folder)


@pytest.mark.parametrize(
    ("ignore", "kept_out"),
    [
        ("*.db\n", True),
        ("**/*.db\n", True),
        ("notes.db\n", True),
        ("/notes.db\n", True),
        ("*.db*\n", True),
        ("# *.db\n__pycache__/\n", False),
        ("*.db\n!notes.db\n", False),
        ("data/*.db\n", False),
        ("", False),
    ],
)
def test_dockerignore_patterns(ignore: str, kept_out: bool) -> None:
    assert ignored(ignore, "notes.db") is kept_out


def test_instructions_keep_lines_and_drop_comments() -> None:
    text = "# syntax=docker/dockerfile:1\n\nFROM python:3.12-slim\n# a comment\nRUN echo a \\\n  # inside\n  && echo b\nCMD x\n"
    found = parse(text)
    assert [(i.keyword, " ".join(i.arguments.split()), i.line) for i in found] == [
        ("FROM", "python:3.12-slim", 3),
        ("RUN", "echo a && echo b", 5),
        ("CMD", "x", 8),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$A-${A}", "1-1"),
        ("${B:-x}", "x"),
        ("${E:-x}", "x"),
        ("${E-x}", ""),
        ("${A:+y}", "y"),
        ("${B:+y}", ""),
        ("$B.", "."),
        ("no variables", "no variables"),
    ],
)
def test_substitution_as_docker_does(text: str, expected: str) -> None:
    assert substitute(text, {"A": "1", "E": ""}) == expected


@pytest.mark.parametrize(
    ("dockerfile", "argv"),
    [
        ('CMD ["a", "b"]', ["a", "b"]),
        ("CMD a b", ["/bin/sh", "-c", "a b"]),
        ('ENTRYPOINT ["e"]\nCMD ["c"]', ["e", "c"]),
        ('ENTRYPOINT ["e"]\nCMD c d', ["e", "/bin/sh", "-c", "c d"]),
        ('ENTRYPOINT e\nCMD ["c"]', ["/bin/sh", "-c", "e"]),
        ('SHELL ["/bin/bash", "-lc"]\nCMD a', ["/bin/bash", "-lc", "a"]),
        ('CMD ["c"]\nENTRYPOINT ["e"]', ["e", "c"]),
    ],
)
def test_entrypoint_and_cmd_are_joined_as_docker_does(dockerfile: str, argv: list[str]) -> None:
    assert stages(parse(f"FROM python:3.12-slim\n{dockerfile}\n"))[-1].start() == argv


def test_a_form_that_is_not_json_is_the_shell_form() -> None:
    stage = stages(parse("FROM python:3.12-slim\nCMD [uvicorn, main:app]\n"))[-1]
    assert stage.cmd == Form(("[uvicorn, main:app]",), exec_form=False)


def test_a_bad_escape_directive_is_refused() -> None:
    with pytest.raises(DockerfileError, match="escape"):
        parse("# escape=x\nFROM python:3.12-slim\n")


@pytest.mark.parametrize(
    ("words", "files"),
    [
        (["pip", "install", "-r", "requirements.txt"], ["requirements.txt"]),
        (["/usr/local/bin/pip3.12", "install", "--requirement=r.txt"], ["r.txt"]),
        (
            ["python3", "-m", "pip", "install", "-U", "--requirement", "a.txt", "-rb.txt"],
            ["a.txt", "b.txt"],
        ),
        (["uv", "pip", "install", "--system", "-r", "requirements.txt"], ["requirements.txt"]),
        (["pip", "download", "-r", "requirements.txt"], []),
        (["echo", "pip", "install", "-r", "requirements.txt"], []),
    ],
)
def test_pip_commands(words: list[str], files: list[str]) -> None:
    assert pip_requirement_files(words) == files


def test_a_shell_command_that_starts_no_server_is_named() -> None:
    with pytest.raises(NotAServer, match="`sleep infinity`"):
        read_server(["/bin/sh", "-c", "sleep infinity"], {})


REFERENCE_REQUIREMENTS = (S11 / "requirements.txt").read_text(encoding="utf-8")
PIP_COMPILE = """\
#
# This file is autogenerated by pip-compile with Python 3.12
#
--index-url https://pypi.org/simple

annotated-types==0.7.0 \\
    --hash=sha256:1f02e8b43a8fbbc3f3e0d4f0f4bfc8131bcb4eebe8849b8e5c773f3a1c582a53 \\
    --hash=sha256:aff07c09a53a08bc8cfccb9c85b05f1aa9a2a6f23728d790723543408344ce89
    # via pydantic
fastapi==0.115.6 \\
    --hash=sha256:e9240b29e36fa8f4bb7290316988e90c381e5092e0cbe84e7818cc3713bcf305
    # via -r requirements.in
psycopg[binary]==3.2.3 ; python_version >= "3.8" \\
    --hash=sha256:a5764f67c27bec8bfac85764d23c534af2c27b893550377e37ce59c12aac47a2
psycopg-binary==3.2.3 ; implementation_name != "pypy" \\
    --hash=sha256:0c6e0c8c8ba9e9a3c8a2a5b8f5c0d8b1a6d5f2a8b1c3c1b3c8a6f2a4e1d9c7b5
pydantic==2.10.4 \\
    --hash=sha256:82f12e9723da6de4fe2ba888b5971157b3be7ad914267dea8f05f82b28254f06
sqlalchemy==2.0.36 \\
    --hash=sha256:ec331e8d1dac4e7a4ee3e8d2d3f8e4b9a9f2c3a7d6e5f4c3b2a1d0e9f8a7b6c5
uvicorn[standard]==0.34.0 \\
    --hash=sha256:023dc038422502fa28a09c7a30bf2b6991512da7dcdb8fd35fe57cfc154126f4
    # via -r requirements.in
"""

REQUIREMENTS_ACCEPTED = {
    "reference": (REFERENCE_REQUIREMENTS, {}),
    "pip-compile-with-hashes": (PIP_COMPILE, {}),
    "names-as-written-anywhere": (
        (
            "FastAPI===0.115.6\nSQLAlchemy==2.0.36  # the ORM\nuvicorn[standard]==0.34.0\n"
            "Pydantic==2.10.4\npsycopg[binary,pool]==3.2.3\n"
        ),
        {},
    ),
    "nested": (
        "-r base.txt\nuvicorn==0.34.0\n",
        {"base.txt": "fastapi==0.115.6\nsqlalchemy==2.0.36\npydantic==2.10.4\npsycopg==3.2.3\n"},
    ),
    "windows-only-extra": (
        REFERENCE_REQUIREMENTS
        + "pywin32==308 ; sys_platform == 'win32'\ntzdata>=2024 ; os_name == 'nt'\n",
        {},
    ),
    "exact-wheel-url": (
        REFERENCE_REQUIREMENTS.replace(
            "uvicorn==0.54.0", "uvicorn @ https://files.example.org/uvicorn-0.54.0-py3-none-any.whl"
        ),
        {},
    ),
}

REQUIREMENTS_REFUSED = {
    "range": (
        REFERENCE_REQUIREMENTS.replace("sqlalchemy==2.1.9", "sqlalchemy>=2.0,<3"),
        "'sqlalchemy>=2.0,<3', which is not pinned",
    ),
    "wildcard": (
        REFERENCE_REQUIREMENTS.replace("fastapi==0.165.0", "fastapi==0.165.*"),
        "not pinned",
    ),
    "bare-name": (REFERENCE_REQUIREMENTS + "httpx\n", "'httpx', which is not pinned"),
    "git-branch": (
        REFERENCE_REQUIREMENTS.replace(
            "fastapi==0.165.0", "fastapi @ git+https://github.com/fastapi/fastapi"
        ),
        "not pinned",
    ),
    "no-driver": (
        REFERENCE_REQUIREMENTS.replace("psycopg[binary]==3.3.9\n", ""),
        "does not list psycopg",
    ),
    "psycopg2": (
        REFERENCE_REQUIREMENTS.replace("psycopg[binary]==3.3.9", "psycopg2-binary==2.9.10"),
        "psycopg2 is the older driver",
    ),
    "no-pydantic": (
        REFERENCE_REQUIREMENTS.replace("pydantic==2.14.3\n", ""),
        "schemas.py imports pydantic",
    ),
    "no-server": (
        REFERENCE_REQUIREMENTS.replace("uvicorn==0.54.0\n", ""),
        "starts the app with uvicorn",
    ),
    "driver-only-on-windows": (
        REFERENCE_REQUIREMENTS.replace(
            "psycopg[binary]==3.3.9", "psycopg[binary]==3.3.9 ; sys_platform == 'win32'"
        ),
        "for a Linux image",
    ),
    "editable": (REFERENCE_REQUIREMENTS + "-e .\n", "installs a folder"),
    "unreadable": (REFERENCE_REQUIREMENTS + "fastapi = 0.1\n", "not a requirement pip can read"),
    "nested-missing": ("-r base.txt\n", "base.txt (-r), which is not a file"),
}


@pytest.mark.parametrize(
    ("text", "files"), REQUIREMENTS_ACCEPTED.values(), ids=REQUIREMENTS_ACCEPTED.keys()
)
def test_correct_requirements_are_accepted(
    tmp_path: Path, text: str, files: dict[str, str]
) -> None:
    folder = _folder(tmp_path, SLIM + CMD)
    (folder / "requirements.txt").write_text(text, encoding="utf-8")
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    check_requirements(folder)


@pytest.mark.parametrize(
    ("text", "reason"), REQUIREMENTS_REFUSED.values(), ids=REQUIREMENTS_REFUSED.keys()
)
def test_wrong_requirements_are_refused_with_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    folder = _folder(tmp_path, SLIM + CMD)
    (folder / "requirements.txt").write_text(text, encoding="utf-8")
    with pytest.raises(CheckFailure) as refused:
        check_requirements(folder)
    assert reason in refused.value.message


@pytest.mark.parametrize(
    ("dockerfile", "needed", "enough"),
    [
        (
            'CMD ["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0", "main:app"]\n',
            "gunicorn",
            "gunicorn==23.0.0\n",
        ),
        ('CMD ["fastapi", "run", "main.py"]\n', "fastapi-cli", "fastapi-cli==0.0.7\n"),
    ],
)
def test_the_server_the_image_starts_must_be_listed(
    tmp_path: Path, dockerfile: str, needed: str, enough: str
) -> None:
    folder = _folder(tmp_path, SLIM + dockerfile)
    with pytest.raises(CheckFailure, match=f"does not list {needed}, and the image starts the app"):
        check_requirements(folder)
    (folder / "requirements.txt").write_text(REFERENCE_REQUIREMENTS + enough, encoding="utf-8")
    check_requirements(folder)


def test_fastapi_standard_brings_its_command_line(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SLIM + 'CMD ["fastapi", "run"]\n')
    text = REFERENCE_REQUIREMENTS.replace("fastapi==0.165.0", "fastapi[standard]==0.165.0")
    (folder / "requirements.txt").write_text(text, encoding="utf-8")
    check_requirements(folder)


def test_the_distributions_of_modules_are_those_packages_distributions_names() -> None:
    """Asked for some modules, the same lists in the same order as for all of them at once."""
    import importlib.metadata

    everything = importlib.metadata.packages_distributions()
    assert distributions_of(set(everything) | {"os", "config", "no_such_module"}) == everything
    for module, names in everything.items():
        assert distributions_of({module}) == {module: names}, module
    assert distributions_of({"fastapi", "sqlalchemy"}) == {
        "fastapi": ["fastapi"], "sqlalchemy": ["SQLAlchemy"]
    }


def test_requirement_lines_are_joined_and_hashes_left_out() -> None:
    found, nested = parse_requirements(PIP_COMPILE)
    assert [(r.name, r.specifier, r.line) for r in found][:2] == [
        ("annotated-types", "==0.7.0", 6),
        ("fastapi", "==0.115.6", 10),
    ]
    assert all(r.pinned() for r in found) and nested == []
    assert found[2].extras == {"binary"} and found[2].marker == 'python_version >= "3.8"'


@pytest.mark.parametrize("variant", CORRECT_STYLES, ids=[v.name for v in CORRECT_STYLES])
def test_correct_styles_get_full_marks(variant: Variant, course: Course, tmp_path: Path) -> None:
    report = run_checks(course.step(variant.step), variant.write(tmp_path / "submission"))
    assert report.score == report.max_score, report.first_failure


def test_where_it_listens_and_reloading_are_left_to_the_grader() -> None:
    words = [
        "uvicorn",
        "main:app",
        "--host=0.0.0.0",
        "--port",
        "80",
        "--reload",
        "--reload-dir",
        "src",
    ]
    server = read_server([*words, "--workers", "2", "--proxy-headers"], {})
    assert server.reload and server.hosts == ("0.0.0.0",)
    assert runnable_here(server, "python") == [
        "python",
        "-m",
        "uvicorn",
        "main:app",
        "--workers",
        "2",
        "--proxy-headers",
    ]


def test_imports_that_need_no_package() -> None:
    sources = {
        "main.py": "import os\nimport fastapi\nfrom app.routes import router\nimport db\n",
        "db.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import mypy_extensions\n"
            "try:\n    import uvloop\nexcept ImportError:\n    uvloop = None\nimport sqlalchemy.orm\n"
        ),
    }
    assert imported_modules(sources, {"app"}) == {"fastapi": "main.py", "sqlalchemy": "db.py"}


START_SH = (
    "#!/bin/sh\n# bring the database up to date, then serve\nset -e\n\nalembic upgrade head  # once\n"
    'exec uvicorn main:app \\\n    --host 0.0.0.0 --port "${PORT:-8000}"\n'
)
STARTS_A_SCRIPT = {
    "entrypoint-in-the-workdir": ('ENTRYPOINT ["./start.sh"]\n', "start.sh", START_SH),
    "by-absolute-path": ('CMD ["/app/docker-entrypoint.sh"]\n', "docker-entrypoint.sh", START_SH),
    "given-to-sh": ('CMD ["sh", "run"]\n', "run", START_SH.replace("#!/bin/sh\n", "")),
    "through-a-shell-form": ("CMD exec bash ./start\n", "start", START_SH.replace("/bin/sh", "/usr/bin/env bash")),
    "entrypoint-execs-the-cmd": (
        'ENTRYPOINT ["/app/docker-entrypoint.sh"]\nCMD ["uvicorn", "main:app", "--host", "0.0.0.0"]\n',
        "docker-entrypoint.sh",
        '#!/bin/sh\nset -e\nalembic upgrade head\nexec "$@"\n',
    ),
}


@pytest.mark.parametrize(("dockerfile", "name", "script"), STARTS_A_SCRIPT.values(), ids=STARTS_A_SCRIPT.keys())
def test_a_start_script_of_the_folder_is_read_as_its_shell_reads_it(
    tmp_path: Path, dockerfile: str, name: str, script: str
) -> None:
    folder = _folder(tmp_path, SLIM + dockerfile)
    (folder / name).write_text(script, encoding="utf-8")
    check_dockerfile(folder)
    server = image_server(folder)
    assert (server.app, server.hosts, server.before) == ("main:app", ("0.0.0.0",), (("alembic", "upgrade", "head"),))


def test_a_start_script_is_judged_as_its_commands(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SLIM + 'ENTRYPOINT ["./start.sh"]\n')
    (folder / "start.sh").write_text(START_SH.replace("--port", "--reload --port"), encoding="utf-8")
    with pytest.raises(CheckFailure, match="--reload"):
        check_dockerfile(folder)
    (folder / "start.sh").write_text("#!/bin/sh\npython serve.py\n", encoding="utf-8")
    with pytest.raises(CheckFailure, match="python serve.py"):
        check_dockerfile(folder)
    (folder / "start.sh").unlink()
    with pytest.raises(CheckFailure, match="`./start.sh`, which is not uvicorn"):
        check_dockerfile(folder)


def test_the_imports_of_a_file_saved_with_a_bom_must_be_listed(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SLIM + CMD)
    main = folder / "main.py"
    main.write_bytes(b"\xef\xbb\xbf" + main.read_bytes().replace(b"from typing", b"import httpx\nfrom typing", 1))
    with pytest.raises(CheckFailure, match="main.py imports httpx"):
        check_requirements(folder)


def test_a_lowercase_dockerfile_is_read_where_docker_reads_it(tmp_path: Path) -> None:
    """`docker build` falls back to `dockerfile` when there is no `Dockerfile`; with both, the
    capitalised one wins."""
    folder = _folder(tmp_path, SLIM + CMD)
    (folder / "Dockerfile").rename(folder / "dockerfile")
    check_dockerfile(folder)
    assert image_server(folder).app == "main:app"
    (folder / "dockerfile").write_text(SLIM + CMD + "ENV API_KEY=hunter2\n", encoding="utf-8")
    assert baked_in(folder) == ("dockerfile", 7, "a secret (API_KEY) given a value in the image", "ENV API_KEY=...")
    (folder / "Dockerfile").write_text(SLIM + CMD, encoding="utf-8")
    assert baked_in(folder) is None

"""Intake of a class: workspace folders and .zip files, each checked against every safety cap.

A submission is named by its folder or file (the student's name, with the LMS's id where the LMS
put one: `grader.grade.lms`). A folder that holds no step folder itself but holds folders or zips
is an LMS bulk download, and is opened one level down; a zip of students' zips or folders (the
download itself) is unpacked first. Inside a submission, the workspace is found up to
SEARCH_DEPTH folders down (in a zip inside a Moodle folder, too).
Nothing is copied or unpacked here: each worker reads the step folders it grades
(`grader.grade.sources`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.course import Course
from grader.grade.lms import (
    ARCHIVES,
    D2L_INDEX,
    MOODLE_FILES,
    MOODLE_TEXT,
    Identity,
    blackboard_receipt,
    identify,
    is_blackboard_receipt,
    moodle_id,
    moodle_plugin,
    recognise,
    safe_name,
)
from grader.grade.sources import (
    IGNORED,
    MAX_BYTES,
    MAX_FILES,
    Folder,
    IntakeError,
    Source,
    Tar,
    Zip,
    tar_members,
    too_big,
    unpack_download,
    walk,
    zip_members,
    zip_names,
)

SEARCH_DEPTH = 4  # folders down from a submission's top where its workspace may be


@dataclass
class Submission:
    """One student's work: where to read it, or the reason it cannot be graded at all."""

    name: str
    source: Path
    work: Source | None = None
    problem: str = ""
    identity: Identity = field(default_factory=lambda: Identity(""))


@dataclass
class ClassIntake:
    """Every entry of the input: a submission each, or a file that is not one, and why:
    `ignored` if it was not expected there, `noted` if the LMS puts it there (a receipt, an
    index, online text, an earlier attempt of a student whose latest is graded)."""

    submissions: list[Submission]
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    noted: list[tuple[Path, str]] = field(default_factory=list)


_PREFIXES: dict[Path, str] = {}  # GitHub Classroom folders' prefixes, for one intake


def _identity(path: Path) -> Identity:
    return identify(path, _PREFIXES)


def student_name(path: Path) -> str:
    """The folder or file name, made a safe file name (`grader.grade.lms.safe_name`), with the
    LMS's id where the name carries one."""
    return _identity(path).key


def _names(paths: list[Path], identities: list[Identity]) -> list[tuple[str, str]]:
    """Each path's name, and why it cannot be trusted ("" if it can).

    Two names that clean to the same one (`!honest-a` and `honest-a`), or that differ only in
    case (one file on a case-insensitive disk), are the same name. Of those, a submission whose
    name needed no cleaning keeps it; every other is refused under NAME~2, NAME~3, ..., and
    when none (or more than one) needed no cleaning, all of them are: no student is ever graded
    under a name that may be another's.
    """
    cleaned = [identity.key for identity in identities]
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(cleaned):
        groups.setdefault(name.casefold(), []).append(index)
    names = [(name, "") for name in cleaned]
    for members in groups.values():
        if len(members) == 1:
            continue
        exact = [i for i in members if not identities[i].lms and identities[i].display == cleaned[i]]
        keeper = exact[0] if len(exact) == 1 else None
        listed = ", ".join(str(paths[i]) for i in members)
        serial = 1 if keeper is not None else 0
        for index in sorted(members, key=lambda i: str(paths[i])):
            if index == keeper:
                continue
            serial += 1
            names[index] = (f"{cleaned[index]}~{serial}", (
                f"{len(members)} submissions are named {cleaned[index]}, once their names are made "
                f"safe file names ({listed}); this one was not graded, so that no student is "
                "graded under another's name: rename it and grade it with --only."))
    return names


def _marks(course: Course) -> set[str]:
    return {step.folder for step in course.steps} | {".persistlab"}


def _is_workspace(folder: Path, course: Course) -> bool:
    return any((folder / mark).is_dir() for mark in _marks(course))


def _zip_root(files: list[PurePosixPath], course: Course) -> str | None:
    """The folder of the zip holding the step folders ("" for its top, "a/b/" deeper), the
    shallowest within SEARCH_DEPTH; None if there is none."""
    marks = _marks(course)
    found = {p.parts[:depth] for p in files for depth in range(min(len(p.parts) - 1, SEARCH_DEPTH + 1))
             if p.parts[depth] in marks}
    if not found:
        return None
    best = min(found, key=lambda parts: (len(parts), parts))
    return "".join(f"{part}/" for part in best)


def _folder_root(source: Path, course: Course) -> Path | None:
    """The shallowest folder under `source` (itself included) holding step folders, within
    SEARCH_DEPTH, never through a symbolic link or into .venv and the like."""
    level = [source]
    for _ in range(SEARCH_DEPTH + 1):
        for folder in level:
            if _is_workspace(folder, course):
                return folder
        level = [child for folder in level for child in _children(folder)
                 if child.is_dir() and not child.is_symlink() and child.name not in IGNORED]
    return None


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


class Empty(IntakeError):
    """A submission without a single Python file."""


def _not_a_workspace(name: str, course: Course) -> IntakeError:
    first = course.steps[0].folder
    return IntakeError(
        f"no step folder ({first}, ...) was found in {name}, even {SEARCH_DEPTH} folders down, so "
        "it is not a persistlab workspace; ask for the whole workspace folder, zipped")


def _check_zip(archive: Path, course: Course) -> Zip | Tar:
    """A .zip, or a .tar.gz, .tgz or .tar, with its workspace's folder inside."""
    tar = not archive.name.lower().endswith(".zip")
    files = tar_members(archive) if tar else zip_members(archive)
    if not any(p.suffix == ".py" for p in files):
        inner = [p.name for p in files if p.name.lower().endswith(ARCHIVES)]
        if inner:  # the workspace's zip, zipped again
            raise IntakeError(f"{archive.name} holds no Python file, only {', '.join(inner[:3])}: an archive inside "
                              "an archive is not opened; zip the workspace folder itself, once")
        raise Empty
    root = _zip_root(files, course)
    if root is None:
        raise _not_a_workspace(archive.name, course)
    return Tar(archive, root) if tar else Zip(archive, root)


def _check_folder(source: Path, course: Course) -> Source:
    root = _folder_root(source, course)
    if root is None:
        return _inner_archive(source, course)
    count, size, python = 0, 0, False
    for _, entries in walk(root, skip=tuple(IGNORED)):
        for entry in entries:
            if entry.is_symlink():
                continue
            count += 1
            if entry.is_file(follow_symlinks=False):
                size += entry.stat(follow_symlinks=False).st_size
                python = python or entry.name.endswith(".py")
            if count > MAX_FILES or size > MAX_BYTES:
                raise too_big(source.name)
    if not python:
        raise Empty
    return Folder(root)


def _inner_archive(source: Path, course: Course) -> Source:
    """A folder (Moodle's, per student) whose workspace is a zip inside it."""
    archives: list[Path] = []
    python = False
    for folder, entries in walk(source, skip=tuple(IGNORED)):
        if len(folder.relative_to(source).parts) > SEARCH_DEPTH:
            continue
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                python = python or entry.name.endswith(".py")
                if entry.name.lower().endswith(ARCHIVES):
                    archives.append(Path(entry.path))
    if len(archives) == 1:
        return _check_zip(archives[0], course)
    if archives:
        usable = []
        for candidate in archives:
            try:
                usable.append(_check_zip(candidate, course))
            except IntakeError:
                continue
        if len(usable) == 1:
            return usable[0]
        names = ", ".join(a.name for a in archives)
        raise IntakeError(f"{source.name} holds {len(archives)} archives ({names}), and not exactly one "
                          "of them is a workspace: keep the one to grade")
    if python:
        raise _not_a_workspace(source.name, course)
    raise Empty


def _is_download(archive: Path, course: Course) -> bool:
    """A zip of students' zips or folders, as an LMS's "download all submissions" makes it: its
    top entries are named by the LMS, or it holds archives and no workspace. A zip the LMS named
    after a student is that student's, whatever it holds (their workspace's zip, zipped again)."""
    if _identity(archive).lms:
        return False
    try:
        files = [PurePosixPath(name) for name in zip_names(archive)]
    except IntakeError:
        return False
    if any(recognise(p.parts[0], len(p.parts) > 1).lms for p in files):
        return True
    return _zip_root(files, course) is None and any(p.name.lower().endswith(ARCHIVES) for p in files)


def _entries(folder: Path, ignored_files: list[tuple[Path, str]], noted: list[tuple[Path, str]]) -> list[Path]:
    """The entries of a bulk download's folder that are submissions: folders, archives and
    whatever an LMS named after a student (a Canvas .py too); what the LMS adds (receipts, an
    index, online text) is noted, and any other file listed as ignored."""
    found = []
    children = _children(folder)
    with_files = {moodle_id(c.name) for c in children if moodle_plugin(c.name) == MOODLE_FILES}
    receipts = {r for c in children if (r := blackboard_receipt(c)) is not None}
    for entry in children:
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        if moodle_plugin(entry.name) == MOODLE_TEXT and moodle_id(entry.name) in with_files:
            noted.append((entry, "the student's online text; their files are graded"))
            continue
        if entry in receipts:
            noted.append((entry, "Blackboard's receipt of the attempt beside it (the student's name is read from it)"))
            continue
        if entry.name == D2L_INDEX and entry.is_file():
            noted.append((entry, "the LMS's index of the download"))
            continue
        if entry.is_dir() or entry.name.lower().endswith(ARCHIVES) or _identity(entry).lms:
            found.append(entry)
        else:
            why = "neither a folder nor an archive, nor named after a student by an LMS"
            ignored_files.append((entry, why))
    return found


def _unreadable(path: Path) -> str:
    """Why a zip given as it is cannot be opened at all, or holds nothing ("" if it can, or is no zip)."""
    if not (path.is_file() and path.name.lower().endswith(".zip")):
        return ""
    try:
        return "" if zip_names(path) else f"{path.name} holds no file"
    except IntakeError as exc:
        return str(exc)


def _expand(paths: list[Path], course: Course, unpack_to: Path | None,
            ignored_files: list[tuple[Path, str]], noted: list[tuple[Path, str]]) -> list[Path]:
    """The submissions among `paths`: a bulk download's folder is opened one level down, and an
    LMS's download zip, given or found there, is unpacked into `unpack_to` and opened too."""
    found: list[Path] = []
    queue = [(path, True) for path in paths]
    unpacked = 0
    while queue:
        path, given = queue.pop(0)
        unreadable = _unreadable(path) if given and not _identity(path).lms else ""
        if unreadable:  # the class's download, cut short? Not a student named "submissions" at zero
            ignored_files.append((path, f"{unreadable}: nothing in it was graded (download it again?)"))
            continue
        if unpack_to is not None and path.is_file() and path.suffix.lower() == ".zip" \
                and _is_download(path, course):
            unpacked += 1
            target = unpack_to / f"download-{unpacked}-{safe_name(path.name)}"
            try:
                path = unpack_download(path, target)
            except IntakeError as exc:
                ignored_files.append((path, f"this LMS download could not be unpacked: {exc}"))
                continue
            given = True
        if given and path.is_dir() and not _is_workspace(path, course) and not _identity(path).lms:
            inner = _entries(path, ignored_files, noted)
            queue.extend((entry, False) for entry in inner)
            found.extend([] if inner else [path])
        else:
            found.append(path)
    return found


def _work(path: Path, course: Course, unpack_to: Path | None) -> Source:
    if path.is_symlink():
        raise IntakeError(f"{path} is a symbolic link")
    if moodle_plugin(path.name) == MOODLE_TEXT:
        raise IntakeError("only online text was handed in, no file: persistlab grades a workspace")
    lowered = path.name.lower()
    if path.is_file() and lowered.endswith(ARCHIVES):
        if unpack_to is None and lowered.endswith(".zip") and _is_download(path, course):
            raise IntakeError(f"{path.name} is an LMS's download of a whole class; grade it with --out")
        return _check_zip(path, course)
    if path.is_dir():
        return _check_folder(path, course)
    if not path.exists():
        raise IntakeError(f"there is no file or folder {path}")
    if is_blackboard_receipt(path.name):
        raise IntakeError("there is only Blackboard's receipt of this attempt: no file was handed in with it")
    if lowered.endswith(".py"):
        raise IntakeError(f"it is a single Python file, not a workspace: persistlab grades the step "
                          f"folders ({course.steps[0].folder}, ...) of a whole workspace, zipped")
    raise IntakeError(f"{path.name} is neither a folder nor an archive (.zip, .tar.gz)")


def intake_class(paths: list[Path], course: Course, exclude: tuple[Path, ...] = (),
                 unpack_to: Path | None = None) -> ClassIntake:
    """Every submission under `paths` (but not `exclude`), by name, each checked; an LMS's
    download zip is unpacked into `unpack_to` first."""
    submissions: list[Submission] = []
    ignored_files: list[tuple[Path, str]] = []
    noted: list[tuple[Path, str]] = []
    skipped = {p.resolve() for p in exclude}
    found: dict[str, Path] = {}  # the same path given twice is one submission
    _PREFIXES.clear()
    for path in _expand(paths, course, unpack_to, ignored_files, noted):
        if path.resolve() not in skipped:
            found.setdefault(os.path.abspath(path), path)
    entries = _latest([(path, _identity(path)) for path in found.values()], noted)
    entries, refused = _one_each(entries, course, unpack_to, noted)
    identities = [identity for _, identity in entries]
    named = _names([path for path, _ in entries], identities)
    for (path, identity), (name, untrusted) in zip(entries, named):
        submission = Submission(name=name, source=path, problem=untrusted, identity=identity)
        submissions.append(submission)
        if untrusted:
            continue
        if path in refused:
            submission.problem = f"The submission was not graded: {refused[path]}."
            continue
        try:
            submission.work = _work(path, course, unpack_to)
        except Empty:
            submission.problem = "The submission is empty: it holds no Python file."
        except IntakeError as exc:
            submission.problem = f"The submission was not graded: {exc}."
    return ClassIntake(sorted(submissions, key=lambda s: s.name), ignored_files, noted)


def _latest(entries: list[tuple[Path, Identity]], noted: list[tuple[Path, str]]) -> list[tuple[Path, Identity]]:
    """One entry per student where the LMS dates each attempt (Blackboard, D2L): the latest;
    the earlier ones are noted, never graded and never silently dropped."""
    attempts: dict[tuple[str, str], list[tuple[Path, Identity]]] = {}
    for path, identity in entries:
        if identity.lms and identity.lms_id and identity.submitted is not None:
            attempts.setdefault((identity.lms, identity.lms_id), []).append((path, identity))
    earlier: set[Path] = set()
    for group in attempts.values():
        times = sorted({identity.submitted for _, identity in group if identity.submitted is not None})
        if len(times) < 2:
            continue
        for path, identity in group:
            if identity.submitted != times[-1]:
                earlier.add(path)
                why = (f"an earlier attempt of {identity.display}'s ({identity.submitted:%Y-%m-%d %H:%M}); "
                       f"the latest ({times[-1]:%Y-%m-%d %H:%M}) is graded")
                noted.append((path, why))
    return [(path, identity) for path, identity in entries if path not in earlier]


def _is_workspace_entry(path: Path, course: Course, unpack_to: Path | None) -> bool:
    try:
        _work(path, course, unpack_to)
    except IntakeError:
        return False
    return True


def _one_each(entries: list[tuple[Path, Identity]], course: Course, unpack_to: Path | None,
              noted: list[tuple[Path, str]]) -> tuple[list[tuple[Path, Identity]], dict[Path, str]]:
    """One entry per student where the LMS names every file a student handed in after them
    (Canvas, Moodle's flat download, D2L, an attempt's files on Blackboard): the one workspace
    among them is graded and the others noted; with none, or more than one, the student's first
    file stands for them, refused with the reason (the others noted). Returns the entries, and
    each refused one's reason."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, (_, identity) in enumerate(entries):
        if identity.lms and identity.lms_id:
            groups.setdefault((identity.lms, identity.lms_id), []).append(index)
    dropped: set[Path] = set()
    refused: dict[Path, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        paths = sorted((entries[i][0] for i in members), key=str)
        who = entries[members[0]][1].display
        usable = [path for path in paths if _is_workspace_entry(path, course, unpack_to)]
        keep = usable[0] if len(usable) == 1 else paths[0]
        listed = ", ".join(path.name for path in paths)
        if len(usable) == 1:
            why = f"handed in by {who} with {keep.name}, the workspace graded"
        else:
            refused[keep] = (
                f"{who} handed in {len(paths)} files ({listed}) and none is a workspace: persistlab grades "
                f"the step folders ({course.steps[0].folder}, ...) of a whole workspace, zipped" if not usable
                else f"{who} handed in {len(usable)} workspaces ({', '.join(p.name for p in usable)}): which "
                "one counts is yours to say; keep it alone and grade it with --only")
            why = f"handed in by {who} with {keep.name}, which stands for them (not graded: see it)"
        for path in paths:
            if path != keep:
                dropped.add(path)
                noted.append((path, why))
    return [(path, identity) for path, identity in entries if path not in dropped], refused


def fingerprint(submission: Submission) -> str:
    """A digest of the files a submission is graded from (its archive, or its workspace folder's
    files, .venv and the like left out); "" for a refused one. --resume regrades a student whose
    digest changed."""
    work = submission.work
    if work is None:
        return ""
    digest = hashlib.sha256(type(work).__name__.encode() + b"\0")
    try:
        if isinstance(work, Folder):
            for folder, entries in walk(work.path, skip=tuple(IGNORED)):
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        digest.update(str(Path(entry.path).relative_to(work.path)).encode() + b"\0")
                        digest.update(hashlib.sha256(Path(entry.path).read_bytes()).digest())
        else:
            digest.update(work.root.encode() + b"\0")
            with open(work.path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    except (OSError, IntakeError):
        return ""
    return digest.hexdigest()


def intake(paths: list[Path], course: Course, exclude: tuple[Path, ...] = (),
           unpack_to: Path | None = None) -> list[Submission]:
    """Every submission under `paths` (but not `exclude`), by name, each checked."""
    return intake_class(paths, course, exclude, unpack_to).submissions


__all__ = ["ClassIntake", "IntakeError", "Submission", "fingerprint", "intake", "intake_class", "student_name"]

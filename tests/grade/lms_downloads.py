"""Downloads as the LMSs make them: Moodle's folders per student, Canvas's flat files, Blackboard's
attempts and receipts, Brightspace's dated names, GitHub Classroom's repositories, the zip of any, and
the rosters each exports. Names are the LMSs' own, odd ones included."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

from grader.course import Course
from grader.workspace import create_workspace
from tests.grade.classroom import sign, solve

VENV_ENTRIES = 2549  # as in the zip that was refused whole


def workspace(root: Path, name: str, course: Course, solved: int = 2) -> Path:
    """A workspace with steps 1..`solved` solved, signed with `name` (so none is cached as another's)."""
    create_workspace(course, root)
    for number in range(1, solved + 1):
        solve(root, course, number)
        sign(root / course.step(number).folder, name)
    return root


def zip_folder(folder: Path, archive: Path, under: str = "", extra: dict[str, bytes] | None = None) -> Path:
    """`folder`'s files into `archive`, under `under` ("a/b/"), as a student's zip tool does."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, under + path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return archive


def zipped_workspace(archive: Path, name: str, course: Course, under: str = "persistlab-notes/",
                     extra: dict[str, bytes] | None = None) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        return zip_folder(workspace(Path(scratch) / "ws", name, course), archive, under, extra)


def venv_members() -> dict[str, bytes]:
    """A .venv zipped along with the work, as a student who zipped their whole folder sends it."""
    return {f"persistlab-notes/.venv/lib/python3.11/site-packages/pkg{i // 50}/m{i}.py": b"x = 1\n"
            for i in range(VENV_ENTRIES)}


MOODLE_STUDENTS = {  # participant id: full name
    "1001": "Ann Lee",
    "1002": "Bo Chen",
    "1003": "Иван Петров",
    "1004": "张伟",
    "1005": "José García",
    "1006": "Jose Garcia",
    "1007": "Empty Person",
    "1008": "Vee Env",
    "1009": "Seán O'Brien-Smith",
}


def moodle_folders(root: Path, course: Course) -> Path:
    """Moodle's "download submissions in folders", unpacked: `Full Name_id_assignsubmission_file_`
    per student, every student's zip named persistlab-notes.zip."""
    def folder(pid: str, kind: str = "file") -> Path:
        path = root / f"{MOODLE_STUDENTS[pid]}_{pid}_assignsubmission_{kind}_"
        path.mkdir(parents=True)
        return path

    zipped_workspace(folder("1001") / "persistlab-notes.zip", "ann", course)
    zipped_workspace(folder("1002") / "persistlab-notes.zip", "bo", course, under="")
    (folder("1002", "onlinetext") / "onlinetext.html").write_text("<p>Here is my work.</p>")
    workspace(folder("1003") / "persistlab-notes", "ivan", course)  # the workspace, unzipped, one down
    zipped_workspace(folder("1004") / "persistlab-notes.zip", "wei", course,
                     under="Users/zw/Desktop/persistlab-notes/")  # three folders deep
    zipped_workspace(folder("1005") / "persistlab-notes.zip", "jose-a", course)
    zipped_workspace(folder("1006") / "persistlab-notes.zip", "jose-b", course)
    (folder("1007") / "README.txt").write_text("I could not get it to run, sorry.")
    zipped_workspace(folder("1008") / "persistlab-notes.zip", "vee", course, extra=venv_members())
    zipped_workspace(folder("1009") / "persistlab-notes.zip", "sean", course,  # zipped by macOS's Finder
                     extra={"__MACOSX/persistlab-notes/._01-notes-dict": b"\0\5\26\7",
                            "persistlab-notes/.DS_Store": b"\0\0\0\1Bud1"})
    return root


CANVAS_STUDENTS = {  # user id: (lastfirst, submission id, late, the file as uploaded)
    "2001": ("leeann", "90001", False, "persistlab-notes.zip"),
    "2002": ("chenbo", "90002", True, "persistlab-notes.zip"),
    "2003": ("smithsam", "90003", False, "main.py"),
    "2004": ("doejane", "90004", False, "persistlab-notes.tar.gz"),
    "2005": ("garcíajosé", "90005", False, "persistlab-notes-1.zip"),  # a resubmission
    "2006": ("петровиван", "90006", True, "persistlab-notes.zip"),
}


def canvas_name(user: str) -> str:
    lastfirst, submission, late, original = CANVAS_STUDENTS[user]
    return f"{lastfirst}{'_LATE' if late else ''}_{user}_{submission}_{original}"


def canvas_flat(root: Path, course: Course) -> Path:
    """Canvas's "Download Submissions", unpacked: `lastfirst[_LATE]_userid_submissionid_file`."""
    root.mkdir(parents=True, exist_ok=True)
    for user, (lastfirst, _, _, original) in CANVAS_STUDENTS.items():
        target = root / canvas_name(user)
        if original.endswith(".zip"):
            zipped_workspace(target, lastfirst, course)
        elif original.endswith(".py"):
            shutil.copy(course.step(1).solution_dir / "main.py", target)
        else:
            with tempfile.TemporaryDirectory() as scratch, tarfile.open(target, "w:gz") as bundle:
                bundle.add(workspace(Path(scratch) / "ws", lastfirst, course), "persistlab-notes")
    return root


def download_zip(folder: Path, archive: Path) -> Path:
    """The download itself, `submissions.zip`, as the LMS hands it over."""
    return zip_folder(folder, archive)


def canvas_roster(path: Path, absent: tuple[str, str] = ("Absent, Al", "2099")) -> Path:
    """Canvas's gradebook export: the five fixed columns, the assignment, Canvas's totals, and
    its Points Possible row."""
    header = ("Student,ID,SIS User ID,SIS Login ID,Section,persistlab (4821),Current Points,"
              "Final Points,Current Score,Unposted Current Score,Final Score,Unposted Final Score")
    rows = [header,
            "    Points Possible,,,,,16.00,(read only),(read only),(read only),(read only),(read only),(read only)",
            '"Lee, Ann",2001,S2001,alee,CS 101 A,,0,0,,,,',
            '"Chen, Bo",2002,S2002,bchen,CS 101 A,,0,0,,,,',
            '"García, José",2005,S2005,jgarcia,CS 101 B,,0,0,,,,',
            f'"{absent[0]}",{absent[1]},S{absent[1]},aal,CS 101 B,,0,0,,,,']
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def moodle_worksheet(path: Path) -> Path:
    """Moodle's grading worksheet, downloaded before grading (offline grading worksheet on)."""
    header = ('Identifier,"Full name","Email address",Status,Grade,"Maximum Grade",'
              '"Grade can be changed","Last modified (submission)","Last modified (grade)","Feedback comments"')
    rows = [header]
    for pid, name in [*MOODLE_STUDENTS.items(), ("1099", "Never Came")]:
        status = "No submission" if pid == "1099" else "Submitted for grading"
        rows.append(f'"Participant {pid}","{name}",{pid}@example.edu,"{status}",,100.00,Yes,'
                    '"Monday, 30 November 2026, 9:14 PM",-,')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


BLACKBOARD_DUE = "2026-12-01 23:59"
BLACKBOARD_STUDENTS = {  # username: (full name, [(attempt time, the file as uploaded, or "" for none)])
    "alee": ("Ann Lee", [("2026-12-01-20-14-05", "persistlab-notes.zip")]),
    "bchen": ("Bo Chen", [("2026-11-30-10-00-00", "persistlab-notes.zip"),  # broken: the later one counts
                          ("2026-12-03-09-30-00", "persistlab-notes.zip")]),  # 2 days late
    "ipetrov": ("Иван Петров", [("2026-12-01-11-00-00", "persistlab-notes.tar.gz")]),
    "nofile": ("Nora File", [("2026-12-01-08-00-00", "")]),  # a receipt, and nothing handed in
}


def blackboard_receipt_text(full: str, user: str, original: str, moment: str) -> str:
    files = (f"Files:\n\tOriginal filename: {original}\n\tFilename: persistlab_{user}_attempt_{moment}_{original}\n"
             if original else "Files:\n\tThere are no files for this assignment.\n")
    return (f"Name: {full} ({user})\nAssignment: persistlab\nDate Submitted: {moment}\n"
            "Current Grade: Needs Grading\n\nSubmission Field:\nThere is no student submission text data "
            f"for this assignment.\n\nComments:\nThere are no student comments for this assignment.\n\n{files}")


def blackboard_download(root: Path, course: Course) -> Path:
    """Blackboard's "Assignment File Download", unpacked: `persistlab_user_attempt_TIME_file` and
    its receipt `persistlab_user_attempt_TIME.txt`, every attempt of a student."""
    root.mkdir(parents=True, exist_ok=True)
    for user, (full, attempts) in BLACKBOARD_STUDENTS.items():
        for index, (moment, original) in enumerate(attempts):
            prefix = f"persistlab_{user}_attempt_{moment}"
            (root / f"{prefix}.txt").write_text(blackboard_receipt_text(full, user, original, moment), encoding="utf-8")
            target = root / f"{prefix}_{original}"
            if not original:
                continue
            if index < len(attempts) - 1:
                target.write_bytes(b"not a zip")
            elif original.endswith(".zip"):
                zipped_workspace(target, user, course)
            else:
                with tempfile.TemporaryDirectory() as scratch, tarfile.open(target, "w:gz") as bundle:
                    bundle.add(workspace(Path(scratch) / "ws", user, course), "persistlab-notes")
    return root


D2L_STUDENTS = {  # user id: (submission id, full name, time as D2L writes it, what was handed in)
    "300001": ("148001", "Ann Lee", "Dec 1, 2026 1207 PM", "persistlab-notes.zip"),
    "300002": ("148002", "张伟", "Dec 3, 2026 905 AM", "persistlab-notes.zip"),  # 2 days late
    "300003": ("148003", "Jose Garcia", "Dec 1, 2026 1100 AM", "persistlab-notes.zip"),
    "300004": ("148004", "José García", "Dec 1, 2026 1101 AM", ""),  # a folder, the workspace two down
}


def d2l_name(user: str) -> str:
    submission, full, moment, original = D2L_STUDENTS[user]
    name = f"{submission}-{user} - {full} - {moment}"
    return f"{name} - {original}" if original else name


def d2l_download(root: Path, course: Course) -> Path:
    """Brightspace's "Download" of a folder's submissions, unpacked: a file (or a folder) per
    submission named `submissionid-userid - Full Name - Mon D, YYYY HMM AM - file`, and index.html."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text("<html><body><p>Submissions</p></body></html>", encoding="utf-8")
    for user, (_, _, _, original) in D2L_STUDENTS.items():
        target = root / d2l_name(user)
        if original:
            zipped_workspace(target, user, course, under="")
        else:
            workspace(target / "Documents" / "persistlab-notes", user, course)
    return root


CLASSROOM_STUDENTS = ("octocat", "ann-lee", "mona", "vee-env")  # GitHub usernames, hyphens and all


def classroom_clone(root: Path, course: Course) -> Path:
    """`gh classroom clone student-repos`: `persistlab-notes-submissions/persistlab-notes-USER`,
    each a git repository; mona's workspace is a folder down, vee-env's holds a .venv."""
    folder = root / "persistlab-notes-submissions"
    for user in CLASSROOM_STUDENTS:
        repository = folder / f"persistlab-notes-{user}"
        workspace(repository / ("notes" if user == "mona" else ""), user, course)
        subprocess.run(["git", "init", "-q", str(repository)], check=True)
        if user == "vee-env":
            for index in range(VENV_ENTRIES):
                target = repository / ".venv" / "lib" / f"pkg{index // 50}" / f"m{index}.py"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("x = 1\n")
    return folder


def raw_named_zip(archive: Path, members: dict[bytes, bytes]) -> Path:
    """A zip whose member names are the bytes given, without the zip's UTF-8 flag, as macOS's
    Archive Utility and rubyzip write UTF-8 names (and old Windows tools their code page's)."""
    stand_ins = {name: (f"~{index}".ljust(len(name) - 1, "#") + "~").encode() for index, name in enumerate(members)}
    assert all(len(stand_in) == len(name) for name, stand_in in stand_ins.items())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        for name, data in members.items():
            bundle.writestr(stand_ins[name].decode(), data)
    packed = archive.read_bytes()
    for name, stand_in in stand_ins.items():
        assert packed.count(stand_in) == 2  # its local header and its central directory entry
        packed = packed.replace(stand_in, name)
    archive.write_bytes(packed)
    return archive


def zip_contents(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}

"""Puts the course data (course.toml, exercises/, solutions/, quizzes/) inside a built wheel.

In a checkout (and an editable install) grader.course reads them from the repository root;
an installed wheel has them in grader/_data.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

COURSE_DATA = ("course.toml", "exercises", "solutions", "quizzes")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", ".persistlab")


class BuildWithCourse(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "grader" / "_data"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in COURSE_DATA:
            source = Path(name)
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=IGNORED)
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithCourse})

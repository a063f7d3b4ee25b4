"""Instructor grading: a whole class of submissions, each sandboxed, with gradebook outputs."""

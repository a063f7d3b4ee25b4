"""The engine: everything that runs a student's code, and nothing that judges it.

Limits, the zygote and its children, own-command servers, the HTTP transport with its deadline,
the sandbox, scratch copies and the process-tree walker. It imports nothing from the rest of the
package; checks, grading, the CLI and the quizzes import it.
"""

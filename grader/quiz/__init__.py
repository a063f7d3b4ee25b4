"""The quiz question bank: loading, linting and export."""

from grader.quiz.bank import Bank, BankError, Option, Question, lint_bank, load_bank

__all__ = ["Bank", "BankError", "Option", "Question", "lint_bank", "load_bank"]

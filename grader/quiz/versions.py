"""The questions attempts were served, by version: the bank's, and the older ones the store
kept. An attempt shows and grades every question as it was served, so a later change to the
bank (a corrected key, a question removed) never changes a past attempt's review or score:
the review and the score always agree."""

from __future__ import annotations

from grader.quiz.bank import Bank, Question
from grader.quiz.store import QuizStore


class Versions:
    def __init__(self, bank: Bank, store: QuizStore) -> None:
        self.bank = bank
        self.store = store
        store.keep_versions(bank.questions)
        self._by_version = {q.version: q for q in reversed(bank.questions)}

    def question(
        self, question_id: str, version: str | None, params: str | None = None
    ) -> Question:
        """The question as served, rendered with its stored parameters; KeyError if it is known
        nowhere (an attempt made before versions were kept, whose question has left the bank)."""
        return self.template(question_id, version).render_stored(params)

    def template(self, question_id: str, version: str | None) -> Question:
        """The question as served, a variant question's text still with its placeholders."""
        if version is None:
            return self.bank.get(question_id)
        found = self._by_version.get(version)
        if found is None:  # served by another server, or by this one before a bank change
            found = self.store.question_versions(version).get(version)
            if found is None or found.id != question_id:
                raise KeyError(f"There is no version {version} of question {question_id!r}.")
            self._by_version[version] = found
        return found

    def changed(self, question_id: str, version: str | None) -> bool:
        """Whether the bank's question differs from the version served (or is gone)."""
        try:
            return version is not None and self.bank.get(question_id).version != version
        except KeyError:
            return True

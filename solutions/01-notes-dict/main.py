"""Notes API, step 1: the notes live in a dict, in this process's memory."""

notes_db: dict[int, str] = {}
next_id = 1

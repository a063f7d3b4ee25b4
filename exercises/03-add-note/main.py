"""Notes API, step 3: POST /add_note stores a note in the dict."""

from fastapi import FastAPI

# TODO 1: Import BaseModel from `pydantic`.

app = FastAPI()

notes_db: dict[int, str] = {}
next_id = 1

# TODO 1: Describe the request body with a Pydantic model: one field, `text`, a str.
#
# TODO 1: Add a route for POST /add_note that takes that model as its parameter,
#         stores the text in notes_db under next_id and returns {"id": <that id>}.
#
# TODO 2: Inside the route, move next_id on by one after storing the note.
#         The function assigns to a module-level name, so it must say `global next_id`.
#
# TODO 3: Nothing to write: once the parameter is typed with your model, FastAPI answers
#         422 by itself when "text" is missing or is not a string. Check that it does.

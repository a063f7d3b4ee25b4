"""Notes API, step 2: the FastAPI application that will serve the notes."""

# TODO 1: Import the FastAPI class from the `fastapi` package, then create one
#         application at module level and call it `app`.

# TODO 2: Keep these two names exactly as they are: the routes of steps 3 and 4 use them.
notes_db: dict[int, str] = {}
next_id = 1

"""Notes API, step 2: the FastAPI application that will serve the notes."""

from fastapi import FastAPI

app = FastAPI()

notes_db: dict[int, str] = {}
next_id = 1

# get_db returning SessionLocal() with a pool of 2; the garbage collector held off, as between runs.
import gc
import warnings

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///notes.db", pool_size=2, max_overflow=0, pool_timeout=0.3)
SessionLocal = sessionmaker(bind=engine)


def get_db():
    return SessionLocal()


app = FastAPI()


@app.get("/notes/count")
def count_notes(db: Session = Depends(get_db)):
    return db.execute(text("SELECT 1")).scalar()


gc.disable()
answers = []
try:
    with warnings.catch_warnings(record=True) as caught, TestClient(app) as client:
        warnings.simplefilter("always")
        for _ in range(4):
            try:
                answers.append(str(client.get("/notes/count").status_code))
            except Exception as exc:  # TestClient raises what the route raised
                answers.append(type(exc).__name__)
        held = engine.pool.checkedout()
        gc.collect()
        print(
            f"requests: {' '.join(answers)}; connections held: {held}, after gc.collect(): "
            f"{engine.pool.checkedout()}; warnings: {len(caught)}"
        )
finally:
    gc.enable()

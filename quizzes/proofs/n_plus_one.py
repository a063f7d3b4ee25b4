# Ten users with two notes each, loaded three ways; every SQL statement sent is counted.
from sqlalchemy import ForeignKey, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, joinedload, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    notes: Mapped[list["Note"]] = relationship()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


engine = create_engine("sqlite:///notes.db")
Base.metadata.create_all(engine)
with Session(engine) as db:
    db.add_all([User(notes=[Note(), Note()]) for _ in range(10)])
    db.commit()

selects = []
event.listen(engine, "before_cursor_execute", lambda *args: selects.append(args[2]))
counts = []
for options in ((), (selectinload(User.notes),), (joinedload(User.notes),)):
    selects.clear()
    with Session(engine) as db:
        users = db.scalars(select(User).options(*options)).unique().all()
        total = sum(len(user.notes) for user in users)
    counts.append(len(selects))
print(f"lazy: {counts[0]}, selectinload: {counts[1]}, joinedload: {counts[2]}")

"""Notes API, step 1: the notes live in a dict, in this process's memory.

Every name below belongs at module level: not inside a function or a class.
"""

# TODO 1: Create `notes_db`, an empty dict. Its keys will be note ids (1, 2, 3, ...)
#         and its values the text of each note.

# TODO 2: Create `next_id`, the id the next note will get. The first note gets 1.
